"""The work queues of the planner's and the supplier production user's home pages.

Each queue is one set-based SELECT over the actor's own relationships, bounded by a LIMIT, with its full size
read in the same statement (COUNT(*) OVER ()). A page therefore runs the same number of statements whatever
the data size.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, and_, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from cogrow.accounts.models import Organisation
from cogrow.catalog.models import Item
from cogrow.core.auth import Actor
from cogrow.core.types import UTCDateTime, utcnow
from cogrow.core.weeks import business_zone, current_week, iso_label, local_today
from cogrow.coverage.models import CoverageLedger
from cogrow.extensions import db
from cogrow.forecasts.models import ForecastBucket, ForecastCommit, ForecastCut, ForecastPublication
from cogrow.orders.models import BINDING_STATES, ChangeProposal, PurchaseOrder, PurchaseOrderLine
from cogrow.production.models import ItemPosition
from cogrow.relationships.models import SupplyRelationship

# How many entries each queue lists; the page says how many more there are.
QUEUE_LIMIT = 20
# An authorization is "near its quantity" once what it covers has used this share of it (or more).
NEAR_AUTHORIZATION = Decimal("0.9")
# Forecast versions published this many days back count as new on the supplier's home.
NEW_VERSION_DAYS = 7
# Changed cells listed per new forecast version (the largest changes first).
CHANGES_PER_VERSION = 12
# An item whose latest production report is older than this many days is listed as stale.
STALE_REPORT_DAYS = 3
# Suppliers drawn in the planner's "open PO value" chart.
CHART_SUPPLIERS = 10


class days_since(FunctionElement):  # noqa: N801 - reads like the SQL it stands for
    """days_since(timestamp, instant): the days (with their fraction) from a UTC timestamp to a later instant."""

    name = "days_since"
    type = Float()
    inherit_cache = True


@compiles(days_since)
def _days_since(element, compiler, **kw):
    start, end = list(element.clauses)
    return (f"(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)})) "
            f"/ 86400.0)")


@compiles(days_since, "sqlite")
def _days_since_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"


# The supplier's reason codes for a commit below forecast (forecasts.services.REASON_CODES), in the user's language.
REASON_LABELS = {"CAPACITY": _l("Capacity"), "MATERIAL": _l("Material"), "TOOLING": _l("Tooling"),
                 "QUALITY": _l("Quality"), "OTHER": _l("Other")}


def reason_label(code: str) -> str:
    return str(REASON_LABELS.get(code, code))


def local_time(moment: datetime) -> str:
    """A UTC timestamp on the business clock, when the display filters are not there to do it."""
    return moment.astimezone(business_zone()).strftime("%Y-%m-%d %H:%M")


def template_helpers() -> dict[str, Any]:
    return {"reason_label": reason_label, "local_time": local_time, "iso_label": iso_label}


def _instant(moment: datetime):
    return literal(moment, UTCDateTime())


def _own(actor: Actor):
    """The actor's side of a relationship: the relationships this home page covers."""
    if actor.is_prime:
        return SupplyRelationship.prime_id == actor.organisation_id
    return SupplyRelationship.supplier_id == actor.organisation_id


def _counterpart(actor: Actor):
    return SupplyRelationship.supplier_id if actor.is_prime else SupplyRelationship.prime_id


def _rows(query) -> list[dict[str, Any]]:
    return [dict(row) for row in db.session.execute(query).mappings()]


@dataclass
class Queue:
    """A queue's listed entries and how many there are in all."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    overdue: int = 0  # for the queues that have a deadline: how many of `total` are past it

    @property
    def more(self) -> int:
        return max(self.total - len(self.rows), 0)


def _queue(query, limit: int = QUEUE_LIMIT) -> Queue:
    rows = _rows(query.add_columns(func.count().over().label("total")).limit(limit))
    return Queue(rows, rows[0]["total"] if rows else 0)


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), business_zone())


# ---------------------------------------------------------------------------------------------- the planner

def open_proposals(actor: Actor) -> Queue:
    """Open change proposals on the actor's POs, oldest first: the prime decides them."""
    counterpart = aliased(Organisation)
    query = (select(ChangeProposal.id, ChangeProposal.proposed_quantity, ChangeProposal.proposed_due_date,
                    ChangeProposal.reason, ChangeProposal.created_at, PurchaseOrder.id.label("po_id"),
                    PurchaseOrder.number, PurchaseOrder.currency, PurchaseOrderLine.line_no,
                    PurchaseOrderLine.quantity, PurchaseOrderLine.due_date, PurchaseOrderLine.unit_price,
                    Item.prime_part_number, SupplyRelationship.id.label("relationship_id"),
                    counterpart.name.label("counterpart"))
             .join(PurchaseOrder, PurchaseOrder.id == ChangeProposal.purchase_order_id)
             .join(PurchaseOrderLine, PurchaseOrderLine.id == ChangeProposal.line_id)
             .join(Item, Item.id == PurchaseOrderLine.item_id)
             .join(SupplyRelationship, SupplyRelationship.id == PurchaseOrder.relationship_id)
             .join(counterpart, counterpart.id == _counterpart(actor))
             .where(_own(actor), ChangeProposal.status == "open")
             .order_by(ChangeProposal.created_at, ChangeProposal.id))
    return _queue(query)


