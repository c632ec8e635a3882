"""The item catalog: who may change what, and what input is refused."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.catalog.models import Item
from tests.conftest import sign_in


def _h(tenant, key, **extra):
    return {"Authorization": f"Bearer {tenant.tokens[key]}", **extra}


def _items_url(tenant):
    return f"/api/v1/relationships/{tenant.relationship.id}/items"


def test_planner_adds_an_item_with_normalised_part_number(client, db, tenant_a):
    body = {"prime_part_number": "  ｂｒｋ-９００１ ", "description": "Caliper", "unit_price": "15000.50",
            "lead_time_days": 14, "uom": "ea"}
    response = client.post(_items_url(tenant_a), json=body, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 201, response.get_json()
    item = response.get_json()
    assert item["prime_part_number"] == "BRK-9001" and item["uom"] == "EA"
    assert item["unit_price"] == "15000.5" and item["currency"] == "KRW"
    stored = db.session.get(Item, item["id"])
    assert stored.unit_price == Decimal("15000.5000")


def test_duplicate_part_number_is_refused(client, db, tenant_a):
    body = {"prime_part_number": tenant_a.item.prime_part_number.lower() + "  "}
    response = client.post(_items_url(tenant_a), json=body, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422 and "prime_part_number" in response.get_json()["error"]["fields"]


def test_supplier_cannot_add_items(client, db, tenant_a):
    response = client.post(_items_url(tenant_a), json={"prime_part_number": "X-1"}, headers=_h(tenant_a, "supplier:admin"))
    assert response.status_code == 403


def test_supplier_sets_only_its_own_part_number(client, db, tenant_a):
    url = f"{_items_url(tenant_a)}/{tenant_a.item.id}"
    etag = client.get(url, headers=_h(tenant_a, "supplier:production")).headers["ETag"]
    ok = client.patch(url, json={"supplier_part_number": "sp-77"}, headers=_h(tenant_a, "supplier:production", **{"If-Match": etag}))
    assert ok.status_code == 200 and ok.get_json()["supplier_part_number"] == "SP-77"
    price = client.patch(url, json={"unit_price": "1"}, headers=_h(tenant_a, "supplier:production", **{"If-Match": ok.headers["ETag"]}))
    assert price.status_code == 403 and "unit_price" in price.get_json()["error"]["fields"]
    assert db.session.get(Item, tenant_a.item.id).unit_price == Decimal("1500")


def test_stale_item_edit_gets_412(client, db, tenant_a):
    url = f"{_items_url(tenant_a)}/{tenant_a.item.id}"
    first = client.patch(url, json={"description": "v2"}, headers=_h(tenant_a, "prime:planner", **{"If-Match": '"1"'}))
    assert first.status_code == 200
    second = client.patch(url, json={"description": "v3"}, headers=_h(tenant_a, "prime:planner", **{"If-Match": '"1"'}))
    assert second.status_code == 412 and second.get_json()["error"]["current_version"] == 2


BAD_NUMBERS = [-1, "-1", "NaN", "Infinity", "1e309", 2**63, "1,5", "1.234,5", True, None, [1], {"v": 1}, "12abc",
               "0.00001", "1.5e3", "²", "١٢"]  # text is digits only: no exponent, no other scripts' digits


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=[repr(v) for v in BAD_NUMBERS])
def test_bad_unit_price_names_the_field_and_changes_nothing(client, db, tenant_a, value):
    before = db.session.scalar(select(func.count()).select_from(Item))
    body = {"prime_part_number": "NUM-1", "unit_price": value}
    response = client.post(_items_url(tenant_a), json=body, headers=_h(tenant_a, "prime:planner"))
    if value is None:  # null means "not given": the default price applies
        assert response.status_code == 201
        return
    assert response.status_code == 422, response.get_json()
    assert "unit_price" in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Item)) == before


@pytest.mark.parametrize("value", [1500, "1500", "１５００", 1500.25])
def test_numbers_as_json_numbers_or_strings_are_accepted(client, db, tenant_a, value):
    response = client.post(_items_url(tenant_a), json={"prime_part_number": "OK-1", "unit_price": value},
                           headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("part", ["AB\u200bC", "A\x00B", "HAS SPACE", "<script>", "A" * 65])
def test_bad_part_numbers_are_refused(client, db, tenant_a, part):
    response = client.post(_items_url(tenant_a), json={"prime_part_number": part}, headers=_h(tenant_a, "prime:planner"))
    if part == "<script>":  # odd, but a legal code; it must come back escaped on pages
        assert response.status_code == 201
        sign_in(client, tenant_a.users["prime:planner"])
        page = client.get(f"/relationships/{tenant_a.relationship.id}/items").get_data(as_text=True)
        assert "<SCRIPT>" not in page and "&lt;SCRIPT&gt;" in page
        return
    assert response.status_code == 422 and "prime_part_number" in response.get_json()["error"]["fields"]


def test_currency_must_match_the_relationship(client, db, tenant_a):
    response = client.post(_items_url(tenant_a), json={"prime_part_number": "C-1", "currency": "USD"},
                           headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422 and "currency" in response.get_json()["error"]["fields"]


def test_unknown_fields_are_named(client, db, tenant_a):
    response = client.post(_items_url(tenant_a), json={"prime_part_number": "U-1", "colour": "red"},
                           headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"colour": "Unknown field."}


@pytest.mark.parametrize("case", ["duplicate_keys", "deep", "content_type", "bad_utf8", "not_object", "not_json", "huge"])
def test_malformed_json_bodies_get_4xx(client, db, tenant_a, app, case):
    headers = _h(tenant_a, "prime:planner", **{"Content-Type": "application/json"})
    data = {
        "duplicate_keys": b'{"prime_part_number": "A", "prime_part_number": "B"}',
        "deep": b"[" * 10000 + b"]" * 10000,
        "content_type": b'{"prime_part_number": "A"}',
        "bad_utf8": b'{"prime_part_number": "\xff\xfe"}',
        "not_object": b'["prime_part_number"]',
        "not_json": b"{prime_part_number: A}",
        "huge": b'{"description": "' + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10) + b'"}',
    }[case]
    if case == "content_type":
        headers["Content-Type"] = "text/plain"
    before = db.session.scalar(select(func.count()).select_from(Item))
    response = client.post(_items_url(tenant_a), data=data, headers=headers)
    expected = {"content_type": 415, "huge": 413}.get(case, 400)
    assert response.status_code == expected
    assert set(response.get_json()["error"]) >= {"code", "message", "fields"}
    assert db.session.scalar(select(func.count()).select_from(Item)) == before


def test_planner_adds_item_through_the_page(client, db, tenant_a):
    sign_in(client, tenant_a.users["prime:planner"])
    url = f"/relationships/{tenant_a.relationship.id}/items"
    bad = client.post(url, data={"prime_part_number": "", "unit_price": "abc"})
    assert bad.status_code == 422 and b'data-field="unit_price"' in bad.data and b'data-field="prime_part_number"' in bad.data
    ok = client.post(url, data={"prime_part_number": "pg-1", "unit_price": "990", "uom": "EA", "lead_time_days": "3"})
    assert ok.status_code == 302
    assert b"PG-1" in client.get(url).data


def test_form_posts_with_csrf_token_and_blank_optional_fields_are_accepted(client, db, tenant_a):
    """A form is a MultiDict (a dict subclass): its extra fields and blank inputs must not read as JSON mistakes."""
    sign_in(client, tenant_a.users["prime:planner"])
    response = client.post(f"/relationships/{tenant_a.relationship.id}/items", data={
        "csrf_token": "ignored-in-tests", "prime_part_number": "PN-FORM-1", "description": "", "uom": "EA",
        "unit_price": "10", "lead_time_days": ""})
    assert response.status_code == 302
    assert db.session.scalar(select(Item).where(Item.prime_part_number == "PN-FORM-1")) is not None
