"""The procurement home page: its work queue.

What the prime's money is exposed to (the ledger's open exposure, its 13-week trend from the weekly snapshots,
by supplier), the open alerts to act on, and the items whose exposure grew most since last week. Every figure
comes from one grouped query, so the page runs the same number of statements whatever the number of suppliers,
items or alerts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import format_datetime
from sqlalchemy import and_, case, func, select

from cogrow.accounts.models import Organisation
from cogrow.alerts.explain import severity_label, type_label
from cogrow.alerts.models import ALERT_TYPES, SEVERITIES, Alert
from cogrow.catalog.models import Item
from cogrow.core.weeks import current_week, iso_label
from cogrow.coverage.models import CoverageLedger, ExposureSnapshot, ExposureWeek
from cogrow.extensions import db
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship

TREND_WEEKS = 13
LATEST_ALERTS = 8
GROWTH_ROWS = 10
CHART_SUPPLIERS = 10
ZERO = Decimal("0")


@dataclass(frozen=True)
class WeekPoint:
    week_start: date
    label: str  # 2026-W47
    exposure: Decimal | None  # None: no figure recorded that week


@dataclass(frozen=True)
class SupplierExposure:
    relationship_id: int
    supplier: str
    exposure: Decimal
    items_exposed: int
    excess: Decimal


@dataclass(frozen=True)
class AlertRow:
    id: int
    type: str
    severity: str
    exposure: Decimal
    opened_at: datetime
    relationship_id: int
    item_id: int
    part_number: str
    supplier: str


@dataclass(frozen=True)
class Growth:
    relationship_id: int
    item_id: int
    part_number: str
    description: str
    supplier: str
    before: Decimal
    now: Decimal

    @property
    def change(self) -> Decimal:
        return self.now - self.before


def _prime_relationships(organisation_id: int):
    return select(SupplyRelationship.id).where(SupplyRelationship.prime_id == organisation_id)


def exposure_by_supplier(organisation_id: int) -> list[SupplierExposure]:
    """Open exposure per relationship of the prime, largest first (relationships without any ledger row too)."""
    led = CoverageLedger
    rows = db.session.execute(
        select(SupplyRelationship.id, Organisation.name,
               func.coalesce(func.sum(led.exposure_krw), 0),
               func.count(case((led.exposure_krw > 0, 1))),
               func.coalesce(func.sum(led.excess), 0))
        .join(Organisation, Organisation.id == SupplyRelationship.supplier_id)
        .outerjoin(led, led.relationship_id == SupplyRelationship.id)
        .where(SupplyRelationship.prime_id == organisation_id)
        .group_by(SupplyRelationship.id, Organisation.name)).all()
    out = [SupplierExposure(rid, name, Decimal(exp), int(n), Decimal(excess)) for rid, name, exp, n, excess in rows]
    return sorted(out, key=lambda s: (-s.exposure, s.supplier, s.relationship_id))


def exposure_trend(organisation_id: int, total_now: Decimal, week: date) -> list[WeekPoint]:
    """Total exposure per ISO week over the last 13 weeks: the weekly sums per relationship (one row per
    relationship and week, whatever the number of items), and this week the live ledger."""
    first = week - timedelta(weeks=TREND_WEEKS - 1)
    rows = db.session.execute(
        select(ExposureWeek.week_start, func.sum(ExposureWeek.exposure_krw))
        .where(ExposureWeek.relationship_id.in_(_prime_relationships(organisation_id)),
               ExposureWeek.week_start >= first, ExposureWeek.week_start < week)
        .group_by(ExposureWeek.week_start)).all()
    by_week = {w: Decimal(total) for w, total in rows}
    points = []
    for n in range(TREND_WEEKS):
        monday = first + timedelta(weeks=n)
        value = total_now if monday == week else by_week.get(monday)
        points.append(WeekPoint(monday, iso_label(monday), value))
    return points


def open_alert_counts(organisation_id: int) -> dict[tuple[str, str], int]:
    """(severity, type) -> number of open alerts on the prime's relationships."""
    rows = db.session.execute(
        select(Alert.severity, Alert.type, func.count())
        .where(Alert.relationship_id.in_(_prime_relationships(organisation_id)), Alert.status == "open")
        .group_by(Alert.severity, Alert.type)).all()
    return {(severity, kind): int(n) for severity, kind, n in rows}


