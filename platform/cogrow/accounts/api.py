"""JSON API for onboarding without the web forms: accept an invitation, and manage the organisation's API tokens."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g

from cogrow.accounts import services
from cogrow.accounts.models import ApiToken as ApiTokenRow
from cogrow.accounts.ratelimit import api_rate_key, api_rate_limit, login_rate_limit
from cogrow.accounts.schemas import (ApiToken, ApiTokenCreate, ApiTokenCreated, ApiTokenList, InvitationAccepted,
                                     InvitationAcceptance, InvitationOrganisation, TokenCreator)
from cogrow.core.api import bp, guard_path, operation
from cogrow.core.auth import Actor, public, requires
from cogrow.core.errors import NotFound, ValidationFailed
from cogrow.extensions import limiter

# Every API route counts against its caller's limit (per token); a route with its own limit replaces this one.
limiter.limit(api_rate_limit, key_func=api_rate_key)(bp)


def _pending(_actor: Any, token: str) -> Any:
    """The owner guard of <token>: an unknown invitation is a 404 whatever the body."""
    invitation = services.pending_invitation(token)
    if invitation is None:
        raise NotFound("This invitation is unknown, expired, revoked or already used.")
    return invitation


guard_path("token", _pending)


def token_status(token: ApiTokenRow, at: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "active" if token.usable(at) else "expired"


def _token_fields(token: ApiTokenRow, at: datetime) -> dict[str, Any]:
    creator = token.created_by
    return {"id": token.id, "name": token.name, "role": token.role, "prefix": token.prefix,
            "status": token_status(token, at),
            "created_by": TokenCreator(id=creator.id, name=creator.name) if creator else None,
            "created_at": token.created_at, "expires_at": token.expires_at, "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at}


@bp.post("/invitations/<token>/accept")
@public
@limiter.limit(login_rate_limit, methods=["POST"])
@operation("acceptInvitation", tag="accounts", body=InvitationAcceptance, response=InvitationAccepted, status=201)
def accept_invitation(token: str, body: InvitationAcceptance) -> InvitationAccepted:
    """Join the inviting organisation, as the web link does; an admin may ask for a first API token at once."""
    invitation = _pending(None, token)
    if body.token_name and invitation.role != "admin":
        raise ValidationFailed("Only an admin invitation can create an API token.",
                               fields={"token_name": "only for an admin invitation"})
    organisation = invitation.organisation
    role, organisation_id, kind, name = invitation.role, organisation.id, organisation.kind, organisation.name
    user = services.accept_invitation(token, body.name or "", body.password)
    answer = InvitationAccepted(user_id=user.id, organisation=InvitationOrganisation(id=organisation_id, name=name,
                                                                                     kind=kind), role=role)
    if body.token_name:
        actor = Actor(organisation_id=organisation_id, org_kind=kind, role=role, user_id=user.id)
        api_token, raw = services.create_api_token(actor, body.token_name, role)
        # The raw token is shown this once; only its hash is kept.
        answer.api_token = ApiTokenCreated(**_token_fields(api_token, services.now()), token=raw)
    return answer


@bp.get("/tokens")
@requires("admin", api=True)
@operation("listApiTokens", tag="accounts", response=ApiTokenList)
def tokens_index() -> ApiTokenList:
    """The organisation's API tokens (never their values)."""
    at = services.now()
    return ApiTokenList(data=[ApiToken(**_token_fields(t, at)) for t in services.list_tokens(g.actor)])


@bp.post("/tokens")
@requires("admin", api=True)
@operation("createApiToken", tag="accounts", body=ApiTokenCreate, response=ApiTokenCreated, status=201,
           links={"RevokeApiToken": {"operationId": "revokeApiToken", "parameters": {"token_id": "$response.body#/id"}}})
def tokens_create(body: ApiTokenCreate) -> ApiTokenCreated:
    """Create an API token; its value is in this answer only."""
    token, raw = services.create_api_token(g.actor, body.name, body.role, body.expires_in_days)
    # The raw token is shown this once; only its hash is kept.
    return ApiTokenCreated(**_token_fields(token, services.now()), token=raw)


@bp.post("/tokens/<int:token_id>/revoke")
@requires("admin", api=True)
@operation("revokeApiToken", tag="accounts", response=ApiToken)
def tokens_revoke(token_id: int) -> ApiToken:
    """Revoke one of the organisation's tokens; it stops working at once."""
    services.revoke_api_token(g.actor, token_id)
    return ApiToken(**_token_fields(services.get_api_token(g.actor, token_id), services.now()))
