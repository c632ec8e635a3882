"""Scorecards both ways, per relationship and calendar month (domain.md, "Measures of the partnership").

Every measure is a ratio `Σ num / Σ den` over rows, and the rows are one query (or, for the audit-log measure, one
function): the figures group that query's rows by relationship and month, and the drill-down lists the same rows.
So a figure always equals what its listing counts. A month whose denominator is 0 has no figure (None, "—").

The supplier's delivery performance:
- **otif**: PO lines of issued POs (not draft, rejected or cancelled) due in the month whose deadline has passed
  (due date + the relationship's `due_date_tolerance_days` before today). A line is on time in full when the
  quantity shipped (ASNs not cancelled, by ship date) up to the deadline reaches the ordered quantity, and the
  total shipped stays within `over_delivery_pct` above it. A line closed short is a miss.
- **asn_accuracy**: shipment lines received in the month; accurate when the received quantity equals the shipped.
- **ack_days**: POs acknowledged in the month: the mean days from `issued_at` to `acknowledged_at` (the PO's own
  columns, so the latest round of a revised PO; a PO acknowledged by the prime accepting a proposal counts then).
- **commit_reliability**: item-weeks whose Monday falls in the month and that have ended, with a commit: the
  commit of the latest version that has one for that week. Σ min(shipped in the week, committed) / Σ committed.

The prime's planning discipline:
- **fence_changes**: PO lines revised (quantity, due date or item) or cancelled on an issued PO while their due
  date lay inside the firm fence (the relationship's current `firm_fence_weeks` counted from the week of the
  change). Read from the audit log (`po.revised`, `po.cancel`): due dates at the time are rebuilt backwards from
  the lines as they are now. A count, per month of the change. A line removed by a revision (how a single line is
  cancelled) counts as a cancellation at the due date the revision's log recorded for it; an older row that
  recorded none is listed with the rows but not counted.
- **late_proposals**: change proposals made in the month, answered (accepted or rejected) after more than the
  relationship's `po_ack_days` days, or still open past them; withdrawn ones are left out (nobody had to answer).
- **authorizations_honoured**: FAB authorization periods (item, cumulative start) closed in the month, a period
  closing when a later start date opens the next one. Honoured when the quantity shipped inside the period
  (ASNs not cancelled, ship date from its start to the next start) reached the period's authorized maximum, so
  the prime took every authorized finished unit; otherwise the difference stayed with the supplier unless paid
  for outside Cogrow.
- Forecast bias and WAPE at the firm and material fences and firm cuts come from `cogrow.reliability`.

Tolerances and fences are the relationship's current terms.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Numeric, String, and_, bindparam, case, cast, func, literal, select, union_all
from sqlalchemy.orm import aliased

from cogrow.catalog.models import Item
from cogrow.core.auth import Actor
from cogrow.core.errors import ValidationFailed
from cogrow.core.models import AuditLog
from cogrow.core.types import UTCDateTime
from cogrow.core.weeks import business_zone, week_start
from cogrow.coverage.sql import days_from, greatest, least, week_of
from cogrow.extensions import db
from cogrow.forecasts.models import Authorization, ForecastCommit, ForecastPublication
from cogrow.orders.models import ChangeProposal, PurchaseOrder, PurchaseOrderLine
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship
from cogrow.reliability import services as reliability
from cogrow.scorecards.periods import (
    DEFAULT_MONTHS, MAX_MONTHS, Month, date_bounds, date_month, moment_bounds, moment_month, month_of, parse_month,
    span,
)
from cogrow.scorecards.sql import days_between
from cogrow.shipments.models import Shipment, ShipmentLine

logger = logging.getLogger("cogrow.scorecards")

ZERO = Decimal("0")


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # a lazy string
    kind: str = "text"  # text, code, qty, date, week, moment, days, flag


@dataclass(frozen=True)
class Measure:
    key: str
    side: str  # whose performance it measures: "supplier" or "prime"
    label: Any
    kind: str  # share (num/den as a percentage), days (mean), count (num)
    better: str  # "higher" or "lower"
    columns: tuple[Column, ...]
    flag: str  # the column that says whether a row counts in the numerator
    rows: Callable[[Context], Any]  # a Select (relationship_id, month, num, den, *columns), or a list of dicts
    explain: Any = ""


@dataclass(frozen=True)
class Context:
    relationship_ids: tuple[int, ...]
    months: tuple[Month, ...]
    today: date
    now: datetime


@dataclass(frozen=True)
class Figure:
    num: Decimal
    den: Decimal
    kind: str

    @property
    def value(self) -> Decimal | None:
        """The share (0..1), the mean in days, or the count; None when nothing was counted."""
        if self.kind == "count":
            return self.num
        if not self.den:
            return None
        return self.num / self.den


# ---------------------------------------------------------------- the supplier's measures

def _slack() -> Decimal:
    """SQLite keeps numerics as floats: allow half of the smallest quantity step there; PostgreSQL is exact."""
    return Decimal("0.00005") if db.session.get_bind().dialect.name == "sqlite" else ZERO


def _today(ctx: Context):
    return bindparam("today", ctx.today, type_=Date)


def _otif_rows(ctx: Context):
    rel, po, line, sl, sh = SupplyRelationship, PurchaseOrder, PurchaseOrderLine, ShipmentLine, Shipment
    due_line = aliased(PurchaseOrderLine)
    due_rel = aliased(SupplyRelationship)
    in_time = days_from(due_line.due_date, sl.ship_date) <= due_rel.due_date_tolerance_days
    shipped = (select(sl.po_line_id,
                      func.sum(case((in_time, sl.quantity_shipped), else_=ZERO)).label("on_time"),
                      func.sum(sl.quantity_shipped).label("total"), func.max(sl.ship_date).label("last_ship"))
               .join(sh, sh.id == sl.shipment_id)
               .join(due_line, due_line.id == sl.po_line_id)
               .join(due_rel, due_rel.id == due_line.relationship_id)
               .where(sl.relationship_id.in_(ctx.relationship_ids), sh.status != "cancelled",
                      date_bounds(due_line.due_date, list(ctx.months)))
               .group_by(sl.po_line_id).subquery("shipped"))
    on_time, total = func.coalesce(shipped.c.on_time, ZERO), func.coalesce(shipped.c.total, ZERO)
    slack = _slack()
    hit = case((and_(on_time >= line.quantity - slack,
                     total <= line.quantity * (1 + rel.over_delivery_pct) + slack), 1), else_=0)
    return (select(line.relationship_id, date_month(line.due_date, list(ctx.months)).label("month"),
                   hit.label("num"), literal(1).label("den"),
                   po.number.label("po_number"), line.line_no, Item.prime_part_number.label("part_number"),
                   line.quantity, line.due_date, rel.due_date_tolerance_days.label("tolerance_days"),
                   on_time.label("shipped_on_time"), total.label("shipped_total"),
                   shipped.c.last_ship.label("last_ship_date"), hit.label("on_time_in_full"))
            .join(po, po.id == line.purchase_order_id)
            .join(rel, rel.id == line.relationship_id)
            .join(Item, Item.id == line.item_id)
            .outerjoin(shipped, shipped.c.po_line_id == line.id)
            .where(line.relationship_id.in_(ctx.relationship_ids),
                   po.status.notin_(("draft", "rejected", "cancelled")),
                   date_bounds(line.due_date, list(ctx.months)),
                   days_from(line.due_date, _today(ctx)) > rel.due_date_tolerance_days)
            .order_by(line.due_date, po.number, line.line_no))


def _asn_rows(ctx: Context):
    sl, sh, line, po = ShipmentLine, Shipment, PurchaseOrderLine, PurchaseOrder
    accurate = case((sl.quantity_received == sl.quantity_shipped, 1), else_=0)
    return (select(sl.relationship_id, moment_month(sh.received_at, list(ctx.months)).label("month"),
                   accurate.label("num"), literal(1).label("den"),
                   sh.number.label("asn_number"), po.number.label("po_number"), line.line_no,
                   Item.prime_part_number.label("part_number"), sl.ship_date, sh.received_at,
                   sl.quantity_shipped, sl.quantity_received, accurate.label("accurate"))
            .join(sh, sh.id == sl.shipment_id)
            .join(line, line.id == sl.po_line_id)
            .join(po, po.id == line.purchase_order_id)
            .join(Item, Item.id == sl.item_id)
            .where(sl.relationship_id.in_(ctx.relationship_ids), sh.status == "received",
                   sl.quantity_received.is_not(None), moment_bounds(sh.received_at, list(ctx.months)))
            .order_by(sh.received_at, sh.number, sl.id))


def _ack_rows(ctx: Context):
    po, rel = PurchaseOrder, SupplyRelationship
    days = days_between(po.issued_at, po.acknowledged_at)
    return (select(po.relationship_id, moment_month(po.acknowledged_at, list(ctx.months)).label("month"),
                   days.label("num"), literal(1).label("den"),
                   po.number.label("po_number"), po.issued_at, po.acknowledged_at, days.label("days"),
                   rel.po_ack_days, case((days <= rel.po_ack_days, 1), else_=0).label("within_ack_days"))
            .join(rel, rel.id == po.relationship_id)
            .where(po.relationship_id.in_(ctx.relationship_ids), po.issued_at.is_not(None),
                   moment_bounds(po.acknowledged_at, list(ctx.months)))
            .order_by(po.acknowledged_at, po.number))


def _commit_rows(ctx: Context):
    fc, sl, sh = ForecastCommit, ShipmentLine, Shipment
    months = list(ctx.months)
    ended = fc.week_start < week_start(ctx.today)
    latest = (select(fc.relationship_id, fc.item_id, fc.week_start, func.max(fc.publication_id).label("publication_id"))
              .where(fc.relationship_id.in_(ctx.relationship_ids), date_bounds(fc.week_start, months), ended)
              .group_by(fc.relationship_id, fc.item_id, fc.week_start).subquery("latest"))
    week = week_of(sl.ship_date)
    shipped = (select(sl.relationship_id, sl.item_id, week.label("week_start"),
                      func.sum(sl.quantity_shipped).label("qty"))
               .join(sh, sh.id == sl.shipment_id)
               .where(sl.relationship_id.in_(ctx.relationship_ids), sh.status != "cancelled",
                      sl.ship_date >= months[0].first, sl.ship_date < months[-1].next_first + timedelta(days=7))
               .group_by(sl.relationship_id, sl.item_id, week).subquery("shipped"))
    qty = func.coalesce(shipped.c.qty, ZERO)
    met = least(qty, fc.quantity)
    return (select(fc.relationship_id, date_month(fc.week_start, months).label("month"), met.label("num"),
                   fc.quantity.label("den"), Item.prime_part_number.label("part_number"), fc.week_start,
                   ForecastPublication.version_no, fc.quantity.label("committed"), qty.label("shipped"),
                   met.label("met"))
            .join(latest, and_(latest.c.relationship_id == fc.relationship_id, latest.c.item_id == fc.item_id,
                               latest.c.week_start == fc.week_start, latest.c.publication_id == fc.publication_id))
            .join(ForecastPublication, ForecastPublication.id == fc.publication_id)
            .join(Item, Item.id == fc.item_id)
            .outerjoin(shipped, and_(shipped.c.relationship_id == fc.relationship_id, shipped.c.item_id == fc.item_id,
                                     shipped.c.week_start == fc.week_start))
            .where(fc.quantity > 0)
            .order_by(fc.week_start, Item.prime_part_number))


# ---------------------------------------------------------------- the prime's measures

def _late_proposal_rows(ctx: Context):
    cp, po, rel, line = ChangeProposal, PurchaseOrder, SupplyRelationship, PurchaseOrderLine
    now = bindparam("now", ctx.now, type_=UTCDateTime)
    taken = case((cp.decided_at.is_not(None), days_between(cp.created_at, cp.decided_at)),
                 else_=days_between(cp.created_at, now))
    late = case((taken > rel.po_ack_days, 1), else_=0)
    return (select(po.relationship_id, moment_month(cp.created_at, list(ctx.months)).label("month"),
                   late.label("num"), literal(1).label("den"),
                   po.number.label("po_number"), line.line_no, cp.status, cp.created_at, cp.decided_at,
                   taken.label("days"), rel.po_ack_days, late.label("late"))
            .join(po, po.id == cp.purchase_order_id)
            .join(rel, rel.id == po.relationship_id)
            .join(line, line.id == cp.line_id)
            .where(po.relationship_id.in_(ctx.relationship_ids), cp.status != "withdrawn",
                   moment_bounds(cp.created_at, list(ctx.months)),
                   (cp.status != "open") | (days_between(cp.created_at, now) > rel.po_ack_days))
            .order_by(cp.created_at, cp.id))


def _authorization_rows(ctx: Context):
    a, sl, sh = Authorization, ShipmentLine, Shipment
    months = list(ctx.months)
    periods = (select(a.relationship_id, a.item_id, a.cum_start_date.label("start"),
                      func.max(a.quantity).label("authorized"))
               .where(a.relationship_id.in_(ctx.relationship_ids), a.kind == "FAB", a.cum_start_date <= ctx.today)
               .group_by(a.relationship_id, a.item_id, a.cum_start_date).subquery("periods"))
    later = periods.alias("later")
    closed = (select(periods.c.relationship_id, periods.c.item_id, periods.c.start, periods.c.authorized,
                     func.min(later.c.start).label("closed_on"))
              .join(later, and_(later.c.relationship_id == periods.c.relationship_id,
                                later.c.item_id == periods.c.item_id, later.c.start > periods.c.start))
              .group_by(periods.c.relationship_id, periods.c.item_id, periods.c.start, periods.c.authorized)
              .subquery("closed"))
    shipped = (select(closed.c.relationship_id, closed.c.item_id, closed.c.start,
                      func.sum(sl.quantity_shipped).label("qty"))
               .join(sl, and_(sl.relationship_id == closed.c.relationship_id, sl.item_id == closed.c.item_id,
                              sl.ship_date >= closed.c.start, sl.ship_date < closed.c.closed_on))
               .join(sh, sh.id == sl.shipment_id)
               .where(sh.status != "cancelled")
               .group_by(closed.c.relationship_id, closed.c.item_id, closed.c.start).subquery("taken"))
    qty = func.coalesce(shipped.c.qty, ZERO)
    honoured = case((qty >= closed.c.authorized - _slack(), 1), else_=0)
    return (select(closed.c.relationship_id, date_month(closed.c.closed_on, months).label("month"),
                   honoured.label("num"), literal(1).label("den"),
                   Item.prime_part_number.label("part_number"), closed.c.start.label("cum_start_date"),
                   closed.c.closed_on, closed.c.authorized, qty.label("shipped"),
                   greatest(closed.c.authorized - qty, ZERO).label("left_over"), honoured.label("honoured"))
            .join(Item, Item.id == closed.c.item_id)
            .outerjoin(shipped, and_(shipped.c.relationship_id == closed.c.relationship_id,
                                     shipped.c.item_id == closed.c.item_id, shipped.c.start == closed.c.start))
            .where(date_bounds(closed.c.closed_on, months))
            .order_by(closed.c.closed_on, Item.prime_part_number))


def _fence_change_rows(ctx: Context) -> list[dict[str, Any]]:
    """Lines revised or cancelled inside the firm fence, from the audit log (one statement whatever the data, and
    one more for the parts of removed lines)."""
    po, rel, line = PurchaseOrder, SupplyRelationship, PurchaseOrderLine
    months = list(ctx.months)
    # Each audit row comes once per line of its PO as the PO is now (the line's current due date and part).
    joined = db.session.execute(
        select(AuditLog.id.label("audit_id"), AuditLog.at, AuditLog.action, AuditLog.detail, po.id, po.number,
               po.relationship_id, rel.firm_fence_weeks, line.line_no, line.due_date, Item.prime_part_number)
        .join(po, cast(po.id, String) == AuditLog.object_id)
        .join(rel, rel.id == po.relationship_id)
        .outerjoin(line, line.purchase_order_id == po.id)
        .outerjoin(Item, Item.id == line.item_id)
        .where(AuditLog.object_type == "purchase_order", AuditLog.action.in_(("po.revised", "po.cancel")),
               AuditLog.outcome == "ok", AuditLog.organisation_id == rel.prime_id,
               # the primes' own rows, read through the (organisation_id, at) index of a large table
               AuditLog.organisation_id.in_(select(SupplyRelationship.prime_id)
                                            .where(SupplyRelationship.id.in_(ctx.relationship_ids))),
               po.relationship_id.in_(ctx.relationship_ids), AuditLog.at >= months[0].start)
        .order_by(AuditLog.id.desc())).all()
    events = list({r.audit_id: r for r in joined}.values())  # newest first, one per audit row
    lines: dict[int, dict[int, tuple[date, str]]] = defaultdict(dict)
    for r in joined:
        if r.line_no is not None:
            lines[r.id][r.line_no] = (r.due_date, r.prime_part_number)
    due_now: dict[int, dict[int, date | None]] = {p: {no: v[0] for no, v in ls.items()} for p, ls in lines.items()}
    out: list[dict[str, Any]] = []
    removed_items: dict[tuple[int, int], int] = {}  # (audit row, line no) -> the removed line's item
    for e in events:  # newest first: each revision is undone after it is read, so older ones see their due dates
        state = due_now.setdefault(e.id, {})
        detail = e.detail or {}
        at_local = e.at.astimezone(business_zone())
        fence_end = week_start(at_local.date()) + timedelta(weeks=e.firm_fence_weeks)
        month = next((m.label for m in months if m.start <= e.at < m.end), None)
        touched: list[tuple[int, date | None, str]] = []
        if e.action == "po.cancel":
            if detail.get("from") != "draft":
                touched = [(no, due, "cancelled") for no, due in state.items()]
        elif "lines" in detail and "status" in detail:  # a revision of an issued PO (a draft's binds nothing)
            changed = detail["lines"].get("changed", {})
            for no_text, diff in changed.items():
                no = int(no_text)
                if "due_date" in diff:
                    state[no] = date.fromisoformat(diff["due_date"]["from"])
                if {"quantity", "due_date", "item_id"} & set(diff):
                    touched.append((no, state.get(no), "revised"))
            for no in detail["lines"].get("added", []):
                state.pop(int(no), None)
            cut = {int(r["line_no"]): r for r in detail["lines"].get("removed_lines", [])}
            for no in map(int, detail["lines"].get("removed", [])):
                if no in cut:  # a line cancelled alone: the log keeps its due date and item
                    state[no] = date.fromisoformat(cut[no]["due_date"])
                    removed_items[(e.audit_id, no)] = int(cut[no]["item_id"])
                    touched.append((no, state[no], "cancelled"))
                else:  # an older row keeps no due date: listed, not counted, as it cannot be placed against the fence
                    touched.append((no, None, "removed"))
                    state[no] = None
        if month is None:
            continue
        for no, due, what in touched:
            if due is not None and week_start(due) >= fence_end:
                continue
            counted = 0 if due is None else 1
            part = lines[e.id][no][1] if no in lines[e.id] else ""
            out.append({"relationship_id": e.relationship_id, "month": month, "num": Decimal(counted),
                        "den": Decimal(1), "po_number": e.number, "line_no": no, "part_number": part, "change": what,
                        "changed_at": e.at, "due_date": due, "fence_end": fence_end, "counted": counted,
                        "item_id": removed_items.get((e.audit_id, no))})
    # A removed line is not among the PO's lines any more (and its number may since name another): its part is
    # the one of the item the log recorded, read in one more statement.
    item_ids = {r["item_id"] for r in out if r["item_id"] is not None}
    parts = dict(db.session.execute(select(Item.id, Item.prime_part_number).where(Item.id.in_(item_ids))).all()
                 ) if item_ids else {}
    for r in out:
        item_id = r.pop("item_id")
        if item_id is not None:
            r["part_number"] = parts.get(item_id, "")
    out.sort(key=lambda r: (r["changed_at"], r["po_number"], r["line_no"]))
    return out


# ---------------------------------------------------------------- the registry

def _c(key: str, label: Any, kind: str = "text") -> Column:
    return Column(key, label, kind)


PO, LINE, PART = _c("po_number", _l("PO")), _c("line_no", _l("Line")), _c("part_number", _l("Part number"))

MEASURES: dict[str, Measure] = {m.key: m for m in (
    Measure("otif", "supplier", _l("On time in full"), "share", "higher",
            (PO, LINE, PART, _c("quantity", _l("Ordered"), "qty"), _c("due_date", _l("Due date"), "date"),
             _c("tolerance_days", _l("Tolerance (days)"), "qty"),
             _c("shipped_on_time", _l("Shipped by the deadline"), "qty"),
             _c("shipped_total", _l("Shipped in total"), "qty"), _c("last_ship_date", _l("Last shipped"), "date"),
             _c("on_time_in_full", _l("On time in full"), "flag")),
            "on_time_in_full", _otif_rows,
            _l("PO lines due in the month whose due date plus tolerance has passed, shipped in full by then and "
               "within the over-delivery tolerance.")),
    Measure("asn_accuracy", "supplier", _l("ASN accuracy"), "share", "higher",
            (_c("asn_number", _l("ASN")), PO, LINE, PART, _c("ship_date", _l("Shipped"), "date"),
             _c("received_at", _l("Received"), "moment"), _c("quantity_shipped", _l("Quantity shipped"), "qty"),
             _c("quantity_received", _l("Quantity received"), "qty"), _c("accurate", _l("Accurate"), "flag")),
            "accurate", _asn_rows,
            _l("Shipment lines received in the month whose received quantity equals the shipped quantity.")),
    Measure("ack_days", "supplier", _l("Acknowledgement time (days)"), "days", "lower",
            (PO, _c("issued_at", _l("Issued"), "moment"), _c("acknowledged_at", _l("Acknowledged"), "moment"),
             _c("days", _l("Days"), "days"), _c("po_ack_days", _l("Days allowed"), "qty"),
             _c("within_ack_days", _l("In time"), "flag")),
            "within_ack_days", _ack_rows,
            _l("Mean days from a PO's issue to its acknowledgement, for POs acknowledged in the month.")),
    Measure("commit_reliability", "supplier", _l("Commit reliability"), "share", "higher",
            (PART, _c("week_start", _l("Week"), "week"), _c("version_no", _l("Forecast version"), "qty"),
             _c("committed", _l("Committed"), "qty"), _c("shipped", _l("Shipped that week"), "qty"),
             _c("met", _l("Committed quantity shipped"), "qty")),
            "met", _commit_rows,
            _l("Quantity shipped in each finished week against the quantity committed for it, up to the commit.")),
    Measure("fence_changes", "prime", _l("PO changes inside the firm fence"), "count", "lower",
            (PO, LINE, PART, _c("change", _l("Change"), "code"), _c("changed_at", _l("When"), "moment"),
             _c("due_date", _l("Due date then"), "date"), _c("fence_end", _l("Firm fence ended"), "week")),
            "counted", _fence_change_rows,
            _l("PO lines revised or cancelled while their due date was inside the firm fence.")),
    Measure("late_proposals", "prime", _l("Proposals answered late"), "share", "lower",
            (PO, LINE, _c("status", _l("Status"), "code"), _c("created_at", _l("Proposed"), "moment"),
             _c("decided_at", _l("Answered"), "moment"), _c("days", _l("Days"), "days"),
             _c("po_ack_days", _l("Days allowed"), "qty"), _c("late", _l("Late"), "flag")),
            "late", _late_proposal_rows,
            _l("Change proposals made in the month answered after the days allowed, or still open past them.")),
    Measure("authorizations_honoured", "prime", _l("Authorizations honoured"), "share", "higher",
            (PART, _c("cum_start_date", _l("Cumulative start"), "date"), _c("closed_on", _l("Next start"), "date"),
             _c("authorized", _l("Authorized (FAB)"), "qty"), _c("shipped", _l("Shipped in the period"), "qty"),
             _c("left_over", _l("Not taken"), "qty"), _c("honoured", _l("Honoured"), "flag")),
            "honoured", _authorization_rows,
            _l("FAB authorization periods closed in the month in which the prime took the whole authorized "
               "quantity.")),
)}


def measures_of(side: str) -> list[Measure]:
    return [m for m in MEASURES.values() if m.side == side]


# ---------------------------------------------------------------- periods

@dataclass(frozen=True)
class Period:
    months: tuple[Month, ...]

    @property
    def first(self) -> Month:
        return self.months[0]

    @property
    def last(self) -> Month:
        return self.months[-1]


def period(today: date, first: str | None = None, last: str | None = None) -> Period:
    """The months from `first` to `last` ('2026-06'); by default the DEFAULT_MONTHS ending with this month.

    :raises ValidationFailed: naming `start` or `end` for a bad month or a period out of order or too long.
    """
    errors: dict[str, str] = {}
    parsed: dict[str, Month | None] = {}
    for name, text in (("start", first), ("end", last)):
        parsed[name] = None
        if text:
            try:
                parsed[name] = parse_month(text)
            except ValueError:
                errors[name] = str(_l("Must be a month written as YYYY-MM."))
    if errors:
        raise ValidationFailed(str(_l("The period is not valid.")), fields=errors)
    end = parsed["end"] or month_of(today)
    start = parsed["start"] or end.shifted(-(DEFAULT_MONTHS - 1))
    months = span(start, end) if start.first <= end.first else []
    if not months:
        raise ValidationFailed(str(_l("The period is not valid.")),
                               fields={"start": str(_l("Must not come after the end of the period."))})
    if len(months) > MAX_MONTHS:
        raise ValidationFailed(str(_l("The period is not valid.")),
                               fields={"start": str(_l("At most %(n)s months at a time.", n=MAX_MONTHS))})
    return Period(tuple(months))


# ---------------------------------------------------------------- figures and rows

def _context(relationship_ids: Iterable[int], months: Sequence[Month], today: date, now: datetime) -> Context:
    return Context(tuple(sorted(set(relationship_ids))), tuple(months), today, now)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else ZERO


def figures(relationship_ids: Iterable[int], months: Sequence[Month], today: date, now: datetime,
            keys: Iterable[str] | None = None) -> dict[str, dict[tuple[int, str], Figure]]:
    """{measure: {(relationship_id, month label): Figure}}: the SQL measures' rows grouped in one UNION ALL
    statement, the audit-log measure in two; the same statements whatever the number of relationships or rows."""
    ctx = _context(relationship_ids, months, today, now)
    wanted = [MEASURES[key] for key in (keys or MEASURES)]
    out: dict[str, dict[tuple[int, str], Figure]] = {m.key: {} for m in wanted}
    if not ctx.relationship_ids:
        return out
    grouped: list[tuple[Any, ...]] = []
    selects = []
    for measure in wanted:
        rows = measure.rows(ctx)
        if isinstance(rows, list):
            sums: dict[tuple[int, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
            for r in rows:
                total = sums[(r["relationship_id"], r["month"])]
                total[0] += r["num"]
                total[1] += r["den"]
            grouped.extend((measure.key, *k, *v) for k, v in sums.items())
            continue
        sub = rows.order_by(None).subquery(f"rows_{measure.key}")
        selects.append(select(literal(measure.key).label("measure"), sub.c.relationship_id, sub.c.month,
                              cast(func.sum(sub.c.num), Numeric(24, 6)).label("num"),
                              cast(func.sum(sub.c.den), Numeric(24, 6)).label("den"))
                       .group_by(sub.c.relationship_id, sub.c.month))
    if selects:
        grouped.extend(db.session.execute(union_all(*selects) if len(selects) > 1 else selects[0]).all())
    for key, rel_id, month, num, den in grouped:
        if month is not None:
            out[key][(rel_id, month)] = Figure(_dec(num), _dec(den), MEASURES[key].kind)
    return out


def measure_rows(relationship_id: int, measure: Measure, months: Sequence[Month], today: date,
                 now: datetime) -> list[dict[str, Any]]:
    """The rows behind a measure's figures for one relationship over `months`, in the order the listing shows."""
    ctx = _context([relationship_id], months, today, now)
    rows = measure.rows(ctx)
    if isinstance(rows, list):
        return [r for r in rows if r["month"] is not None]
    sub = rows.subquery("rows")
    result = db.session.execute(select(sub).where(sub.c.month.is_not(None)))
    # SQLite computes day spans as floats: rows carry Decimals to 6 places, as PostgreSQL's NUMERIC gives them.
    return [{k: Decimal(str(round(v, 6))) if isinstance(v, float) else v for k, v in r._mapping.items()}
            for r in result]


