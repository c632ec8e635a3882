"""Concurrent ASNs on PostgreSQL, with real threads and connections: together they never over-ship a PO line."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from cogrow.accounts import services as accounts
from cogrow.accounts.models import ApiToken, Organisation
from cogrow.catalog.models import Item
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict
from cogrow.core.models import AuditLog, IdempotencyRecord, OutboxEvent
from cogrow.core.weeks import local_today
from cogrow.extensions import db
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from cogrow.relationships.models import SupplyRelationship
from cogrow.shipments import services
from cogrow.shipments.models import Shipment, ShipmentLine

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def world(app):
    """A committed relationship with an issued PO of two lines of 100 (tolerance 10%), removed again afterwards.

    The ASNs all go to the first line; the second stays open, so the PO never closes and only the cap refuses.
    """
    with app.app_context():
        prime = Organisation(name="Race prime", kind="prime")
        supplier = Organisation(name="Race supplier", kind="supplier")
        db.session.add_all([prime, supplier])
        db.session.flush()
        rel = SupplyRelationship(prime_id=prime.id, supplier_id=supplier.id, status="active",
                                 over_delivery_pct=Decimal("0.1"))
        db.session.add(rel)
        db.session.flush()
        item = Item(relationship_id=rel.id, prime_part_number="RACE-1", unit_price=Decimal("10"))
        po = PurchaseOrder(relationship_id=rel.id, number="PO-RACE-1", status="issued")
        db.session.add_all([item, po])
        db.session.flush()
        line = PurchaseOrderLine(purchase_order_id=po.id, relationship_id=rel.id, line_no=1, item_id=item.id,
                                 quantity=Decimal("100"), due_date=local_today(), unit_price=Decimal("10"))
        other = PurchaseOrderLine(purchase_order_id=po.id, relationship_id=rel.id, line_no=2, item_id=item.id,
                                  quantity=Decimal("100"), due_date=local_today(), unit_price=Decimal("10"))
        db.session.add_all([line, other])
        db.session.commit()
        ids = {"prime": prime.id, "supplier": supplier.id, "rel": rel.id, "item": item.id, "po": po.id,
               "line": line.id, "other": other.id}
    try:
        yield ids
    finally:
        with app.app_context():
            db.session.rollback()
            db.session.execute(delete(ShipmentLine).where(ShipmentLine.relationship_id == ids["rel"]))
            db.session.execute(delete(Shipment).where(Shipment.relationship_id == ids["rel"]))
            db.session.execute(delete(OutboxEvent).where(OutboxEvent.relationship_id == ids["rel"]))
            db.session.execute(delete(AuditLog).where(AuditLog.organisation_id.in_([ids["prime"], ids["supplier"]])))
            db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.organisation_id == ids["supplier"]))
            db.session.execute(delete(ApiToken).where(ApiToken.organisation_id == ids["supplier"]))
            db.session.execute(delete(PurchaseOrderLine).where(PurchaseOrderLine.relationship_id == ids["rel"]))
            db.session.execute(delete(PurchaseOrder).where(PurchaseOrder.relationship_id == ids["rel"]))
            db.session.execute(delete(Item).where(Item.relationship_id == ids["rel"]))
            db.session.execute(delete(SupplyRelationship).where(SupplyRelationship.id == ids["rel"]))
            db.session.execute(delete(Organisation).where(Organisation.id.in_([ids["prime"], ids["supplier"]])))
            db.session.commit()


def _race(app, world, quantities, line_keys=None):
    """Send one ASN per quantity, each from its own thread and connection, released together."""
    line_keys = line_keys or ["line"] * len(quantities)
    actor = Actor(organisation_id=world["supplier"], org_kind="supplier", role="production")
    barrier = threading.Barrier(len(quantities))
    outcomes: list[str] = [""] * len(quantities)

    def ship(i: int, quantity: Decimal) -> None:
        with app.test_request_context():
            try:
                barrier.wait(timeout=30)
                services.create_shipment(actor, world["rel"], {
                    "ship_date": local_today(), "lines": [(world[line_keys[i]], quantity)]})
                outcomes[i] = "ok"
            except Conflict as exc:
                # Only the over-shipment refusal counts as "refused"; any other conflict is a failure to show.
                outcomes[i] = "refused" if "po_line_id" in exc.extra else f"conflict: {exc.message}"
            except Exception as exc:  # anything else is a bug the test must show
                outcomes[i] = f"error: {exc!r}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=ship, args=(i, q)) for i, q in enumerate(quantities)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _state(app, world):
    with app.app_context():
        shipped = db.session.scalar(select(PurchaseOrderLine.shipped_qty).where(PurchaseOrderLine.id == world["line"]))
        total = db.session.scalar(select(func.coalesce(func.sum(ShipmentLine.quantity_shipped), 0))
                                  .where(ShipmentLine.po_line_id == world["line"]))
        asns = db.session.scalar(select(func.count()).select_from(Shipment).where(Shipment.relationship_id == world["rel"]))
        status = db.session.scalar(select(PurchaseOrder.status).where(PurchaseOrder.id == world["po"]))
        db.session.remove()
    return shipped, total, asns, status


def test_two_concurrent_asns_that_together_over_ship_are_not_both_accepted(app, world):
    outcomes = _race(app, world, [Decimal("60"), Decimal("60")])
    assert sorted(outcomes) == ["ok", "refused"], outcomes
    shipped, total, asns, status = _state(app, world)
    assert shipped == total == Decimal("60") and asns == 1 and status == "partially_shipped"


def test_ten_concurrent_asns_ship_exactly_up_to_the_cap(app, world):
    """Cap 110 (100 + 10%): of ten ASNs of 15, exactly seven pass (105); the counter matches the lines."""
    outcomes = _race(app, world, [Decimal("15")] * 10)
    assert outcomes.count("ok") == 7 and outcomes.count("refused") == 3, outcomes
    shipped, total, asns, status = _state(app, world)
    assert shipped == total == Decimal("105") and asns == 7
    assert shipped <= Decimal("110") and status == "partially_shipped"


def test_concurrent_asns_of_uneven_sizes_never_pass_the_cap(app, world):
    sizes = [Decimal(q) for q in ("40", "35.5", "30", "25", "20", "12.25", "9", "5", "3", "1")]
    outcomes = _race(app, world, sizes)
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    shipped, total, asns, _status = _state(app, world)
    accepted = sum(q for q, o in zip(sizes, outcomes) if o == "ok")
    assert shipped == total == accepted and asns == outcomes.count("ok")
    assert shipped <= Decimal("110")
    # The counter only grows here, so an ASN refused at any moment cannot fit at the end either: none was refused
    # while there was room for it.
    refused = [q for q, o in zip(sizes, outcomes) if o == "refused"]
    assert all(shipped + q > Decimal("110") for q in refused), (shipped, refused)


def test_two_asns_that_each_finish_a_line_close_the_po_together(app, world):
    """Each sees the other's line shipped once it holds the PO: the last one to commit closes it."""
    outcomes = _race(app, world, [Decimal("100"), Decimal("100")], ["line", "other"])
    assert outcomes == ["ok", "ok"], outcomes
    assert _state(app, world)[3] == "closed"


def test_concurrent_api_posts_over_ship_no_line(app, world):
    """The same race through the HTTP API, one test client per thread: 201s up to the cap, 409s after, no 5xx."""
    with app.app_context():
        actor = Actor(organisation_id=world["supplier"], org_kind="supplier", role="admin")
        raw = accounts.create_api_token(actor, "race", "production")[1]
        db.session.remove()
    url = f"/api/v1/relationships/{world['rel']}/shipments"
    barrier = threading.Barrier(6)
    statuses: list[int] = [0] * 6

    def post(i: int) -> None:
        client = app.test_client()
        body = {"ship_date": local_today().isoformat(), "lines": [{"po_line_id": world["line"], "quantity": "30"}]}
        barrier.wait(timeout=30)
        headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": f"race-{i}"}
        statuses[i] = client.post(url, json=body, headers=headers).status_code

    threads = [threading.Thread(target=post, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201, 201, 201, 409, 409, 409], statuses
    shipped, total, asns, _status = _state(app, world)
    assert shipped == total == Decimal("90") and asns == 3
