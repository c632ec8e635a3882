"""Alert use cases: raise, update and resolve from the ledger (sync_alerts), and what people do with alerts."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable

from flask_babel import gettext as _
from sqlalchemy import Date, Integer, Numeric, case, column, func, select, table, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from cogrow.accounts.models import User
from cogrow.alerts.models import (
    ALERT_STATUSES, ALERT_TYPES, NOTIFIED_KINDS, SEVERITIES, SEVERITY_RANK, Alert, AlertEvent, InboxEntry,
)
from cogrow.core import audit, outbox
from cogrow.core.api import decimal_str
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from cogrow.core.types import UTCDateTime, utcnow
from cogrow.core.validation import parse_id
from cogrow.core.weeks import local_today
from cogrow.extensions import db
from cogrow.orders.models import BINDING_STATES, PurchaseOrder, PurchaseOrderLine
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.alerts")

NOTIFY = "notify"
# Who acts on alerts, per side of the relationship; the same sets receive them (plus planners may act).
ACTING_ROLES = {"prime": ("admin", "planner", "procurement"), "supplier": ("admin", "production")}
RECIPIENT_ROLES = {"prime": ("admin", "procurement"), "supplier": ("admin", "production")}
# Severity ladder: exposure below 1x the relationship's KRW threshold is info, from 1x warning, from 3x critical.
WARNING_FACTOR = Decimal("1")
CRITICAL_FACTOR = Decimal("3")
# The reference amount when the relationship sets no KRW threshold.
DEFAULT_SEVERITY_KRW = Decimal("1000000")
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
    column("material_forecast", _Q), column("material_cover", _Q), column("exposure_krw", _Q),
    column("projected_excess_qty", _Q), column("projected_excess_week", Date), column("shortage_qty", _Q),
    column("shortage_week", Date),
)
LEDGER_NUMBERS = ("unit_price", "open_po", "firm_forecast", "firm_uncovered", "fab_authorized", "raw_authorized",
                  "cum_shipped", "guaranteed", "fg_on_hand", "wip", "supply", "excess", "material_forecast",
                  "material_cover", "exposure_krw", "projected_excess_qty", "projected_excess_week",
                  "shortage_qty", "shortage_week")
ZERO = Decimal("0")


# ---------------------------------------------------------------------------------------------------------------
# Conditions: what should be open now, from the ledger, the POs and the ASNs.

@dataclass
class Finding:
    """A condition that holds now for one (type, item): its numbers, the objects behind it, and its value."""

    type: str
    item_id: int
    exposure: Decimal
    numbers: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _dec(value: Any) -> Decimal:
    return Decimal(value) if value is not None else ZERO


def severity_for(exposure: Decimal, threshold_krw: Decimal | None) -> str:
    """info below 1x the KRW threshold, warning from 1x, critical from 3x (a default reference when unset)."""
    reference = threshold_krw if threshold_krw is not None and threshold_krw > 0 else DEFAULT_SEVERITY_KRW
    if exposure >= reference * CRITICAL_FACTOR:
        return "critical"
    if exposure >= reference * WARNING_FACTOR:
        return "warning"
    return "info"


def excess_exceeds_threshold(rel: SupplyRelationship, excess: Decimal, exposure: Decimal, guaranteed: Decimal) -> bool:
    """Any threshold that is set and exceeded raises the alert; with none set, any excess does."""
    if excess <= 0:
        return False
    checks = []
    if rel.threshold_units is not None:
        checks.append(excess > rel.threshold_units)
    if rel.threshold_krw is not None:
        checks.append(exposure > rel.threshold_krw)
    if rel.threshold_pct is not None:
        checks.append(guaranteed <= 0 or excess / guaranteed > rel.threshold_pct)
    return any(checks) if checks else True


def _ledger_findings(rel: SupplyRelationship, item_ids: list[int] | None) -> list[Finding]:
    query = select(*[LEDGER.c[name] for name in ("item_id", *LEDGER_NUMBERS)]).where(
        LEDGER.c.relationship_id == rel.id)
    if item_ids is not None:
        query = query.where(LEDGER.c.item_id.in_(item_ids))
    findings = []
    for row in db.session.execute(query).mappings():
        numbers = {name: _json_value(row[name]) for name in LEDGER_NUMBERS}
        price = _dec(row["unit_price"])
        excess, exposure = _dec(row["excess"]), _dec(row["exposure_krw"])
        if excess_exceeds_threshold(rel, excess, exposure, _dec(row["guaranteed"])):
            findings.append(Finding("excess_inventory", row["item_id"], exposure, numbers))
        projected = _dec(row["projected_excess_qty"])
        if projected > 0:
            findings.append(Finding("projected_excess", row["item_id"], projected * price,
                                    {**numbers, "value": decimal_str(projected * price)}))
        shortage = _dec(row["shortage_qty"])
        if shortage > 0:
            findings.append(Finding("shortage_risk", row["item_id"], shortage * price,
                                    {**numbers, "value": decimal_str(shortage * price)}))
    return findings


def _po_findings(rel: SupplyRelationship, item_ids: list[int] | None, now: datetime) -> list[Finding]:
    """po_unacknowledged and asn_overdue, each from one query over the PO lines in scope."""
    open_qty = PurchaseOrderLine.quantity - PurchaseOrderLine.shipped_qty
    base = (select(PurchaseOrderLine.item_id, PurchaseOrder.id, PurchaseOrder.number, PurchaseOrder.issued_at,
                   PurchaseOrderLine.line_no, PurchaseOrderLine.due_date, open_qty.label("open_qty"),
                   PurchaseOrderLine.unit_price)
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .where(PurchaseOrderLine.relationship_id == rel.id, PurchaseOrder.relationship_id == rel.id)
            .order_by(PurchaseOrderLine.item_id, PurchaseOrder.number, PurchaseOrderLine.line_no))
    if item_ids is not None:
        base = base.where(PurchaseOrderLine.item_id.in_(item_ids))
    unacknowledged = base.where(PurchaseOrder.status == "issued", PurchaseOrder.issued_at.is_not(None),
                                PurchaseOrder.issued_at <= now - timedelta(days=rel.po_ack_days))
    today = local_today(now)
    overdue = base.where(PurchaseOrder.status.in_(BINDING_STATES), PurchaseOrderLine.due_date < today,
                         PurchaseOrderLine.shipped_qty < PurchaseOrderLine.quantity)
    findings = []
    for alert_type, query in (("po_unacknowledged", unacknowledged), ("asn_overdue", overdue)):
        grouped: dict[int, dict[str, Any]] = {}
        for row in db.session.execute(query):
            entry = grouped.setdefault(row.item_id, {"qty": ZERO, "value": ZERO, "pos": [], "lines": 0,
                                                     "first": None, "po_ids": []})
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
            numbers = {"qty": decimal_str(entry["qty"]), "value": decimal_str(entry["value"]),
                       "lines": entry["lines"], "since": entry["first"], "ack_days": rel.po_ack_days}
            findings.append(Finding(alert_type, item_id, entry["value"], numbers,
                                    {"po_numbers": entry["pos"][:20], "po_ids": entry["po_ids"][:20]}))
    return findings


# ---------------------------------------------------------------------------------------------------------------
# The lifecycle.

def _add_event(alert: Alert, kind: str, now: datetime, actor: Actor | None = None, comment: str | None = None,
               snoozed_until: datetime | None = None) -> AlertEvent:
    """Append to the alert's history; raised, escalated and resolved events also write one notify outbox row."""
    event = AlertEvent(uuid=str(uuid.uuid4()), alert_id=alert.id, kind=kind, at=now, severity=alert.severity,
                       status=alert.status, numbers=dict(alert.numbers or {}), comment=comment,
                       snoozed_until=snoozed_until,
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
                  severity=severity_for(finding.exposure, rel.threshold_krw), exposure=finding.exposure,
                  numbers=finding.numbers, context=finding.context, opened_at=now, updated_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(alert)
            db.session.flush()
    except IntegrityError:
        return None
    _add_event(alert, "raised", now)
    return alert


def _refresh(alert: Alert, rel: SupplyRelationship, finding: Finding, now: datetime) -> None:
    """The condition still holds: new numbers, a new severity, and an escalation when it rose."""
    severity = severity_for(finding.exposure, rel.threshold_krw)
    escalated = SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity]
    woke = alert.status == "snoozed" and alert.snoozed_until is not None and alert.snoozed_until <= now
    changed = (alert.numbers != finding.numbers or alert.severity != severity or alert.context != finding.context
               or woke)
    if not changed:
        return
    alert.numbers, alert.context, alert.exposure, alert.severity = finding.numbers, finding.context, finding.exposure, severity
    alert.updated_at = now
    if escalated or woke:
        # A rise in severity needs someone's attention again, even if the alert was acknowledged or snoozed.
        alert.status, alert.snoozed_until = "open", None
    _add_event(alert, "escalated" if escalated else "updated", now)