def rollup(figs: dict[tuple[int, str], Figure], kind: str, relationship_ids: Iterable[int] | None = None,
           months: Iterable[str] | None = None) -> Figure:
    """Σ num / Σ den over some relationships and months (a counterpart's, an organisation's, a quarter's)."""
    ids = set(relationship_ids) if relationship_ids is not None else None
    labels = set(months) if months is not None else None
    num = den = ZERO
    for (rel_id, month), fig in figs.items():
        if (ids is None or rel_id in ids) and (labels is None or month in labels):
            num += fig.num
            den += fig.den
    return Figure(num, den, kind)


# ---------------------------------------------------------------- the prime's forecast reliability

# The reliability helper's figures at the fences, as the scorecard's rows: (key, label, kind) with kind "ratio".
FORECAST_ROWS = (
    ("wape_firm", _l("Forecast WAPE at the firm fence")),
    ("bias_firm", _l("Forecast bias at the firm fence")),
    ("wape_material", _l("Forecast WAPE at the material fence")),
    ("bias_material", _l("Forecast bias at the material fence")),
)


@dataclass(frozen=True)
class ForecastFigures:
    """One relationship's forecast reliability over some target weeks: ratios (None: no demand) and firm cuts."""

    fences: Any  # reliability.FenceFigures
    cuts: Any  # reliability.CutTotals

    def value(self, key: str) -> Decimal | None:
        return getattr(self.fences, key) if self.fences is not None else None


