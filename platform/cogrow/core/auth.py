"""Who is acting: a signed-in user in one organisation, or an organisation's API token. Route guards.

A leaf of core: it imports no domain. Who the actor of a request is (a bearer token, a login session) is found by
the accounts package (accounts/loading.py), which sets `g.actor` before any view runs; the guards here only read it.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

from flask import g

from cogrow.core.errors import Forbidden, Unauthorized
from cogrow.core.roles import ROLES, ROLES_BY_KIND


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
