"""Hostile numbers: one parser for ids, integers and decimals; no digit-like text or oversized id ever gives a 5xx."""
from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote, unquote

import pytest
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from cogrow.core.auth import access_of, is_public
from cogrow.core.errors import ValidationFailed
from cogrow.core import fields
from cogrow.core.validation import MAX_BIG_ID, MAX_ID, IdConverter, form_version, parse_id, parse_int
from tests.conftest import sign_in
from tests.core.test_tenant_isolation import _own_org, _url_values

# Text that str.isdigit() accepts but that is no number here, and ids that no row can have.
NOT_NUMBERS = ["²", "١٢", "①", "𐩀", "1e3", "NaN", "Infinity", "-1", "+1", " ", "1 2", "0x10", "١"]
# Most keys are INTEGER (32 bits on PostgreSQL); a few are BIGINT.
TOO_LARGE = [str(MAX_ID + 1), "99999999999999999999", str(2**63), "9" * 5000]
HOSTILE_IDS = ["²", "١٢", str(MAX_ID + 1), "99999999999999999999", str(2**63)]


# --- the parser -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", NOT_NUMBERS + TOO_LARGE)
def test_an_id_is_ascii_or_full_width_digits_within_a_signed_64_bit_integer(app, text):
    with app.test_request_context():
        assert parse_id(text) is None


@pytest.mark.parametrize("text, value", [("12", 12), ("１２", 12), (" 7 ", 7), ("007", 7), (str(MAX_ID), MAX_ID), (5, 5)])
def test_ids_in_ascii_and_full_width_digits_are_read(app, text, value):
    with app.test_request_context():
        assert parse_id(text) == value


@pytest.mark.parametrize("value", [0, "0", True, 1.0, None, [1], MAX_ID + 1])
def test_other_values_are_no_id(app, value):
    with app.test_request_context():
        assert parse_id(value) is None


def test_ids_of_bigint_keys_are_read_up_to_the_64_bit_limit(app):
    with app.test_request_context():
        assert parse_id(str(2**40), MAX_BIG_ID) == 2**40 and parse_id(str(MAX_BIG_ID), MAX_BIG_ID) == MAX_BIG_ID
        assert parse_id(str(2**63), MAX_BIG_ID) is None and parse_id(str(2**40)) is None


def test_a_sign_is_read_only_where_it_is_allowed(app):
    with app.test_request_context():
        assert parse_int("-3", minimum=None, signed=True) == -3
        assert parse_int("－３", minimum=None, signed=True) == -3  # full-width minus and digit
        assert isinstance(parse_int("-3", minimum=None), str)
        assert isinstance(parse_int("+3"), str)


@pytest.mark.parametrize("text", ["²", "١٢", "1e3", "1E3", "NaN", "Infinity", "-Infinity", "١.٥", "2²", "0x1", "1_000",
                                  "", ".", "1.2.3"])
def test_a_decimal_is_digits_with_an_optional_sign_and_point_and_no_exponent(app, text):
    with app.test_request_context():
        with pytest.raises(fields.FieldError):
            fields.decimal(text, minimum=None)


@pytest.mark.parametrize("text, value", [("1.5", "1.5"), ("１２.５", "12.5"), ("１２．５", "12.5"), ("-0.25", "-0.25"),
                                         (".5", "0.5"), ("3.", "3")])
def test_decimals_in_ascii_and_full_width_digits_are_read(app, text, value):
    with app.test_request_context():
        assert fields.decimal(text, minimum=None) == Decimal(value)


def test_a_garbled_form_version_names_the_field_and_a_missing_one_is_stale(app):
    with app.test_request_context():
        assert form_version(None) == -1 and form_version("") == -1
        assert form_version("１２") == 12
        with pytest.raises(ValidationFailed) as caught:
            form_version("²")
        assert "version" in caught.value.fields


def test_every_int_url_argument_uses_the_bounded_converter(app):
    rules = [r for r in app.url_map.iter_rules() if r._converters]
    assert rules and all(isinstance(c, IdConverter) for r in rules for name, c in r._converters.items()
                         if "int:" + name in r.rule)


# --- every route with an id ---------------------------------------------------------------------------------------