def _close(alert: Alert, now: datetime, actor: Actor | None = None, comment: str | None = None) -> None:
    alert.status, alert.resolved_at, alert.updated_at, alert.snoozed_until = "resolved", now, now, None
    alert.resolved_by_id = actor.user_id if actor else None
    _add_event(alert, "resolved", now, actor, comment=comment)


def sync_alerts(relationship_id: int, item_ids: Iterable[int] | None, now: datetime | None = None) -> None:
    """Raise, update and resolve the alerts of these items (all of the relationship when None).

    Runs in the caller's transaction (the reconciliation) and does not commit.
    """
    now = now or utcnow()
    rel = db.session.get(SupplyRelationship, relationship_id)
    if rel is None:
        return
    ids = sorted({int(i) for i in item_ids}) if item_ids is not None else None
    if ids == []:
        return
    findings = {(f.type, f.item_id): f for f in (*_ledger_findings(rel, ids), *_po_findings(rel, ids, now))}
    query = select(Alert).where(Alert.relationship_id == rel.id, Alert.status != "resolved")
    if ids is not None:
        query = query.where(Alert.item_id.in_(ids))
    live = {(a.type, a.item_id): a for a in db.session.scalars(query)}
    counts = {"raised": 0, "updated": 0, "resolved": 0}
    for key, finding in findings.items():
        alert = live.get(key)
        if alert is None:
            alert = _open(rel, finding, now)
            if alert is None:  # lost a race with another sync: the winner's alert is the one to update
                alert = db.session.scalar(select(Alert).where(
                    Alert.type == finding.type, Alert.relationship_id == rel.id, Alert.item_id == finding.item_id,
                    Alert.status != "resolved"))
                if alert is None:
                    continue
                _refresh(alert, rel, finding, now)
            counts["raised"] += 1
        else:
            _refresh(alert, rel, finding, now)
            counts["updated"] += 1
    for key, alert in live.items():
        if key not in findings:
            _close(alert, now)
            counts["resolved"] += 1
    db.session.flush()
    if counts["raised"] or counts["resolved"]:
        logger.info("relationship %s: %s alerts raised, %s resolved", rel.id, counts["raised"], counts["resolved"])