def mondays(months: Sequence[Month]) -> tuple[date, date]:
    """The first and last Monday falling in `months`: the target weeks that belong to them."""
    first = week_start(months[0].first)
    if first < months[0].first:
        first += timedelta(weeks=1)
    return first, week_start(months[-1].next_first - timedelta(days=1))


def forecast_figures(relationship_ids: Sequence[int], months: Sequence[Month]) -> dict[int, ForecastFigures]:
    """The reliability helper's figures at the fences and firm cuts over the weeks of `months` (four statements)."""
    ids = sorted(set(relationship_ids))
    if not ids:
        return {}
    first, last = mondays(months)
    fences = reliability.at_fences(ids, first, last)
    cuts = reliability.firm_cut_totals(ids, first, last)
    return {rel_id: ForecastFigures(fences.get(rel_id), cuts.get(rel_id)) for rel_id in ids}


# ---------------------------------------------------------------- what the pages and the API call

@dataclass
class Scorecard:
    relationship: SupplyRelationship
    period: Period
    figures: dict[str, dict[tuple[int, str], Figure]]
    forecast: dict[str, ForecastFigures] = field(default_factory=dict)  # month label -> figures; "" the period

    def forecast_of(self, month: str | None = None) -> ForecastFigures | None:
        return self.forecast.get(month or "")

    def figure(self, key: str, month: str | None = None) -> Figure:
        measure = MEASURES[key]
        labels = [month] if month else [m.label for m in self.period.months]
        return rollup(self.figures[key], measure.kind, [self.relationship.id], labels)


