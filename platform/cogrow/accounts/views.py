"""Sign-in, invitations and the organisation settings pages (users, invitations, API tokens, audit)."""
from __future__ import annotations

import time
from urllib.parse import urlparse

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_user, logout_user

from cogrow.accounts import services
from cogrow.accounts.forms import (
    AcceptInvitationForm, ChangePasswordForm, InviteUserForm, LoginForm, RoleForm, TokenForm,
)
from cogrow.accounts.ratelimit import login_rate_limit
from cogrow.core import audit
from cogrow.core.auth import public, requires
from cogrow.core.errors import ValidationFailed
from cogrow.core.forms import CsrfOnlyForm, OrganisationSwitchForm
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
    form = LoginForm()
    if request.method == "POST":
        valid = form.validate()
        email = (form.email.data or "").lower() if valid else ""
        password = form.password.data or ""
        user = services.authenticate(email, password) if valid else None
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
    return render_template("accounts/login.html", error=error, form=form), (401 if error else 200)


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
    form = OrganisationSwitchForm.for_actor(g.actor, formdata=request.form)
    if form.validate():  # one of the user's own organisations (the choices are their memberships)
        session["org_id"] = form.organisation_id.data
    return redirect(url_for("home.index"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@public
@limiter.limit(login_rate_limit, methods=["POST"])
def accept_invitation(token: str):
    invitation = services.pending_invitation(token)
    if invitation is None:
        return render_template("accounts/invitation_invalid.html"), 404
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            services.accept_invitation(token, form.name.data or "", form.password.data or "")
        except ValidationFailed as exc:
            form.add_errors(exc.fields)
        else:
            flash(_("Welcome to Cogrow. Sign in to continue."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/invitation_accept.html", invitation=invitation, form=form,
                           token=token), (422 if form.errors else 200)


@bp.get("/settings/users")
@requires("admin")
def members():
    rows = services.list_members(g.actor)
    return render_template("accounts/members.html", members=rows, button_form=CsrfOnlyForm(formdata=None),
                           role_forms={m.id: RoleForm(g.actor.org_kind, formdata=None, role=m.role) for m in rows})


@bp.post("/settings/users/<int:membership_id>/role")
@requires("admin")
def change_role(membership_id: int):
    services.own_membership(g.actor, membership_id)  # another organisation's member: 404 before the form's 422
    form = RoleForm(g.actor.org_kind)
    if not form.validate():
        raise ValidationFailed(_("Some fields are not valid."), fields=form.errors_by_name())
    services.change_role(g.actor, membership_id, form.role.data)
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
    link = None
    form = InviteUserForm(g.actor.org_kind)
    if form.validate_on_submit():
        try:
            raw = services.invite_user(g.actor, form.email.data, form.role.data)[1]
            link = url_for("accounts.accept_invitation", token=raw, _external=True)
        except ValidationFailed as exc:
            form.add_errors(exc.fields)
    return render_template("accounts/invitations.html", invitations=services.list_invitations(g.actor),
                           form=form, button_form=CsrfOnlyForm(formdata=None), link=link,
                           now=services.now()), (422 if form.errors else 200)


@bp.post("/settings/users/<int:membership_id>/sign-out")
@requires("admin")
def sign_out_member(membership_id: int):
    ended = services.sign_out_member(g.actor, membership_id)
    flash(ngettext("%(num)s session ended.", "%(num)s sessions ended.", ended), "success")
    return redirect(url_for("accounts.members"))


@bp.get("/settings/account")
@requires()
def account():
    return render_template("accounts/account.html", form=ChangePasswordForm(formdata=None),
                           button_form=CsrfOnlyForm(formdata=None))


@bp.post("/settings/account/password")
@requires()
def change_password():
    form = ChangePasswordForm()
    if form.validate():
        try:
            services.change_password(g.actor, form.current_password.data, form.new_password.data, session.get("sid"))
        except ValidationFailed as exc:
            form.add_errors(exc.fields)
    if form.errors:
        return render_template("accounts/account.html", form=form, button_form=CsrfOnlyForm(formdata=None)), 422
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
    raw = None
    form = TokenForm(g.actor.org_kind)
    if form.validate_on_submit():
        try:
            raw = services.create_api_token(g.actor, form.name.data, form.role.data, form.expires_in_days.data)[1]
        except ValidationFailed as exc:
            form.add_errors(exc.fields)
    return render_template("accounts/tokens.html", tokens=services.list_tokens(g.actor), raw_token=raw, form=form,
                           button_form=CsrfOnlyForm(formdata=None), now=services.now()), (422 if form.errors else 200)


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
