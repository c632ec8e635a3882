"""The bad-input corpus for the ASN JSON API, and Idempotency-Key replays: a 4xx naming the field, nothing changed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cogrow.core.weeks import local_today
from cogrow.orders.models import PurchaseOrderLine
from cogrow.shipments.models import Shipment
from tests.shipments.helpers import asn_body, asn_url, headers


def _nothing_shipped(db):
    db.session.expire_all()
    shipped = db.session.scalar(select(func.sum(PurchaseOrderLine.shipped_qty)))
    return db.session.scalar(select(func.count()).select_from(Shipment)) == 0 and not shipped


def _post(client, tenant, body, **extra):
    return client.post(asn_url(tenant), json=body, headers=headers(tenant, "supplier:production", **extra))


BAD_QUANTITIES = [-1, "-1", 0, "0", "NaN", "Infinity", "-Infinity", "1e309", 2**63, str(2**63), "1,5", "1.234,5",
                  "12abc", "0.00001", "", "  ", True, False, None, [1], {"v": 1}, "2.5e0", "²", "١٢"]


@pytest.mark.parametrize("value", BAD_QUANTITIES, ids=[repr(v) for v in BAD_QUANTITIES])
def test_bad_quantity_is_422_naming_the_line_and_ships_nothing(client, db, tenant_a, po_lines, value):
    body = {"ship_date": local_today().isoformat(), "lines": [{"po_line_id": po_lines[0].id, "quantity": value}]}
    response = _post(client, tenant_a, body)
    assert response.status_code == 422, response.get_json()
    assert "lines[0].quantity" in response.get_json()["error"]["fields"]
    assert _nothing_shipped(db)


@pytest.mark.parametrize("value", [5, "5", "５", 5.5, "5.5000"])
def test_quantities_as_numbers_or_strings_are_accepted(client, db, tenant_a, po_lines, value):
    body = {"ship_date": local_today().isoformat(), "lines": [{"po_line_id": po_lines[0].id, "quantity": value}]}
    assert _post(client, tenant_a, body).status_code == 201


BAD_IDS = [-1, 0, "abc", 1.5, True, None, [1], 2**63, "1 OR 1=1"]


@pytest.mark.parametrize("value", BAD_IDS, ids=[repr(v) for v in BAD_IDS])
def test_bad_po_line_id_is_422_naming_it(client, db, tenant_a, po_lines, value):
    body = {"ship_date": local_today().isoformat(), "lines": [{"po_line_id": value, "quantity": "1"}]}
    response = _post(client, tenant_a, body)
    assert response.status_code == 422 and "lines[0].po_line_id" in response.get_json()["error"]["fields"]
    assert _nothing_shipped(db)


BAD_DATES = ["2024-02-30", "46000", "03/04/2026", "2026-1-5", "", None, 20261120, True, "tomorrow"]


@pytest.mark.parametrize("value", BAD_DATES, ids=[repr(v) for v in BAD_DATES])
def test_bad_ship_date_is_422(client, db, tenant_a, po_lines, value):
    body = {"ship_date": value, "lines": [{"po_line_id": po_lines[0].id, "quantity": "1"}]}
    response = _post(client, tenant_a, body)
    assert response.status_code == 422 and "ship_date" in response.get_json()["error"]["fields"]
    assert _nothing_shipped(db)


def test_a_ship_date_years_away_is_422(client, db, tenant_a, po_lines):
    far = (local_today() + timedelta(days=800)).isoformat()
    response = _post(client, tenant_a, asn_body((po_lines[0].id, 1), ship_date=far))
    assert response.status_code == 422 and "ship_date" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("lines", [None, [], "1", {"po_line_id": 1}, [1, 2], [None]],
                         ids=["null", "empty", "string", "object", "numbers", "null-line"])
def test_lines_must_be_a_list_of_objects(client, db, tenant_a, po_lines, lines):
    response = _post(client, tenant_a, {"ship_date": local_today().isoformat(), "lines": lines})
    assert response.status_code == 422
    assert any(key.startswith("lines") for key in response.get_json()["error"]["fields"])


def test_too_many_lines_are_refused(client, db, tenant_a, po_lines):
    lines = [{"po_line_id": po_lines[0].id, "quantity": "1"}] * 501
    response = _post(client, tenant_a, {"ship_date": local_today().isoformat(), "lines": lines})
    assert response.status_code == 422 and "lines" in response.get_json()["error"]["fields"]


def test_unknown_fields_are_named(client, db, tenant_a, po_lines):
    body = asn_body((po_lines[0].id, 1), status="received")
    body["lines"][0]["price"] = "1"
    fields = _post(client, tenant_a, body).get_json()["error"]["fields"]
    assert {"status", "lines[0].price"} <= set(fields)
    assert _nothing_shipped(db)


@pytest.mark.parametrize(("field", "value"), [("number", "ASN 1"), ("number", "A" * 33), ("number", "ASN\u200b1"),
                                              ("carrier", "x" * 101), ("tracking", 12), ("carrier", ["x"])])
def test_bad_header_text_is_named(client, db, tenant_a, po_lines, field, value):
    response = _post(client, tenant_a, asn_body((po_lines[0].id, 1), **{field: value}))
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]


def test_duplicate_json_keys_are_refused(client, db, tenant_a, po_lines):
    raw = ('{"ship_date": "%s", "lines": [{"po_line_id": %d, "quantity": "1", "quantity": "99"}]}'
           % (local_today().isoformat(), po_lines[0].id))
    response = client.post(asn_url(tenant_a), data=raw, content_type="application/json",
                           headers=headers(tenant_a, "supplier:production"))
    assert response.status_code == 400 and "quantity" in response.get_json()["error"]["fields"]
    assert _nothing_shipped(db)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/csv"])
def test_wrong_content_type_is_415(client, db, tenant_a, po_lines, content_type):
    raw = '{"ship_date": "%s", "lines": [{"po_line_id": %d, "quantity": "1"}]}' % (local_today().isoformat(), po_lines[0].id)
    response = client.post(asn_url(tenant_a), data=raw, content_type=content_type,
                           headers=headers(tenant_a, "supplier:production"))
    assert response.status_code == 415 and _nothing_shipped(db)


@pytest.mark.parametrize("raw", [b"", b"[]", b"null", b'{"ship_date": NaN}', b"\xff\xfe{}", b"{" * 10_000 + b"}" * 10_000],
                         ids=["empty", "array", "null", "nan-literal", "bad-utf8", "deep"])
def test_malformed_json_is_400(client, db, tenant_a, po_lines, raw):
    response = client.post(asn_url(tenant_a), data=raw, content_type="application/json",
                           headers=headers(tenant_a, "supplier:production"))
    assert response.status_code == 400 and _nothing_shipped(db)


def test_a_foreign_relationship_is_404_before_the_body_is_read(client, db, tenant_a, tenant_b, po_lines):
    url = f"/api/v1/relationships/{tenant_a.relationship.id}/shipments"
    response = client.post(url, data="not json", content_type="text/plain", headers=headers(tenant_b, "supplier:admin"))
    assert response.status_code == 404


# --- Idempotency-Key -------------------------------------------------------------------------------------------

def test_a_replayed_key_answers_the_first_response_and_ships_once(client, db, tenant_a, po_lines):
    body = asn_body((po_lines[0].id, 30))
    first = _post(client, tenant_a, body, **{"Idempotency-Key": "asn-42"})
    again = _post(client, tenant_a, body, **{"Idempotency-Key": "asn-42"})
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    db.session.expire_all()
    assert db.session.get(PurchaseOrderLine, po_lines[0].id).shipped_qty == 30
    assert db.session.scalar(select(func.count()).select_from(Shipment)) == 1


def test_the_same_key_with_another_body_is_422(client, db, tenant_a, po_lines):
    assert _post(client, tenant_a, asn_body((po_lines[0].id, 1)), **{"Idempotency-Key": "k1"}).status_code == 201
    other = _post(client, tenant_a, asn_body((po_lines[0].id, 2)), **{"Idempotency-Key": "k1"})
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(PurchaseOrderLine, po_lines[0].id).shipped_qty == 1


def test_a_refused_asn_is_replayed_as_refused(client, db, tenant_a, po_lines):
    body = asn_body((po_lines[1].id, 51))
    first = _post(client, tenant_a, body, **{"Idempotency-Key": "over"})
    again = _post(client, tenant_a, body, **{"Idempotency-Key": "over"})
    assert first.status_code == again.status_code == 409
    assert again.get_json() == first.get_json()
