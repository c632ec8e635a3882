"""Write ledger inputs directly (no services, no outbox): tests of the ledger control every row."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from cogrow.catalog.models import Item
from cogrow.coverage.models import CoverageLedger, CoverageWeek
from cogrow.core.weeks import business_zone, current_week, zone_for
from cogrow.extensions import db
from cogrow.forecasts.models import Authorization, ForecastBucket, ForecastPublication
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from cogrow.production.models import ItemPosition, MachineReading, PlannedOutput, ProductionLine, ProductionReport
from cogrow.relationships.models import SupplyRelationship
from cogrow.shipments.models import Shipment, ShipmentLine
from tests import factories as f

# Wednesday noon in Seoul of the run's business week (the clock is frozen before collection): the ledger is
# computed in whichever week the calendar pass chose (2026-W53, 2027-W01, ...), on the weekday its tests assume.
CW = current_week()
NOW = datetime.combine(CW + timedelta(days=2), time(12, 0), tzinfo=business_zone()).astimezone(timezone.utc)
_seq = {"n": 0}


def _next() -> int:
    _seq["n"] += 1
    return _seq["n"]


def D(value) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(str(value))


def week(offset: int) -> date:
    """The Monday `offset` weeks from the current week."""
    return CW + timedelta(weeks=offset)


def relationship(firm: int = 4, material: int = 8, share: str = "0.4", status: str = "active") -> SupplyRelationship:
    return f.RelationshipFactory(firm_fence_weeks=firm, material_fence_weeks=material, material_share=D(share),
                                 status=status)


def item(rel: SupplyRelationship, price="1000", lead_time_days: int = 14) -> Item:
    return f.ItemFactory(supply_relationship=rel, unit_price=D(price), lead_time_days=lead_time_days,
                         prime_part_number=f"CV-{_next():06d}")


def po_line(it: Item, qty, due: date, shipped=0, received=0, status: str = "issued") -> PurchaseOrderLine:
    po = PurchaseOrder(relationship_id=it.relationship_id, number=f"CVPO-{_next():06d}", status=status)
    db.session.add(po)
    db.session.flush()
    line = PurchaseOrderLine(purchase_order_id=po.id, relationship_id=it.relationship_id, line_no=1, item_id=it.id,
                             quantity=D(qty), due_date=due, unit_price=it.unit_price, shipped_qty=D(shipped),
                             received_qty=D(received))
    db.session.add(line)
    db.session.flush()
    return line


def publication(rel: SupplyRelationship, buckets: dict, firm: int | None = None, material: int | None = None,
                base_week: date = CW, version_no: int | None = None) -> ForecastPublication:
    """Publish `{item: {week: qty}}` with zones fixed from the given fences counted from `base_week`."""
    firm = rel.firm_fence_weeks if firm is None else firm
    material = rel.material_fence_weeks if material is None else material
    if version_no is None:
        latest = [p.version_no for p in db.session.query(ForecastPublication).filter_by(relationship_id=rel.id)]
        version_no = max(latest, default=0) + 1
    pub = ForecastPublication(relationship_id=rel.id, version_no=version_no, base_week=base_week,
                              firm_fence_weeks=firm, material_fence_weeks=material)
    db.session.add(pub)
    db.session.flush()
    for it, by_week in buckets.items():
        for wk, qty in by_week.items():
            zone = zone_for((wk - base_week).days // 7, firm, material)
            db.session.add(ForecastBucket(publication_id=pub.id, relationship_id=rel.id, item_id=it.id,
                                          week_start=wk, quantity=D(qty), zone=zone))
    db.session.flush()
    return pub


def authorization(it: Item, kind: str, qty, start: date) -> Authorization:
    row = Authorization(relationship_id=it.relationship_id, item_id=it.id, kind=kind, cum_start_date=start,
                        quantity=D(qty))
    db.session.add(row)
    db.session.flush()
    return row


def shipment(it: Item, qty, ship_date: date, status: str = "shipped", line: PurchaseOrderLine | None = None) -> ShipmentLine:
    line = line or po_line(it, 10**6, ship_date, status="closed")
    sh = Shipment(relationship_id=it.relationship_id, number=f"CVASN-{_next():06d}", ship_date=ship_date, status=status)
    db.session.add(sh)
    db.session.flush()
    row = ShipmentLine(shipment_id=sh.id, relationship_id=it.relationship_id, po_line_id=line.id, item_id=it.id,
                       ship_date=ship_date, quantity_shipped=D(qty))
    db.session.add(row)
    db.session.flush()
    return row


def report(it: Item, fg=0, wip=0, as_of: datetime = NOW - timedelta(hours=1), plan: dict | None = None,
           position: bool = True) -> ProductionReport:
    """A production report with planned output `{week: qty}`; `position` makes it the item's position."""
    rep = ProductionReport(relationship_id=it.relationship_id, item_id=it.id, as_of=as_of, fg_on_hand=D(fg),
                           wip_qty=D(wip), good_qty=D(0), scrap_qty=D(0))
    db.session.add(rep)
    db.session.flush()
    for wk, qty in (plan or {}).items():
        db.session.add(PlannedOutput(report_id=rep.id, week_start=wk, quantity=D(qty)))
    if position:
        existing = db.session.get(ItemPosition, it.id)
        if existing is not None:
            db.session.delete(existing)
            db.session.flush()
        db.session.add(ItemPosition(item_id=it.id, relationship_id=it.relationship_id, report_id=rep.id, as_of=as_of,
                                    good_qty=D(0), scrap_qty=D(0), wip_qty=D(wip), fg_on_hand=D(fg)))
    db.session.flush()
    return rep


def machine(it: Item, produced, read_at: datetime) -> MachineReading:
    line = db.session.query(ProductionLine).filter_by(item_id=it.id).first()
    if line is None:
        line = ProductionLine(relationship_id=it.relationship_id, code=f"L{_next()}", item_id=it.id)
        db.session.add(line)
        db.session.flush()
    row = MachineReading(line_id=line.id, relationship_id=it.relationship_id, item_id=it.id, read_at=read_at,
                         counter=_next(), produced=D(produced))
    db.session.add(row)
    db.session.flush()
    return row


def ledger_of(db, it) -> CoverageLedger:
    """The item's stored ledger row, read afresh."""
    db.session.expire_all()
    return db.session.get(CoverageLedger, it.id)


def weeks_of(db, it) -> dict:
    """The item's stored ledger weeks by week start."""
    rows = db.session.scalars(select(CoverageWeek).where(CoverageWeek.item_id == it.id)).all()
    return {r.week_start: r for r in rows}
