"""Account use cases: passwords, sign-in, members, invitations and API tokens."""
from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import contains_eager, joinedload

from cogrow.accounts.models import ROLES_BY_KIND, ApiToken, Invitation, Membership, Organisation, User, UserSession
from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, NotFound, ValidationFailed
from cogrow.extensions import db

logger = logging.getLogger("cogrow.accounts")

_hasher = PasswordHasher()
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
TOKEN_PREFIX = "cgw_"
# A session's last_seen_at is written at most this often, not on every request.
SESSION_TOUCH_INTERVAL = timedelta(seconds=60)


def now() -> datetime:
    return datetime.now(timezone.utc)


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so a miss costs as much as a wrong password.

    Made on the first sign-in rather than at import: every process that imports accounts (workers, the CLI)
    would otherwise pay for an argon2 hash it never uses."""
    return _hasher.hash("cogrow-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> str | None:
    """The reason a new password is refused, or None."""
    if len(password) < MIN_PASSWORD:
        return _("At least %(n)s characters.", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        return _("At most %(n)s characters.", n=MAX_PASSWORD)
    return None


def authenticate(email: str, password: str) -> User | None:
    """The user whose e-mail and password these are, or None; rehashes when argon2 settings moved on."""
    dummy = _dummy_hash()  # before the look-up, so the first sign-in of a process pays for it either way
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else dummy, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now()
    return user


def create_organisation(name: str, kind: str) -> Organisation:
    org = Organisation(name=name, kind=kind)
    db.session.add(org)
    db.session.flush()
    return org


def create_user(email: str, name: str, password: str, locale: str | None = None) -> User:
    user = User(email=email.strip().lower(), name=name, password_hash=hash_password(password), locale=locale)
    db.session.add(user)
    db.session.flush()
    return user


def _check_role(kind: str, role: str) -> None:
    if role not in ROLES_BY_KIND[kind]:
        raise ValidationFailed("This role does not exist for this kind of organisation.",
                               fields={"role": _("Must be one of: %(choices)s.", choices=", ".join(ROLES_BY_KIND[kind]))})


def list_members(actor: Actor) -> list[Membership]:
    return list(db.session.scalars(
        select(Membership).join(User).options(contains_eager(Membership.user))
        .where(Membership.organisation_id == actor.organisation_id).order_by(User.name)
    ))


def own_membership(actor: Actor, membership_id: int) -> Membership:
    """A membership of the actor's own organisation; another organisation's is a 404, before any field is read."""
    return _own_membership(actor, membership_id)


def _own_membership(actor: Actor, membership_id: int) -> Membership:
    membership = db.session.scalar(select(Membership).where(
        Membership.id == membership_id, Membership.organisation_id == actor.organisation_id))
    if membership is None:
        raise NotFound("No such member.")
    return membership


def _admins_left(organisation_id: int, excluding: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Membership).where(
        Membership.organisation_id == organisation_id, Membership.role == "admin", Membership.id != excluding)) or 0


def change_role(actor: Actor, membership_id: int, role: str) -> Membership:
    membership = _own_membership(actor, membership_id)
    _check_role(actor.org_kind, role)
    if membership.role == "admin" and role != "admin" and _admins_left(actor.organisation_id, membership.id) == 0:
        raise Conflict("An organisation keeps at least one admin.")
    before = membership.role
    membership.role = role
    audit.record(actor, "member.role_changed", membership, detail={"from": before, "to": role})
    db.session.commit()
    return membership


def remove_member(actor: Actor, membership_id: int) -> None:
    membership = _own_membership(actor, membership_id)
    if membership.role == "admin" and _admins_left(actor.organisation_id, membership.id) == 0:
        raise Conflict("An organisation keeps at least one admin.")
    audit.record(actor, "member.removed", membership, detail={"user_id": membership.user_id})
    user_id = membership.user_id
    db.session.delete(membership)
    # Their sessions in this organisation end now, and so do the tokens they made for it.
    ended = _revoke_sessions(user_id, organisation_id=actor.organisation_id)
    tokens = db.session.scalars(select(ApiToken).where(
        ApiToken.organisation_id == actor.organisation_id, ApiToken.created_by_id == user_id,
        ApiToken.revoked_at.is_(None))).all()
    for token in tokens:
        token.revoked_at = now()
        audit.record(actor, "api_token.revoked", token, detail={"reason": "creator_removed"})
    db.session.commit()
    logger.info("member %s removed from org %s by %s: %s sessions and %s tokens ended",
                user_id, actor.organisation_id, actor, ended, len(tokens))


def sign_out_member(actor: Actor, membership_id: int) -> int:
    """An admin ends every open session of a member of their organisation; the number ended."""
    membership = _own_membership(actor, membership_id)
    user_id = membership.user_id
    # All of them, not only those now in this organisation: a stolen session could switch back into it.
    ended = _revoke_sessions(user_id)
    audit.record(actor, "member.signed_out", membership, detail={"user_id": user_id, "sessions": ended})
    db.session.commit()
    logger.info("sessions of user %s ended by %s: %s", user_id, actor, ended)
    return ended


def list_invitations(actor: Actor) -> list[Invitation]:
    return list(db.session.scalars(
        select(Invitation).where(Invitation.organisation_id == actor.organisation_id).order_by(Invitation.created_at.desc())
    ))


def _make_invitation(organisation_id: int, email: str, role: str, invited_by_id: int | None) -> tuple[Invitation, str]:
    raw = secrets.token_urlsafe(32)
    invitation = Invitation(
        organisation_id=organisation_id, email=email, role=role, token_hash=_sha256(raw),
        invited_by_id=invited_by_id, expires_at=now() + current_app.config["INVITATION_TTL"],
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, raw


def invite_user(actor: Actor, email: str, role: str) -> tuple[Invitation, str]:
    """Invite someone into the actor's organisation; the raw token is shown once and never stored."""
    _check_role(actor.org_kind, role)
    already = db.session.scalar(select(Membership).join(User).where(
        Membership.organisation_id == actor.organisation_id, User.email == email))
    if already is not None:
        raise ValidationFailed("This person is already a member.", fields={"email": _("Already a member.")})
    invitation, raw = _make_invitation(actor.organisation_id, email, role, actor.user_id)
    audit.record(actor, "invitation.created", invitation, detail={"email": email, "role": role})
    db.session.commit()
    logger.info("invitation %s to org %s created by %s", invitation.id, actor.organisation_id, actor)
    return invitation, raw


