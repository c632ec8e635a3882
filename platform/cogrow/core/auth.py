"""Who is acting: a signed-in user in one organisation, or an organisation's API token. Route guards."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from flask import Flask, current_app, g, request, session
from flask_login import current_user, logout_user

from cogrow.accounts.models import ROLES, ROLES_BY_KIND
from cogrow.core.errors import Forbidden, Unauthorized

TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class Actor:
    organisation_id: int
    org_kind: str
    role: str
    user_id: int | None = None
    token_id: int | None = None

    @property
    def is_prime(self) -> bool:
        return self.org_kind == "prime"

    @property
    def is_supplier(self) -> bool:
        return self.org_kind == "supplier"

    def __str__(self) -> str:
        who = f"user {self.user_id}" if self.user_id else f"token {self.token_id}"
        return f"{who} ({self.role} @ org {self.organisation_id})"


@dataclass(frozen=True)
class Access:
    """What a route requires, read by the guard and by the tenant-isolation test walk."""

    roles: tuple[str, ...]
    kind: str | None = None
    api: bool = False

    def allows(self, actor: Actor) -> bool:
        return (self.kind is None or actor.org_kind == self.kind) and actor.role in self.roles

    def wrong_roles(self, kind: str) -> tuple[str, ...]:
        """Roles an own-organisation user of this kind can hold and that this route refuses."""
        if self.kind is not None and self.kind != kind:
            return ()
        return tuple(r for r in ROLES_BY_KIND[kind] if r not in self.roles)


def requires(*roles: str, kind: str | None = None, api: bool = False) -> Callable:
    """Guard a view: the actor must be signed in (or hold a token, for the API) with one of `roles`."""
    access = Access(tuple(roles) or ROLES, kind, api)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            actor: Actor | None = g.get("actor")
            if actor is None or (actor.token_id is not None and not access.api):
                raise Unauthorized("Sign in, or send an API token in the Authorization header.")
            if not access.allows(actor):
                raise Forbidden("Your role does not allow this action.")
            return view(*args, **kwargs)

        wrapped.cogrow_access = access  # type: ignore[attr-defined]
        return wrapped

    return decorator


def public(view: Callable) -> Callable:
    """Mark a view as reachable without signing in (login, health, invitation links)."""
    view.cogrow_public = True  # type: ignore[attr-defined]
    return view


def access_of(view: Callable) -> Access | None:
    return getattr(view, "cogrow_access", None)


def is_public(view: Callable) -> bool:
    return bool(getattr(view, "cogrow_public", False))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _actor_from_token(header: str) -> Actor:
    from cogrow.accounts import services as accounts

    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    token = accounts.resolve_api_token(raw.strip(), touch_after=TOKEN_TOUCH_INTERVAL)
    if token is None:
        from cogrow.core import audit

        audit.record_denied(None, "api.token_rejected", "invalid_token", f"prefix {raw.strip()[:8]}")
        raise Unauthorized("The API token is unknown, revoked or expired.")
    return Actor(organisation_id=token.organisation_id, org_kind=token.organisation.kind,
                 role=token.role, token_id=token.id)


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
    from cogrow.accounts import services as accounts

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


def init_auth(app: Flask) -> None:
    from cogrow.accounts.models import User
    from cogrow.extensions import db, login_manager

    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_key: str):
        user_id, _, epoch = user_key.partition(":")
        if not user_id.isdigit() or not epoch.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.active or user.session_epoch != int(epoch):
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        raise Unauthorized()

    app.before_request(load_actor)
    from cogrow.accounts.ratelimit import init_rate_limits

    init_rate_limits(app)
