"""The tenant-isolation walk: every route, as every kind of actor that must not get in.

Each domain teaches the walk its own URL parameters in `tests/<domain>/walk.py`:
`WALK_VALUES = {"po_id": fn(tenant, org, db) -> id}` names an object of `tenant` (created when needed), and an
optional `snapshot(db, tenant)` returns what a denied request must leave untouched.
"""
from __future__ import annotations

import importlib
import pkgutil

import pytest
from sqlalchemy import func, select

from cogrow.accounts.models import ApiToken, Invitation, Membership
from cogrow.catalog.models import Item
from cogrow.core.auth import access_of, is_public
from cogrow.relationships.models import SupplyRelationship
from tests.conftest import actor_of, sign_in

# Routes reachable without signing in. Adding one here is a decision, not a default.
PUBLIC_ENDPOINTS = {"core.index", "core.set_language", "core.health", "accounts.login", "accounts.accept_invitation",
                    "api.accept_invitation", "api.openapi_document", "apidocs.index"}
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def _domain_walks():
    import tests

    for info in pkgutil.iter_modules(tests.__path__):
        if info.ispkg:
            try:
                yield importlib.import_module(f"tests.{info.name}.walk")
            except ModuleNotFoundError as exc:
                if exc.name != f"tests.{info.name}.walk":
                    raise


DOMAIN_WALKS = list(_domain_walks())
WALK_VALUES = {name: fn for walk in DOMAIN_WALKS for name, fn in getattr(walk, "WALK_VALUES", {}).items()}


def _own_org(access, tenant):
    return tenant.supplier if access.kind == "supplier" else tenant.prime


def _url_values(rule, access, tenant, db):
    """Values for the rule's parameters that name objects of `tenant` (never of the actor's own tenant)."""
    org = _own_org(access, tenant)
    values = {}
    for arg in rule.arguments:
        if arg == "relationship_id":
            values[arg] = tenant.relationship.id
        elif arg == "item_id":
            values[arg] = tenant.item.id
        elif arg == "membership_id":
            values[arg] = db.session.scalar(select(Membership.id).where(Membership.organisation_id == org.id).limit(1))
        elif arg == "token_id":
            values[arg] = db.session.scalar(select(ApiToken.id).where(ApiToken.organisation_id == org.id).limit(1))
        elif arg == "invitation_id":
            values[arg] = _invitation_id(org, db)
        elif arg == "token":
            values[arg] = "not-a-real-token"
        elif arg in WALK_VALUES:
            values[arg] = WALK_VALUES[arg](tenant, org, db)
        else:
            raise AssertionError(f"the walk does not know how to fill <{arg}> of {rule.rule}: teach it")
    return values


def _invitation_id(org, db):
    from datetime import datetime, timedelta, timezone

    existing = db.session.scalar(select(Invitation.id).where(Invitation.organisation_id == org.id).limit(1))
    if existing:
        return existing
    inv = Invitation(organisation_id=org.id, email="walk@example.com", role="admin", token_hash=f"{org.id:064d}",
                     expires_at=datetime.now(timezone.utc) + timedelta(days=1))
    db.session.add(inv)
    db.session.commit()
    return inv.id


def _snapshot(db, tenant):
    """What a denied request must leave untouched: tenant A's rows and their versions."""
    orgs = (tenant.prime.id, tenant.supplier.id)
    return (
        db.session.execute(select(SupplyRelationship.id, SupplyRelationship.status, SupplyRelationship.version)
                           .order_by(SupplyRelationship.id)).all(),
        db.session.execute(select(Item.id, Item.version, Item.supplier_part_number).order_by(Item.id)).all(),
        db.session.execute(select(Membership.id, Membership.role).where(Membership.organisation_id.in_(orgs))
                           .order_by(Membership.id)).all(),
        db.session.execute(select(ApiToken.id, ApiToken.revoked_at).where(ApiToken.organisation_id.in_(orgs))
                           .order_by(ApiToken.id)).all(),
        db.session.execute(select(Invitation.id, Invitation.revoked_at).order_by(Invitation.id)).all(),
        db.session.scalar(select(func.count()).select_from(SupplyRelationship)),
        tuple(walk.snapshot(db, tenant) for walk in DOMAIN_WALKS if hasattr(walk, "snapshot")),
    )


def _request(client, method, url, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"headers": headers}
    if method in {"POST", "PATCH", "PUT"}:
        if url.startswith("/api/"):
            kwargs["json"] = {}
            headers["If-Match"] = '"1"'
        else:
            kwargs["data"] = {}
    return client.open(url, method=method, **kwargs)


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - SKIPPED_METHODS):
            yield rule, method


