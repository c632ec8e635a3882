"""The orders JSON API: shapes, If-Match, 409 with the state, ids in bodies checked against the relationship."""
from __future__ import annotations


import pytest
from sqlalchemy import func, select

from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from tests.orders.helpers import DUE, api, make_po, outbox_rows, po_url


def _line(tenant, **extra):
    return {"item_id": tenant.item.id, "quantity": "100", "due_date": DUE.isoformat(), **extra}


def _counts(db):
    return (db.session.scalar(select(func.count()).select_from(PurchaseOrder)),
            db.session.scalar(select(func.count()).select_from(PurchaseOrderLine)))


def test_planner_creates_a_po_and_gets_decimals_as_strings(client, db, tenant_a):
    body = {"number": " po-a-1 ", "note": "first", "lines": [_line(tenant_a, quantity="12.5", unit_price=990),
                                                              _line(tenant_a, line_no=7)]}
    response = client.post(po_url(tenant_a), json=body, headers=api(tenant_a, "prime:planner"))
    assert response.status_code == 201, response.get_json()
    po = response.get_json()
    assert response.headers["ETag"] == f'"{po["version"]}"'
    assert po["number"] == "PO-A-1" and po["status"] == "draft" and po["currency"] == "KRW"
    numbered, first = po["lines"]  # a line without a number follows the highest one given
    assert numbered["line_no"] == 7 and numbered["unit_price"] == "1500"  # the catalog price by default
    assert first == {"id": first["id"], "line_no": 8, "item_id": tenant_a.item.id,
                     "prime_part_number": tenant_a.item.prime_part_number,
                     "supplier_part_number": tenant_a.item.supplier_part_number, "quantity": "12.5",
                     "due_date": DUE.isoformat(), "unit_price": "990", "shipped_qty": "0", "received_qty": "0",
                     "open_qty": "12.5"}
    assert po["allowed_actions"] == ["issue", "revise", "cancel"] and po["proposals"] == []


def test_an_item_of_another_relationship_is_named_and_nothing_is_created(client, db, tenant_a, tenant_b):
    before = _counts(db)
    lines = [_line(tenant_a), _line(tenant_a), _line(tenant_a, item_id=tenant_b.item.id)]
    response = client.post(po_url(tenant_a), json={"lines": lines}, headers=api(tenant_a, "prime:planner"))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"lines[2].item_id"}
    assert _counts(db) == before


def test_a_part_number_of_another_relationship_is_refused_like_an_unknown_one(client, db, tenant_a, tenant_b):
    lines = [{"prime_part_number": tenant_b.item.prime_part_number, "quantity": "1", "due_date": DUE.isoformat()}]
    response = client.post(po_url(tenant_a), json={"lines": lines}, headers=api(tenant_a, "prime:planner"))
    assert response.status_code == 422 and "lines[0].prime_part_number" in response.get_json()["error"]["fields"]


def test_revising_with_a_foreign_item_changes_nothing(client, db, tenant_a, tenant_b):
    po = make_po(tenant_a, "acknowledged")
    before = db.session.execute(select(PurchaseOrderLine.item_id, PurchaseOrderLine.quantity)
                                .order_by(PurchaseOrderLine.id)).all()
    response = client.patch(po_url(tenant_a, po), json={"lines": [_line(tenant_a, line_no=1, item_id=tenant_b.item.id)]},
                            headers=api(tenant_a, "prime:planner", **{"If-Match": f'"{po.version}"'}))
    assert response.status_code == 422 and "lines[0].item_id" in response.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, po.id).status == "acknowledged"
    assert db.session.execute(select(PurchaseOrderLine.item_id, PurchaseOrderLine.quantity)
                              .order_by(PurchaseOrderLine.id)).all() == before
    assert outbox_rows(db, tenant_a.relationship.id) == []


