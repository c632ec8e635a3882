"""ASNs against PO lines: the over-shipment cap, PO status moves, receipts, cancellations and tenancy."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.models import AuditLog, OutboxEvent
from cogrow.core.weeks import local_today
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from cogrow.shipments import services
from cogrow.shipments.models import Shipment, ShipmentLine
from tests import factories as f
from tests.conftest import actor_of
from tests.shipments.helpers import asn_body, asn_url, headers


def _line(db, line_id):
    db.session.expire_all()
    return db.session.get(PurchaseOrderLine, line_id)


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def _ship(client, tenant, *lines, key="supplier:production", **extra):
    return client.post(asn_url(tenant), json=asn_body(*lines, **extra), headers=headers(tenant, key))


def _supplier(tenant):
    return actor_of(tenant.users["supplier:production"], tenant.supplier)


def _prime(tenant):
    return actor_of(tenant.users["prime:procurement"], tenant.prime)


# --- creating ASNs ---------------------------------------------------------------------------------------------

def test_partial_shipment_reserves_the_quantity_and_moves_the_po_to_partially_shipped(client, db, tenant_a, po, po_lines):
    response = _ship(client, tenant_a, (po_lines[0].id, "40.5"), carrier="CJ Logistics", tracking="CJ-123")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "shipped" and body["number"] == "ASN-000001"
    assert body["lines"][0]["quantity_shipped"] == "40.5" and body["lines"][0]["quantity_received"] is None
    assert response.headers["ETag"] == '"1"'
    assert _line(db, po_lines[0].id).shipped_qty == Decimal("40.5")
    assert db.session.get(PurchaseOrder, po.id).status == "partially_shipped"


def test_shipping_every_line_in_full_closes_the_po(client, db, tenant_a, po, po_lines):
    assert _ship(client, tenant_a, (po_lines[0].id, 60)).status_code == 201
    assert _ship(client, tenant_a, (po_lines[0].id, 40), (po_lines[1].id, 50)).status_code == 201
    stored = db.session.get(PurchaseOrder, po.id)
    assert stored.status == "closed" and stored.closed_at is not None


def test_a_po_stays_partially_shipped_while_one_line_is_open(client, db, tenant_a, po, po_lines):
    assert _ship(client, tenant_a, (po_lines[0].id, 100), (po_lines[1].id, 49)).status_code == 201
    assert db.session.get(PurchaseOrder, po.id).status == "partially_shipped"


def test_acknowledged_po_takes_an_asn(client, db, tenant_a, po, po_lines):
    po.status = "acknowledged"
    db.session.commit()
    assert _ship(client, tenant_a, (po_lines[1].id, 5)).status_code == 201
    assert db.session.get(PurchaseOrder, po.id).status == "partially_shipped"


# (tolerance, already shipped, asked, accepted)
BOUNDARY = [
    ("0", "0", "100", True), ("0", "0", "100.0001", False),
    ("0.1", "0", "110", True), ("0.1", "0", "110.0001", False),
    ("0.1", "60", "50", True), ("0.1", "60", "50.0001", False),
    ("0.05", "99.9999", "5.0001", True), ("0.05", "99.9999", "5.0002", False),
    ("0", "100", "0.0001", False),
]


@pytest.mark.parametrize(("tolerance", "already", "asked", "accepted"), BOUNDARY,
                         ids=[f"tol{t}-had{a}-ask{q}" for t, a, q, _ok in BOUNDARY])
def test_over_shipment_is_refused_exactly_past_the_tolerance(client, db, tenant_a, po, tolerance, already, asked, accepted):
    tenant_a.relationship.over_delivery_pct = Decimal(tolerance)
    line = f.PurchaseOrderLineFactory(purchase_order=po, item=tenant_a.item, quantity=Decimal("100"),
                                      shipped_qty=Decimal(already))
    po.status = "partially_shipped" if Decimal(already) else "issued"
    db.session.commit()
    response = _ship(client, tenant_a, (line.id, asked))
    if accepted:
        assert response.status_code == 201, response.get_json()
        assert _line(db, line.id).shipped_qty == Decimal(already) + Decimal(asked)
    else:
        assert response.status_code == 409, response.get_json()
        error = response.get_json()["error"]
        assert "lines[0].quantity" in error["fields"]
        assert error["po_line_id"] == line.id
        assert Decimal(error["open_quantity"]) == max(Decimal("100") - Decimal(already), 0)
        assert _line(db, line.id).shipped_qty == Decimal(already)
    assert _line(db, line.id).shipped_qty <= Decimal("100") * (1 + Decimal(tolerance))


def test_one_over_shipped_line_refuses_the_whole_asn_and_changes_nothing(client, db, tenant_a, po, po_lines):
    before = (_count(db, Shipment), _count(db, ShipmentLine), _count(db, OutboxEvent))
    response = _ship(client, tenant_a, (po_lines[0].id, 10), (po_lines[1].id, 51))
    assert response.status_code == 409
    assert set(response.get_json()["error"]["fields"]) == {"lines[1].quantity"}
    assert (_count(db, Shipment), _count(db, ShipmentLine), _count(db, OutboxEvent)) == before
    assert _line(db, po_lines[0].id).shipped_qty == 0
    assert db.session.get(PurchaseOrder, po.id).status == "issued"


def test_concurrent_shipments_are_counted_sequentially(client, db, tenant_a, po, po_lines):
    """The second ASN sees the first's reservation: only the open remainder can still ship."""
    assert _ship(client, tenant_a, (po_lines[1].id, 30)).status_code == 201
    refused = _ship(client, tenant_a, (po_lines[1].id, 21))
    assert refused.status_code == 409 and refused.get_json()["error"]["open_quantity"] == "20"
    assert _ship(client, tenant_a, (po_lines[1].id, 20)).status_code == 201


