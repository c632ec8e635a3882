"""The demo network's past: weekly forecast versions and the orders that followed, so the reliability pages have
finished weeks to compare (cogrow.demo calls this before it publishes today's versions).

Every relationship gets HISTORY_VERSIONS versions, published on the Tuesday morning of the weeks before the last
two, each forecasting its next 26 weeks (only weeks already over: today's versions come from the real services).
Each relationship's prime leans its own way (RELATIONSHIP_BIAS), more so the further ahead it forecasts, and the
orders wobble around the plain weekly quantity. The orders were shipped and received on time and are closed, so
the delivery measures see them as met. The first item of each relationship (the one with FAB/RAW authorizations
in the demo) gets no history: its cumulative shipments, and so the ledger's showcase, stay as they were.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from cogrow.catalog.models import Item
from cogrow.core.weeks import zone_for
from cogrow.extensions import db
from cogrow.forecasts.models import ForecastBucket, ForecastPublication
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from cogrow.relationships.models import SupplyRelationship
from cogrow.reliability.services import starts_at
from cogrow.shipments.models import Shipment, ShipmentLine

HISTORY_VERSIONS = 14
HORIZON_WEEKS = 26  # as every real version: the forecast reaches 26 weeks
RELATIONSHIP_BIAS = (Decimal("0.25"), Decimal("0.05"), Decimal("-0.10"), Decimal("0.40"), Decimal("0.15"))
WOBBLE = (Decimal("1.00"), Decimal("0.92"), Decimal("1.06"), Decimal("0.97"), Decimal("1.10"), Decimal("0.88"))


def _base_quantity(n: int, k: int) -> Decimal:
    # The weekly quantity cogrow.demo forecasts for item k of relationship n.
    return Decimal(100 + 50 * ((n + k) % 4))


def forecast_history(week0: date) -> None:
    """Past versions (1..HISTORY_VERSIONS of each relationship) and closed, delivered POs due in past weeks."""
    rels = db.session.scalars(select(SupplyRelationship).order_by(SupplyRelationship.id)).all()
    for n, rel in enumerate(rels):
        items = db.session.scalars(select(Item).where(Item.relationship_id == rel.id).order_by(Item.id)).all()[1:]
        lean = RELATIONSHIP_BIAS[n % len(RELATIONSHIP_BIAS)]
        for v in range(1, HISTORY_VERSIONS + 1):
            base = week0 - timedelta(weeks=HISTORY_VERSIONS + 3 - v)
            pub = ForecastPublication(relationship_id=rel.id, version_no=v, base_week=base,
                                      firm_fence_weeks=rel.firm_fence_weeks,
                                      material_fence_weeks=rel.material_fence_weeks,
                                      note="Demo history", published_at=starts_at(base) + timedelta(days=1, hours=9))
            db.session.add(pub)
            db.session.flush()
            rows = []
            for k, item in enumerate(items, start=1):
                for ahead in range(1, HORIZON_WEEKS + 1):
                    target = base + timedelta(weeks=ahead)
                    if target >= week0:
                        break
                    qty = _base_quantity(n, k) * (1 + lean * min(ahead, 8) / 8)
                    rows.append({"publication_id": pub.id, "relationship_id": rel.id, "item_id": item.id,
                                 "week_start": target, "quantity": qty.quantize(Decimal("1")),
                                 "zone": zone_for(ahead, rel.firm_fence_weeks, rel.material_fence_weeks)})
            pub.bucket_count = len(rows)
            if rows:
                db.session.execute(insert(ForecastBucket), rows)
        _delivered_orders(n, rel, items, week0)
    db.session.commit()


def _delivered_orders(n: int, rel: SupplyRelationship, items: list[Item], week0: date) -> None:
    """One closed PO a past week (due its Wednesday), shipped the day before and received in full."""
    if not items:
        return
    for back in range(HISTORY_VERSIONS, 0, -1):
        monday = week0 - timedelta(weeks=back)
        due = monday + timedelta(days=2)
        issued = starts_at(monday - timedelta(weeks=2)) + timedelta(hours=10)
        po = PurchaseOrder(relationship_id=rel.id, number=f"HIST-{rel.id}-{back:02d}", status="closed",
                           currency=rel.currency, note="Demo history", created_at=issued, issued_at=issued,
                           acknowledged_at=issued + timedelta(days=1), closed_at=starts_at(due))
        db.session.add(po)
        db.session.flush()
        shipment = Shipment(relationship_id=rel.id, supplier_id=rel.supplier_id, number=f"HIST-{po.id}",
                            ship_date=due - timedelta(days=1), expected_date=due, status="received",
                            created_at=starts_at(due - timedelta(days=1)), received_at=starts_at(due))
        db.session.add(shipment)
        db.session.flush()
        for k, item in enumerate(items, start=1):
            qty = (_base_quantity(n, k) * WOBBLE[(back + k) % len(WOBBLE)]).quantize(Decimal("1"))
            line = PurchaseOrderLine(purchase_order_id=po.id, relationship_id=rel.id, line_no=k, item_id=item.id,
                                     quantity=qty, due_date=due, unit_price=item.unit_price, shipped_qty=qty,
                                     received_qty=qty)
            db.session.add(line)
            db.session.flush()
            db.session.add(ShipmentLine(shipment_id=shipment.id, relationship_id=rel.id, po_line_id=line.id,
                                        item_id=item.id, ship_date=shipment.ship_date, quantity_shipped=qty,
                                        quantity_received=qty))