def test_revise_needs_if_match_and_a_fresh_version(client, db, tenant_a):
    po = make_po(tenant_a, "issued")
    version = po.version
    body = {"note": "v2"}
    missing = client.patch(po_url(tenant_a, po), json=body, headers=api(tenant_a, "prime:planner"))
    assert missing.status_code == 428
    stale = client.patch(po_url(tenant_a, po), json=body,
                         headers=api(tenant_a, "prime:planner", **{"If-Match": f'"{version - 1}"'}))
    assert stale.status_code == 412 and stale.get_json()["error"]["current_version"] == version
    ok = client.patch(po_url(tenant_a, po), json=body, headers=api(tenant_a, "prime:planner", **{"If-Match": f'"{version}"'}))
    assert ok.status_code == 200 and ok.get_json()["note"] == "v2" and ok.headers["ETag"] == f'"{version + 1}"'


def test_revising_lines_of_an_acknowledged_po_returns_it_to_issued(client, db, tenant_a):
    po = make_po(tenant_a, "acknowledged")
    etag = client.get(po_url(tenant_a, po), headers=api(tenant_a, "prime:planner")).headers["ETag"]
    response = client.patch(po_url(tenant_a, po), json={"lines": [_line(tenant_a, line_no=1, quantity="150"),
                                                                  _line(tenant_a, line_no=2)]},
                            headers=api(tenant_a, "prime:planner", **{"If-Match": etag}))
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "issued" and body["acknowledged_at"] is None
    assert [ln["quantity"] for ln in body["lines"]] == ["150", "100"]
    assert "acknowledge" not in body["allowed_actions"]  # the planner's view: the supplier acknowledges


def test_an_illegal_transition_answers_409_with_the_current_state(client, db, tenant_a):
    po = make_po(tenant_a, "acknowledged")
    response = client.post(po_url(tenant_a, po, "/issue"), headers=api(tenant_a, "prime:planner",
                                                                       **{"If-Match": f'"{po.version}"'}))
    assert response.status_code == 409
    assert response.get_json()["error"]["state"] == "acknowledged"


def test_actions_need_if_match(client, db, tenant_a):
    po = make_po(tenant_a, "issued")
    response = client.post(po_url(tenant_a, po, "/acknowledge"), headers=api(tenant_a, "supplier:production"))
    assert response.status_code == 428
    assert db.session.get(PurchaseOrder, po.id).status == "issued"


def test_supplier_acknowledges_rejects_and_proposes_through_the_api(client, db, tenant_a):
    po = make_po(tenant_a, "issued")
    headers = api(tenant_a, "supplier:production", **{"If-Match": f'"{po.version}"'})
    proposal = client.post(po_url(tenant_a, po, "/proposals"), json={"line_id": po.lines[0].id, "quantity": "80",
                                                                     "due_date": "2030-02-04", "reason": "capacity"},
                           headers=headers)
    assert proposal.status_code == 201, proposal.get_json()
    assert proposal.get_json()["proposed_quantity"] == "80" and proposal.get_json()["status"] == "open"
    etag = proposal.headers["ETag"]
    accepted = client.post(po_url(tenant_a, po, f"/proposals/{proposal.get_json()['id']}/accept"), json={"note": "fine"},
                           headers=api(tenant_a, "prime:planner", **{"If-Match": etag}))
    body = accepted.get_json()
    assert accepted.status_code == 200 and body["status"] == "acknowledged"
    assert body["lines"][0]["quantity"] == "80" and body["lines"][0]["due_date"] == "2030-02-04"
    assert body["proposals"][0]["status"] == "accepted" and body["proposals"][0]["decision_note"] == "fine"


