"""The tenant-isolation walk restricted to the orders routes (the full walk also covers them)."""
from __future__ import annotations

from cogrow.core.auth import access_of
from tests.conftest import actor_of, sign_in
from tests.core.test_tenant_isolation import _own_org, _request, _snapshot, _url_values


def _order_routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.startswith("orders.") or rule.endpoint.startswith("api.orders_"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_orders_routes_are_all_walked(app):
    endpoints = {rule.endpoint for rule, _ in _order_routes(app)}
    assert {"orders.list_page", "orders.detail", "orders.new", "api.orders_index", "api.orders_revise",
            "api.orders_accept_proposal"} <= endpoints


def test_no_foreign_actor_gets_a_2xx_on_an_orders_route(app, db, tenant_a, tenant_b):
    marker = tenant_a.item.prime_part_number
    # Domains' snapshot() create their walk objects (in other domains' tables too): settle them first.
    _snapshot(db, tenant_a)
    before = _snapshot(db, tenant_a)
    failures = []
    for rule, method in _order_routes(app):
        access = access_of(app.view_functions[rule.endpoint])
        url = rule.build(_url_values(rule, access, tenant_a, db), append_unknown=False)[1]
        has_ids = bool(rule.arguments)
        response = _request(app.test_client(), method, url)
        if response.status_code < 300 or (response.status_code < 400 and "/login" not in response.headers.get("Location", "")):
            failures.append(f"anonymous {method} {url} -> {response.status_code}")
        for key, user in tenant_b.users.items():
            client = app.test_client()
            sign_in(client, user)
            response = _request(client, method, url)
            body = response.get_data(as_text=True)
            if response.status_code < 300 and (has_ids or marker in body or "WALK-PO-1" in body):
                failures.append(f"foreign session {key} {method} {url} -> {response.status_code}")
            if has_ids and access.allows(actor_of(user, user.memberships[0].organisation)) and response.status_code != 404:
                failures.append(f"foreign session {key} {method} {url} -> {response.status_code}, expected 404")
        for key, raw in tenant_b.tokens.items():
            response = _request(app.test_client(), method, url, token=raw)
            if response.status_code < 300 and (has_ids or marker in response.get_data(as_text=True)):
                failures.append(f"foreign token {key} {method} {url} -> {response.status_code}")
            if has_ids and url.startswith("/api/") and access.allows(actor_of(tenant_b.users[key], tenant_b.users[key].memberships[0].organisation)) \
                    and response.status_code != 404:
                failures.append(f"foreign token {key} {method} {url} -> {response.status_code}, expected 404")
        own = _own_org(access, tenant_a)
        for role in access.wrong_roles(own.kind):
            client = app.test_client()
            sign_in(client, tenant_a.users[f"{own.kind}:{role}"])
            response = _request(client, method, url)
            if response.status_code not in (401, 403, 404):
                failures.append(f"wrong role {own.kind}:{role} {method} {url} -> {response.status_code}")
    assert failures == [], "\n".join(failures)
    assert _snapshot(db, tenant_a) == before, "a denied request changed tenant A's data"


def test_own_allowed_users_open_every_orders_page(app, db, tenant_a):
    for rule, method in _order_routes(app):
        if method != "GET":
            continue
        access = access_of(app.view_functions[rule.endpoint])
        own = _own_org(access, tenant_a)
        for role in access.roles:
            key = f"{own.kind}:{role}"
            if key not in tenant_a.users:
                continue
            url = rule.build(_url_values(rule, access, tenant_a, db), append_unknown=False)[1]
            client = app.test_client()
            if url.startswith("/api/"):
                response = client.get(url, headers={"Authorization": f"Bearer {tenant_a.tokens[key]}"})
            else:
                sign_in(client, tenant_a.users[key])
                response = client.get(url)
            assert response.status_code == 200, f"{key} GET {url} -> {response.status_code}"