def _ack_left(now: datetime):
    """Days left before the relationship's po_ack_days run out (negative: overdue)."""
    return SupplyRelationship.po_ack_days - days_since(PurchaseOrder.issued_at, _instant(now))


def _awaiting_ack(actor: Actor):
    return (select()
            .select_from(PurchaseOrder)
            .join(SupplyRelationship, SupplyRelationship.id == PurchaseOrder.relationship_id)
            .where(_own(actor), PurchaseOrder.status == "issued", PurchaseOrder.issued_at.is_not(None)))


def unacknowledged_pos(actor: Actor, now: datetime | None = None, overdue_only: bool = False) -> Queue:
    """Issued POs the supplier has not acknowledged, the most overdue first, with their deadline and value.

    overdue_only: only those not acknowledged within the relationship's po_ack_days (the planner's queue: a PO
    the supplier still has days to answer is no work of the planner's yet)."""
    now = now or utcnow()
    counterpart = aliased(Organisation)
    value = (select(func.sum(PurchaseOrderLine.quantity * PurchaseOrderLine.unit_price))
             .where(PurchaseOrderLine.purchase_order_id == PurchaseOrder.id).scalar_subquery())
    lines = (select(func.count()).where(PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
             .scalar_subquery())
    left = _ack_left(now)
    query = (_awaiting_ack(actor)
             .add_columns(PurchaseOrder.id, PurchaseOrder.number, PurchaseOrder.issued_at, PurchaseOrder.currency,
                          SupplyRelationship.id.label("relationship_id"), SupplyRelationship.po_ack_days,
                          counterpart.name.label("counterpart"), value.label("value"), lines.label("lines"),
                          (left < 0).label("overdue"),
                          func.sum(case((left < 0, 1), else_=0)).over().label("overdue_total"))
             .join(counterpart, counterpart.id == _counterpart(actor))
             .order_by(left, PurchaseOrder.id))
    if overdue_only:
        query = query.where(left < 0)
    queue = _queue(query)
    queue.overdue = int(queue.rows[0]["overdue_total"] or 0) if queue.rows else 0
    for row in queue.rows:
        row["deadline"] = row["issued_at"] + timedelta(days=row["po_ack_days"])
        row["overdue"] = bool(row["overdue"])
    return queue


def _latest_publications(actor: Actor):
    """Each of the actor's relationships' newest forecast version, as (relationship_id, version_no)."""
    return (select(ForecastPublication.relationship_id, func.max(ForecastPublication.version_no).label("version_no"))
            .join(SupplyRelationship, SupplyRelationship.id == ForecastPublication.relationship_id)
            .where(_own(actor))
            .group_by(ForecastPublication.relationship_id)
            .subquery("latest"))


def material_end(actor: Actor, today: date) -> date:
    """The Monday after the widest material zone of the actor's publications, counted from this week: past it no
    bucket of any version is firm or material, so a queue can bound its week range and let the (publication,
    item, week) index skip the rest of the horizon."""
    week = today - timedelta(days=today.weekday())
    material = db.session.scalar(
        select(func.max(ForecastPublication.material_fence_weeks))
        .join(SupplyRelationship, SupplyRelationship.id == ForecastPublication.relationship_id)
        .where(_own(actor)))
    return week + timedelta(weeks=material or 0)


def commits_below_forecast(actor: Actor, today: date | None = None, until: date | None = None) -> Queue:
    """Firm- and material-zone buckets of the latest versions, from this week on, whose supplier commit is below
    the forecast (the planning zone commits to nothing, so a lower answer there is not work)."""
    week = current_week() if today is None else today - timedelta(days=today.weekday())
    until = until or material_end(actor, week)
    latest = _latest_publications(actor)
    counterpart = aliased(Organisation)
    gap = ForecastBucket.quantity - ForecastCommit.quantity
    query = (select(ForecastBucket.week_start, ForecastBucket.zone, ForecastBucket.quantity.label("forecast"),
                    ForecastCommit.quantity.label("commit"), gap.label("gap"), ForecastCommit.reason_code,
                    ForecastCommit.comment, Item.prime_part_number, Item.unit_price, Item.currency,
                    (gap * Item.unit_price).label("value"), ForecastPublication.version_no,
                    SupplyRelationship.id.label("relationship_id"), counterpart.name.label("counterpart"))
             .select_from(ForecastPublication)
             .join(latest, and_(latest.c.relationship_id == ForecastPublication.relationship_id,
                                latest.c.version_no == ForecastPublication.version_no))
             .join(SupplyRelationship, SupplyRelationship.id == ForecastPublication.relationship_id)
             .join(counterpart, counterpart.id == _counterpart(actor))
             # The latest versions' commits in the week range (a commit copies its bucket's publication, item and
             # week), then each one's bucket by id: commits are far fewer than buckets, so the uncommitted rest of
             # the horizon is never read. No condition repeated on the bucket: on PostgreSQL the repeats tripled
             # the planning time and made the join order worse.
             .join(ForecastCommit, and_(ForecastCommit.publication_id == ForecastPublication.id,
                                        ForecastCommit.week_start >= week, ForecastCommit.week_start < until))
             .join(ForecastBucket, ForecastBucket.id == ForecastCommit.bucket_id)
             .join(Item, Item.id == ForecastBucket.item_id)
             .where(ForecastBucket.zone.in_(("firm", "material")), ForecastCommit.quantity < ForecastBucket.quantity)
             .order_by(ForecastBucket.week_start, (gap * Item.unit_price).desc(), Item.prime_part_number))
    return _queue(query)


def firm_cuts(actor: Actor) -> Queue:
    """Firm-zone cuts of each relationship's newest version, as stored when it was published (forecast_cut:
    weeks from the current week on that the version before had in its firm zone and that the newest version
    forecasts lower, a week it leaves out counting as 0), largest amount first."""
    latest = _latest_publications(actor)
    counterpart = aliased(Organisation)
    cut = ForecastCut.previous_qty - ForecastCut.new_qty
    query = (select(ForecastCut.week_start, ForecastCut.previous_qty.label("before"),
                    ForecastCut.new_qty.label("after"), cut.label("cut"), ForecastCut.amount.label("value"),
                    Item.prime_part_number, Item.currency, ForecastPublication.version_no,
                    ForecastPublication.published_at, ForecastPublication.cut_reason,
                    SupplyRelationship.id.label("relationship_id"), counterpart.name.label("counterpart"))
             .select_from(ForecastPublication)
             .join(latest, and_(latest.c.relationship_id == ForecastPublication.relationship_id,
                                latest.c.version_no == ForecastPublication.version_no))
             .join(SupplyRelationship, SupplyRelationship.id == ForecastPublication.relationship_id)
             .join(counterpart, counterpart.id == _counterpart(actor))
             .join(ForecastCut, and_(ForecastCut.relationship_id == ForecastPublication.relationship_id,
                                     ForecastCut.publication_id == ForecastPublication.id))
             .join(Item, Item.id == ForecastCut.item_id)
             .order_by(ForecastCut.amount.desc(), Item.prime_part_number, ForecastCut.week_start))
    return _queue(query)


def authorizations_near_limit(actor: Actor) -> Queue:
    """FAB and RAW authorizations (current period, from the coverage ledger) used to NEAR_AUTHORIZATION or more.

    FAB is used by what has shipped since the cumulative start date; RAW by what has shipped plus the finished
    goods and work in process on hand (material already turned into parts).
    """
    counterpart = aliased(Organisation)
    ledger = CoverageLedger
    raw_used = ledger.cum_shipped + ledger.fg_on_hand + ledger.wip
    near_fab = and_(ledger.fab_authorized > 0, ledger.cum_shipped >= ledger.fab_authorized * NEAR_AUTHORIZATION)
    near_raw = and_(ledger.raw_authorized > 0, raw_used >= ledger.raw_authorized * NEAR_AUTHORIZATION)
    fab_share = case((ledger.fab_authorized > 0, ledger.cum_shipped / ledger.fab_authorized), else_=0)
    raw_share = case((ledger.raw_authorized > 0, raw_used / ledger.raw_authorized), else_=0)
    query = (select(ledger.item_id, ledger.fab_authorized, ledger.raw_authorized, ledger.cum_shipped,
                    raw_used.label("raw_used"), ledger.cum_start_date, near_fab.label("near_fab"),
                    near_raw.label("near_raw"), Item.prime_part_number,
                    SupplyRelationship.id.label("relationship_id"), counterpart.name.label("counterpart"))
             .join(Item, Item.id == ledger.item_id)
             .join(SupplyRelationship, SupplyRelationship.id == ledger.relationship_id)
             .join(counterpart, counterpart.id == _counterpart(actor))
             .where(_own(actor), or_(near_fab, near_raw))
             .order_by(fab_share.desc(), raw_share.desc(), Item.prime_part_number))
    queue = _queue(query)
    entries = []
    for row in queue.rows:
        for kind, flag, authorized, used in (("FAB", row["near_fab"], row["fab_authorized"], row["cum_shipped"]),
                                             ("RAW", row["near_raw"], row["raw_authorized"], row["raw_used"])):
            if flag:
                entries.append({**row, "kind": kind, "authorized": authorized, "used": used,
                                "share": (Decimal(used) / Decimal(authorized)) if authorized else Decimal("0")})
    queue.rows = entries
    return queue


def open_po_value_by_supplier(actor: Actor, limit: int = CHART_SUPPLIERS) -> list[dict[str, Any]]:
    """The open quantity of binding POs at the item's unit price, per counterpart and currency, largest first:
    from the coverage ledger (one row per item, not one per PO line)."""
    counterpart = aliased(Organisation)
    value = func.sum(CoverageLedger.open_po * CoverageLedger.unit_price)
    query = (select(SupplyRelationship.id.label("relationship_id"), counterpart.name.label("counterpart"),
                    Item.currency, value.label("value"),
                    func.sum(case((CoverageLedger.open_po > 0, 1), else_=0)).label("items"))
             .select_from(CoverageLedger)
             .join(Item, Item.id == CoverageLedger.item_id)
             .join(SupplyRelationship, SupplyRelationship.id == CoverageLedger.relationship_id)
             .join(counterpart, counterpart.id == _counterpart(actor))
             .where(_own(actor), CoverageLedger.open_po > 0)
             .group_by(SupplyRelationship.id, counterpart.name, Item.currency)
             .order_by(value.desc(), counterpart.name)
             .limit(limit))
    return _rows(query)


# ---------------------------------------------------------------------------------------------- production

ACK_GROUPS = ("overdue", "today", "soon", "later")


def pos_to_acknowledge(actor: Actor, now: datetime | None = None) -> tuple[Queue, dict[str, int]]:
    """Issued POs waiting for the supplier's answer, each with its group by days left, and every group's size.

    Groups: overdue (po_ack_days ran out), today (runs out before midnight), soon (within 1–2 days), later.
    """
    now = now or utcnow()
    today = local_today(now)
    boundaries = {"today": _start_of_day(today + timedelta(days=1)),
                  "soon": _start_of_day(today + timedelta(days=3))}
    queue = unacknowledged_pos(actor, now)
    for row in queue.rows:
        deadline = row["deadline"]
        if deadline < now:
            row["group"] = "overdue"
        elif deadline < boundaries["today"]:
            row["group"] = "today"
        elif deadline < boundaries["soon"]:
            row["group"] = "soon"
        else:
            row["group"] = "later"
        row["days_left"] = (deadline.astimezone(business_zone()).date() - today).days

    def runs_out_before(moment: datetime):
        return func.sum(case((days_since(PurchaseOrder.issued_at, _instant(moment)) > SupplyRelationship.po_ack_days,
                              1), else_=0))

    total, overdue, by_today, by_soon = db.session.execute(
        _awaiting_ack(actor).add_columns(func.count(), runs_out_before(now), runs_out_before(boundaries["today"]),
                                         runs_out_before(boundaries["soon"]))).one()
    total, overdue, by_today, by_soon = (int(v or 0) for v in (total, overdue, by_today, by_soon))
    counts = {"overdue": overdue, "today": by_today - overdue, "soon": by_soon - by_today, "later": total - by_soon}
    return queue, counts


def new_forecast_versions(actor: Actor, now: datetime | None = None, days: int = NEW_VERSION_DAYS,
                          limit: int = 20) -> tuple[Queue, dict[int, list[dict[str, Any]]]]:
    """Versions published in the last `days` days, each with its up/down counts against the version before it,
    and its largest changed cells (item × week), CHANGES_PER_VERSION at most."""
    now = now or utcnow()
    since = now - timedelta(days=days)
    counterpart = aliased(Organisation)
    new_pub, old_pub = aliased(ForecastPublication), aliased(ForecastPublication)
    new_bucket, old_bucket = aliased(ForecastBucket), aliased(ForecastBucket)
    # Cells the two versions both forecast; weeks that only entered the horizon are not a change.
    pairs = (select(new_pub.id.label("publication_id"), new_bucket.item_id, new_bucket.week_start,
                    old_bucket.quantity.label("before"), new_bucket.quantity.label("after"),
                    (new_bucket.quantity - old_bucket.quantity).label("change"))
             .select_from(new_pub)
             .join(old_pub, and_(old_pub.relationship_id == new_pub.relationship_id,
                                 old_pub.version_no == new_pub.version_no - 1))
             .join(new_bucket, new_bucket.publication_id == new_pub.id)
             .join(old_bucket, and_(old_bucket.publication_id == old_pub.id, old_bucket.item_id == new_bucket.item_id,
                                    old_bucket.week_start == new_bucket.week_start))
             .where(new_bucket.quantity != old_bucket.quantity, new_pub.published_at >= since,
                    new_pub.relationship_id.in_(select(SupplyRelationship.id).where(_own(actor)))))
    changed = pairs.subquery("changed")
    counts = (select(changed.c.publication_id, func.sum(case((changed.c.change > 0, 1), else_=0)).label("up"),
                     func.sum(case((changed.c.change < 0, 1), else_=0)).label("down"))
              .group_by(changed.c.publication_id).subquery("counts"))
    query = (select(ForecastPublication.id, ForecastPublication.version_no, ForecastPublication.published_at,
                    ForecastPublication.bucket_count, SupplyRelationship.id.label("relationship_id"),
                    counterpart.name.label("counterpart"), func.coalesce(counts.c.up, 0).label("up"),
                    func.coalesce(counts.c.down, 0).label("down"))
             .join(SupplyRelationship, SupplyRelationship.id == ForecastPublication.relationship_id)
             .join(counterpart, counterpart.id == _counterpart(actor))
             .outerjoin(counts, counts.c.publication_id == ForecastPublication.id)
             .where(_own(actor), ForecastPublication.published_at >= since)
             .order_by(ForecastPublication.published_at.desc(), ForecastPublication.id.desc()))
    queue = _queue(query, limit)
    for row in queue.rows:
        row["up"], row["down"] = int(row["up"] or 0), int(row["down"] or 0)
    ids = [row["id"] for row in queue.rows]
    cells: dict[int, list[dict[str, Any]]] = {pub_id: [] for pub_id in ids}
    if ids:
        rank = func.row_number().over(partition_by=changed.c.publication_id,
                                      order_by=(func.abs(changed.c.change).desc(), changed.c.item_id,
                                                changed.c.week_start)).label("rank")
        ranked = (select(changed, rank).where(changed.c.publication_id.in_(ids))).subquery("ranked")
        top = (select(ranked, Item.prime_part_number)
               .join(Item, Item.id == ranked.c.item_id)
               .where(ranked.c.rank <= CHANGES_PER_VERSION)
               .order_by(ranked.c.publication_id, Item.prime_part_number, ranked.c.week_start))
        for row in _rows(top):
            cells[row["publication_id"]].append(row)
    return queue, cells


def items_at_risk(actor: Actor) -> tuple[Queue, list[dict[str, Any]]]:
    """Items whose ledger shows excess stock or a shortage, and the same per customer for the chart."""
    counterpart = aliased(Organisation)
    ledger = CoverageLedger
    shortage_value = ledger.shortage_qty * ledger.unit_price
    at_risk = or_(ledger.excess > 0, ledger.shortage_qty > 0)
    query = (select(ledger.item_id, ledger.excess, ledger.exposure_amount, ledger.shortage_qty, ledger.shortage_week,
                    ledger.guaranteed, ledger.supply, shortage_value.label("shortage_value"), ledger.computed_at,
                    Item.prime_part_number, Item.supplier_part_number, Item.currency,
                    SupplyRelationship.id.label("relationship_id"), counterpart.name.label("counterpart"))
             .join(Item, Item.id == ledger.item_id)
             .join(SupplyRelationship, SupplyRelationship.id == ledger.relationship_id)
             .join(counterpart, counterpart.id == _counterpart(actor))
             .where(_own(actor), at_risk)
             # Each row's own currency: the order is a work order within a relationship's currency, not a total.
             .order_by((ledger.exposure_amount + shortage_value).desc(), Item.prime_part_number))
    per_customer = (select(SupplyRelationship.id.label("relationship_id"), counterpart.name.label("counterpart"),
                           SupplyRelationship.currency,  # of exposure and shortage_value
                           func.sum(ledger.exposure_amount).label("exposure"),
                           func.sum(shortage_value).label("shortage_value"),
                           func.sum(case((ledger.excess > 0, 1), else_=0)).label("excess_items"),
                           func.sum(case((ledger.shortage_qty > 0, 1), else_=0)).label("shortage_items"))
                    .select_from(ledger)
                    .join(SupplyRelationship, SupplyRelationship.id == ledger.relationship_id)
                    .join(counterpart, counterpart.id == _counterpart(actor))
                    .where(_own(actor), at_risk)
                    .group_by(SupplyRelationship.id, counterpart.name, SupplyRelationship.currency)
                    .order_by(counterpart.name, SupplyRelationship.id))
    return _queue(query), _rows(per_customer)


def stale_reports(actor: Actor, now: datetime | None = None, days: int = STALE_REPORT_DAYS) -> Queue:
    """Active items of active relationships whose latest report is older than `days` days, or that have none."""
    now = now or utcnow()
    counterpart = aliased(Organisation)
    query = (select(Item.id.label("item_id"), Item.prime_part_number, Item.supplier_part_number,
                    ItemPosition.as_of, SupplyRelationship.id.label("relationship_id"),
                    counterpart.name.label("counterpart"))
             .select_from(Item)
             .join(SupplyRelationship, SupplyRelationship.id == Item.relationship_id)
             .join(counterpart, counterpart.id == _counterpart(actor))
             .outerjoin(ItemPosition, ItemPosition.item_id == Item.id)
             .where(_own(actor), SupplyRelationship.status == "active", Item.active,
                    or_(ItemPosition.as_of.is_(None), ItemPosition.as_of < now - timedelta(days=days)))
             .order_by(ItemPosition.as_of.is_not(None), ItemPosition.as_of, Item.prime_part_number))
    return _queue(query)


def lines_due_this_week(actor: Actor, today: date | None = None) -> Queue:
    """Open lines of binding POs due by the end of this week and not fully shipped: each needs an ASN.

    Lines already past due are listed first.
    """
    today = today or local_today()
    week_end = today - timedelta(days=today.weekday()) + timedelta(days=6)
    counterpart = aliased(Organisation)
    open_qty = PurchaseOrderLine.quantity - PurchaseOrderLine.shipped_qty
    query = (select(PurchaseOrderLine.id, PurchaseOrderLine.line_no, PurchaseOrderLine.due_date,
                    PurchaseOrderLine.quantity, PurchaseOrderLine.shipped_qty, open_qty.label("open_qty"),
                    PurchaseOrder.id.label("po_id"), PurchaseOrder.number, PurchaseOrder.status,
                    Item.prime_part_number, Item.supplier_part_number,
                    (PurchaseOrderLine.due_date < today).label("overdue"),
                    SupplyRelationship.id.label("relationship_id"), counterpart.name.label("counterpart"))
             .select_from(PurchaseOrderLine)
             .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
             .join(Item, Item.id == PurchaseOrderLine.item_id)
             .join(SupplyRelationship, SupplyRelationship.id == PurchaseOrder.relationship_id)
             .join(counterpart, counterpart.id == _counterpart(actor))
             .where(_own(actor), PurchaseOrder.status.in_(BINDING_STATES),
                    PurchaseOrderLine.quantity > PurchaseOrderLine.shipped_qty,
                    PurchaseOrderLine.due_date <= week_end)
             .order_by(PurchaseOrderLine.due_date, PurchaseOrder.number, PurchaseOrderLine.line_no))
    queue = _queue(query)
    for row in queue.rows:
        row["overdue"] = bool(row["overdue"])
    return queue


__all__ = ["ACK_GROUPS", "CHANGES_PER_VERSION", "NEAR_AUTHORIZATION", "NEW_VERSION_DAYS", "QUEUE_LIMIT",
           "STALE_REPORT_DAYS", "Queue", "authorizations_near_limit", "commits_below_forecast", "firm_cuts",
           "material_end",
           "items_at_risk", "lines_due_this_week", "new_forecast_versions", "open_po_value_by_supplier",
           "open_proposals", "pos_to_acknowledge", "stale_reports",
           "unacknowledged_pos"]
