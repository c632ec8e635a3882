"""The liability statement of one relationship for one month, as of that month's end (or now, for this month).

What "as of" means (shown on the page as well). The statement's instant T is now for the current month, and for a
past month the first instant of the next month in the business time zone (Asia/Seoul); its day is T's local date
(the month's last day for a past month). A record counts when it existed before T:

- **authorizations**: rows granted before T whose cumulative start date is on or before the day; per item the
  latest such start date opens the period, FAB/RAW authorized is the highest quantity granted of that kind in it;
- **shipments**: lines of shipments not cancelled, shipped on or before the day; cum_shipped sums those shipped
  on or after the period's start; a PO line's shipped quantity is the sum of its lines shipped by the day;
- **POs**: a PO's state at T is the state its latest audited status move before T led to (a PO cancelled after T
  was still binding at T); this month uses the PO's current state. Line quantities and due dates are the current
  ones (a later change shows in the dated records of its own month);
- **forecast**: the relationship's latest publication before T; its buckets from the ISO week of the day on,
  firm when published so or inside the relationship's firm fence from that week;
- **terms**: item prices, the material share, the currency and the firm fence are the current ones (no history is
  kept of them).

From these the ledger's terms are computed as coverage.services defines them (open_po, firm_uncovered, fab, raw,
cum_shipped, guaranteed) and the liability by the one formula, coverage.liability.liability_of.

The statement's hash is the sha256 of a canonical serialization of its input rows (`canonical_bytes`): UTF-8 JSON
with sorted keys, no whitespace, decimals as plain normalized text ("1500", "0.5"), dates and UTC instants in ISO
8601, every list sorted by its rows' ids. The same records give the same hash; any changed row changes it.
A revision's dated record carries the lines it removed (line, item, quantity, due date) when its log kept them;
its note names them in the reader's language, outside the hash, so every reader's statement has the same hash.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, cast, func, select

from cogrow.catalog.models import Item
from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import BadRequest
from cogrow.core.fields import decimal_text, grouped_text
from cogrow.core.formatting import format_day
from cogrow.core.models import AuditLog
from cogrow.core.types import utcnow
from cogrow.core.weeks import business_zone, local_today, week_start
from cogrow.coverage.liability import Liability, liability_of
from cogrow.extensions import db
from cogrow.forecasts.models import Authorization, ForecastBucket, ForecastPublication
from cogrow.liability.models import LiabilityIssue
from cogrow.orders.models import BINDING_STATES, PurchaseOrder, PurchaseOrderLine
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship
from cogrow.shipments.models import Shipment, ShipmentLine

ZERO = Decimal("0")
COVER_STATES = (*BINDING_STATES, "closed")  # as coverage.services: a closed PO's lines still cover their firm week
ISSUE_FORMATS = ("print", "xlsx", "pdf")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next_first_day(self) -> date:
        return date(self.year + self.month // 12, self.month % 12 + 1, 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), 12 if self.month == 1 else self.month - 1)


def current_month() -> Month:
    today = local_today()
    return Month(today.year, today.month)


def parse_month(text: str | None) -> Month:
    """The `month` parameter (YYYY-MM, not after the current month); empty means the current month."""
    if text is None or text == "":
        return current_month()
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise BadRequest(_("Invalid month."), fields={"month": _("Give a month as YYYY-MM, e.g. 2026-11.")})
    month = Month(int(match.group(1)), int(match.group(2)))
    if month.first_day > current_month().first_day:
        raise BadRequest(_("Invalid month."), fields={"month": _("A statement cannot be for a month that has not begun.")})
    return month


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=business_zone()).astimezone(timezone.utc)


@dataclass
class ItemLine:
    """One item's terms and liability in the statement."""

    item_id: int
    part_number: str
    description: str
    unit_price: Decimal
    cum_start_date: date | None = None
    fab_authorized: Decimal = ZERO
    raw_authorized: Decimal = ZERO
    cum_shipped: Decimal = ZERO
    open_po: Decimal = ZERO
    firm_forecast: Decimal = ZERO
    firm_uncovered: Decimal = ZERO
    guaranteed: Decimal = ZERO
    liability: Liability | None = None

    @property
    def amount(self) -> Decimal:
        return self.liability.amount if self.liability else ZERO