# ---------------------------------------------------------------------------------------------------------------
# Reading alerts, with tenancy.

def _visible(actor: Actor):
    return Alert.relationship_id.in_(select(SupplyRelationship.id).where(relationships._visible_to(actor)))


def get_alert(actor: Actor, alert_id: int) -> Alert:
    """The alert if it belongs to one of the actor's relationships; otherwise 404."""
    alert = db.session.scalar(select(Alert).where(Alert.id == alert_id, _visible(actor))
                              .options(joinedload(Alert.item), joinedload(Alert.supply_relationship)))
    if alert is None:
        raise NotFound(_("No such alert."))
    return alert


@dataclass
class AlertFilter:
    status: str | None = "live"  # "live" = every status but resolved
    type: str | None = None
    severity: str | None = None
    relationship_id: int | None = None
    sort: str = "severity"


def parse_filter(args: Any) -> AlertFilter:
    """Query-string filters, validated: a bad value is a 400 that names the field."""
    errors = {}
    status = args.get("status") or "live"
    if status not in ("live", "all", *ALERT_STATUSES):
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


def list_alerts(actor: Actor, flt: AlertFilter | None = None, limit: int = 200, offset: int = 0) -> list[Alert]:
    """Alerts of every relationship the actor's organisation is a side of: a supplier sees all its primes'."""
    flt = flt or AlertFilter()
    query = select(Alert).where(_visible(actor)).options(
        joinedload(Alert.item), joinedload(Alert.supply_relationship).joinedload(SupplyRelationship.prime),
        joinedload(Alert.supply_relationship).joinedload(SupplyRelationship.supplier))
    if flt.status == "live":
        query = query.where(Alert.status != "resolved")
    elif flt.status:
        query = query.where(Alert.status == flt.status)
    if flt.type:
        query = query.where(Alert.type == flt.type)
    if flt.severity:
        query = query.where(Alert.severity == flt.severity)
    if flt.relationship_id is not None:
        query = query.where(Alert.relationship_id == flt.relationship_id)
    rank = case({name: -SEVERITY_RANK[name] for name in SEVERITIES}, value=Alert.severity, else_=0)
    order = {"severity": (rank, Alert.exposure.desc(), Alert.id.desc()),
             "updated": (Alert.updated_at.desc(), Alert.id.desc()),
             "exposure": (Alert.exposure.desc(), Alert.id.desc())}[flt.sort]
    return list(db.session.scalars(query.order_by(*order).limit(limit).offset(offset)).unique())


