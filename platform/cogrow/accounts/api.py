"""JSON API for onboarding without the web forms: accept an invitation, and manage the organisation's API tokens."""
from __future__ import annotations

from datetime import datetime

from flask import g, jsonify

from cogrow.accounts import services
from cogrow.accounts.models import ROLES_BY_KIND, ApiToken
from cogrow.accounts.ratelimit import api_rate_key, api_rate_limit, login_rate_limit
from cogrow.core.api import bp, json_body
from cogrow.core.auth import Actor, public, requires
from cogrow.core.errors import NotFound, ValidationFailed
from cogrow.core.validation import Fields
from cogrow.extensions import limiter

# Every API route counts against its caller's limit (per token); a route with its own limit replaces this one.
limiter.limit(api_rate_limit, key_func=api_rate_key)(bp)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def token_status(token: ApiToken, at: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "active" if token.usable(at) else "expired"


def token_json(token: ApiToken, at: datetime) -> dict:
    creator = token.created_by
    return {
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "prefix": token.prefix,
        "status": token_status(token, at),
        "created_by": {"id": creator.id, "name": creator.name} if creator else None,
        "created_at": _iso(token.created_at),
        "expires_at": _iso(token.expires_at),
        "last_used_at": _iso(token.last_used_at),
        "revoked_at": _iso(token.revoked_at),
    }


@bp.post("/invitations/<token>/accept")
@public
@limiter.limit(login_rate_limit, methods=["POST"])
def accept_invitation(token: str):
    """Join the inviting organisation, as the web link does; an admin may ask for a first API token at once."""
    invitation = services.pending_invitation(token)
    if invitation is None:
        raise NotFound("This invitation is unknown, expired, revoked or already used.")
    data = json_body()
    f = Fields(data, allowed_extra=("password",))
    f.text("name", max_length=200)
    f.text("token_name", max_length=100)
    values = f.done()
    password = data.get("password")
    if not isinstance(password, str) or not password:
        raise ValidationFailed("Some fields are not valid.", fields={"password": "required, as text"})
    if values.get("token_name") and invitation.role != "admin":
        raise ValidationFailed("Only an admin invitation can create an API token.",
                               fields={"token_name": "only for an admin invitation"})
    organisation = invitation.organisation
    role, organisation_id, kind = invitation.role, organisation.id, organisation.kind
    user = services.accept_invitation(token, values.get("name") or "", password)
    body = {"user_id": user.id, "organisation": {"id": organisation_id, "name": organisation.name, "kind": kind},
            "role": role}
    if values.get("token_name"):
        actor = Actor(organisation_id=organisation_id, org_kind=kind, role=role, user_id=user.id)
        api_token, raw = services.create_api_token(actor, values["token_name"], role)
        # The raw token is shown this once; only its hash is kept.
        body["api_token"] = {**token_json(api_token, services.now()), "token": raw}
    response = jsonify(body)
    response.status_code = 201
    return response


@bp.get("/tokens")
@requires("admin", api=True)
def tokens_index():
    at = services.now()
    return jsonify({"data": [token_json(t, at) for t in services.list_tokens(g.actor)]})


@bp.post("/tokens")
@requires("admin", api=True)
def tokens_create():
    f = Fields(json_body())
    f.text("name", required=True, max_length=100)
    f.text("role", required=True, choices=ROLES_BY_KIND[g.actor.org_kind])
    f.integer("expires_in_days", minimum=1, maximum=3650)
    values = f.done()
    token, raw = services.create_api_token(g.actor, values["name"], values["role"], values.get("expires_in_days"))
    # The raw token is shown this once; only its hash is kept.
    response = jsonify({**token_json(token, services.now()), "token": raw})
    response.status_code = 201
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@requires("admin", api=True)
def tokens_revoke(token_id: int):
    services.revoke_api_token(g.actor, token_id)
    return jsonify(token_json(services.get_api_token(g.actor, token_id), services.now()))