def invite_admin_of(organisation_id: int, email: str, actor: Actor) -> tuple[Invitation, str]:
    """An admin invitation into a new organisation, created on its behalf (a prime onboarding a supplier)."""
    invitation, raw = _make_invitation(organisation_id, email, "admin", actor.user_id)
    audit.record(actor, "invitation.created", invitation, organisation_id=organisation_id,
                 detail={"email": email, "role": "admin"})
    return invitation, raw


def revoke_invitation(actor: Actor, invitation_id: int) -> Invitation:
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.id == invitation_id, Invitation.organisation_id == actor.organisation_id))
    if invitation is None:
        raise NotFound("No such invitation.")
    if invitation.status(now()) != "pending":
        raise Conflict("Only a pending invitation can be revoked.", state=invitation.status(now()))
    invitation.revoked_at = now()
    audit.record(actor, "invitation.revoked", invitation)
    db.session.commit()
    return invitation


def pending_invitation(raw_token: str) -> Invitation | None:
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == _sha256(raw_token)))
    if invitation is None or invitation.status(now()) != "pending":
        return None
    return invitation


def accept_invitation(raw_token: str, name: str, password: str) -> User:
    """Join the inviting organisation: a new account, or an existing one proven by its password."""
    invitation = pending_invitation(raw_token)
    if invitation is None:
        raise NotFound("This invitation is unknown, expired, revoked or already used.")
    user = db.session.scalar(select(User).where(User.email == invitation.email))
    if user is None:
        reason = check_password_rules(password)
        if reason:
            raise ValidationFailed("Choose a longer password.", fields={"password": reason})
        user = create_user(invitation.email, name or invitation.email, password)
    elif authenticate(invitation.email, password) is None:
        raise ValidationFailed("This e-mail already has an account: enter its password.",
                               fields={"password": _("Does not match the existing account.")})
    if not any(m.organisation_id == invitation.organisation_id for m in user.memberships):
        db.session.add(Membership(user_id=user.id, organisation_id=invitation.organisation_id, role=invitation.role))
    invitation.accepted_at = now()
    db.session.flush()
    actor = Actor(organisation_id=invitation.organisation_id, org_kind=invitation.organisation.kind,
                  role=invitation.role, user_id=user.id)
    audit.record(actor, "invitation.accepted", invitation)
    db.session.commit()
    return user


def list_tokens(actor: Actor) -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).options(joinedload(ApiToken.created_by)).where(ApiToken.organisation_id == actor.organisation_id).order_by(ApiToken.created_at.desc())
    ))


def create_api_token(actor: Actor, name: str, role: str, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """A machine token for the actor's organisation; only its SHA-256 is kept."""
    _check_role(actor.org_kind, role)
    creator_id = actor.user_id
    if creator_id is None and actor.token_id is not None:
        # A token made by a token belongs to the person behind it, and ends with them.
        creator_id = db.session.scalar(select(ApiToken.created_by_id).where(ApiToken.id == actor.token_id))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        organisation_id=actor.organisation_id, name=name, role=role, prefix=raw[:12], token_hash=_sha256(raw),
        created_by_id=creator_id,
        expires_at=now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "api_token.created", token, detail={"name": name, "role": role})
    db.session.commit()
    return token, raw