def test_every_route_is_guarded_or_declared_public(app):
    unguarded = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static":
            continue
        if is_public(view):
            assert rule.endpoint in PUBLIC_ENDPOINTS, f"{rule.endpoint} is public but not declared so in the walk"
        elif access_of(view) is None:
            unguarded.append(rule.endpoint)
    assert unguarded == []


def test_no_foreign_actor_gets_a_2xx_on_any_route(app, db, tenant_a, tenant_b):
    marker = tenant_a.item.prime_part_number
    foreign_sessions = [(key, user) for key, user in tenant_b.users.items()]
    foreign_tokens = list(tenant_b.tokens.items())
    for org in (tenant_a.prime, tenant_a.supplier):
        _invitation_id(org, db)
    # Fill every route's parameters once first: the objects a domain creates on demand exist before the snapshot.
    for rule, _method in _routes(app):
        view = app.view_functions[rule.endpoint]
        if not is_public(view):
            _url_values(rule, access_of(view), tenant_a, db)
    _snapshot(db, tenant_a)  # a domain's snapshot() may create its walk objects (even in another domain's tables)
    before = _snapshot(db, tenant_a)
    walked = 0
    failures = []
    for rule, method in _routes(app):
        view = app.view_functions[rule.endpoint]
        if is_public(view):
            continue
        access = access_of(view)
        url = rule.build(_url_values(rule, access, tenant_a, db), append_unknown=False)[1]
        has_ids = bool(rule.arguments)
        walked += 1

        response = _request(app.test_client(), method, url)
        if response.status_code < 300 or (response.status_code < 400 and "/login" not in response.headers.get("Location", "")):
            failures.append(f"anonymous {method} {url} -> {response.status_code}")

        for key, user in foreign_sessions:
            client = app.test_client()
            sign_in(client, user)
            response = _request(client, method, url)
            if response.status_code < 300 and (has_ids or marker in response.get_data(as_text=True)):
                failures.append(f"foreign session {key} {method} {url} -> {response.status_code}")
            if has_ids and access.allows(actor_of(user, user.memberships[0].organisation)) and response.status_code != 404:
                failures.append(f"foreign session {key} {method} {url} -> {response.status_code}, expected 404")

        for key, raw in foreign_tokens:
            response = _request(app.test_client(), method, url, token=raw)
            if response.status_code < 300 and (has_ids or marker in response.get_data(as_text=True)):
                failures.append(f"foreign token {key} {method} {url} -> {response.status_code}")

        own = _own_org(access, tenant_a)
        for role in access.wrong_roles(own.kind):
            client = app.test_client()
            sign_in(client, tenant_a.users[f"{own.kind}:{role}"])
            response = _request(client, method, url)
            if response.status_code not in (401, 403, 404):
                failures.append(f"wrong role {own.kind}:{role} {method} {url} -> {response.status_code}")

    assert failures == [], "\n".join(failures)
    assert walked >= 30
    assert _snapshot(db, tenant_a) == before, "a denied request changed tenant A's data"


def test_own_allowed_users_can_open_every_get_route(app, db, tenant_a):
    """The walk's URLs are real: an allowed user of the owning side gets a 200, so a 404 above means isolation."""
    checked = 0
    for rule, method in _routes(app):
        view = app.view_functions[rule.endpoint]
        if method != "GET" or is_public(view):
            continue
        access = access_of(view)
        own = _own_org(access, tenant_a)
        role = next(r for r in access.roles if f"{own.kind}:{r}" in tenant_a.users)
        client = app.test_client()
        sign_in(client, tenant_a.users[f"{own.kind}:{role}"])
        url = rule.build(_url_values(rule, access, tenant_a, db), append_unknown=False)[1]
        response = client.get(url)
        assert response.status_code == 200, f"{own.kind}:{role} GET {url} -> {response.status_code}"
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("path", ["/relationships/{rel}", "/api/v1/relationships/{rel}"])
def test_foreign_read_is_answered_404_and_audited(app, db, tenant_a, tenant_b, path):
    from cogrow.core.models import AuditLog

    client = app.test_client()
    intruder = tenant_b.users["prime:planner"]
    sign_in(client, intruder)
    response = client.get(path.format(rel=tenant_a.relationship.id))
    assert response.status_code == 404
    row = db.session.scalars(select(AuditLog).where(AuditLog.user_id == intruder.id, AuditLog.outcome == "denied")).first()
    assert row is not None and row.organisation_id == tenant_b.prime.id