def test_foreign_po_line_is_404_and_changes_nothing(client, db, tenant_a, tenant_b, po_lines):
    foreign_po = f.PurchaseOrderFactory(supply_relationship=tenant_b.relationship)
    foreign = f.PurchaseOrderLineFactory(purchase_order=foreign_po, item=tenant_b.item)
    db.session.commit()
    response = _ship(client, tenant_a, (po_lines[0].id, 1), (foreign.id, 1))
    assert response.status_code == 404
    assert "lines[1].po_line_id" in response.get_json()["error"]["fields"]
    assert _count(db, Shipment) == 0
    assert _line(db, foreign.id).shipped_qty == 0 and _line(db, po_lines[0].id).shipped_qty == 0


def test_unknown_po_line_is_404(client, db, tenant_a, po_lines):
    response = _ship(client, tenant_a, (999_999, 1))
    assert response.status_code == 404 and "lines[0].po_line_id" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("status", ["cancelled", "closed", "draft", "rejected", "change_proposed"])
def test_line_of_a_po_that_takes_no_shipments_is_refused_naming_the_line(client, db, tenant_a, po, po_lines, status):
    po.status = status
    db.session.commit()
    response = _ship(client, tenant_a, (po_lines[0].id, 1))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert "lines[0].po_line_id" in error["fields"] and error["state"] == status
    assert _line(db, po_lines[0].id).shipped_qty == 0 and _count(db, Shipment) == 0


def test_the_same_po_line_twice_in_one_asn_is_422(client, db, tenant_a, po_lines):
    response = _ship(client, tenant_a, (po_lines[0].id, 1), (po_lines[0].id, 2))
    assert response.status_code == 422 and "lines[1].po_line_id" in response.get_json()["error"]["fields"]


def test_asn_numbers_are_generated_per_supplier_and_a_given_one_must_be_free(client, db, tenant_a, po_lines):
    first = _ship(client, tenant_a, (po_lines[0].id, 1)).get_json()
    given = _ship(client, tenant_a, (po_lines[0].id, 1), number=" asn-x1 ").get_json()
    third = _ship(client, tenant_a, (po_lines[0].id, 1)).get_json()
    # The supplier's counter moves only for generated numbers: a typed one takes none of the sequence.
    assert (first["number"], given["number"], third["number"]) == ("ASN-000001", "ASN-X1", "ASN-000002")
    again = _ship(client, tenant_a, (po_lines[0].id, 1), number="ASN-X1")
    assert again.status_code == 409 and "number" in again.get_json()["error"]["fields"]
    assert _line(db, po_lines[0].id).shipped_qty == 3