def history(actor: Actor, alert_id: int) -> list[AlertEvent]:
    get_alert(actor, alert_id)
    return list(db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                                   .order_by(AlertEvent.id.desc()).limit(500)))


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
    return dict(row) if row else None


# ---------------------------------------------------------------------------------------------------------------
# What people do with an alert.

def _may_act(actor: Actor) -> None:
    if actor.role not in ACTING_ROLES.get(actor.org_kind, ()):
        raise Forbidden(_("Your role does not allow this action."))


def _check_version(alert: Alert, expected_version: int | None) -> None:
    if expected_version is not None and alert.version != expected_version:
        raise PreconditionFailed(_("The alert changed since you read it."), current_version=alert.version)


def _commit() -> None:
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise PreconditionFailed(_("The alert changed since you read it.")) from None


def _do_acknowledge(actor: Actor, alert: Alert, now: datetime) -> None:
    alert.status, alert.snoozed_until = "acknowledged", None
    alert.acknowledged_at, alert.acknowledged_by_id, alert.updated_at = now, actor.user_id, now
    _add_event(alert, "acknowledged", now, actor)
    audit.record(actor, "alert.acknowledged", alert)


def _do_resolve(actor: Actor, alert: Alert, now: datetime, note: str | None) -> None:
    _close(alert, now, actor, comment=note)
    audit.record(actor, "alert.resolved", alert, detail={"note": note} if note else None)


def acknowledge(actor: Actor, alert_id: int, expected_version: int | None, now: datetime | None = None) -> Alert:
    alert = get_alert(actor, alert_id)
    _may_act(actor)
    _check_version(alert, expected_version)
    if alert.status not in ("open", "snoozed"):
        raise Conflict(_("Only an open or snoozed alert can be acknowledged."), state=alert.status)
    _do_acknowledge(actor, alert, now or utcnow())
    _commit()
    return alert


def add_comment(actor: Actor, alert_id: int, text: str, expected_version: int | None = None,
                now: datetime | None = None) -> Alert:
    alert = get_alert(actor, alert_id)
    _may_act(actor)
    _check_version(alert, expected_version)
    now = now or utcnow()
    _add_event(alert, "commented", now, actor, comment=text)
    audit.record(actor, "alert.commented", alert)
    db.session.commit()
    return alert


