"""Alert use cases: raise, update and resolve from the ledger (sync_alerts), and what people do with alerts."""
from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable

from flask_babel import gettext as _
from sqlalchemy import (Date, Integer, Numeric, String, and_, bindparam, case, column, delete, func, insert, or_, select,
                        table, text, update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.exc import StaleDataError

from cogrow.accounts.models import User
from cogrow.alerts.models import (
    ALERT_TYPES, NOTIFIED_KINDS, OWNER_SIDE, SEVERITIES, SEVERITY_RANK, Alert, AlertEvent, AlertSide,
    InboxEntry,
)
from cogrow.core import audit, outbox
from cogrow.core.fields import decimal_text
from cogrow.core.auth import Actor
from cogrow.core.models import OutboxEvent
from cogrow.core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from cogrow.core.types import UTCDateTime, utcnow
from cogrow.core.validation import parse_id
from cogrow.core.weeks import local_today
from cogrow.extensions import db
from cogrow.money import services as money
from cogrow.orders.models import BINDING_STATES, PurchaseOrder, PurchaseOrderLine
from cogrow.production.models import ItemPosition
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.alerts")

NOTIFY = "notify"
# Who acts on alerts, per side of the relationship; the same sets receive them (plus planners may act).
ACTING_ROLES = {"prime": ("admin", "planner", "procurement"), "supplier": ("admin", "production")}
RECIPIENT_ROLES = {"prime": ("admin", "procurement"), "supplier": ("admin", "production")}
# Severity ladder: an amount below 1x the relationship's threshold_amount is info, from 1x warning, from 3x critical.
# Amounts and thresholds are both in the relationship's currency; nothing is converted.
WARNING_FACTOR = Decimal("1")
CRITICAL_FACTOR = Decimal("3")
# The reference amount when the relationship sets no threshold_amount, per currency: round figures of about a
# million won, so that a USD relationship is not measured against a million dollars.
DEFAULT_SEVERITY_REFERENCE = {"KRW": Decimal("1000000"), "USD": Decimal("1000"), "EUR": Decimal("1000"),
                              "JPY": Decimal("100000"), "CNY": Decimal("5000")}
MAX_SNOOZE = timedelta(days=90)
SORTS = ("severity", "updated", "exposure")

_Q = Numeric(18, 4)
# The coverage helper's table, read through a lightweight construct so that this module does not depend on
# how their model class is written; the column names are the ones agreed in INTERFACES.md.
LEDGER = table(
    "coverage_ledger",
    column("item_id", Integer), column("relationship_id", Integer), column("computed_at", UTCDateTime),
    column("unit_price", _Q), column("open_po", _Q), column("firm_forecast", _Q), column("firm_uncovered", _Q),
    column("fab_authorized", _Q), column("raw_authorized", _Q), column("cum_shipped", _Q), column("guaranteed", _Q),
    column("fg_on_hand", _Q), column("wip", _Q), column("supply", _Q), column("excess", _Q),
    column("material_forecast", _Q), column("material_cover", _Q), column("exposure_amount", _Q),
    column("currency", String),
    column("projected_excess_qty", _Q), column("projected_excess_week", Date), column("shortage_qty", _Q),
    column("shortage_week", Date),
)
LEDGER_NUMBERS = ("unit_price", "open_po", "firm_forecast", "firm_uncovered", "fab_authorized", "raw_authorized",
                  "cum_shipped", "guaranteed", "fg_on_hand", "wip", "supply", "excess", "material_forecast",
                  "material_cover", "exposure_amount", "currency", "projected_excess_qty", "projected_excess_week",
                  "shortage_qty", "shortage_week")
ZERO = Decimal("0")


# ---------------------------------------------------------------------------------------------------------------
# Conditions: what should be open now, from the ledger, the POs and the ASNs. One scope serves the per-report
# reconcile (one relationship, some items) and the full sweep (every active relationship): each condition is ONE
# query over its scope, never a loop over relationships.

@dataclass
class Finding:
    """A condition that holds now for one (type, item): its numbers, the objects behind it, and its value."""

    type: str
    item_id: int
    exposure: Decimal
    numbers: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)
    relationship_id: int = 0


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _dec(value: Any) -> Decimal:
    return Decimal(value) if value is not None else ZERO


def severity_for(exposure: Decimal, threshold_amount: Decimal | None, currency: str = "KRW") -> str:
    """info below 1x the threshold, warning from 1x, critical from 3x (a default reference when unset).

    `exposure` and `threshold_amount` are both in `currency`, the relationship's.
    """
    default = DEFAULT_SEVERITY_REFERENCE.get(currency, DEFAULT_SEVERITY_REFERENCE["KRW"])
    reference = threshold_amount if threshold_amount is not None and threshold_amount > 0 else default
    if exposure >= reference * CRITICAL_FACTOR:
        return "critical"
    if exposure >= reference * WARNING_FACTOR:
        return "warning"
    return "info"


def excess_exceeds_threshold(rel: SupplyRelationship, excess: Decimal, exposure: Decimal, guaranteed: Decimal,
                             currency: str | None = None) -> bool:
    """Any threshold that is set and exceeded raises the alert; with none set, any excess does.

    The amount threshold is in the relationship's currency and is compared only with an exposure in that currency
    (`currency`, the ledger's; None means the relationship's): amounts of two currencies are never compared.
    """
    if excess <= 0:
        return False
    checks = []
    if rel.threshold_units is not None:
        checks.append(excess > rel.threshold_units)
    if rel.threshold_amount is not None and (currency is None or currency == rel.currency):
        checks.append(exposure > rel.threshold_amount)
    if rel.threshold_pct is not None:
        checks.append(guaranteed <= 0 or excess / guaranteed > rel.threshold_pct)
    return any(checks) if checks else True


def _ledger_numbers(row: Any) -> dict[str, Any]:
    return {name: _json_value(row[name]) for name in LEDGER_NUMBERS}



@dataclass(frozen=True)
class AlertScope:
    """The alerts a sync covers: one relationship (some or all of its items), or every active relationship."""

    relationship_id: int | None
    item_ids: tuple[int, ...] | None = None

    def narrow(self, query, rel_column, item_column):
        if self.relationship_id is None:
            return query.where(rel_column.in_(select(SupplyRelationship.id)
                                              .where(SupplyRelationship.status == "active")))
        query = query.where(rel_column == self.relationship_id)
        if self.item_ids is not None:
            query = query.where(item_column.in_(self.item_ids))
        return query


def _terms(scope: AlertScope) -> dict[int, Any]:
    """The alert terms of the scope's relationships (thresholds, currency, acknowledgement days), by id."""
    rel = SupplyRelationship
    query = select(rel.id, rel.currency, rel.threshold_units, rel.threshold_amount, rel.threshold_pct, rel.po_ack_days)
    query = (query.where(rel.status == "active") if scope.relationship_id is None
             else query.where(rel.id == scope.relationship_id))
    return {row.id: row for row in db.session.execute(query)}