def test_a_generated_number_skips_one_taken_by_hand(client, db, tenant_a, po_lines):
    assert _ship(client, tenant_a, (po_lines[0].id, 1), number="ASN-000002").status_code == 201
    assert _ship(client, tenant_a, (po_lines[0].id, 1)).get_json()["number"] == "ASN-000003"


def test_a_prime_cannot_create_an_asn(client, db, tenant_a, po_lines):
    response = _ship(client, tenant_a, (po_lines[0].id, 1), key="prime:admin")
    assert response.status_code == 403 and _count(db, Shipment) == 0


def test_a_suspended_relationship_takes_no_asn(client, db, tenant_a, po_lines):
    tenant_a.relationship.status = "suspended"
    db.session.commit()
    response = _ship(client, tenant_a, (po_lines[0].id, 1))
    assert response.status_code == 409 and _count(db, Shipment) == 0


def test_expected_arrival_before_ship_date_is_422(client, db, tenant_a, po_lines):
    today = local_today()
    response = _ship(client, tenant_a, (po_lines[0].id, 1), ship_date=today.isoformat(),
                     expected_date=(today - timedelta(days=1)).isoformat())
    assert response.status_code == 422 and "expected_date" in response.get_json()["error"]["fields"]


# --- outbox and audit ------------------------------------------------------------------------------------------

def test_asn_writes_its_outbox_row_and_audit_in_the_same_transaction(client, db, tenant_a, po_lines):
    body = _ship(client, tenant_a, (po_lines[0].id, 5)).get_json()
    event = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
    assert event.topic == "reconcile" and event.relationship_id == tenant_a.relationship.id
    assert event.payload == {"item_ids": [tenant_a.item.id], "reason": "shipment.created"}
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "shipment.created")).one()
    assert audit.object_id == str(body["id"]) and audit.organisation_id == tenant_a.supplier.id


def test_service_failure_leaves_no_outbox_row(app, db, tenant_a, po_lines):
    from cogrow.core.errors import Conflict

    before = _count(db, OutboxEvent)
    values = {"ship_date": local_today(), "lines": [(po_lines[0].id, Decimal("500"))]}
    with app.test_request_context(), pytest.raises(Conflict):
        services.create_shipment(_supplier(tenant_a), tenant_a.relationship.id, values)
    assert _count(db, OutboxEvent) == before


def test_outbox_row_rolls_back_with_the_change(db, tenant_a, po_lines, monkeypatch):
    """If the commit never happens, neither the shipment nor its outbox row exist."""
    before = (_count(db, OutboxEvent), _count(db, Shipment))

    def fail_commit():
        raise RuntimeError("database went away")

    monkeypatch.setattr(db.session, "commit", fail_commit)
    values = {"ship_date": local_today(), "lines": [(po_lines[0].id, Decimal("5"))]}
    with pytest.raises(RuntimeError):
        services.create_shipment(_supplier(tenant_a), tenant_a.relationship.id, values)
    monkeypatch.undo()
    assert (_count(db, OutboxEvent), _count(db, Shipment)) == before
    assert _line(db, po_lines[0].id).shipped_qty == 0


# --- receipts --------------------------------------------------------------------------------------------------

def _shipped(client, tenant, *lines):
    response = _ship(client, tenant, *lines)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _receive(client, tenant, shipment, lines=None, etag=None, key="prime:procurement"):
    body = {} if lines is None else {"lines": [{"po_line_id": lid, "quantity_received": str(q)} for lid, q in lines]}
    return client.post(asn_url(tenant, shipment["id"], "receive"), json=body,
                       headers=headers(tenant, key, **{"If-Match": etag or f'"{shipment["version"]}"'}))