def latest_open_alerts(organisation_id: int, limit: int = LATEST_ALERTS) -> list[AlertRow]:
    rows = db.session.execute(
        select(Alert.id, Alert.type, Alert.severity, Alert.exposure, Alert.opened_at, Alert.relationship_id,
               Alert.item_id, Item.prime_part_number, Organisation.name)
        .join(Item, Item.id == Alert.item_id)
        .join(SupplyRelationship, SupplyRelationship.id == Alert.relationship_id)
        .join(Organisation, Organisation.id == SupplyRelationship.supplier_id)
        .where(SupplyRelationship.prime_id == organisation_id, Alert.status == "open")
        .order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit)).all()
    return [AlertRow(*row) for row in rows]


def exposure_growth(organisation_id: int, week: date, limit: int = GROWTH_ROWS) -> list[Growth]:
    """The items whose exposure grew most since last week's snapshot (items without one are not compared)."""
    led, snap = CoverageLedger, ExposureSnapshot
    change = led.exposure_krw - snap.exposure_krw
    rows = db.session.execute(
        select(led.relationship_id, led.item_id, Item.prime_part_number, Item.description, Organisation.name,
               snap.exposure_krw, led.exposure_krw)
        .join(snap, and_(snap.item_id == led.item_id, snap.week_start == week - timedelta(weeks=1)))
        .join(Item, Item.id == led.item_id)
        .join(SupplyRelationship, SupplyRelationship.id == led.relationship_id)
        .join(Organisation, Organisation.id == SupplyRelationship.supplier_id)
        .where(SupplyRelationship.prime_id == organisation_id, change > 0)
        .order_by(change.desc(), led.item_id).limit(limit)).all()
    return [Growth(rid, iid, pn, desc or "", supplier, Decimal(before), Decimal(now))
            for rid, iid, pn, desc, supplier, before, now in rows]


def show_week(monday: date) -> str:
    """An ISO week with its Monday: the display filter `week` when the app has one, else 2026-W47 (2026-11-16)."""
    shown = current_app.jinja_env.filters.get("week")
    return str(shown(monday)) if shown else f"{iso_label(monday)} ({monday.isoformat()})"


def show_datetime(moment: datetime) -> str:
    """A moment in the user's time zone: the display filter `datetime` when the app has one, else ISO-like."""
    shown = current_app.jinja_env.filters.get("datetime")
    return str(shown(moment)) if shown else format_datetime(moment, "yyyy-MM-dd HH:mm")


def won(value: Decimal) -> str:
    """₩1,234,567: money in whole won (plain functions, not Jinja macros: a page calls them hundreds of times)."""
    return f"₩{value:,.0f}"


def raw(value: Decimal | None) -> str:
    """The whole-won figure for a data-value attribute ('' for none)."""
    return "" if value is None else f"{value:.0f}"


def labels() -> dict:
    return {"type_label": type_label, "severity_label": severity_label, "show_week": show_week,
            "show_datetime": show_datetime, "won": won, "raw": raw}


def context(actor) -> dict:
    week = current_week()
    suppliers = exposure_by_supplier(actor.organisation_id)
    total = sum((s.exposure for s in suppliers), ZERO)
    trend = exposure_trend(actor.organisation_id, total, week)
    counts = open_alert_counts(actor.organisation_id)
    previous = trend[-2].exposure if len(trend) > 1 else None
    return {
        "relationships": relationships.list_relationships(actor),
        "week": week,
        "total_exposure": total,
        "exposure_change": None if previous is None else total - previous,
        "suppliers": suppliers,
        "chart_suppliers": [s for s in suppliers if s.exposure > 0][:CHART_SUPPLIERS],
        "trend": trend,
        "alert_counts": counts,
        "alert_total": sum(counts.values()),
        "severities": [s for s in reversed(SEVERITIES)],  # critical first
        "alert_types": list(ALERT_TYPES),
        "latest_alerts": latest_open_alerts(actor.organisation_id),
        "growth": exposure_growth(actor.organisation_id, week),
        **labels(),
    }