def _ledger_findings(scope: AlertScope, terms: dict[int, Any],
                     current: dict[int, dict[str, Any]] | None = None) -> list[Finding]:
    """The ledger conditions that hold now; `current` (when given) receives every item's ledger numbers."""
    query = scope.narrow(select(LEDGER.c.relationship_id, *[LEDGER.c[name] for name in ("item_id", *LEDGER_NUMBERS)]),
                         LEDGER.c.relationship_id, LEDGER.c.item_id)
    findings = []
    for row in db.session.execute(query).mappings():
        rel = terms.get(row["relationship_id"])
        if rel is None:
            continue
        numbers = _ledger_numbers(row)
        if current is not None:
            current[row["item_id"]] = numbers
        price = _dec(row["unit_price"])
        excess, exposure = _dec(row["excess"]), _dec(row["exposure_amount"])
        if excess_exceeds_threshold(rel, excess, exposure, _dec(row["guaranteed"]), row["currency"]):
            findings.append(Finding("excess_inventory", row["item_id"], exposure, numbers, relationship_id=rel.id))
        projected = _dec(row["projected_excess_qty"])
        if projected > 0:
            findings.append(Finding("projected_excess", row["item_id"], projected * price,
                                    {**numbers, "value": decimal_text(projected * price)}, relationship_id=rel.id))
        shortage = _dec(row["shortage_qty"])
        if shortage > 0:
            # A shortage is measured in revenue at risk (units short x price), not in exposure: the ledger's
            # exposure_amount is about excess stock and is 0 when stock is short.
            at_risk = decimal_text(shortage * price)
            findings.append(Finding("shortage_risk", row["item_id"], shortage * price,
                                    {**numbers, "value": at_risk, "revenue_at_risk": at_risk}, relationship_id=rel.id))
    return findings


def _po_findings(scope: AlertScope, terms: dict[int, Any], now: datetime) -> list[Finding]:
    """po_unacknowledged and asn_overdue, each from one query over the PO lines in scope.

    Each relationship has its own acknowledgement days: the query takes the lines of issued POs older than the
    shortest of them, and each line is then held to its own relationship's term.
    """
    if not terms:
        return []
    open_qty = PurchaseOrderLine.quantity - PurchaseOrderLine.shipped_qty
    base = scope.narrow(
        select(PurchaseOrderLine.relationship_id, PurchaseOrderLine.item_id, PurchaseOrder.id, PurchaseOrder.number,
               PurchaseOrder.issued_at, PurchaseOrderLine.line_no, PurchaseOrderLine.due_date,
               open_qty.label("open_qty"), PurchaseOrderLine.unit_price)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrder.relationship_id == PurchaseOrderLine.relationship_id)
        .order_by(PurchaseOrderLine.item_id, PurchaseOrder.number, PurchaseOrderLine.line_no),
        PurchaseOrderLine.relationship_id, PurchaseOrderLine.item_id)
    if scope.relationship_id is not None:
        # The PO's own relationship as a constant too (as before the scopes): SQLite then searches both tables by
        # their relationship indexes instead of joining on a column.
        base = base.where(PurchaseOrder.relationship_id == scope.relationship_id)
    shortest = min(t.po_ack_days for t in terms.values())
    unacknowledged = base.where(PurchaseOrder.status == "issued", PurchaseOrder.issued_at.is_not(None),
                                PurchaseOrder.issued_at <= now - timedelta(days=shortest))
    today = local_today(now)
    overdue = base.where(PurchaseOrder.status.in_(BINDING_STATES), PurchaseOrderLine.due_date < today,
                         PurchaseOrderLine.shipped_qty < PurchaseOrderLine.quantity)
    findings = []
    for alert_type, query in (("po_unacknowledged", unacknowledged), ("asn_overdue", overdue)):
        grouped: dict[int, dict[str, Any]] = {}
        for row in db.session.execute(query):
            rel = terms.get(row.relationship_id)
            if rel is None:
                continue
            if alert_type == "po_unacknowledged" and row.issued_at > now - timedelta(days=rel.po_ack_days):
                continue
            entry = grouped.setdefault(row.item_id, {"qty": ZERO, "value": ZERO, "pos": [], "lines": 0,
                                                     "first": None, "po_ids": [], "rel": rel})
            qty = _dec(row.open_qty)
            entry["qty"] += qty
            entry["value"] += qty * _dec(row.unit_price)
            entry["lines"] += 1
            if row.number not in entry["pos"]:
                entry["pos"].append(row.number)
                entry["po_ids"].append(row.id)
            mark = row.issued_at.isoformat() if alert_type == "po_unacknowledged" else row.due_date.isoformat()
            entry["first"] = min(entry["first"] or mark, mark)
        for item_id, entry in grouped.items():
            rel = entry["rel"]
            numbers = {"qty": decimal_text(entry["qty"]), "value": decimal_text(entry["value"]),
                       "lines": entry["lines"], "since": entry["first"], "ack_days": rel.po_ack_days,
                       "currency": rel.currency}
            findings.append(Finding(alert_type, item_id, entry["value"], numbers,
                                    {"po_numbers": entry["pos"][:20], "po_ids": entry["po_ids"][:20]},
                                    relationship_id=rel.id))
    return findings


# ---------------------------------------------------------------------------------------------------------------
# The lifecycle.

def headline(alert_type: str, numbers: dict[str, Any] | None) -> tuple[Decimal, Decimal]:
    """An alert's two figures: its quantity and its amount (the measure of its type, see explain.MEASURE_LABELS)."""
    n = numbers or {}
    key_qty, key_amount = HEADLINE.get(alert_type, ("qty", "value"))
    try:
        return _dec(n.get(key_qty)), _dec(n.get(key_amount))
    except (ArithmeticError, ValueError, TypeError):
        return ZERO, ZERO


# Which numbers are an alert's quantity and amount, per type.
HEADLINE = {
    "excess_inventory": ("excess", "exposure_amount"),
    "projected_excess": ("projected_excess_qty", "value"),
    "shortage_risk": ("shortage_qty", "value"),
    "po_unacknowledged": ("qty", "value"),
    "asn_overdue": ("qty", "value"),
}
# Why an alert resolved (or reopened); explain.reason_text words them.
REASONS = ("manual", "po_issued", "forecast_firmed", "authorized", "production_report", "shipped", "demand_fell",
           "below_threshold", "po_acknowledged", "asn_received", "no_ledger", "recomputed", "condition_holds")