def test_partial_receipt_records_what_arrived(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[0].id, 40), (po_lines[1].id, 10))
    response = _receive(client, tenant_a, shipment, [(po_lines[0].id, "35.5"), (po_lines[1].id, 0)])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "received" and body["received_at"] and response.headers["ETag"] == '"2"'
    assert [ln["quantity_received"] for ln in body["lines"]] == ["35.5", "0"]
    assert _line(db, po_lines[0].id).received_qty == Decimal("35.5")
    assert _line(db, po_lines[0].id).shipped_qty == Decimal("40")  # what shipped stays shipped
    event = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
    assert event.payload["reason"] == "shipment.received"


def test_receipt_without_lines_takes_everything_as_shipped(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[1].id, 12))
    assert _receive(client, tenant_a, shipment).status_code == 200
    assert _line(db, po_lines[1].id).received_qty == Decimal("12")


def test_a_second_receipt_is_409_and_counts_nothing(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[1].id, 12))
    assert _receive(client, tenant_a, shipment).status_code == 200
    again = _receive(client, tenant_a, shipment, etag='"2"')
    assert again.status_code == 409
    assert _line(db, po_lines[1].id).received_qty == Decimal("12")


def test_receipt_needs_if_match_and_refuses_a_stale_one(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[1].id, 12))
    url = asn_url(tenant_a, shipment["id"], "receive")
    missing = client.post(url, json={}, headers=headers(tenant_a, "prime:planner"))
    assert missing.status_code == 428
    stale = client.post(url, json={}, headers=headers(tenant_a, "prime:planner", **{"If-Match": '"7"'}))
    assert stale.status_code == 412 and stale.get_json()["error"]["current_version"] == 1
    assert _line(db, po_lines[1].id).received_qty == 0


def test_receipt_must_cover_every_line_and_only_its_lines(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[0].id, 4), (po_lines[1].id, 5))
    partial = _receive(client, tenant_a, shipment, [(po_lines[0].id, 4)])
    assert partial.status_code == 422 and "lines" in partial.get_json()["error"]["fields"]
    other = f.PurchaseOrderLineFactory(purchase_order=po_lines[0].purchase_order, item=tenant_a.item)
    db.session.commit()
    stranger = _receive(client, tenant_a, shipment, [(po_lines[0].id, 4), (po_lines[1].id, 5), (other.id, 1)])
    assert stranger.status_code == 422 and "lines[2].po_line_id" in stranger.get_json()["error"]["fields"]
    assert _line(db, po_lines[0].id).received_qty == 0


@pytest.mark.parametrize("value", ["-1", "NaN", "1e309", True, None, [1]])
def test_bad_received_quantity_is_422_naming_the_line(client, db, tenant_a, po_lines, value):
    shipment = _shipped(client, tenant_a, (po_lines[1].id, 5))
    body = {"lines": [{"po_line_id": po_lines[1].id, "quantity_received": value}]}
    response = client.post(asn_url(tenant_a, shipment["id"], "receive"), json=body,
                           headers=headers(tenant_a, "prime:admin", **{"If-Match": '"1"'}))
    assert response.status_code == 422 and "lines[0].quantity_received" in response.get_json()["error"]["fields"]


def test_supplier_cannot_confirm_receipt(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[1].id, 5))
    assert _receive(client, tenant_a, shipment, key="supplier:admin").status_code == 403


# --- cancellation ----------------------------------------------------------------------------------------------

def _cancel(client, tenant, shipment, etag=None, key="supplier:production"):
    return client.post(asn_url(tenant, shipment["id"], "cancel"),
                       headers=headers(tenant, key, **{"If-Match": etag or f'"{shipment["version"]}"'}))


def test_cancelling_gives_the_quantities_back_and_the_po_stays_partially_shipped(client, db, tenant_a, po, po_lines):
    keep = _shipped(client, tenant_a, (po_lines[0].id, 10))
    shipment = _shipped(client, tenant_a, (po_lines[0].id, "20.25"), (po_lines[1].id, 5))
    response = _cancel(client, tenant_a, shipment)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert _line(db, po_lines[0].id).shipped_qty == Decimal("10") and _line(db, po_lines[1].id).shipped_qty == 0
    assert db.session.get(PurchaseOrder, po.id).status == "partially_shipped"
    assert keep["status"] == "shipped"
    event = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
    assert event.payload == {"item_ids": [tenant_a.item.id], "reason": "shipment.cancelled"}
    # The quantity given back can ship again.
    assert _ship(client, tenant_a, (po_lines[0].id, 90)).status_code == 201


