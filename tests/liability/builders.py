"""Statement inputs written directly with explicit instants, so each test controls what existed before a month end."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from cogrow.core.weeks import business_zone, local_today, week_start
from cogrow.extensions import db
from cogrow.forecasts.models import Authorization, ForecastBucket, ForecastPublication
from cogrow.liability.services import Month, current_month
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from cogrow.shipments.models import Shipment, ShipmentLine

_seq = {"n": 0}


def _next() -> int:
    _seq["n"] += 1
    return _seq["n"]


def D(value) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(str(value))


def today() -> date:
    return local_today()


def this_month() -> Month:
    return current_month()


def last_month() -> Month:
    return current_month().previous()


def at(day: date, hour: int = 12) -> datetime:
    """`day` at `hour` o'clock in Seoul, as UTC."""
    return datetime.combine(day, time(hour), tzinfo=business_zone()).astimezone(timezone.utc)


def earlier() -> datetime:
    """An instant of the current month before now: halfway between the month's first local midnight and now (the
    clock ticks in tests, so even a run that starts at that midnight has one)."""
    now = datetime.now(timezone.utc)
    start = datetime.combine(this_month().first_day, time(0), tzinfo=business_zone()).astimezone(timezone.utc)
    return start + (now - start) / 2


def authorize(item, kind: str, qty, start: date, granted_at: datetime) -> Authorization:
    row = Authorization(relationship_id=item.relationship_id, item_id=item.id, kind=kind, cum_start_date=start,
                        quantity=D(qty), granted_at=granted_at)
    db.session.add(row)
    db.session.flush()
    return row


def po_line(item, qty, due: date, *, issued_at: datetime, status: str = "issued", closed_at=None) -> PurchaseOrderLine:
    po = PurchaseOrder(relationship_id=item.relationship_id, number=f"LBPO-{_next():06d}", status=status,
                       created_at=issued_at, issued_at=issued_at, closed_at=closed_at)
    db.session.add(po)
    db.session.flush()
    line = PurchaseOrderLine(purchase_order_id=po.id, relationship_id=item.relationship_id, line_no=1,
                             item_id=item.id, quantity=D(qty), due_date=due, unit_price=item.unit_price)
    db.session.add(line)
    db.session.flush()
    return line


def ship(line: PurchaseOrderLine, qty, ship_date: date, status: str = "shipped") -> ShipmentLine:
    shipment = Shipment(relationship_id=line.relationship_id, number=f"LBASN-{_next():06d}", ship_date=ship_date,
                        status=status, created_at=at(ship_date))
    db.session.add(shipment)
    db.session.flush()
    row = ShipmentLine(shipment_id=shipment.id, relationship_id=line.relationship_id, po_line_id=line.id,
                       item_id=line.item_id, ship_date=ship_date, quantity_shipped=D(qty))
    db.session.add(row)
    db.session.flush()
    return row


def publish(rel, buckets: dict, published_at: datetime, zone: str = "firm") -> ForecastPublication:
    """`{item: {monday: qty}}` as one version, every bucket in `zone`."""
    latest = [p.version_no for p in db.session.query(ForecastPublication).filter_by(relationship_id=rel.id)]
    pub = ForecastPublication(relationship_id=rel.id, version_no=max(latest, default=0) + 1,
                              base_week=week_start(published_at.astimezone(business_zone()).date()),
                              firm_fence_weeks=rel.firm_fence_weeks, material_fence_weeks=rel.material_fence_weeks,
                              published_at=published_at)
    db.session.add(pub)
    db.session.flush()
    for item, by_week in buckets.items():
        for monday, qty in by_week.items():
            db.session.add(ForecastBucket(publication_id=pub.id, relationship_id=rel.id, item_id=item.id,
                                          week_start=monday, quantity=D(qty), zone=zone))
    db.session.flush()
    return pub