def _add_event(alert: Alert, kind: str, now: datetime, actor: Actor | None = None, comment: str | None = None,
               snoozed_until: datetime | None = None, reason: str | None = None, side: str | None = None,
               extra: dict[str, Any] | None = None) -> AlertEvent:
    """Append to the alert's history with its figures at this moment; notified kinds also write one outbox row."""
    qty, amount = headline(alert.type, alert.numbers)
    numbers = dict(alert.numbers or {})
    if extra:
        numbers["why"] = extra
    event = AlertEvent(uuid=str(uuid.uuid4()), alert_id=alert.id, kind=kind, at=now, severity=alert.severity,
                       status=alert.status, numbers=numbers, comment=comment,
                       snoozed_until=snoozed_until, qty=qty, amount=amount, reason=reason, side=side,
                       user_id=actor.user_id if actor else None, token_id=actor.token_id if actor else None,
                       organisation_id=actor.organisation_id if actor else None)
    db.session.add(event)
    if kind in NOTIFIED_KINDS:
        outbox.enqueue(NOTIFY, {"event_id": event.uuid, "alert_id": alert.id, "kind": kind},
                       relationship_id=alert.relationship_id)
    return event


def _open(rel: SupplyRelationship, finding: Finding, now: datetime) -> Alert | None:
    """Insert a new live alert; None when a concurrent sync opened the same one first."""
    alert = Alert(type=finding.type, relationship_id=rel.id, item_id=finding.item_id, status="open",
                  severity=severity_for(finding.exposure, rel.threshold_amount, rel.currency), exposure=finding.exposure,
                  numbers=finding.numbers, context=finding.context, opened_at=now, updated_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(alert)
            db.session.flush()
    except IntegrityError:
        return None
    _add_event(alert, "raised", now)
    return alert


def _reset_sides(alert_ids: list[int]) -> None:
    """Both sides see the alert as open again (an escalation, a reopening): their acknowledgements and snoozes end."""
    if alert_ids:
        db.session.execute(delete(AlertSide).where(AlertSide.alert_id.in_(alert_ids)))


def _refresh(alert: Alert, rel: SupplyRelationship, finding: Finding, now: datetime) -> None:
    """The condition still holds: new numbers, a new severity, and an escalation when it rose."""
    severity = severity_for(finding.exposure, rel.threshold_amount, rel.currency)
    escalated = SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity]
    changed = alert.numbers != finding.numbers or alert.severity != severity or alert.context != finding.context
    if not changed:
        return
    alert.numbers, alert.context, alert.exposure, alert.severity = finding.numbers, finding.context, finding.exposure, severity
    alert.updated_at = now
    if escalated:
        # A rise in severity needs attention again on both sides, even if acknowledged or snoozed.
        _reset_sides([alert.id])
    _add_event(alert, "escalated" if escalated else "updated", now)


def _reopen(alert: Alert, rel: SupplyRelationship, finding: Finding, now: datetime) -> bool:
    """A manual resolution whose condition still holds: the same alert, with its history, is open again."""
    try:
        with db.session.begin_nested():
            alert.status, alert.resolved_at, alert.resolved_by_id, alert.recheck = "open", None, None, False
            alert.numbers, alert.context, alert.exposure = finding.numbers, finding.context, finding.exposure
            alert.severity = severity_for(finding.exposure, rel.threshold_amount, rel.currency)
            alert.updated_at = now
            db.session.flush()
    except IntegrityError:  # another live alert of the same key exists: this resolution stands
        db.session.refresh(alert)
        alert.recheck = False
        return False
    _reset_sides([alert.id])
    _add_event(alert, "reopened", now, reason="condition_holds")
    return True


def _close(alert: Alert, now: datetime, actor: Actor | None = None, comment: str | None = None,
           reason: str | None = None, extra: dict[str, Any] | None = None) -> None:
    alert.status, alert.resolved_at, alert.updated_at, alert.snoozed_until = "resolved", now, now, None
    alert.resolved_by_id = actor.user_id if actor else None
    alert.recheck = actor is not None
    _add_event(alert, "resolved", now, actor, comment=comment, reason=reason or ("manual" if actor else None),
               extra=extra)


def _why_cleared(alert: Alert, now_numbers: dict[str, Any] | None, report_dates: dict[int, Any]
                 ) -> tuple[str, dict[str, Any]]:
    """Why a condition cleared, from which ledger figure changed since the alert's last numbers."""
    if alert.type == "po_unacknowledged":
        return "po_acknowledged", {}
    if alert.type == "asn_overdue":
        return "asn_received", {}
    if now_numbers is None:
        return "no_ledger", {}
    before, after = alert.numbers or {}, now_numbers
    d = {k: _dec(after.get(k)) - _dec(before.get(k)) for k in ("open_po", "firm_uncovered", "fab_authorized",
                                                                 "guaranteed", "supply", "cum_shipped")}
    report = report_dates.get(alert.item_id)
    by_report = {"date": report.isoformat() if report is not None else None}
    qty_key = HEADLINE[alert.type][0]
    if alert.type == "excess_inventory" and _dec(after.get("excess")) > 0:
        return "below_threshold", {"qty": decimal_text(_dec(after.get("excess")))}
    cover = max((("po_issued", "open_po"), ("forecast_firmed", "firm_uncovered"), ("authorized", "fab_authorized")),
                key=lambda rk: d[rk[1]])
    fields = {"before": decimal_text(_dec(before.get(cover[1]))), "after": decimal_text(_dec(after.get(cover[1])))}
    if alert.type == "shortage_risk":
        if d["guaranteed"] < 0 and -d["guaranteed"] > d["supply"]:
            return "demand_fell", {"before": decimal_text(_dec(before.get("guaranteed"))),
                                   "after": decimal_text(_dec(after.get("guaranteed")))}
        return "production_report", {**by_report, "qty": decimal_text(_dec(after.get(qty_key)))}
    # The excess types: more guaranteed demand, or less supply (a production report), or shipments.
    supply_fell = -d["supply"]
    if d[cover[1]] > 0 and d[cover[1]] >= supply_fell:
        return cover[0], fields
    if d["cum_shipped"] > 0 and d["cum_shipped"] >= supply_fell:
        return "shipped", {"before": decimal_text(_dec(before.get("cum_shipped"))),
                           "after": decimal_text(_dec(after.get("cum_shipped")))}
    if supply_fell > 0 or alert.type == "projected_excess":
        return "production_report", {**by_report, "qty": decimal_text(_dec(after.get(qty_key)))}
    return "recomputed", {}


def _cleared_numbers(alert: Alert, now_numbers: dict[str, Any] | None) -> tuple[dict[str, Any], Decimal]:
    """The alert's numbers now that its condition cleared: the ledger's today, or its quantity at 0."""
    if alert.type in ("po_unacknowledged", "asn_overdue"):
        return {**(alert.numbers or {}), "qty": "0", "value": "0", "lines": 0}, ZERO
    if now_numbers is None:
        return dict(alert.numbers or {}), ZERO
    price = _dec(now_numbers.get("unit_price"))
    if alert.type == "excess_inventory":
        return dict(now_numbers), _dec(now_numbers.get("exposure_amount"))
    qty = _dec(now_numbers.get(HEADLINE[alert.type][0]))
    numbers = {**now_numbers, "value": decimal_text(qty * price)}
    if alert.type == "shortage_risk":
        numbers["revenue_at_risk"] = numbers["value"]
    return numbers, qty * price