def test_a_received_shipment_cannot_be_cancelled(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[1].id, 5))
    assert _receive(client, tenant_a, shipment).status_code == 200
    response = _cancel(client, tenant_a, shipment, etag='"2"')
    assert response.status_code == 409 and _line(db, po_lines[1].id).shipped_qty == 5


def test_a_cancelled_shipment_cannot_be_received(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[1].id, 5))
    assert _cancel(client, tenant_a, shipment).status_code == 200
    assert _receive(client, tenant_a, shipment, etag='"2"').status_code == 409
    assert _line(db, po_lines[1].id).received_qty == 0


def test_an_asn_that_closed_its_po_cannot_be_cancelled(client, db, tenant_a, po, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[0].id, 100), (po_lines[1].id, 50))
    assert db.session.get(PurchaseOrder, po.id).status == "closed"
    response = _cancel(client, tenant_a, shipment)
    assert response.status_code == 409 and response.get_json()["error"]["state"] == "closed"
    assert _line(db, po_lines[0].id).shipped_qty == 100
    db.session.expire_all()
    assert db.session.get(Shipment, shipment["id"]).status == "shipped"


def test_prime_cannot_cancel_and_stale_cancel_is_412(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[1].id, 5))
    assert _cancel(client, tenant_a, shipment, key="prime:admin").status_code == 403
    assert _cancel(client, tenant_a, shipment, etag='"9"').status_code == 412
    assert _line(db, po_lines[1].id).shipped_qty == 5


# --- reading ---------------------------------------------------------------------------------------------------

def test_both_sides_list_and_read_shipments_with_decimal_strings(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[0].id, "7.5"), (po_lines[1].id, 1))
    listed = client.get(asn_url(tenant_a), headers=headers(tenant_a, "prime:procurement")).get_json()
    assert [s["number"] for s in listed["data"]] == [shipment["number"]]
    assert listed["data"][0]["quantity_shipped"] == "8.5" and listed["data"][0]["line_count"] == 2
    shown = client.get(asn_url(tenant_a, shipment["id"]), headers=headers(tenant_a, "supplier:admin"))
    assert shown.status_code == 200 and shown.get_json()["lines"][0]["po_number"] == po_lines[0].purchase_order.number
    filtered = client.get(asn_url(tenant_a) + "?status=received", headers=headers(tenant_a, "prime:admin")).get_json()
    assert filtered["data"] == []
    bad = client.get(asn_url(tenant_a) + "?status=lost", headers=headers(tenant_a, "prime:admin"))
    assert bad.status_code == 422 and "status" in bad.get_json()["error"]["fields"]


def test_another_tenants_shipment_is_404(client, db, tenant_a, tenant_b, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[0].id, 1))
    url = f"/api/v1/relationships/{tenant_b.relationship.id}/shipments/{shipment['id']}"
    assert client.get(url, headers=headers(tenant_b, "prime:admin")).status_code == 404
    assert client.get(asn_url(tenant_a, shipment["id"]), headers=headers(tenant_b, "prime:admin")).status_code == 404


def test_cum_shipped_counts_non_cancelled_shipments_from_the_start_date(client, db, tenant_a, po_lines):
    today = local_today()
    start = today - timedelta(days=30)
    _shipped(client, tenant_a, (po_lines[0].id, 11))
    early = _ship(client, tenant_a, (po_lines[0].id, 7), ship_date=(start - timedelta(days=1)).isoformat())
    assert early.status_code == 201
    on_start = _shipped(client, tenant_a, (po_lines[1].id, "2.5"))
    _cancel(client, tenant_a, _shipped(client, tenant_a, (po_lines[1].id, 3)))
    db.session.execute(ShipmentLine.__table__.update().where(ShipmentLine.shipment_id == on_start["id"])
                       .values(ship_date=start))
    assert services.cum_shipped(tenant_a.relationship.id, tenant_a.item.id, start) == Decimal("13.5")
    assert services.cum_shipped(tenant_a.relationship.id, tenant_a.item.id, start - timedelta(days=1)) == Decimal("20.5")
    assert services.cum_shipped(tenant_a.relationship.id, tenant_a.item.id, today + timedelta(days=1)) == 0


