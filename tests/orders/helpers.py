"""Shared helpers for the orders tests: actors, POs in a given state, API headers, outbox rows."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from cogrow.core.models import OutboxEvent
from cogrow.core.weeks import local_today
from tests import factories as f
from tests.conftest import actor_of

DUE = local_today() + timedelta(days=30)  # taken at collection, which runs on the frozen clock too


def planner(tenant):
    return actor_of(tenant.users["prime:planner"], tenant.prime)


def production(tenant):
    return actor_of(tenant.users["supplier:production"], tenant.supplier)


def make_po(tenant, status="issued", *, lines=2, shipped=Decimal("0"), proposal=False, number=None):
    """A PO of `tenant` written directly in `status`, with `lines` lines of the tenant's item."""
    kwargs = {"number": number} if number else {}
    po = f.PurchaseOrderFactory(supply_relationship=tenant.relationship, status=status, **kwargs)
    for n in range(1, lines + 1):
        f.PurchaseOrderLineFactory(purchase_order=po, item=tenant.item, line_no=n, quantity=Decimal("100"),
                                   due_date=DUE, unit_price=Decimal("1500"), shipped_qty=shipped)
    f.db.session.flush()
    f.db.session.refresh(po)
    if proposal:
        from cogrow.orders.models import ChangeProposal

        f.db.session.add(ChangeProposal(purchase_order_id=po.id, line_id=po.lines[0].id,
                                        proposed_quantity=Decimal("80"), reason="capacity", status="open"))
    f.db.session.commit()
    return po


def api(tenant, key, **extra):
    return {"Authorization": f"Bearer {tenant.tokens[key]}", **extra}


def po_url(tenant, po=None, suffix=""):
    base = f"/api/v1/relationships/{tenant.relationship.id}/orders"
    return f"{base}/{po.id if hasattr(po, 'id') else po}{suffix}" if po is not None else base


def outbox_rows(db, relationship_id):
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.relationship_id == relationship_id,
                                                            OutboxEvent.topic == "reconcile").order_by(OutboxEvent.id)))