def get_api_token(actor: Actor, token_id: int) -> ApiToken:
    token = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.created_by)).where(
        ApiToken.id == token_id, ApiToken.organisation_id == actor.organisation_id))
    if token is None:
        raise NotFound("No such API token.")
    return token


def revoke_api_token(actor: Actor, token_id: int) -> ApiToken:
    token = db.session.scalar(select(ApiToken).where(
        ApiToken.id == token_id, ApiToken.organisation_id == actor.organisation_id))
    if token is None:
        raise NotFound("No such API token.")
    if token.revoked_at is None:
        token.revoked_at = now()
        audit.record(actor, "api_token.revoked", token)
        db.session.commit()
    return token


def resolve_api_token(raw: str, touch_after: timedelta) -> ApiToken | None:
    """The usable token for this raw value, recording its use (at most once per `touch_after`)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.organisation))
                              .where(ApiToken.token_hash == _sha256(raw)))
    at = now()
    if token is None or not token.usable(at):
        return None
    if token.last_used_at is None or at - token.last_used_at >= touch_after:
        token.last_used_at = at
        db.session.commit()
    return token


def set_locale(user_id: int, locale: str) -> None:
    user = db.session.get(User, user_id)
    if user is not None:
        user.locale = locale
        db.session.commit()


# Sessions: the signed cookie carries a random id; the server keeps its hash and can end it at any time.

def open_session(user_id: int, organisation_id: int | None) -> str:
    """Record a new signed-in session and return the raw id for the cookie (the caller commits)."""
    raw = secrets.token_urlsafe(32)
    db.session.add(UserSession(sid_hash=_sha256(raw), user_id=user_id, organisation_id=organisation_id))
    db.session.flush()
    return raw


def live_session(raw: object, user_id: int) -> UserSession | None:
    """The open session this cookie id names for this user, or None (unknown, ended, or someone else's)."""
    if not isinstance(raw, str) or not raw or len(raw) > 100:
        return None
    record = db.session.scalar(select(UserSession).where(UserSession.sid_hash == _sha256(raw)))
    if record is None or record.revoked_at is not None or record.user_id != user_id:
        return None
    return record


def touch_session(record: UserSession, organisation_id: int) -> None:
    """Note the session's use and organisation, writing only when either changed enough to matter."""
    at = now()
    if record.organisation_id != organisation_id or at - record.last_seen_at >= SESSION_TOUCH_INTERVAL:
        record.organisation_id = organisation_id
        record.last_seen_at = at
        db.session.commit()


def end_session(raw: object) -> None:
    """Logout: this session ends on the server, so a saved copy of the cookie is worthless."""
    if isinstance(raw, str) and raw:
        db.session.execute(update(UserSession).where(UserSession.sid_hash == _sha256(raw),
                                                     UserSession.revoked_at.is_(None)).values(revoked_at=now()))
    db.session.commit()


def _revoke_sessions(user_id: int, *, organisation_id: int | None = None, keep: str | None = None) -> int:
    """End a user's open sessions (only those in one organisation, or all but one); the number ended."""
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if organisation_id is not None:
        stmt = stmt.where(UserSession.organisation_id == organisation_id)
    if keep:
        stmt = stmt.where(UserSession.sid_hash != _sha256(keep))
    return db.session.execute(stmt.values(revoked_at=now())).rowcount


def sign_out_everywhere(actor: Actor) -> int:
    """The user ends all their own sessions, this one included; the number ended."""
    ended = _revoke_sessions(actor.user_id)
    audit.record(actor, "user.signed_out_everywhere", object_type="user_account", object_id=actor.user_id,
                 detail={"sessions": ended})
    db.session.commit()
    logger.info("user %s ended all %s of their sessions", actor.user_id, ended)
    return ended


def change_password(actor: Actor, current_password: str, new_password: str, keep_session: str | None) -> None:
    """Set a new password after checking the current one; every other session of the user ends."""
    user = db.session.get(User, actor.user_id)
    try:
        _hasher.verify(user.password_hash, current_password)
    except (VerificationError, InvalidHashError):
        raise ValidationFailed("The current password is not right.",
                               fields={"current_password": _("Does not match your password.")}) from None
    reason = check_password_rules(new_password)
    if reason:
        raise ValidationFailed("Choose a longer password.", fields={"new_password": reason})
    user.password_hash = hash_password(new_password)
    ended = _revoke_sessions(user.id, keep=keep_session)
    audit.record(actor, "user.password_changed", user, detail={"sessions_ended": ended})
    db.session.commit()
    logger.info("user %s changed their password; %s other sessions ended", user.id, ended)
