"""Sign-in, invitations and the organisation settings pages (users, invitations, API tokens, audit)."""
from __future__ import annotations

import time
from urllib.parse import urlparse

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_user, logout_user

from cogrow.accounts import services
from cogrow.accounts.models import ROLES_BY_KIND
from cogrow.accounts.ratelimit import login_rate_limit
from cogrow.core import audit
from cogrow.core.auth import public, requires
from cogrow.core.errors import ValidationFailed
from cogrow.core.validation import Fields, parse_id
from cogrow.extensions import db, limiter

bp = Blueprint("accounts", __name__)


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _login_email_key() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()[:254]


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, or home. Anything else could leave the site or
    break the Location header (CR/LF, backslashes that browsers read as slashes, other control characters)."""
    home = url_for("home.index")
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return home
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F or c.isspace() for c in target):
        return home
    parts = urlparse(target)
    if parts.scheme or parts.netloc:
        return home
    return target


def _start_session(user, organisation_id: int) -> None:
    """A new session on every sign-in: nothing from before it carries over, and the server can end it."""
    lang = session.get("lang")
    session.clear()
    login_user(user)
    session["sid"] = services.open_session(user.id, organisation_id)
    session["org_id"] = organisation_id
    now = time.time()
    session["login_at"] = now
    session["seen"] = now
    if lang:
        session["lang"] = lang
    session.permanent = True


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(login_rate_limit, methods=["POST"])
@limiter.limit(_account_limit, methods=["POST"], key_func=_login_email_key)
def login():
    error = None
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        user = services.authenticate(email, password) if email and password else None
        if user is None or not user.memberships:
            audit.record_denied(None, "login.failed", "bad_credentials", email[:100])
            error = _("The e-mail or password is not right.")
        else:
            membership = user.memberships[0]
            _start_session(user, membership.organisation_id)
            audit.record(None, "login.succeeded", user, organisation_id=membership.organisation_id,
                         detail={"user_id": user.id})
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", error=error), (401 if error else 200)


@bp.post("/logout")
@requires()
def logout():
    audit.record(g.actor, "logout")
    services.end_session(session.get("sid"))
    logout_user()
    session.clear()
    return redirect(url_for("accounts.login"))


@bp.post("/switch-organisation")
@requires()
def switch_organisation():
    from flask_login import current_user

    org_id = parse_id(request.form.get("organisation_id", ""))
    if org_id is not None and any(m.organisation_id == org_id for m in current_user.memberships):
        session["org_id"] = org_id
    return redirect(url_for("home.index"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@public
@limiter.limit(login_rate_limit, methods=["POST"])
def accept_invitation(token: str):
    invitation = services.pending_invitation(token)
    if invitation is None:
        return render_template("accounts/invitation_invalid.html"), 404
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            services.accept_invitation(token, (request.form.get("name") or "").strip()[:200],
                                       request.form.get("password") or "")
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash(_("Welcome to Cogrow. Sign in to continue."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/invitation_accept.html", invitation=invitation, errors=errors,
                           token=token), (422 if errors else 200)


@bp.get("/settings/users")
@requires("admin")
def members():
    return render_template("accounts/members.html", members=services.list_members(g.actor),
                           roles=ROLES_BY_KIND[g.actor.org_kind])


@bp.post("/settings/users/<int:membership_id>/role")
@requires("admin")
def change_role(membership_id: int):
    services.change_role(g.actor, membership_id, request.form.get("role", ""))
    flash(_("Role changed."), "success")
    return redirect(url_for("accounts.members"))


@bp.post("/settings/users/<int:membership_id>/remove")
@requires("admin")
def remove_member(membership_id: int):
    services.remove_member(g.actor, membership_id)
    flash(_("Member removed."), "success")
    return redirect(url_for("accounts.members"))


@bp.route("/settings/invitations", methods=["GET", "POST"])
@requires("admin")
def invitations():
    errors: dict[str, str] = {}
    link = None
    if request.method == "POST":
        try:
            f = Fields(request.form)
            f.email("email")
            f.text("role", required=True, choices=ROLES_BY_KIND[g.actor.org_kind])
            values = f.done(strict=False)
            raw = services.invite_user(g.actor, values["email"], values["role"])[1]
            link = url_for("accounts.accept_invitation", token=raw, _external=True)
        except ValidationFailed as exc:
            errors = exc.fields
    return render_template("accounts/invitations.html", invitations=services.list_invitations(g.actor),
                           roles=ROLES_BY_KIND[g.actor.org_kind], errors=errors, link=link,
                           form=request.form, now=services.now()), (422 if errors else 200)


@bp.post("/settings/users/<int:membership_id>/sign-out")
@requires("admin")
def sign_out_member(membership_id: int):
    ended = services.sign_out_member(g.actor, membership_id)
    flash(ngettext("%(num)s session ended.", "%(num)s sessions ended.", ended), "success")
    return redirect(url_for("accounts.members"))


@bp.get("/settings/account")
@requires()
def account():
    return render_template("accounts/account.html", errors={})


@bp.post("/settings/account/password")
@requires()
def change_password():
    try:
        services.change_password(g.actor, request.form.get("current_password") or "",
                                 request.form.get("new_password") or "", session.get("sid"))
    except ValidationFailed as exc:
        return render_template("accounts/account.html", errors=exc.fields), 422
    flash(_("Password changed. Your other sessions have been signed out."), "success")
    return redirect(url_for("accounts.account"))


@bp.post("/settings/account/sign-out-everywhere")
@requires()
def sign_out_everywhere():
    services.sign_out_everywhere(g.actor)
    logout_user()
    session.clear()
    flash(_("You have been signed out everywhere."), "success")
    return redirect(url_for("accounts.login"))


@bp.post("/settings/invitations/<int:invitation_id>/revoke")
@requires("admin")
def revoke_invitation(invitation_id: int):
    services.revoke_invitation(g.actor, invitation_id)
    flash(_("Invitation revoked."), "success")
    return redirect(url_for("accounts.invitations"))


@bp.route("/settings/tokens", methods=["GET", "POST"])
@requires("admin")
def tokens():
    errors: dict[str, str] = {}
    raw = None
    if request.method == "POST":
        try:
            f = Fields(request.form)
            f.text("name", required=True, max_length=100)
            f.text("role", required=True, choices=ROLES_BY_KIND[g.actor.org_kind])
            f.integer("expires_in_days", minimum=1, maximum=3650)
            values = f.done(strict=False)
            raw = services.create_api_token(g.actor, values["name"], values["role"], values.get("expires_in_days"))[1]
        except ValidationFailed as exc:
            errors = exc.fields
    return render_template("accounts/tokens.html", tokens=services.list_tokens(g.actor), raw_token=raw,
                           roles=ROLES_BY_KIND[g.actor.org_kind], errors=errors, form=request.form,
                           now=services.now()), (422 if errors else 200)


@bp.post("/settings/tokens/<int:token_id>/revoke")
@requires("admin")
def revoke_token(token_id: int):
    services.revoke_api_token(g.actor, token_id)
    flash(_("API token revoked."), "success")
    return redirect(url_for("accounts.tokens"))


@bp.get("/settings/audit")
@requires("admin")
def audit_log():
    return render_template("accounts/audit.html", rows=audit.recent(g.actor))
