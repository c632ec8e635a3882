"""The tenant walk's knowledge of shipment URLs: a shipment of the tenant, and what a denied request must not change."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from cogrow.orders.models import PurchaseOrderLine
from cogrow.shipments.models import Shipment, ShipmentLine


def _shipment_id(tenant, org, db):
    from tests import factories as f

    rel = tenant.relationship
    existing = db.session.scalar(select(Shipment.id).where(Shipment.relationship_id == rel.id, Shipment.status == "shipped")
                                 .order_by(Shipment.id).limit(1))
    if existing:
        return existing
    po = f.PurchaseOrderFactory(supply_relationship=rel, status="partially_shipped")
    line = f.PurchaseOrderLineFactory(purchase_order=po, item=tenant.item, quantity=Decimal("100"),
                                      shipped_qty=Decimal("10"))
    shipment = Shipment(relationship_id=rel.id, number=f"WALK-{rel.id}", ship_date=line.due_date, status="shipped")
    db.session.add(shipment)
    db.session.flush()
    db.session.add(ShipmentLine(shipment_id=shipment.id, relationship_id=rel.id, po_line_id=line.id,
                                item_id=tenant.item.id, ship_date=shipment.ship_date, quantity_shipped=Decimal("10")))
    db.session.commit()
    return shipment.id


WALK_VALUES = {"shipment_id": _shipment_id}


def snapshot(db, tenant):
    # The walk takes this before it fills any URL, so the walk's own shipment is made here first:
    # otherwise its creation would look like a change made by a denied request.
    _shipment_id(tenant, None, db)
    rel_id = tenant.relationship.id
    return (
        db.session.execute(select(Shipment.id, Shipment.status, Shipment.version).where(Shipment.relationship_id == rel_id)
                           .order_by(Shipment.id)).all(),
        db.session.execute(select(ShipmentLine.id, ShipmentLine.quantity_received)
                           .where(ShipmentLine.relationship_id == rel_id).order_by(ShipmentLine.id)).all(),
        db.session.execute(select(PurchaseOrderLine.id, PurchaseOrderLine.shipped_qty, PurchaseOrderLine.received_qty)
                           .where(PurchaseOrderLine.relationship_id == rel_id).order_by(PurchaseOrderLine.id)).all(),
    )
