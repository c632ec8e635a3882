"""The item pages' forms on WTForms: fields parse like the API's (numbers with the grouping the pages show), a bad
field is a 422 beside the field that changes nothing, a stale edit is a 412, and the CSRF token is required."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from cogrow.catalog.models import Item
from tests.conftest import sign_in


def _snapshot(db):
    db.session.expire_all()
    return sorted((i.id, i.prime_part_number, i.supplier_part_number, i.description, i.uom, i.unit_price,
                   i.lead_time_days, i.version) for i in db.session.scalars(select(Item)))


GOOD = {"prime_part_number": "NEW-1", "supplier_part_number": "", "description": "Bracket", "uom": "EA",
        "unit_price": "15,000.5", "lead_time_days": "14"}
BAD = [("prime_part_number", ""), ("prime_part_number", "PN\u3164 1"), ("prime_part_number", "HAS SPACE"),
       ("prime_part_number", "A" * 65), ("supplier_part_number", "S\u200bP"), ("description", "a\x00b"),
       ("uom", "PARSEC"), ("unit_price", "abc"), ("unit_price", "-1"), ("unit_price", "1,28"),
       ("unit_price", "1e3"), ("lead_time_days", "2.5"), ("lead_time_days", "9999"), ("lead_time_days", "-1")]


@pytest.mark.parametrize("field, value", BAD, ids=[f"{f}={v!r}"[:40] for f, v in BAD])
def test_a_bad_field_when_adding_an_item_is_named_and_adds_nothing(client, db, tenant_a, field, value):
    sign_in(client, tenant_a.users["prime:planner"])
    before = _snapshot(db)
    response = client.post(f"/relationships/{tenant_a.relationship.id}/items", data={**GOOD, field: value})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'data-field="{field}"' in body and f'aria-describedby="{field}-error"' in body
    assert _snapshot(db) == before
    if field != "uom" and value.isprintable():  # what was typed comes back to be corrected
        assert re.search(rf'name="{field}"[^>]*value="{re.escape(str(escape(value)))}"', body)


def test_adding_an_item_through_the_page_reads_grouped_numbers(client, db, tenant_a):
    sign_in(client, tenant_a.users["prime:planner"])
    response = client.post(f"/relationships/{tenant_a.relationship.id}/items", data=GOOD)
    assert response.status_code == 302
    item = db.session.scalar(select(Item).where(Item.prime_part_number == "NEW-1"))
    assert item.unit_price == Decimal("15000.5") and item.lead_time_days == 14 and item.supplier_part_number is None
    duplicate = client.post(f"/relationships/{tenant_a.relationship.id}/items", data=GOOD)
    assert duplicate.status_code == 422 and 'data-field="prime_part_number"' in duplicate.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Item).where(Item.prime_part_number == "NEW-1")) == 1


def test_the_prime_edits_an_item_with_its_version(client, db, tenant_a):
    item = tenant_a.item
    url = f"/relationships/{tenant_a.relationship.id}/items/{item.id}"
    sign_in(client, tenant_a.users["prime:planner"])
    page = client.get(url).get_data(as_text=True)
    assert f'name="version" type="hidden" value="{item.version}"' in page
    assert re.search(r'id="unit_price"[^>]*value="1500"', page)
    before = _snapshot(db)
    bad = client.post(url, data={"version": str(item.version), "prime_part_number": item.prime_part_number,
                                 "uom": "EA", "unit_price": "1.234,5"})
    assert bad.status_code == 422 and 'data-field="unit_price"' in bad.get_data(as_text=True)
    assert _snapshot(db) == before
    ok = client.post(url, data={"version": str(item.version), "prime_part_number": item.prime_part_number,
                                "uom": "BOX", "unit_price": "1,600", "lead_time_days": "7"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert (item.uom, item.unit_price, item.lead_time_days) == ("BOX", Decimal("1600"), 7)
    stale = client.post(url, data={"version": str(item.version - 1), "prime_part_number": item.prime_part_number,
                                   "uom": "EA"})
    assert stale.status_code == 412
    db.session.expire_all()
    assert item.uom == "BOX"


def test_the_supplier_sets_only_its_part_number_through_the_page(client, db, tenant_a):
    item = tenant_a.item
    url = f"/relationships/{tenant_a.relationship.id}/items/{item.id}"
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get(url).get_data(as_text=True)
    assert 'name="unit_price"' not in page and 'name="supplier_part_number"' in page
    before = _snapshot(db)
    bad = client.post(url, data={"version": str(item.version), "supplier_part_number": "SP\u00a0 1"})
    assert bad.status_code == 422 and 'data-field="supplier_part_number"' in bad.get_data(as_text=True)
    assert _snapshot(db) == before
    ok = client.post(url, data={"version": str(item.version), "supplier_part_number": "sp-9", "unit_price": "1"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert item.supplier_part_number == "SP-9" and item.unit_price == Decimal("1500"), "a price posted is ignored"


def test_the_item_forms_need_the_csrf_token(client, db, tenant_a, app):
    sign_in(client, tenant_a.users["prime:planner"])
    list_url = f"/relationships/{tenant_a.relationship.id}/items"
    before = _snapshot(db)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(list_url, data=GOOD)
        assert refused.status_code == 400 and b"Reload the page" in refused.data
        assert _snapshot(db) == before
        for url in (list_url, f"{list_url}/{tenant_a.item.id}"):
            page = client.get(url).get_data(as_text=True)
            forms = re.findall(r'<form method="post".*?</form>', page[page.index("<main"):], flags=re.S)
            assert forms and all(f.count('name="csrf_token"') == 1 for f in forms), url
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post(list_url, data={**GOOD, "csrf_token": token}).status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