def test_rejecting_a_po_needs_a_reason(client, db, tenant_a):
    po = make_po(tenant_a, "issued")
    headers = api(tenant_a, "supplier:production", **{"If-Match": f'"{po.version}"'})
    missing = client.post(po_url(tenant_a, po, "/reject"), json={}, headers=headers)
    assert missing.status_code == 422 and "reason" in missing.get_json()["error"]["fields"]
    ok = client.post(po_url(tenant_a, po, "/reject"), json={"reason": "no capacity"}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["status"] == "rejected"
    assert ok.get_json()["status_reason"] == "no capacity"


def test_a_proposal_of_another_po_is_not_found(client, db, tenant_a):
    po, other = make_po(tenant_a, "change_proposed", proposal=True), make_po(tenant_a, "change_proposed", proposal=True)
    from cogrow.orders import services

    other_proposal = services.list_proposals(other)[0]
    response = client.post(po_url(tenant_a, po, f"/proposals/{other_proposal.id}/accept"),
                           headers=api(tenant_a, "prime:planner", **{"If-Match": f'"{po.version}"'}))
    assert response.status_code == 404


def test_the_supplier_gets_404_for_a_draft(client, db, tenant_a):
    po = make_po(tenant_a, "draft")
    assert client.get(po_url(tenant_a, po), headers=api(tenant_a, "supplier:production")).status_code == 404
    listed = client.get(po_url(tenant_a), headers=api(tenant_a, "supplier:production")).get_json()
    assert listed["data"] == []


def test_the_list_is_paginated_and_filtered(client, db, tenant_a):
    pos = [make_po(tenant_a, "issued", lines=1) for _ in range(3)] + [make_po(tenant_a, "cancelled", lines=1)]
    page = client.get(po_url(tenant_a) + "?limit=2&offset=1", headers=api(tenant_a, "prime:procurement")).get_json()
    assert [p["id"] for p in page["data"]] == [pos[2].id, pos[1].id] and page["limit"] == 2 and page["offset"] == 1
    assert page["data"][0]["lines"][0]["quantity"] == "100"
    open_only = client.get(po_url(tenant_a) + "?status=open", headers=api(tenant_a, "prime:planner")).get_json()
    assert {p["id"] for p in open_only["data"]} == {p.id for p in pos[:3]}
    bad = client.get(po_url(tenant_a) + "?limit=0", headers=api(tenant_a, "prime:planner"))
    assert bad.status_code == 400 and "limit" in bad.get_json()["error"]["fields"]
    assert client.get(po_url(tenant_a) + "?status=nope", headers=api(tenant_a, "prime:planner")).status_code == 422


def test_a_duplicate_po_number_is_refused(client, db, tenant_a):
    make_po(tenant_a, "issued", number="PO-DUP-1")
    response = client.post(po_url(tenant_a), json={"number": "po-dup-1", "lines": [_line(tenant_a)]},
                           headers=api(tenant_a, "prime:planner"))
    assert response.status_code == 422 and "number" in response.get_json()["error"]["fields"]


BAD_QUANTITIES = [0, -1, "NaN", "Infinity", "1e309", 2**63, "1,5", True, None, [1], "12abc", "0.00001"]


@pytest.mark.parametrize("value", BAD_QUANTITIES, ids=[repr(v) for v in BAD_QUANTITIES])
def test_a_bad_quantity_names_the_line_field(client, db, tenant_a, value):
    before = _counts(db)
    response = client.post(po_url(tenant_a), json={"lines": [_line(tenant_a, quantity=value)]},
                           headers=api(tenant_a, "prime:planner"))
    assert response.status_code == 422 and "lines[0].quantity" in response.get_json()["error"]["fields"]
    assert _counts(db) == before


@pytest.mark.parametrize("value", ["2024-02-30", "03/04/2026", "45000", 45000, "2026-13-01", None, "1999-01-01"])
def test_a_bad_due_date_names_the_line_field(client, db, tenant_a, value):
    response = client.post(po_url(tenant_a), json={"lines": [_line(tenant_a, due_date=value)]},
                           headers=api(tenant_a, "prime:planner"))
    assert response.status_code == 422 and "lines[0].due_date" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("body", [{"lines": []}, {"lines": "x"}, {"lines": [1]}, {"colour": "red", "lines": []},
                                  {"lines": [{"quantity": "1", "due_date": "2030-01-07"}]}])
def test_malformed_po_bodies_get_422(client, db, tenant_a, body):
    response = client.post(po_url(tenant_a), json=body, headers=api(tenant_a, "prime:planner"))
    assert response.status_code == 422 and response.get_json()["error"]["fields"]


def test_a_negative_unit_price_is_refused(client, db, tenant_a):
    response = client.post(po_url(tenant_a), json={"lines": [_line(tenant_a, unit_price="-1")]},
                           headers=api(tenant_a, "prime:planner"))
    assert response.status_code == 422 and "lines[0].unit_price" in response.get_json()["error"]["fields"]
