"""Who is acting in this request: the API token in the Authorization header, or the signed-in session.

Registered by the app factory (init_loading). It sets `g.actor` before any view runs; the route guards of
core/auth.py read it and know nothing of tokens, sessions or users. It also hands core's language switch the
function that stores a signed-in user's language.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from flask import Flask, current_app, g, request, session
from flask_limiter import Limiter
from flask_login import LoginManager, current_user, logout_user
from sqlalchemy import bindparam, select, update

from cogrow.accounts import services as accounts
from cogrow.accounts.models import ApiToken, Organisation, User
from cogrow.accounts.ratelimit import init_rate_limits
from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import Unauthorized
from cogrow.core.views import remember_language_with
from cogrow.extensions import db

# A token's last_used_at is written at most this often, not on every request.
TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _actor_from_token(header: str) -> Actor:
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    actor = _resolve_token(raw.strip())
    if actor is None:
        audit.record_denied(None, "api.token_rejected", "invalid_token", f"prefix {raw.strip()[:8]}")
        raise Unauthorized("The API token is unknown, revoked or expired.")
    return actor


# What accounts.resolve_api_token reads, as one Core row (no ORM objects): every API request runs it, and the
# machine feeds send thousands a second.
_TOKEN = (select(ApiToken.id, ApiToken.organisation_id, ApiToken.role, ApiToken.expires_at, ApiToken.revoked_at,
                 ApiToken.last_used_at, Organisation.kind)
          .join(Organisation, Organisation.id == ApiToken.organisation_id)
          .where(ApiToken.token_hash == bindparam("token_hash")))
_TOUCH = update(ApiToken).where(ApiToken.id == bindparam("token_id")).values(last_used_at=bindparam("at"))


def _resolve_token(raw: str) -> Actor | None:
    """The actor of a usable token (accounts.resolve_api_token's rules: known, not revoked, not expired), recording
    its use at most once per TOKEN_TOUCH_INTERVAL; None otherwise."""
    if not raw.startswith(accounts.TOKEN_PREFIX) or len(raw) > 100:
        return None
    row = db.session.connection().execute(_TOKEN, {"token_hash": hashlib.sha256(raw.encode("utf-8")).hexdigest()}).first()
    at = _now()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= at):
        return None
    if row.last_used_at is None or at - row.last_used_at >= TOKEN_TOUCH_INTERVAL:
        db.session.connection().execute(_TOUCH, {"token_id": row.id, "at": at})
        db.session.commit()
    return Actor(organisation_id=row.organisation_id, org_kind=row.kind, role=row.role, token_id=row.id)


def _actor_from_session() -> Actor | None:
    if not current_user.is_authenticated:
        return None
    now = _now().timestamp()
    cfg = current_app.config
    login_at = session.get("login_at", 0)
    seen = session.get("seen", 0)
    if now - login_at > cfg["SESSION_ABSOLUTE_TIMEOUT"].total_seconds() or \
            now - seen > cfg["SESSION_IDLE_TIMEOUT"].total_seconds():
        logout_user()
        session.clear()
        return None
    # The cookie alone proves nothing: its session must still be open on the server (logout, a password
    # change, removal or "sign out everywhere" end it for every process at once).
    record = accounts.live_session(session.get("sid"), current_user.id)
    if record is None:
        logout_user()
        session.clear()
        return None
    session["seen"] = now
    memberships = {m.organisation_id: m for m in current_user.memberships}
    membership = memberships.get(session.get("org_id")) or next(iter(memberships.values()), None)
    if membership is None:
        return None
    session["org_id"] = membership.organisation_id
    accounts.touch_session(record, membership.organisation_id)
    return Actor(organisation_id=membership.organisation_id, org_kind=membership.organisation.kind,
                 role=membership.role, user_id=current_user.id)


def load_actor() -> None:
    """Resolve g.actor once per request, before any view runs."""
    g.actor = None
    # A request may run inside an application context that outlives it (a test's, a CLI's):
    # never trust a user (Flask-Login) or a locale (Flask-Babel) cached in g for an earlier request.
    g.pop("_login_user", None)
    g.pop("_flask_babel", None)
    if request.endpoint == "static":
        return
    header = request.headers.get("Authorization")
    if header and request.path.startswith("/api/"):
        g.actor = _actor_from_token(header)
        return
    g.actor = _actor_from_session()


def _load_user(user_key: str) -> User | None:
    """Flask-Login's loader: the cookie names `<user id>:<session epoch>`; a changed epoch ends the session."""
    user_id, _, epoch = user_key.partition(":")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_epoch != int(epoch):
        return None
    return user


def _unauthorized():
    raise Unauthorized()


def init_loading(app: Flask, login_manager: LoginManager, limiter: Limiter) -> None:
    """Load the actor before every request, and count sign-ins and API calls against their limits."""
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(load_actor)
    init_rate_limits(app, limiter)
    remember_language_with(app, accounts.set_locale)  # the language switch (core) keeps a user's choice here