def snooze(actor: Actor, alert_id: int, until: datetime, expected_version: int | None,
           now: datetime | None = None) -> Alert:
    alert = get_alert(actor, alert_id)
    _may_act(actor)
    _check_version(alert, expected_version)
    now = now or utcnow()
    if until <= now:
        raise ValidationFailed(_("Some fields are not valid."), fields={"until": _("Must be in the future.")})
    if until > now + MAX_SNOOZE:
        raise ValidationFailed(_("Some fields are not valid."),
                               fields={"until": _("At most %(days)s days ahead.", days=MAX_SNOOZE.days)})
    if alert.status == "resolved":
        raise Conflict(_("A resolved alert cannot be snoozed."), state=alert.status)
    alert.status, alert.snoozed_until, alert.updated_at = "snoozed", until, now
    _add_event(alert, "snoozed", now, actor, snoozed_until=until)
    audit.record(actor, "alert.snoozed", alert, detail={"until": until.isoformat()})
    _commit()
    return alert


def resolve(actor: Actor, alert_id: int, expected_version: int | None, note: str | None = None,
            now: datetime | None = None) -> Alert:
    alert = get_alert(actor, alert_id)
    _may_act(actor)
    _check_version(alert, expected_version)
    if alert.status == "resolved":
        raise Conflict(_("The alert is already resolved."), state=alert.status)
    _do_resolve(actor, alert, now or utcnow(), note)
    _commit()
    return alert


def bulk(actor: Actor, action: str, alert_ids: Iterable[int], now: datetime | None = None) -> tuple[int, int]:
    """Acknowledge or resolve several alerts at once; a foreign id refuses the whole request (404).

    Returns (changed, skipped): alerts already in the wanted state are skipped.
    """
    _may_act(actor)
    if action not in ("acknowledge", "resolve"):
        raise ValidationFailed(_("Some fields are not valid."), fields={"action": _("Unknown action.")})
    ids = sorted({int(i) for i in alert_ids})
    if not ids:
        raise ValidationFailed(_("Choose at least one alert."), fields={"ids": _("Choose at least one alert.")})
    if len(ids) > 500:
        raise ValidationFailed(_("Some fields are not valid."), fields={"ids": _("At most 500 at once.")})
    alerts = list(db.session.scalars(select(Alert).where(Alert.id.in_(ids), _visible(actor))))
    if len(alerts) != len(ids):
        raise NotFound(_("No such alert."))
    now = now or utcnow()
    changed = 0
    for alert in alerts:
        if action == "acknowledge" and alert.status in ("open", "snoozed"):
            _do_acknowledge(actor, alert, now)
            changed += 1
        elif action == "resolve" and alert.status != "resolved":
            _do_resolve(actor, alert, now, None)
            changed += 1
    _commit()
    return changed, len(alerts) - changed


# ---------------------------------------------------------------------------------------------------------------
# The personal inbox.

def unread_count(actor: Actor) -> int:
    if actor.user_id is None:
        return 0
    return db.session.scalar(select(func.count()).select_from(InboxEntry).where(
        InboxEntry.user_id == actor.user_id, InboxEntry.organisation_id == actor.organisation_id,
        InboxEntry.read_at.is_(None))) or 0


def inbox(actor: Actor, unread_only: bool = False, limit: int = 200) -> list[InboxEntry]:
    query = (select(InboxEntry).where(InboxEntry.user_id == actor.user_id,
                                      InboxEntry.organisation_id == actor.organisation_id)
             .options(joinedload(InboxEntry.event), joinedload(InboxEntry.alert).joinedload(Alert.item))
             .order_by(InboxEntry.id.desc()).limit(limit))
    if unread_only:
        query = query.where(InboxEntry.read_at.is_(None))
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
           "add_comment", "snooze", "resolve", "bulk", "unread_count", "inbox", "mark_read"]