def sync_alerts(relationship_id: int, item_ids: Iterable[int] | None, now: datetime | None = None) -> None:
    """Raise, update, resolve and reopen the alerts of these items (all of the relationship when None).

    Runs in the caller's transaction (the reconciliation) and does not commit.
    """
    ids = tuple(sorted({int(i) for i in item_ids})) if item_ids is not None else None
    if ids == ():
        return
    if db.session.get(SupplyRelationship, relationship_id) is None:
        return
    sync_scope(AlertScope(int(relationship_id), ids), now)


def sync_all_alerts(now: datetime | None = None) -> dict[str, int]:
    """The full sweep's sync: every item of every active relationship, with the same statements as one report's."""
    return sync_scope(AlertScope(None, None), now)


_ALERT = Alert.__table__
_EVENT = AlertEvent.__table__
_OUTBOX = OutboxEvent.__table__
# Rows per IN list of ids, below every database's limit of bound parameters.
_CHUNK = 1000


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


@dataclass
class _Live:
    """An alert as the sync reads it (a row, not an ORM object: the sweep reads tens of thousands)."""

    id: int
    type: str
    relationship_id: int
    item_id: int
    status: str
    severity: str
    exposure: Decimal
    numbers: dict[str, Any]
    context: dict[str, Any]
    version: int
    recheck: bool