def scorecard(actor: Actor, relationship_id: int, first: str | None, last: str | None, today: date,
              now: datetime) -> Scorecard:
    """Both scorecards of one relationship the actor is a side of (404 otherwise), month by month."""
    rel = relationships.get_relationship(actor, relationship_id)
    per = period(today, first, last)
    figs = figures([rel.id], per.months, today, now)
    forecast = {m.label: forecast_figures([rel.id], [m])[rel.id] for m in per.months}
    forecast[""] = forecast_figures([rel.id], per.months)[rel.id]
    logger.debug("scorecard of relationship %s for %s..%s", rel.id, per.first.label, per.last.label)
    return Scorecard(rel, per, figs, forecast)


def measure_of(key: str | None) -> Measure:
    """The measure named `key` (the first, OTIF, when none is named); 422 naming `measure` for an unknown one."""
    if not key:
        return next(iter(MEASURES.values()))
    if key not in MEASURES:
        raise ValidationFailed(str(_l("Unknown measure.")),
                               fields={"measure": str(_l("Must be one of: %(choices)s.", choices=", ".join(MEASURES)))})
    return MEASURES[key]  # type: ignore[index]


def drill_down(actor: Actor, relationship_id: int, key: str | None, first: str | None, last: str | None,
               month: str | None, today: date, now: datetime) -> tuple[SupplyRelationship, Measure, Period, list[Month],
                                                                      list[dict[str, Any]]]:
    """The rows behind one measure of one relationship, for one month of the period or the whole period."""
    rel = relationships.get_relationship(actor, relationship_id)
    measure = measure_of(key)
    per = period(today, first, last)
    months = list(per.months)
    if month:
        try:
            chosen = parse_month(month)
        except ValueError:
            raise ValidationFailed(str(_l("The period is not valid.")),
                                   fields={"month": str(_l("Must be a month written as YYYY-MM."))}) from None
        if chosen not in per.months:
            per = period(today, chosen.label, chosen.label)
        months = [chosen]
    return rel, measure, per, months, measure_rows(rel.id, measure, months, today, now)


