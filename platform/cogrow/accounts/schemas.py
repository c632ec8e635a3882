"""What the accounts API accepts and answers: accepting an invitation, and the organisation's API tokens."""
from __future__ import annotations

from typing import Annotated, Any

from flask import g
from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from cogrow.accounts.models import ROLES, ROLES_BY_KIND
from cogrow.core import fields
from cogrow.core.schema import Body, Moment, Resource, int_type, text_type


def _reason(message: Any) -> PydanticCustomError:
    return PydanticCustomError("cogrow", "{reason}", {"reason": str(message)})


def _required(value: str) -> str:
    if not value:
        raise _reason(_l("This field is required."))
    return value


def _password(value: Any) -> str:
    # Taken as sent: no trimming or folding, a password is compared byte for byte (services judge its length).
    if not isinstance(value, str) or not value:
        raise _reason(_l("This field is required."))
    return value


def _role_of_this_organisation(value: Any) -> str:
    """A role the caller's kind of organisation has (a supplier has no planner)."""
    roles = ROLES_BY_KIND[g.actor.org_kind]
    text = fields.normalise(value) if isinstance(value, str) else value
    if text not in roles:
        raise _reason(_l("Must be one of: %(choices)s.", choices=", ".join(roles)))
    return text


TokenName = Annotated[text_type(max_length=100), AfterValidator(_required)]
Password = Annotated[str, PlainValidator(_password), WithJsonSchema({"type": "string", "minLength": 1,
                                                                     "format": "password"})]
TokenRole = Annotated[str, PlainValidator(_role_of_this_organisation),
                      WithJsonSchema({"type": "string", "enum": list(ROLES),
                                      "description": "A role of the caller's kind of organisation."})]


class InvitationAcceptance(Body):
    """Join the inviting organisation. An existing account gives its own password; a new one chooses one.
    `token_name` (an admin invitation only) asks for a first API token at once."""

    name: text_type(max_length=200) | None = None  # type: ignore[valid-type]
    password: Password
    token_name: text_type(max_length=100) | None = None  # type: ignore[valid-type]


class ApiTokenCreate(Body):
    """A new token of the caller's organisation, with one of its roles; it expires after `expires_in_days`."""

    name: TokenName
    role: TokenRole
    expires_in_days: int_type(minimum=1, maximum=3650) | None = None  # type: ignore[valid-type]


class TokenCreator(Resource):
    id: int
    name: str


class ApiToken(Resource):
    """A token as its organisation's admins see it: never its value, which only its creation shows."""

    id: int
    name: str
    role: str
    prefix: str
    status: str = Field(description="active, expired or revoked")
    created_by: TokenCreator | None
    created_at: Moment | None
    expires_at: Moment | None
    last_used_at: Moment | None
    revoked_at: Moment | None


class ApiTokenCreated(ApiToken):
    token: str = Field(description="The token itself: shown this once, only its hash is kept.")


class ApiTokenList(Resource):
    data: list[ApiToken]


class InvitationOrganisation(Resource):
    id: int
    name: str
    kind: str


class InvitationAccepted(Resource):
    user_id: int
    organisation: InvitationOrganisation
    role: str
    api_token: ApiTokenCreated | None = Field(default=None, exclude_if=lambda token: token is None,
                                              description="The first API token, when `token_name` asked for one.")