def test_item_shipment_lines_are_listed_for_both_sides_and_foreign_items_are_404(client, db, tenant_a, tenant_b, po_lines):
    from cogrow.core.errors import NotFound

    _shipped(client, tenant_a, (po_lines[0].id, 3))
    _shipped(client, tenant_a, (po_lines[1].id, 4))
    lines = services.list_item_shipment_lines(_prime(tenant_a), tenant_a.relationship.id, tenant_a.item.id)
    assert [ln.quantity_shipped for ln in lines] == [Decimal("4"), Decimal("3")]
    assert lines[0].shipment.number == "ASN-000002"
    with pytest.raises(NotFound):
        services.list_item_shipment_lines(_supplier(tenant_a), tenant_a.relationship.id, tenant_b.item.id)
    with pytest.raises(NotFound):
        services.list_item_shipment_lines(_prime(tenant_b), tenant_a.relationship.id, tenant_a.item.id)


def test_po_status_moves_bump_its_version_and_are_audited(client, db, tenant_a, po, po_lines):
    """The orders side edits POs with optimistic versions: a move made by an ASN must make their copy stale."""
    assert _ship(client, tenant_a, (po_lines[0].id, 1)).status_code == 201
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, po.id).version == 2
    assert _ship(client, tenant_a, (po_lines[0].id, 1)).status_code == 201
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, po.id).version == 2  # no move, no new version
    assert _ship(client, tenant_a, (po_lines[0].id, 98), (po_lines[1].id, 50)).status_code == 201
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, po.id).version == 3
    rows = db.session.scalars(select(AuditLog).where(AuditLog.object_type == "purchase_order",
                                                     AuditLog.object_id == str(po.id)).order_by(AuditLog.id)).all()
    # Every ASN is on the PO's own trail through the state machine's `ship`; only real moves bump the version.
    assert [(r.action, r.detail["from"], r.detail["to"]) for r in rows] == [
        ("po.ship", "issued", "partially_shipped"), ("po.ship", "partially_shipped", "partially_shipped"),
        ("po.ship", "partially_shipped", "closed")]
    assert [r.detail["shipment"] for r in rows] == ["ASN-000001", "ASN-000002", "ASN-000003"]
    assert rows[2].detail["lines"] == {"1": "98", "2": "50"}


def test_closing_a_po_reconciles_every_item_on_it(client, db, tenant_a, po, po_lines):
    other_item = f.ItemFactory(supply_relationship=tenant_a.relationship)
    f.PurchaseOrderLineFactory(purchase_order=po, item=other_item, line_no=3, quantity=Decimal("5"),
                               shipped_qty=Decimal("5"))
    db.session.commit()
    assert _ship(client, tenant_a, (po_lines[0].id, 100), (po_lines[1].id, 50)).status_code == 201
    event = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
    assert event.payload["item_ids"] == sorted([tenant_a.item.id, other_item.id])


def test_receipt_and_cancel_are_audited(client, db, tenant_a, po_lines):
    received = _shipped(client, tenant_a, (po_lines[0].id, 3))
    cancelled = _shipped(client, tenant_a, (po_lines[1].id, 3))
    assert _receive(client, tenant_a, received, [(po_lines[0].id, 2)]).status_code == 200
    assert _cancel(client, tenant_a, cancelled).status_code == 200
    rows = db.session.execute(select(AuditLog.action, AuditLog.object_id, AuditLog.organisation_id)
                              .where(AuditLog.action.in_(["shipment.received", "shipment.cancelled"]))
                              .order_by(AuditLog.id)).all()
    assert rows == [("shipment.received", str(received["id"]), tenant_a.prime.id),
                    ("shipment.cancelled", str(cancelled["id"]), tenant_a.supplier.id)]
