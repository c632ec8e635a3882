"""Document numbers under concurrency, with real threads and connections (SQLite here, PostgreSQL in its pass).

Planners of one prime draft POs for two suppliers at the same moment: every PO gets its own number, and the
numbers run without a gap, because each is taken from the prime's counter row under its lock (the old "highest
number + 1" read could hand two transactions the same number, and its retries left gaps).
"""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from cogrow.accounts.models import Organisation
from cogrow.catalog.models import Item
from cogrow.core.auth import Actor
from cogrow.core.models import AuditLog, OutboxEvent
from cogrow.core.weeks import local_today
from cogrow.extensions import db
from cogrow.orders import services
from cogrow.orders.models import DocumentCounter, PurchaseOrder, PurchaseOrderLine
from cogrow.relationships.models import SupplyRelationship

THREADS = 6


@pytest.fixture
def world(app):
    """A committed prime with two suppliers (an item each), removed again afterwards."""
    with app.app_context():
        prime = Organisation(name="Numbering prime", kind="prime")
        suppliers = [Organisation(name=f"Numbering supplier {n}", kind="supplier") for n in (1, 2)]
        db.session.add_all([prime, *suppliers])
        db.session.flush()
        rels = [SupplyRelationship(prime_id=prime.id, supplier_id=s.id, status="active") for s in suppliers]
        db.session.add_all(rels)
        db.session.flush()
        items = [Item(relationship_id=rel.id, prime_part_number=f"NUM-{rel.id}", unit_price=Decimal("10"))
                 for rel in rels]
        db.session.add_all(items)
        db.session.commit()
        ids = {"prime": prime.id, "suppliers": [s.id for s in suppliers], "rels": [r.id for r in rels],
               "items": [i.id for i in items]}
    try:
        yield ids
    finally:
        with app.app_context():
            db.session.rollback()
            db.session.execute(delete(PurchaseOrderLine).where(PurchaseOrderLine.relationship_id.in_(ids["rels"])))
            db.session.execute(delete(PurchaseOrder).where(PurchaseOrder.relationship_id.in_(ids["rels"])))
            db.session.execute(delete(OutboxEvent).where(OutboxEvent.relationship_id.in_(ids["rels"])))
            db.session.execute(delete(AuditLog).where(AuditLog.organisation_id == ids["prime"]))
            db.session.execute(delete(DocumentCounter).where(DocumentCounter.organisation_id == ids["prime"]))
            db.session.execute(delete(Item).where(Item.relationship_id.in_(ids["rels"])))
            db.session.execute(delete(SupplyRelationship).where(SupplyRelationship.id.in_(ids["rels"])))
            db.session.execute(delete(Organisation).where(Organisation.id.in_([ids["prime"], *ids["suppliers"]])))
            db.session.commit()


def test_pos_drafted_at_once_for_two_suppliers_get_distinct_gapless_numbers(app, world):
    actor = Actor(organisation_id=world["prime"], org_kind="prime", role="planner")
    barrier = threading.Barrier(THREADS)
    numbers: list[str | None] = [None] * THREADS
    failures: list[BaseException] = []

    def draft(i: int) -> None:
        rel_id, item_id = world["rels"][i % 2], world["items"][i % 2]
        line = {"index": 0, "item_id": item_id, "quantity": Decimal("1"), "due_date": local_today()}
        with app.test_request_context():
            try:
                barrier.wait(timeout=10)
                numbers[i] = services.create_po(actor, rel_id, {"lines": [line]}).number
            except BaseException as exc:  # noqa: BLE001  (reported below, with the thread's number)
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=draft, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    year = local_today().year
    assert sorted(numbers) == [f"PO-{year}-{n:04d}" for n in range(1, THREADS + 1)]
    with app.app_context():
        stored = db.session.execute(select(PurchaseOrder.relationship_id, PurchaseOrder.number)
                                    .where(PurchaseOrder.prime_id == world["prime"])).all()
        assert len({number for _, number in stored}) == THREADS and {rel for rel, _ in stored} == set(world["rels"])
        db.session.remove()