def _event_row(alert: _Live, kind: str, now: datetime, reason: str | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The automatic event row that _add_event writes for an ORM alert, for a bulk insert."""
    qty, amount = headline(alert.type, alert.numbers)
    numbers = dict(alert.numbers or {})
    if extra:
        numbers["why"] = extra
    return {"uuid": str(uuid.uuid4()), "alert_id": alert.id, "kind": kind, "at": now, "severity": alert.severity,
            "status": alert.status, "numbers": numbers, "comment": None, "snoozed_until": None, "qty": qty,
            "amount": amount, "reason": reason, "side": None, "user_id": None, "token_id": None,
            "organisation_id": None}


def _copy(table_name: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """COPY rows into a table on PostgreSQL, in the session's transaction. At ref-M, psycopg spent 17 s of a 45 s
    first pass parsing the multi-row INSERTs of executemany (cProfile in /work/notes/sweep.md); COPY parses none."""
    raw = db.session.connection().connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# From this many rows, PostgreSQL writes them by COPY; below it (a report's reconcile: a few alerts), a plain
# executemany costs less than a temporary table's DDL.
COPY_FROM = 200


def _postgres() -> bool:
    return db.session.connection().dialect.name == "postgresql"


_EVENT_COLUMNS = ["uuid", "alert_id", "kind", "at", "severity", "status", "numbers", "comment", "snoozed_until", "qty",
                  "amount", "reason", "side", "user_id", "token_id", "organisation_id"]


def _write_events(events: list[tuple[_Live, dict[str, Any]]]) -> None:
    """Insert the event rows, and one notify outbox row for each notified kind (as _add_event does), in bulk."""
    if not events:
        return
    notices = [{"topic": NOTIFY, "relationship_id": alert.relationship_id,
                "payload": {"event_id": row["uuid"], "alert_id": alert.id, "kind": row["kind"]}}
               for alert, row in events if row["kind"] in NOTIFIED_KINDS]
    if not _postgres() or len(events) < COPY_FROM:
        db.session.execute(insert(_EVENT), [row for _alert, row in events])
        if notices:
            db.session.execute(insert(_OUTBOX), notices)
        return
    _copy("alert_event", _EVENT_COLUMNS,
          (tuple(json.dumps(row[c]) if c == "numbers" else row[c] for c in _EVENT_COLUMNS) for _alert, row in events))
    if notices:
        created = utcnow()
        _copy("outbox_event", ["topic", "relationship_id", "payload", "created_at", "attempts"],
              ((n["topic"], n["relationship_id"], json.dumps(n["payload"]), created, 0) for n in notices))
        # Rows written by COPY pass neither session.new nor an ORM insert: tell the outbox to kick its relay after
        # the commit (core.outbox.note_written, where that version of core is installed).
        note = getattr(outbox, "note_written", None)
        if note is not None:
            note(db.session)


def _insert_alerts(rows: list[dict[str, Any]], now: datetime) -> dict[tuple[str, int], int]:
    """INSERT new live alerts, skipping any that a concurrent sync opened first (the partial unique key); returns
    the ids of those inserted by (type, item). PostgreSQL: COPY into a temporary table, then one INSERT … SELECT."""
    a = _ALERT.c
    opened: dict[tuple[str, int], int] = {}
    postgres = _postgres()
    if not postgres or len(rows) < COPY_FROM:
        statement = (_upsert("postgresql" if postgres else "sqlite")(_ALERT).on_conflict_do_nothing(
            index_elements=["type", "relationship_id", "item_id"], index_where=text("status <> 'resolved'"))
            .returning(a.id, a.type, a.item_id))
        for chunk in _chunks(rows):
            for row in db.session.execute(statement, chunk):
                opened[(row.type, row.item_id)] = row.id
        return opened
    columns = ["type", "relationship_id", "item_id", "severity", "exposure", "numbers", "context"]
    connection = db.session.connection()
    connection.exec_driver_sql("DROP TABLE IF EXISTS alert_raise")
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE alert_raise ON COMMIT DROP AS "
                               f"SELECT {', '.join(columns)} FROM alert WITH NO DATA")
    _copy("alert_raise", columns, ((r["type"], r["relationship_id"], r["item_id"], r["severity"], r["exposure"],
                                    json.dumps(r["numbers"]), json.dumps(r["context"])) for r in rows))
    result = connection.execute(text(
        f"INSERT INTO alert ({', '.join(columns)}, status, opened_at, updated_at, recheck, version) "
        f"SELECT {', '.join(columns)}, 'open', :now, :now, false, 1 FROM alert_raise "
        "ON CONFLICT (type, relationship_id, item_id) WHERE status <> 'resolved' DO NOTHING "
        "RETURNING id, type, item_id").bindparams(bindparam("now", type_=UTCDateTime())), {"now": now})
    for row in result:
        opened[(row.type, row.item_id)] = row.id
    connection.exec_driver_sql("DROP TABLE alert_raise")
    return opened


def _versioned_update(rows: list[dict[str, Any]], **values: Any) -> None:
    """UPDATE alerts by id and expected version (as the ORM's version counter does), in one executemany."""
    if not rows:
        return
    statement = (update(_ALERT).where(_ALERT.c.id == bindparam("b_id"), _ALERT.c.version == bindparam("b_version"))
                 .values(version=_ALERT.c.version + 1, **values))
    result = db.session.execute(statement, rows)
    connection = db.session.connection()
    if connection.dialect.supports_sane_multi_rowcount and result.rowcount not in (-1, len(rows)):
        raise StaleDataError(f"alert sync expected to update {len(rows)} alerts, updated {result.rowcount}: "
                             "another transaction changed them")


def sync_scope(scope: AlertScope, now: datetime | None = None) -> dict[str, int]:
    """Raise, update, resolve and reopen the alerts of a scope, set-based: a few reads over the whole scope, the
    comparison in memory, and one bulk statement per kind of write (INSERT … ON CONFLICT DO NOTHING for raised
    alerts, executemany UPDATEs for refreshed and resolved ones, bulk INSERTs of their events and outbox rows).

    The same alerts, events and notifications as handling each finding one by one: at most one live alert per
    (type, relationship, item), an update only when its numbers, context or severity changed, an escalation when
    the severity rose (both sides' acknowledgements end), the events' figures as of the change. Runs in the
    caller's transaction and does not commit; returns the counts.
    """
    now = now or utcnow()
    db.session.flush()
    counts = {"raised": 0, "updated": 0, "resolved": 0, "reopened": 0}
    terms = _terms(scope)
    if not terms:
        return counts
    current: dict[int, dict[str, Any]] = {}
    findings = {(f.type, f.item_id): f
                for f in (*_ledger_findings(scope, terms, current), *_po_findings(scope, terms, now))}
    a = _ALERT.c
    query = scope.narrow(select(a.id, a.type, a.relationship_id, a.item_id, a.status, a.severity, a.exposure, a.numbers,
                                a.context, a.version, a.recheck)
                         .where(or_(a.status != "resolved", a.recheck.is_(True))), a.relationship_id, a.item_id)
    live: dict[tuple[str, int], _Live] = {}
    recheck: dict[tuple[str, int], _Live] = {}
    for row in db.session.execute(query.order_by(a.id)):
        alert = _Live(*row)
        (recheck if alert.status == "resolved" else live)[(alert.type, alert.item_id)] = alert

    def severity(finding: Finding) -> str:
        rel = terms[finding.relationship_id]
        return severity_for(finding.exposure, rel.threshold_amount, rel.currency)

    touched: set[int] = set()
    events: list[tuple[_Live, dict[str, Any]]] = []
    refreshed: list[dict[str, Any]] = []
    reset: list[int] = []

    def refresh(alert: _Live, finding: Finding) -> None:
        new = severity(finding)
        if alert.numbers == finding.numbers and alert.severity == new and alert.context == finding.context:
            return
        counts["updated"] += 1
        escalated = SEVERITY_RANK[new] > SEVERITY_RANK[alert.severity]
        refreshed.append({"b_id": alert.id, "b_version": alert.version, "b_numbers": finding.numbers,
                          "b_context": finding.context, "b_exposure": finding.exposure, "b_severity": new})
        alert.numbers, alert.context, alert.exposure, alert.severity = finding.numbers, finding.context, finding.exposure, new
        touched.add(alert.id)
        if escalated:
            reset.append(alert.id)  # a rise in severity needs attention again on both sides
        events.append((alert, _event_row(alert, "escalated" if escalated else "updated", now)))

    # Reopen: a manual resolution whose condition still holds. Rare (a person resolved it), so one by one, through
    # the ORM (which also confirms a resolution it cannot reopen).
    to_open: list[Finding] = []
    reopened: set[tuple[str, int]] = set()
    for key, finding in findings.items():
        if key in live:
            refresh(live[key], finding)
        elif key in recheck:
            orm = db.session.get(Alert, recheck[key].id)
            reopened.add(key)
            if orm is not None and _reopen(orm, terms[finding.relationship_id], finding, now):
                counts["reopened"] += 1
            else:
                to_open.append(finding)
        else:
            to_open.append(finding)

    # Raise: one INSERT for all; ON CONFLICT skips an alert a concurrent sync opened first, which is then updated.
    if to_open:
        rows = [{"type": f.type, "relationship_id": f.relationship_id, "item_id": f.item_id, "status": "open",
                 "severity": severity(f), "exposure": f.exposure, "numbers": f.numbers, "context": f.context,
                 "opened_at": now, "updated_at": now, "recheck": False, "version": 1} for f in to_open]
        opened = _insert_alerts(rows, now)
        lost = []
        for finding, row in zip(to_open, rows):
            alert_id = opened.get((finding.type, finding.item_id))
            if alert_id is None:
                lost.append(finding)
                continue
            alert = _Live(alert_id, finding.type, finding.relationship_id, finding.item_id, "open", row["severity"],
                          finding.exposure, finding.numbers, finding.context, 1, False)
            events.append((alert, _event_row(alert, "raised", now)))
            counts["raised"] += 1
        for finding in lost:  # lost a race with another sync: the winner's alert is the one to update
            winner = db.session.execute(select(a.id, a.type, a.relationship_id, a.item_id, a.status, a.severity,
                                               a.exposure, a.numbers, a.context, a.version, a.recheck).where(
                a.type == finding.type, a.relationship_id == finding.relationship_id, a.item_id == finding.item_id,
                a.status != "resolved")).first()
            if winner is not None:
                refresh(_Live(*winner), finding)
                counts["raised"] += 1

    # Confirm manual resolutions whose condition no longer holds (or that another alert took over).
    confirmed = [{"b_id": alert.id, "b_version": alert.version} for key, alert in recheck.items()
                 if key not in reopened]
    touched.update(row["b_id"] for row in confirmed)

    # Resolve: the live alerts whose condition cleared.
    closing = [alert for key, alert in live.items() if key not in findings]
    report_dates: dict[int, Any] = {}
    ledger_items = sorted({al.item_id for al in closing if al.type in ("excess_inventory", "projected_excess",
                                                                         "shortage_risk")})
    for chunk in _chunks(ledger_items):
        report_dates.update(db.session.execute(select(ItemPosition.item_id, ItemPosition.as_of)
                                               .where(ItemPosition.item_id.in_(chunk))).all())
    closed: list[dict[str, Any]] = []
    for alert in closing:
        now_numbers = current.get(alert.item_id)
        reason, extra = _why_cleared(alert, now_numbers, report_dates)  # type: ignore[arg-type]
        alert.numbers, alert.exposure = _cleared_numbers(alert, now_numbers)  # type: ignore[arg-type]
        alert.status = "resolved"
        closed.append({"b_id": alert.id, "b_version": alert.version, "b_numbers": alert.numbers,
                       "b_exposure": alert.exposure})
        touched.add(alert.id)
        events.append((alert, _event_row(alert, "resolved", now, reason=reason, extra=extra)))
        counts["resolved"] += 1

    _versioned_update(refreshed, numbers=bindparam("b_numbers", type_=a.numbers.type),
                      context=bindparam("b_context", type_=a.context.type),
                      exposure=bindparam("b_exposure", type_=a.exposure.type), severity=bindparam("b_severity"),
                      updated_at=now)
    _versioned_update(confirmed, recheck=False)
    _versioned_update(closed, numbers=bindparam("b_numbers", type_=a.numbers.type),
                      exposure=bindparam("b_exposure", type_=a.exposure.type), status="resolved",
                      resolved_at=now, updated_at=now, snoozed_until=None, resolved_by_id=None, recheck=False)
    for chunk in _chunks(reset):
        db.session.execute(delete(AlertSide).where(AlertSide.alert_id.in_(chunk)))
    _write_events(events)
    db.session.flush()
    # ORM copies of the alerts written here (a caller's, a test's) must read the new rows.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Alert) and obj.id in touched:
            db.session.expire(obj)
    if counts["raised"] or counts["resolved"] or counts["reopened"]:
        logger.info("%s: %s alerts raised, %s resolved, %s reopened",
                    "all relationships" if scope.relationship_id is None else f"relationship {scope.relationship_id}",
                    counts["raised"], counts["resolved"], counts["reopened"])
    return counts


def _upsert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    return upsert


# ---------------------------------------------------------------------------------------------------------------
# Reading alerts, with tenancy.

def _visible(actor: Actor):
    return Alert.relationship_id.in_(select(SupplyRelationship.id).where(relationships._visible_to(actor)))


def side_of(actor: Actor) -> str:
    """The side of every relationship the actor's organisation is in: a prime is always the prime side."""
    return "prime" if actor.org_kind == "prime" else "supplier"


@dataclass
class View:
    """An alert as one side sees it: its own status (open, acknowledged, snoozed; or resolved) and what it may do."""

    side: str
    status: str
    snoozed_until: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by_id: int | None = None
    owner: bool = False  # this side may resolve the alert by hand

    @property
    def may_acknowledge(self) -> bool:
        return self.status in ("open", "snoozed")

    @property
    def may_snooze(self) -> bool:
        return self.status != "resolved"

    @property
    def may_resolve(self) -> bool:
        return self.owner and self.status != "resolved"


def make_view(alert: Alert, row: AlertSide | None, side: str, now: datetime) -> View:
    owner = OWNER_SIDE.get(alert.type, "prime") == side
    if alert.status == "resolved":
        return View(side, "resolved", owner=owner)
    if row is None or row.status == "open":
        return View(side, "open", owner=owner)
    if row.status == "snoozed" and (row.snoozed_until is None or row.snoozed_until <= now):
        return View(side, "open", owner=owner)  # the snooze has ended
    return View(side, row.status, row.snoozed_until if row.status == "snoozed" else None, row.acknowledged_at,
                row.acknowledged_by_id, owner)


def attach_views(actor: Actor, alerts: list[Alert], now: datetime | None = None) -> list[Alert]:
    """Set `alert.view` to the actor's side view on each alert (one query)."""
    now = now or utcnow()
    side = side_of(actor)
    rows = {}
    if alerts:
        rows = {r.alert_id: r for r in db.session.scalars(select(AlertSide).where(
            AlertSide.alert_id.in_([a.id for a in alerts]), AlertSide.side == side))}
    for alert in alerts:
        alert.view = make_view(alert, rows.get(alert.id), side, now)
    return alerts


def get_alert(actor: Actor, alert_id: int, now: datetime | None = None) -> Alert:
    """The alert if it belongs to one of the actor's relationships, with the actor's view; otherwise 404."""
    alert = db.session.scalar(select(Alert).where(Alert.id == alert_id, _visible(actor))
                              .options(joinedload(Alert.item), joinedload(Alert.supply_relationship)))
    if alert is None:
        raise NotFound(_("No such alert."))
    attach_views(actor, [alert], now)
    return alert


# The inbox's status filter: "live" (the default) hides what the reader's side has snoozed until the snooze ends;
# "unresolved" shows those too.
STATUS_FILTERS = ("live", "unresolved", "open", "acknowledged", "snoozed", "resolved", "all")


@dataclass
class AlertFilter:
    status: str | None = "live"
    type: str | None = None
    severity: str | None = None
    relationship_id: int | None = None
    sort: str = "severity"


def parse_filter(args: Any) -> AlertFilter:
    """Query-string filters, validated: a bad value is a 400 that names the field."""
    errors = {}
    status = args.get("status") or "live"
    if status not in STATUS_FILTERS:
        errors["status"] = _("Unknown status.")
    alert_type = args.get("type") or None
    if alert_type is not None and alert_type not in ALERT_TYPES:
        errors["type"] = _("Unknown alert type.")
    severity = args.get("severity") or None
    if severity is not None and severity not in SEVERITIES:
        errors["severity"] = _("Unknown severity.")
    rel_raw = args.get("relationship_id") or None
    rel_id = None if rel_raw is None else parse_id(str(rel_raw))
    if rel_raw is not None and rel_id is None:
        errors["relationship_id"] = _("Must be a relationship id.")
    sort = args.get("sort") or "severity"
    if sort not in SORTS:
        errors["sort"] = _("Must be one of: %(choices)s.", choices=", ".join(SORTS))
    if errors:
        raise ValidationFailed(_("Some filters are not valid."), fields=errors)
    return AlertFilter(None if status == "all" else status, alert_type, severity, rel_id, sort)


def list_alerts(actor: Actor, flt: AlertFilter | None = None, limit: int = 200, offset: int = 0,
                now: datetime | None = None) -> list[Alert]:
    """Alerts of every relationship the actor's organisation is a side of (a supplier sees all its primes'), each
    with the actor's side view; the status filter applies to that view."""
    flt = flt or AlertFilter()
    now = now or utcnow()
    side = side_of(actor)
    mine = and_(AlertSide.alert_id == Alert.id, AlertSide.side == side)
    query = (select(Alert, AlertSide).outerjoin(AlertSide, mine).where(_visible(actor)).options(
        joinedload(Alert.item), joinedload(Alert.supply_relationship).joinedload(SupplyRelationship.prime),
        joinedload(Alert.supply_relationship).joinedload(SupplyRelationship.supplier)))
    snoozed_now = and_(AlertSide.status == "snoozed", AlertSide.snoozed_until > now)
    unresolved = Alert.status != "resolved"
    if flt.status == "live":
        query = query.where(unresolved, or_(AlertSide.status.is_(None), ~snoozed_now))
    elif flt.status == "unresolved":
        query = query.where(unresolved)
    elif flt.status == "open":
        query = query.where(unresolved, or_(AlertSide.status.is_(None), AlertSide.status == "open",
                                            and_(AlertSide.status == "snoozed", ~snoozed_now)))
    elif flt.status == "acknowledged":
        query = query.where(unresolved, AlertSide.status == "acknowledged")
    elif flt.status == "snoozed":
        query = query.where(unresolved, snoozed_now)
    elif flt.status == "resolved":
        query = query.where(Alert.status == "resolved")
    if flt.type:
        query = query.where(Alert.type == flt.type)
    if flt.severity:
        query = query.where(Alert.severity == flt.severity)
    if flt.relationship_id is not None:
        query = query.where(Alert.relationship_id == flt.relationship_id)
    rank = case({name: -SEVERITY_RANK[name] for name in SEVERITIES}, value=Alert.severity, else_=0)
    amount = Alert.exposure
    if flt.sort in ("severity", "exposure"):
        # Amounts are in each relationship's currency: they are ranked by their value in KRW at the prime's rate of
        # this month, and one in a currency without a rate comes after those (never ranked as if it were KRW).
        rel = aliased(SupplyRelationship)
        rate, on, amount, _missing = money.krw_value_sql(Alert.exposure, rel.currency, rel.prime_id,
                                                          money.current_month(now))
        query = query.join(rel, rel.id == Alert.relationship_id).outerjoin(rate, on)
    order = {"severity": (rank, amount.desc().nulls_last(), Alert.exposure.desc(), Alert.id.desc()),
             "updated": (Alert.updated_at.desc(), Alert.id.desc()),
             "exposure": (amount.desc().nulls_last(), Alert.exposure.desc(), Alert.id.desc())}[flt.sort]
    out = []
    for alert, row in db.session.execute(query.order_by(*order).limit(limit).offset(offset)):
        alert.view = make_view(alert, row, side, now)
        out.append(alert)
    return out


def open_for_side(side: str, now: datetime | None = None):
    """SQL condition: the alert is unresolved and open in `side`'s own view (neither acknowledged nor snoozed right
    now by that side). For pages that count "open alerts" as one side sees them (e.g. procurement's home)."""
    now = now or utcnow()
    taken = select(AlertSide.alert_id).where(AlertSide.side == side, or_(
        AlertSide.status == "acknowledged", and_(AlertSide.status == "snoozed", AlertSide.snoozed_until > now)))
    return and_(Alert.status != "resolved", Alert.id.not_in(taken))


def snoozed_count(actor: Actor, now: datetime | None = None) -> int:
    """How many unresolved alerts the actor's side has snoozed right now (the default inbox hides them)."""
    now = now or utcnow()
    return db.session.scalar(select(func.count()).select_from(Alert).join(AlertSide, and_(
        AlertSide.alert_id == Alert.id, AlertSide.side == side_of(actor))).where(
        _visible(actor), Alert.status != "resolved", AlertSide.status == "snoozed",
        AlertSide.snoozed_until > now)) or 0


def history(actor: Actor, alert_id: int) -> list[AlertEvent]:
    get_alert(actor, alert_id)
    return list(db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                                   .order_by(AlertEvent.id.desc()).limit(500)))


def raising_event(alert_id: int) -> AlertEvent | None:
    """The event that raised the alert: its figures are the numbers at raising."""
    return db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert_id, AlertEvent.kind == "raised")
                             .order_by(AlertEvent.id).limit(1))