def counterpart_figures(actor: Actor, months: Sequence[Month], today: date, now: datetime,
                        rels: Sequence[SupplyRelationship] | None = None, limit: int = 500
                        ) -> tuple[list[SupplyRelationship], dict[str, dict[tuple[int, str], Figure]]]:
    """The actor's organisation's relationships (at most `limit`, or `rels` already read for the actor) with their
    figures over `months`: a fixed number of statements whatever their number (for the home pages)."""
    own = [r for r in rels if r.side_of(actor.organisation_id)] if rels is not None else \
        relationships.list_relationships(actor, limit=limit)
    return own, figures([r.id for r in own], months, today, now)


def recent_months(today: date, count: int = 3) -> list[Month]:
    """The `count` months ending with this one."""
    last = month_of(today)
    return span(last.shifted(-(count - 1)), last)


PLACES = Decimal("0.000001")


def rounded(value: Decimal | None) -> Decimal | None:
    return value.quantize(PLACES) if value is not None else None


def figure_rows(card: Scorecard) -> Iterable[tuple[Any, ...]]:
    """The scorecard as a table (the export): side, measure, month ("" for the period), numerator, denominator,
    value; the forecast rows carry only a value."""
    labels = [m.label for m in card.period.months] + [""]
    for measure in MEASURES.values():
        for label in labels:
            fig = card.figure(measure.key, label or None)
            yield (measure.side, measure.key, str(measure.label), label, fig.num, fig.den, rounded(fig.value))
    for key, label_text in FORECAST_ROWS:
        for label in labels:
            forecast = card.forecast_of(label or None)
            yield ("prime", key, str(label_text), label, None, None, rounded(forecast.value(key)) if forecast else None)
    for label in labels:
        forecast = card.forecast_of(label or None)
        cuts = forecast.cuts if forecast else None
        yield ("prime", "firm_cut_units", str(_l("Firm cuts (units)")), label, None, None,
               cuts.units if cuts is not None else None)


@dataclass(frozen=True)
class Summary:
    """A relationship's figures over its recent months, for its page."""

    months: list[Month]
    figures: dict[str, Figure]
    forecast: ForecastFigures | None


def summary(relationship: SupplyRelationship, today: date, now: datetime, count: int = 3) -> Summary:
    """The measures of a relationship the caller has already checked, over the `count` months ending with this one."""
    months = recent_months(today, count)
    figs = figures([relationship.id], months, today, now)
    return Summary(months, {k: rollup(v, MEASURES[k].kind) for k, v in figs.items()},
                   forecast_figures([relationship.id], months).get(relationship.id))
