"""A slow, obviously-correct Python version of the ledger formulas of domain.md (see coverage.services).

It reads the input rows one by one and applies each definition literally; the property test compares it
with the set-based SQL.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from cogrow.catalog.models import Item
from cogrow.core.weeks import current_week, local_today, week_start, zone_for
from cogrow.forecasts.models import Authorization, ForecastBucket, ForecastPublication
from cogrow.orders.models import BINDING_STATES, PurchaseOrder, PurchaseOrderLine
from cogrow.production.models import ItemPosition, MachineReading, PlannedOutput
from cogrow.shipments.models import Shipment, ShipmentLine

ZERO = Decimal("0")
BINDING_RANK = {"firm": 0, "material": 1, "planning": 2}


def q(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def ledger(session, item_id: int, now: datetime) -> tuple[dict, dict[date, dict]]:
    """(ledger terms, {week: weekly terms}) of one item, as of `now`."""
    item = session.get(Item, item_id)
    rel = item.supply_relationship
    today = local_today(now)
    cw = current_week(now)

    # po_due: what is still owed, per week due (past due: now). po_ordered: what covers a firm bucket of the
    # same week, the ordered quantity of lines that bind or bound the supplier (a past-due line: what it owes).
    po_due: dict[date, Decimal] = defaultdict(Decimal)
    po_ordered: dict[date, Decimal] = defaultdict(Decimal)
    lines = session.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.item_id == item_id)).all()
    for line in lines:
        status = session.get(PurchaseOrder, line.purchase_order_id).status
        open_qty = line.quantity - line.shipped_qty
        due_week = week_start(line.due_date)
        if status in BINDING_STATES and open_qty > 0:
            po_due[max(due_week, cw)] += open_qty
            if due_week < cw:
                po_ordered[cw] += open_qty
        if status in (*BINDING_STATES, "closed") and due_week >= cw:
            po_ordered[due_week] += line.quantity

    firm: dict[date, Decimal] = defaultdict(Decimal)
    material: dict[date, Decimal] = defaultdict(Decimal)
    pubs = session.scalars(select(ForecastPublication).where(ForecastPublication.relationship_id == rel.id)).all()
    if pubs:
        latest = max(pubs, key=lambda p: p.version_no)
        buckets = session.scalars(select(ForecastBucket).where(ForecastBucket.publication_id == latest.id,
                                                               ForecastBucket.item_id == item_id)).all()
        for b in buckets:
            if b.week_start < cw or b.quantity <= 0:
                continue
            today_zone = zone_for((b.week_start - cw).days // 7, rel.firm_fence_weeks, rel.material_fence_weeks)
            zone = min(b.zone, today_zone, key=BINDING_RANK.__getitem__)
            if zone == "firm":
                firm[b.week_start] += b.quantity
            elif zone == "material":
                material[b.week_start] += b.quantity

    auths = [a for a in session.scalars(select(Authorization).where(Authorization.item_id == item_id))
             if a.cum_start_date <= today]
    start = max((a.cum_start_date for a in auths), default=None)
    fab = max((a.quantity for a in auths if a.kind == "FAB" and a.cum_start_date == start), default=ZERO)
    raw = max((a.quantity for a in auths if a.kind == "RAW" and a.cum_start_date == start), default=ZERO)
    cum_shipped = ZERO
    if start is not None:
        for sl in session.scalars(select(ShipmentLine).where(ShipmentLine.item_id == item_id)):
            if session.get(Shipment, sl.shipment_id).status != "cancelled" and sl.ship_date >= start:
                cum_shipped += sl.quantity_shipped

    position = session.get(ItemPosition, item_id)
    fg = wip = produced = ZERO
    planned: dict[date, Decimal] = defaultdict(Decimal)
    for reading in session.scalars(select(MachineReading).where(MachineReading.item_id == item_id)):
        if position is None or reading.read_at > position.as_of:  # without a report, every reading counts
            produced += reading.produced
    if position is not None:
        fg, wip = position.fg_on_hand, position.wip_qty
        for p in session.scalars(select(PlannedOutput).where(PlannedOutput.report_id == position.report_id)):
            if p.week_start >= cw and p.quantity > 0:
                planned[p.week_start] += p.quantity
    supply = fg + wip + produced

    open_po = sum(po_due.values(), ZERO)
    firm_uncovered = sum((max(ZERO, firm[w] - po_ordered.get(w, ZERO)) for w in firm), ZERO)
    guaranteed = max(open_po + firm_uncovered, fab - cum_shipped, ZERO)
    excess = max(ZERO, supply - guaranteed)
    material_total = sum(material.values(), ZERO)
    material_cover = min(excess, max(material_total, raw - cum_shipped - guaranteed, ZERO))
    price, share = item.unit_price, rel.material_share
    exposure = (excess - material_cover) * price + material_cover * (1 - share) * price

    # Every week from the current one to the last with an event, then only the event weeks are kept.
    event_weeks = set(po_due) | set(firm) | set(material) | set(planned)
    weeks: dict[date, dict] = {}
    cum_due = cum_planned = ZERO
    fence_end = cw + timedelta(weeks=rel.firm_fence_weeks)
    lead_end = today + timedelta(days=item.lead_time_days)
    fence_planned = ZERO
    first_excess_week = None
    shortage_qty, shortage_week = ZERO, None
    w = cw
    while event_weeks and w <= max(event_weeks):
        due = po_due.get(w, ZERO) + max(ZERO, firm.get(w, ZERO) - po_ordered.get(w, ZERO))
        planned_before = cum_planned
        cum_due += due
        cum_planned += planned.get(w, ZERO)
        shortage = max(ZERO, cum_due - supply - planned_before)
        in_fence, in_lead = w < fence_end, w <= lead_end
        if in_fence:
            fence_planned += planned.get(w, ZERO)
            if first_excess_week is None and cum_planned > max(ZERO, guaranteed - supply):
                first_excess_week = w
        if in_lead:
            shortage_qty = max(shortage_qty, shortage)
            if shortage > 0 and shortage_week is None:
                shortage_week = w
        if w in event_weeks:
            weeks[w] = {"po_due": q(po_due.get(w, ZERO)), "firm_forecast": q(firm.get(w, ZERO)),
                        "material_forecast": q(material.get(w, ZERO)), "planned_output": q(planned.get(w, ZERO)),
                        "guaranteed_due": q(due), "projected": q(supply + cum_planned - cum_due),
                        "shortage": q(shortage), "in_firm_fence": in_fence, "in_lead_time": in_lead}
        w += timedelta(weeks=1)
    projected_excess = max(ZERO, supply + fence_planned - guaranteed) - excess

    terms = {
        "open_po": open_po, "firm_forecast": sum(firm.values(), ZERO), "firm_uncovered": firm_uncovered,
        "fab_authorized": fab, "raw_authorized": raw, "cum_start_date": start, "cum_shipped": cum_shipped,
        "guaranteed": guaranteed, "fg_on_hand": fg, "wip": wip, "produced_since_report": produced,
        "supply": supply, "excess": excess, "material_forecast": material_total, "material_cover": material_cover,
        "exposure_amount": exposure, "projected_excess_qty": projected_excess,
        "projected_excess_week": first_excess_week if projected_excess > 0 else None,
        "shortage_qty": shortage_qty, "shortage_week": shortage_week,
    }
    return {k: q(v) if isinstance(v, Decimal) else v for k, v in terms.items()}, weeks