@dataclass
class Statement:
    relationship: SupplyRelationship
    month: Month
    as_of: datetime  # T, UTC
    as_of_day: date
    current: bool
    currency: str
    material_share: Decimal
    publication: dict[str, Any] | None
    items: list[ItemLine]
    authorizations: list[dict[str, Any]]
    open_lines: list[dict[str, Any]]
    firm_buckets: list[dict[str, Any]]
    records: list[dict[str, Any]]
    sha256: str
    inputs: dict[str, Any] = field(repr=False)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.items), ZERO)

    @property
    def finished_total(self) -> Decimal:
        return sum((line.liability.finished_amount for line in self.items if line.liability), ZERO)

    @property
    def raw_total(self) -> Decimal:
        return sum((line.liability.raw_amount for line in self.items if line.liability), ZERO)


def _plain(value: Any) -> str:
    """A decimal, instant or date as the canonical serialization writes it (json.dumps calls this for them)."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no canonical form")


def canonical_bytes(inputs: dict[str, Any]) -> bytes:
    """The statement's input rows as the bytes its hash is taken of (see the module docstring)."""
    return json.dumps(inputs, default=_plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _state_moves(rel_id: int, before: datetime) -> dict[int, str]:
    """Each PO's state after its latest audited status move before `before` (POs not closed before it)."""
    po = PurchaseOrder.__table__
    rows = db.session.execute(
        select(po.c.id, AuditLog.action, AuditLog.detail)
        .join(po, AuditLog.object_id == cast(po.c.id, String))
        .where(po.c.relationship_id == rel_id, AuditLog.object_type == "purchase_order",
               AuditLog.outcome == "ok", AuditLog.at < before,
               (po.c.closed_at.is_(None)) | (po.c.closed_at >= before))
        .order_by(AuditLog.at, AuditLog.id))
    states: dict[int, str] = {}
    for po_id, action, detail in rows:
        detail = detail or {}
        target = detail.get("to") or (detail.get("status") or {}).get("to")
        if target is None and action == "po.created":
            target = "draft"
        if target:
            states[po_id] = target
    return states


def _state_at(po: Any, moves: dict[int, str], before: datetime, current: bool) -> str:
    """A PO's state at the statement's instant (see the module docstring)."""
    if current:
        return po.status
    if po.closed_at is not None and po.closed_at < before:
        return po.status
    if po.id in moves:
        return moves[po.id]
    # No audited move (rows written outside the services): issued before T and not closed before T means binding.
    if po.issued_at is not None and po.issued_at < before:
        return po.status if po.status in BINDING_STATES else "issued"
    return "draft"


def compute(actor: Actor, relationship_id: int, month: Month) -> Statement:
    """The statement of one relationship and month, from the records as they stood at the month's end."""
    rel = relationships.get_relationship(actor, relationship_id)
    now = utcnow()
    current = month == current_month()
    as_of = now if current else _local_midnight_utc(month.next_first_day)
    as_of_day = local_today(now) if current else month.next_first_day - timedelta(days=1)
    cw = week_start(as_of_day)
    month_start = _local_midnight_utc(month.first_day)

    items = {item.id: item for item in db.session.scalars(select(Item).where(Item.relationship_id == rel.id))}

    # Authorizations granted before T, starting on or before the day.
    auths = [dict(id=a.id, item_id=a.item_id, kind=a.kind, cum_start_date=a.cum_start_date, quantity=a.quantity,
                  granted_at=a.granted_at)
             for a in db.session.scalars(select(Authorization).where(
                 Authorization.relationship_id == rel.id, Authorization.granted_at < as_of,
                 Authorization.cum_start_date <= as_of_day).order_by(Authorization.id))]

    # Shipment lines of shipments not cancelled, shipped by the day.
    ship = Shipment.__table__
    shipline = ShipmentLine.__table__
    shipped = [dict(r._mapping) for r in db.session.execute(
        select(shipline.c.id, shipline.c.shipment_id, ship.c.number, shipline.c.po_line_id, shipline.c.item_id,
               shipline.c.ship_date, shipline.c.quantity_shipped)  # receipts: the records, with their own instant
        .join(ship, ship.c.id == shipline.c.shipment_id)
        .where(shipline.c.relationship_id == rel.id, ship.c.status != "cancelled", shipline.c.ship_date <= as_of_day)
        .order_by(shipline.c.id))]
    shipped_by_line: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for s in shipped:
        shipped_by_line[s["po_line_id"]] += s["quantity_shipped"]

    # PO lines with their PO's state at T.
    po = PurchaseOrder.__table__
    pol = PurchaseOrderLine.__table__
    pos = {row.id: row for row in db.session.execute(
        select(po.c.id, po.c.number, po.c.status, po.c.issued_at, po.c.closed_at)
        .where(po.c.relationship_id == rel.id, po.c.created_at < as_of))}
    moves = {} if current else _state_moves(rel.id, as_of)
    state_of = {po_id: _state_at(row, moves, as_of, current) for po_id, row in pos.items()}
    po_lines = []
    for line in db.session.execute(
            select(pol.c.id, pol.c.purchase_order_id, pol.c.line_no, pol.c.item_id, pol.c.quantity, pol.c.due_date)
            .join(po, po.c.id == pol.c.purchase_order_id)
            .where(pol.c.relationship_id == rel.id, po.c.created_at < as_of).order_by(pol.c.id)):
        state = state_of[line.purchase_order_id]
        if state not in COVER_STATES:
            continue
        open_qty = max(line.quantity - shipped_by_line[line.id], ZERO) if state in BINDING_STATES else ZERO
        po_lines.append(dict(id=line.id, po_id=line.purchase_order_id, number=pos[line.purchase_order_id].number,
                             line_no=line.line_no, item_id=line.item_id, quantity=line.quantity,
                             due_date=line.due_date, state=state, shipped=shipped_by_line[line.id], open=open_qty))

    # The latest publication before T and its buckets from the day's week on.
    publication = db.session.scalar(select(ForecastPublication).where(
        ForecastPublication.relationship_id == rel.id, ForecastPublication.published_at < as_of)
        .order_by(ForecastPublication.version_no.desc()).limit(1))
    fence_end = cw + timedelta(weeks=rel.firm_fence_weeks)
    firm = []
    if publication is not None:
        for b in db.session.scalars(select(ForecastBucket).where(
                ForecastBucket.publication_id == publication.id, ForecastBucket.week_start >= cw)
                .order_by(ForecastBucket.item_id, ForecastBucket.week_start)):
            if b.zone == "firm" or b.week_start < fence_end:
                firm.append(dict(id=b.id, item_id=b.item_id, week_start=b.week_start, quantity=b.quantity,
                                 zone=b.zone))

    lines = _item_lines(rel, items, auths, shipped, po_lines, firm, cw)
    records = _records(rel.id, month, month_start, as_of)
    inputs = {
        "relationship_id": rel.id, "month": month.label, "as_of_day": as_of_day, "currency": rel.currency,
        "material_share": rel.material_share, "firm_fence_weeks": rel.firm_fence_weeks,
        # The items the rows name, with their current price (an item no row names changes nothing here).
        "items": [dict(id=i, part_number=items[i].prime_part_number, unit_price=items[i].unit_price)
                  for i in sorted({row["item_id"] for rows in (auths, shipped, po_lines, firm) for row in rows})],
        "authorizations": auths,
        "shipment_lines": shipped,
        "po_lines": po_lines,
        "publication": None if publication is None else dict(id=publication.id, version_no=publication.version_no,
                                                              published_at=publication.published_at),
        "firm_buckets": firm,
        "records": records,
    }
    digest = hashlib.sha256(canonical_bytes(inputs)).hexdigest()
    return Statement(relationship=rel, month=month, as_of=as_of, as_of_day=as_of_day, current=current,
                     currency=rel.currency, material_share=rel.material_share, publication=inputs["publication"],
                     items=lines, authorizations=[dict(a, part_number=items[a["item_id"]].prime_part_number)
                                                  for a in auths],
                     open_lines=[dict(p, part_number=items[p["item_id"]].prime_part_number)
                                 for p in po_lines if p["open"] > 0],
                     firm_buckets=[dict(b, part_number=items[b["item_id"]].prime_part_number) for b in firm],
                     records=[_noted(r, items) for r in records], sha256=digest, inputs=inputs)


def _noted(record: dict[str, Any], items: dict[int, Item]) -> dict[str, Any]:
    """The record as read: a revision's note names each line it removed with its quantity and due date, so the
    statement shows what was cut. Written in the reader's language after the hash, which covers the lines as data."""
    cut = record.get("removed_lines")
    if not cut:
        return record
    parts = [_("Line %(line)s (%(part)s) removed: %(quantity)s due %(due)s", line=r["line_no"],
               part=items[r["item_id"]].prime_part_number if r["item_id"] in items else "",
               quantity=grouped_text(r["quantity"]), due=format_day(r["due_date"])) for r in cut]
    return dict(record, note="; ".join([record["note"], *parts] if record["note"] else parts))


def _item_lines(rel: SupplyRelationship, items: dict[int, Item], auths: list[dict], shipped: list[dict],
                po_lines: list[dict], firm: list[dict], cw: date) -> list[ItemLine]:
    """Per item: the ledger's terms (as coverage.services defines them) and the liability by the one formula."""
    lines = {i.id: ItemLine(item_id=i.id, part_number=i.prime_part_number, description=i.description,
                            unit_price=i.unit_price) for i in items.values()}
    for a in auths:
        line = lines[a["item_id"]]
        if line.cum_start_date is None or a["cum_start_date"] > line.cum_start_date:
            line.cum_start_date = a["cum_start_date"]
    for a in auths:
        line = lines[a["item_id"]]
        if a["cum_start_date"] == line.cum_start_date:
            if a["kind"] == "FAB":
                line.fab_authorized = max(line.fab_authorized, a["quantity"])
            else:
                line.raw_authorized = max(line.raw_authorized, a["quantity"])
    for s in shipped:
        line = lines[s["item_id"]]
        if line.cum_start_date is not None and s["ship_date"] >= line.cum_start_date:
            line.cum_shipped += s["quantity_shipped"]
    cover: dict[tuple[int, date], Decimal] = defaultdict(lambda: ZERO)
    for p in po_lines:
        due_week = week_start(p["due_date"])
        lines[p["item_id"]].open_po += p["open"]
        if due_week < cw:  # a past-due line covers the current week with what is still open
            cover[(p["item_id"], cw)] += p["open"]
        else:
            cover[(p["item_id"], due_week)] += p["quantity"]
    for b in firm:
        line = lines[b["item_id"]]
        line.firm_forecast += b["quantity"]
        line.firm_uncovered += max(b["quantity"] - cover[(b["item_id"], b["week_start"])], ZERO)
    result = []
    for line in lines.values():
        line.guaranteed = max(line.open_po + line.firm_uncovered, line.fab_authorized - line.cum_shipped, ZERO)
        line.liability = liability_of(guaranteed=line.guaranteed, raw_authorized=line.raw_authorized,
                                      cum_shipped=line.cum_shipped, unit_price=line.unit_price,
                                      material_share=rel.material_share)
        if any((line.fab_authorized, line.raw_authorized, line.cum_shipped, line.open_po, line.firm_forecast)):
            result.append(line)
    return sorted(result, key=lambda line: (line.part_number, line.item_id))


def _records(rel_id: int, month: Month, start: datetime, before: datetime) -> list[dict[str, Any]]:
    """The dated records of the month: PO issues, changes and cancellations (the audit log), shipments and receipts."""
    po = PurchaseOrder.__table__
    records: list[dict[str, Any]] = []
    for audit_id, at, action, detail, number in db.session.execute(
            select(AuditLog.id, AuditLog.at, AuditLog.action, AuditLog.detail, po.c.number)
            .join(po, AuditLog.object_id == cast(po.c.id, String))
            .where(po.c.relationship_id == rel_id, AuditLog.object_type == "purchase_order", AuditLog.outcome == "ok",
                   AuditLog.at >= start, AuditLog.at < before)
            .order_by(AuditLog.at, AuditLog.id)):
        detail = detail or {}
        state = detail.get("to") or (detail.get("status") or {}).get("to") or ""
        record = dict(key=f"audit-{audit_id}", at=at, kind=action.removeprefix("po."), document=number,
                      state=state, quantity=None, note=str(detail.get("reason") or "")[:200])
        lines = detail.get("lines") if action == "po.revised" else None  # elsewhere "lines" may be a count
        cut = lines.get("removed_lines") if isinstance(lines, dict) else None
        if cut:  # the lines a revision removed (a line cancelled alone), as its log kept them (older rows did not)
            record["removed_lines"] = [dict(line_no=int(r["line_no"]), item_id=int(r["item_id"]),
                                            quantity=Decimal(r["quantity"]), due_date=date.fromisoformat(r["due_date"]))
                                       for r in cut]
        records.append(record)
    ship = Shipment.__table__
    shipline = ShipmentLine.__table__
    for sid, number, ship_date, received_at, status, qty, received in db.session.execute(
            select(ship.c.id, ship.c.number, ship.c.ship_date, ship.c.received_at, ship.c.status,
                   func.sum(shipline.c.quantity_shipped), func.sum(shipline.c.quantity_received))
            .join(shipline, shipline.c.shipment_id == ship.c.id)
            .where(ship.c.relationship_id == rel_id,
                   ((ship.c.ship_date >= month.first_day) & (ship.c.ship_date < month.next_first_day))
                   | ((ship.c.received_at >= start) & (ship.c.received_at < before)))
            .group_by(ship.c.id, ship.c.number, ship.c.ship_date, ship.c.received_at, ship.c.status)
            .order_by(ship.c.id)):
        if month.first_day <= ship_date < month.next_first_day:
            # A later receipt does not change what was sent; a cancellation has no date, so it shows from then on.
            state = "cancelled" if status == "cancelled" else "shipped"
            records.append(dict(key=f"ship-{sid}", at=ship_date, kind="shipped", document=number,
                                state=state, quantity=qty, note=""))
        if received_at is not None and start <= _aware(received_at) < before:
            records.append(dict(key=f"receipt-{sid}", at=received_at, kind="received", document=number,
                                state="received", quantity=received, note=""))
    return sorted(records, key=lambda r: (_sort_moment(r["at"]), r["key"]))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _sort_moment(value: date | datetime) -> datetime:
    """Dates (ship dates) sort at the start of their local day among the instants of the month."""
    return _aware(value) if isinstance(value, datetime) else _local_midnight_utc(value)


def record_issue(actor: Actor, statement: Statement, fmt: str) -> LiabilityIssue:
    """Record that a statement was issued (printed or downloaded): a row of its own and an audit row."""
    issue = LiabilityIssue(relationship_id=statement.relationship.id, month=statement.month.label,
                           as_of=statement.as_of, format=fmt, sha256=statement.sha256,
                           total_amount=statement.total, currency=statement.currency,
                           organisation_id=actor.organisation_id, issued_by_id=actor.user_id)
    db.session.add(issue)
    db.session.flush()
    audit.record(actor, "liability.issued", issue, detail={
        "relationship_id": statement.relationship.id, "month": statement.month.label, "format": fmt,
        "sha256": statement.sha256, "total": decimal_text(statement.total), "currency": statement.currency})
    db.session.commit()
    return issue


def issues(actor: Actor, relationship_id: int, limit: int = 20) -> list[LiabilityIssue]:
    """The latest statements issued in the relationship, by either side (both sides see each other's issues)."""
    relationships.get_relationship(actor, relationship_id)
    return list(db.session.scalars(select(LiabilityIssue).where(LiabilityIssue.relationship_id == relationship_id)
                                   .order_by(LiabilityIssue.id.desc()).limit(limit)))