def _hostile_urls(app, db, tenant):
    """(rule, method, url, access, argument, largest) with one id argument (or a line reference) replaced by each
    hostile value, and by the largest id the argument's column holds (a real look-up that finds nothing)."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or is_public(view):
            continue
        targets = [name for name in rule.arguments if isinstance(rule._converters.get(name), IdConverter)]
        targets += [name for name in rule.arguments if name == "line_ref"]
        if not targets:
            continue
        access = access_of(view)
        values = _url_values(rule, access, tenant, db)
        for target in targets:
            sentinel = 987654321987 if target != "line_ref" else "SENTINEL-REF"
            url = rule.build({**values, target: sentinel}, append_unknown=False)[1]
            converter = rule._converters.get(target)
            largest = str(converter.maximum if isinstance(converter, IdConverter) else MAX_ID)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for hostile in HOSTILE_IDS + [largest]:
                    yield rule, method, url.replace(str(sentinel), quote(hostile)), access, target, hostile == largest


def _open(app, tenant, method, url, access):
    """Ask as a user (pages) or with a token (API) of the side and role the route allows."""
    own = _own_org(access, tenant)
    role = next(r for r in access.roles if f"{own.kind}:{r}" in tenant.users)
    client = app.test_client()
    headers, kwargs = {}, {}
    if url.startswith("/api/"):
        headers["Authorization"] = f"Bearer {tenant.tokens[f'{own.kind}:{role}']}"
        if method in {"POST", "PATCH", "PUT"}:
            kwargs["json"], headers["If-Match"] = {}, '"1"'
    else:
        sign_in(client, tenant.users[f"{own.kind}:{role}"])
        if method in {"POST", "PATCH", "PUT"}:
            kwargs["data"] = {"version": "1"}
    return client.open(url, method=method, headers=headers, **kwargs)


def _another_rule_takes(app, url, method) -> bool:
    """A 405 is right only when a rule for another method really matches the path (say a <kind> string)."""
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(unquote(url), method=method)
    except MethodNotAllowed as exc:
        others = [m for m in exc.valid_methods or () if m not in ("HEAD", "OPTIONS")]
    except HTTPException:
        return False
    else:
        return False
    try:
        return bool(others) and all(adapter.match(unquote(url), method=m) for m in others)
    except HTTPException:
        return False


def test_no_route_answers_5xx_to_a_digit_like_or_oversized_id(app, db, tenant_a):
    failures, walked = [], 0
    for rule, method, url, access, target, largest in _hostile_urls(app, db, tenant_a):
        response = _open(app, tenant_a, method, url, access)
        walked += 1
        # An id that is no number, or that no row can have, names nothing: a 404 before any view runs.
        expected_404 = target != "line_ref" and not largest
        if response.status_code == 405 and _another_rule_takes(app, url, method):
            continue
        if response.status_code >= 500 or (expected_404 and response.status_code != 404):
            failures.append(f"{method} {url} -> {response.status_code}")
    assert walked > 400
    assert failures == [], "\n".join(failures)


def test_the_largest_storable_id_is_looked_up_and_not_found(app, db, tenant_a):
    token = tenant_a.tokens["prime:admin"]
    response = app.test_client().get(f"/api/v1/relationships/{MAX_ID}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    for too_large in (MAX_ID + 1, 2**63 - 1, 99999999999999999999):
        response = app.test_client().get(f"/api/v1/relationships/{too_large}",
                                         headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_a_bigint_key_in_a_url_is_read_up_to_the_64_bit_limit(app, db, tenant_a):
    token = tenant_a.tokens["prime:admin"]
    for delivery_id, status in ((2**40, 404), (MAX_BIG_ID, 404), (2**63, 404)):
        response = app.test_client().post(f"/api/v1/webhooks/deliveries/{delivery_id}/redeliver",
                                          headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status
    rules = [r for r in app.url_map.iter_rules() if "delivery_id" in r.arguments]
    assert rules and all(r._converters["delivery_id"].maximum == MAX_BIG_ID for r in rules)


# --- query strings, headers and form fields ---------------------------------------------------------------------

BAD_ARGS = ["²", "١٢", "1e3", "NaN", "-1", "99999999999999999999", "9" * 5000]


def _api(client, tenant, method, url, **kwargs):
    headers = {"Authorization": f"Bearer {tenant.tokens['prime:admin']}", **kwargs.pop("headers", {})}
    return client.open(url, method=method, headers=headers, **kwargs)


@pytest.mark.parametrize("value", BAD_ARGS)
@pytest.mark.parametrize("path, name", [
    ("/api/v1/relationships", "limit"), ("/api/v1/relationships", "offset"), ("/api/v1/alerts", "relationship_id"),
    ("/api/v1/alerts", "limit"), ("/api/v1/relationships/{rel}/items", "limit"),
    ("/api/v1/relationships/{rel}/production-reports", "item_id"),
])
def test_a_bad_number_in_an_api_query_is_a_400_naming_it(app, db, tenant_a, path, name, value):
    url = path.format(rel=tenant_a.relationship.id)
    response = _api(app.test_client(), tenant_a, "GET", url, query_string={name: value})
    assert response.status_code in (400, 422), (url, name, value, response.status_code)
    assert name in response.get_json()["error"]["fields"]


def test_full_width_digits_in_a_query_are_read_as_digits(app, db, tenant_a):
    response = _api(app.test_client(), tenant_a, "GET", "/api/v1/relationships", query_string={"limit": "１２"})
    assert response.status_code == 200 and response.get_json()["limit"] == 12


@pytest.mark.parametrize("value", BAD_ARGS)
@pytest.mark.parametrize("path, name, statuses", [
    ("/orders", "relationship_id", (200,)), ("/shipments", "relationship_id", (200,)),
    ("/alerts", "relationship_id", (422,)), ("/production", "page", (400,)),
    ("/relationships/{rel}/forecasts/waterfall", "page", (400,)),
])
def test_a_bad_number_in_a_page_query_is_ignored_or_refused_never_a_500(app, db, tenant_a, path, name, statuses, value):
    client = app.test_client()
    sign_in(client, tenant_a.users["prime:admin"])
    response = client.get(path.format(rel=tenant_a.relationship.id), query_string={name: value})
    assert response.status_code in statuses, (path, value, response.status_code)


@pytest.mark.parametrize("value", ['"²"', '"١٢"', '"1e3"', '"2147483648"', '"99999999999999999999"', 'W/"²"', '"-1"'])
def test_a_garbled_if_match_on_any_patch_is_a_400(app, db, tenant_a, value):
    patched = 0
    for rule in app.url_map.iter_rules():
        if "PATCH" not in rule.methods:
            continue
        access = access_of(app.view_functions[rule.endpoint])
        url = rule.build(_url_values(rule, access, tenant_a, db), append_unknown=False)[1]
        own = _own_org(access, tenant_a)
        role = next(r for r in access.roles if f"{own.kind}:{r}" in tenant_a.users)
        response = app.test_client().patch(url, json={}, headers={
            "Authorization": f"Bearer {tenant_a.tokens[f'{own.kind}:{role}']}", "If-Match": value})
        assert response.status_code == 400, (url, value, response.status_code)
        assert "If-Match" in response.get_json()["error"]["fields"]
        patched += 1
    assert patched >= 4


@pytest.mark.parametrize("value", ['"²"', '"١٢"', '"99999999999999999999"'])
def test_a_garbled_if_match_on_an_action_is_a_400(app, db, tenant_a, value):
    from tests.alerts.walk import _alert

    alert = _alert(tenant_a, db)
    response = _api(app.test_client(), tenant_a, "POST", f"/api/v1/alerts/{alert.id}/acknowledge", json={},
                    headers={"If-Match": value})
    assert response.status_code == 400 and "If-Match" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("value", ["²", "١٢", "1e3", "99999999999999999999"])
def test_a_garbled_form_version_is_a_422_naming_it(app, db, tenant_a, value):
    from tests.alerts.walk import _alert

    alert = _alert(tenant_a, db)
    client = app.test_client()
    sign_in(client, tenant_a.users["prime:planner"])
    for action in ("acknowledge", "resolve"):
        response = client.post(f"/alerts/{alert.id}/{action}", data={"version": value})
        assert response.status_code == 422, (action, value, response.status_code)
        assert 'version' in response.get_data(as_text=True)
    rel, item = tenant_a.relationship.id, tenant_a.item.id
    sign_in(client, tenant_a.users["prime:admin"])
    for url in (f"/relationships/{rel}/items/{item}", f"/relationships/{rel}/terms"):
        response = client.post(url, data={"version": value})
        assert response.status_code == 422, (url, value, response.status_code)


def test_a_line_reference_of_digit_like_text_is_a_404(app, db, tenant_a):
    token = tenant_a.tokens["supplier:admin"]
    for ref in ("²", "١٢", "99999999999999999999"):
        response = app.test_client().get(f"/api/v1/relationships/{tenant_a.relationship.id}/lines/{quote(ref)}/readings",
                                         headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 404, (ref, response.status_code)


@pytest.mark.parametrize("value", ["²", "١٢", str(MAX_ID + 1), "99999999999999999999"])
def test_digit_like_ids_in_forms_are_refused_or_ignored(app, db, tenant_a, value):
    from tests.alerts.walk import _alert

    _alert(tenant_a, db)
    client = app.test_client()
    sign_in(client, tenant_a.users["prime:planner"])
    assert client.post("/alerts/bulk", data={"ids": [value], "action": "acknowledge"}).status_code == 422
    # Marking read: text that is no id is refused naming `ids` (422); an id past the column's range names no row
    # and marks nothing (302). Never a 500.
    assert client.post("/notifications/read", data={"ids": [value]}).status_code in (302, 422)
    assert client.post("/switch-organisation", data={"organisation_id": value}).status_code == 302


@pytest.mark.parametrize("value", ["²", "١٢", "99999999999999999999", "-1"])
def test_a_forged_row_count_on_the_order_form_falls_back_to_the_default(app, value):
    from cogrow.orders import schemas

    with app.test_request_context():
        assert schemas.form_row_count({"rows": value}) == schemas.FORM_NEW_ROWS
        assert schemas.form_row_count({"rows": "３"}) == 3