def user_names(user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def ledger_row(actor: Actor, alert: Alert) -> dict[str, Any] | None:
    """The item's current coverage ledger row, for the detail page (None when not computed yet)."""
    get_alert(actor, alert.id)
    row = db.session.execute(select(LEDGER).where(LEDGER.c.item_id == alert.item_id,
                                                  LEDGER.c.relationship_id == alert.relationship_id)).mappings().first()
    if not row:
        return None
    out = dict(row)
    # The shortage's own measure, beside the ledger's exposure (which is about excess).
    out["revenue_at_risk"] = _dec(row["shortage_qty"]) * _dec(row["unit_price"])
    return out


def current_figures(alert: Alert, ledger: dict[str, Any] | None) -> tuple[Decimal, Decimal]:
    """The alert's quantity and amount now: from today's ledger row for the ledger types, else its last numbers."""
    if ledger is None or alert.type not in ("excess_inventory", "projected_excess", "shortage_risk"):
        return headline(alert.type, alert.numbers)
    if alert.type == "excess_inventory":
        return _dec(ledger["excess"]), _dec(ledger["exposure_amount"])
    qty = _dec(ledger["projected_excess_qty" if alert.type == "projected_excess" else "shortage_qty"])
    return qty, qty * _dec(ledger["unit_price"])


# ---------------------------------------------------------------------------------------------------------------
# What people do with an alert. Each side acts on its own view: acknowledging and snoozing change only the actor's
# side; only the side that owns the alert's type resolves it by hand; both sides comment.

def _may_act(actor: Actor) -> None:
    if actor.role not in ACTING_ROLES.get(actor.org_kind, ()):
        raise Forbidden(_("Your role does not allow this action."))


def _check_version(alert: Alert, expected_version: int | None) -> None:
    if expected_version is not None and alert.version != expected_version:
        raise PreconditionFailed(_("The alert changed since you read it."), current_version=alert.version)


def _commit() -> None:
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise PreconditionFailed(_("The alert changed since you read it.")) from None


def _side_row(alert: Alert, side: str) -> AlertSide:
    row = db.session.get(AlertSide, (alert.id, side))
    if row is None:
        row = AlertSide(alert_id=alert.id, side=side, status="open")
        db.session.add(row)
    return row


def _do_acknowledge(actor: Actor, alert: Alert, now: datetime) -> None:
    side = side_of(actor)
    row = _side_row(alert, side)
    row.status, row.snoozed_until, row.acknowledged_at, row.acknowledged_by_id, row.updated_at = (
        "acknowledged", None, now, actor.user_id, now)
    _add_event(alert, "acknowledged", now, actor, side=side)
    audit.record(actor, "alert.acknowledged", alert)


def _refuse_resolve(actor: Actor, alert: Alert) -> None:
    if alert.owner_side != side_of(actor):
        if alert.owner_side == "prime":
            message = _("Only the customer can resolve this alert; it stays in their inbox. You can acknowledge it "
                        "or add a comment.")
        else:
            message = _("Only the supplier can resolve this alert; it stays in their inbox. You can acknowledge it "
                        "or add a comment.")
        raise Forbidden(message)


def _do_resolve(actor: Actor, alert: Alert, now: datetime, note: str | None) -> None:
    _close(alert, now, actor, comment=note)
    audit.record(actor, "alert.resolved", alert, detail={"note": note} if note else None)


def acknowledge(actor: Actor, alert_id: int, expected_version: int | None, now: datetime | None = None) -> Alert:
    now = now or utcnow()
    alert = get_alert(actor, alert_id, now)
    _may_act(actor)
    _check_version(alert, expected_version)
    if not alert.view.may_acknowledge:
        raise Conflict(_("Only an open or snoozed alert can be acknowledged."), state=alert.view.status)
    _do_acknowledge(actor, alert, now)
    _commit()
    return get_alert(actor, alert_id, now)


def add_comment(actor: Actor, alert_id: int, text: str, expected_version: int | None = None,
                now: datetime | None = None) -> Alert:
    now = now or utcnow()
    alert = get_alert(actor, alert_id, now)
    _may_act(actor)
    _check_version(alert, expected_version)
    _add_event(alert, "commented", now, actor, comment=text, side=side_of(actor))
    audit.record(actor, "alert.commented", alert)
    db.session.commit()
    return get_alert(actor, alert_id, now)


def snooze(actor: Actor, alert_id: int, until: datetime, expected_version: int | None,
           now: datetime | None = None) -> Alert:
    now = now or utcnow()
    alert = get_alert(actor, alert_id, now)
    _may_act(actor)
    _check_version(alert, expected_version)
    if until <= now:
        raise ValidationFailed(_("Some fields are not valid."), fields={"until": _("Must be in the future.")})
    if until > now + MAX_SNOOZE:
        raise ValidationFailed(_("Some fields are not valid."),
                               fields={"until": _("At most %(days)s days ahead.", days=MAX_SNOOZE.days)})
    if alert.status == "resolved":
        raise Conflict(_("A resolved alert cannot be snoozed."), state=alert.status)
    side = side_of(actor)
    row = _side_row(alert, side)
    row.status, row.snoozed_until, row.updated_at = "snoozed", until, now
    _add_event(alert, "snoozed", now, actor, snoozed_until=until, side=side)
    audit.record(actor, "alert.snoozed", alert, detail={"until": until.isoformat()})
    _commit()
    return get_alert(actor, alert_id, now)


def resolve(actor: Actor, alert_id: int, expected_version: int | None, note: str | None = None,
            now: datetime | None = None) -> Alert:
    now = now or utcnow()
    alert = get_alert(actor, alert_id, now)
    _may_act(actor)
    _refuse_resolve(actor, alert)
    _check_version(alert, expected_version)
    if alert.status == "resolved":
        raise Conflict(_("The alert is already resolved."), state=alert.status)
    _do_resolve(actor, alert, now, note)
    _commit()
    return get_alert(actor, alert_id, now)


# Why a bulk action left an alert alone (explain.SKIP_LABELS words them).
SKIP_REASONS = ("resolved", "acknowledged", "snoozed", "not_owner")


@dataclass
class BulkResult:
    changed: int
    skipped: dict[str, int]

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def bulk(actor: Actor, action: str, alert_ids: Iterable[int], now: datetime | None = None) -> BulkResult:
    """Acknowledge or resolve several alerts at once; a foreign id refuses the whole request (404).

    Alerts the action does not apply to are skipped, counted by reason: already resolved or acknowledged, snoozed
    (a bulk acknowledgement keeps a snooze: the one who snoozed chose a time), or owned by the other side.
    """
    _may_act(actor)
    if action not in ("acknowledge", "resolve"):
        raise ValidationFailed(_("Some fields are not valid."), fields={"action": _("Unknown action.")})
    ids = sorted({int(i) for i in alert_ids})
    if not ids:
        raise ValidationFailed(_("Choose at least one alert."), fields={"ids": _("Choose at least one alert.")})
    if len(ids) > 500:
        raise ValidationFailed(_("Some fields are not valid."), fields={"ids": _("At most 500 at once.")})
    now = now or utcnow()
    alerts = attach_views(actor, list(db.session.scalars(select(Alert).where(Alert.id.in_(ids), _visible(actor))
                                                         .order_by(Alert.id))), now)
    if len(alerts) != len(ids):
        raise NotFound(_("No such alert."))
    side = side_of(actor)
    result = BulkResult(0, {})

    def skip(reason: str) -> None:
        result.skipped[reason] = result.skipped.get(reason, 0) + 1

    for alert in alerts:
        status = alert.view.status
        if status == "resolved":
            skip("resolved")
        elif action == "acknowledge":
            if status == "acknowledged":
                skip("acknowledged")
            elif status == "snoozed":
                skip("snoozed")
            else:
                _do_acknowledge(actor, alert, now)
                result.changed += 1
        elif alert.owner_side != side:
            skip("not_owner")
        else:
            _do_resolve(actor, alert, now, None)
            result.changed += 1
    _commit()
    return result


# ---------------------------------------------------------------------------------------------------------------
# The personal inbox.

def _not_snoozed(actor: Actor, now: datetime):
    """Inbox entries whose alert the actor's side has not snoozed right now."""
    snoozed = select(AlertSide.alert_id).where(AlertSide.side == side_of(actor), AlertSide.status == "snoozed",
                                               AlertSide.snoozed_until > now)
    return InboxEntry.alert_id.not_in(snoozed)


def unread_count(actor: Actor, now: datetime | None = None) -> int:
    """Unread notifications, leaving out those of alerts the actor's side has snoozed (until the snooze ends)."""
    if actor.user_id is None:
        return 0
    return db.session.scalar(select(func.count()).select_from(InboxEntry).where(
        InboxEntry.user_id == actor.user_id, InboxEntry.organisation_id == actor.organisation_id,
        InboxEntry.read_at.is_(None), _not_snoozed(actor, now or utcnow()))) or 0


def inbox(actor: Actor, unread_only: bool = False, limit: int = 200, include_snoozed: bool = False,
          now: datetime | None = None) -> list[InboxEntry]:
    query = (select(InboxEntry).where(InboxEntry.user_id == actor.user_id,
                                      InboxEntry.organisation_id == actor.organisation_id)
             .options(joinedload(InboxEntry.event), joinedload(InboxEntry.alert).joinedload(Alert.item))
             .order_by(InboxEntry.id.desc()).limit(limit))
    if unread_only:
        query = query.where(InboxEntry.read_at.is_(None))
    if not include_snoozed:
        query = query.where(_not_snoozed(actor, now or utcnow()))
    return list(db.session.scalars(query))


def mark_read(actor: Actor, entry_ids: Iterable[int] | None, now: datetime | None = None) -> int:
    """Mark the given entries (all of the user's when None) as read; other users' ids are simply not matched."""
    stmt = (update(InboxEntry).where(InboxEntry.user_id == actor.user_id,
                                     InboxEntry.organisation_id == actor.organisation_id,
                                     InboxEntry.read_at.is_(None))
            .values(read_at=now or utcnow()))
    if entry_ids is not None:
        ids = [int(i) for i in entry_ids]
        if not ids:
            return 0
        stmt = stmt.where(InboxEntry.id.in_(ids))
    count = db.session.execute(stmt).rowcount or 0
    db.session.commit()
    return count


def mark_alert_read(actor: Actor, alert_id: int, now: datetime | None = None) -> None:
    """Opening an alert reads its inbox entries (a POST from the detail page, never the GET itself)."""
    get_alert(actor, alert_id)
    db.session.execute(update(InboxEntry).where(
        InboxEntry.user_id == actor.user_id, InboxEntry.organisation_id == actor.organisation_id,
        InboxEntry.alert_id == alert_id, InboxEntry.read_at.is_(None)).values(read_at=now or utcnow()))
    db.session.commit()


__all__ = ["sync_alerts", "severity_for", "excess_exceeds_threshold", "get_alert", "list_alerts", "acknowledge",
           "add_comment", "snooze", "resolve", "bulk", "unread_count", "inbox", "mark_read", "side_of", "View",
           "headline", "current_figures"]
