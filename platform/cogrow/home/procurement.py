"""The procurement home page: its work queue.

What the prime's money is exposed to (the ledger's open exposure, its 13-week trend from the weekly snapshots,
by supplier), the open alerts to act on, and the items whose exposure grew most since last week. Every figure
comes from one grouped query, so the page runs the same number of statements whatever the number of suppliers,
items or alerts.

Each relationship's amounts are in its own currency. Totals across suppliers are converted to KRW with the rates
the prime set for the month (cogrow.money); a total with a currency that has no rate is shown per currency.
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
from cogrow.core import formatting
from cogrow.core.weeks import current_week, iso_label
from cogrow.coverage.models import CoverageLedger, ExposureSnapshot, ExposureWeek
from cogrow.extensions import db
from cogrow.money import services as money
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship

TREND_WEEKS = 13
LATEST_ALERTS = 8
GROWTH_ROWS = 10
CHART_SUPPLIERS = 10
ZERO = Decimal("0")
WON = Decimal("1")


@dataclass(frozen=True)
class WeekPoint:
    week_start: date
    label: str  # 2026-W47
    exposure: Decimal | None  # in KRW; None: no figure recorded that week, or one without a rate
    per_currency: dict[str, Decimal] | None = None  # the week's sums in their own currencies (None: no figure)


@dataclass(frozen=True)
class SupplierExposure:
    relationship_id: int
    supplier: str
    currency: str
    exposure: Decimal  # in `currency`
    items_exposed: int
    excess: Decimal
    exposure_krw: Decimal | None = None  # converted with the month's rate; None when the currency has none


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
    currency: str


@dataclass(frozen=True)
class Growth:
    relationship_id: int
    item_id: int
    part_number: str
    description: str
    supplier: str
    before: Decimal
    now: Decimal
    currency: str

    @property
    def change(self) -> Decimal:
        return self.now - self.before


def _prime_relationships(organisation_id: int):
    return select(SupplyRelationship.id).where(SupplyRelationship.prime_id == organisation_id)


def exposure_by_supplier(organisation_id: int, rates: dict[str, Decimal] | None = None) -> list[SupplierExposure]:
    """Open exposure per relationship of the prime, in its currency, largest first in KRW (those without a rate
    after the others); relationships without any ledger row too. `rates`: the month's (money.rates_for)."""
    led = CoverageLedger
    rows = db.session.execute(
        select(SupplyRelationship.id, Organisation.name, SupplyRelationship.currency,
               func.coalesce(func.sum(led.exposure_amount), 0),
               func.count(case((led.exposure_amount > 0, 1))),
               func.coalesce(func.sum(led.excess), 0))
        .join(Organisation, Organisation.id == SupplyRelationship.supplier_id)
        .outerjoin(led, led.relationship_id == SupplyRelationship.id)
        .where(SupplyRelationship.prime_id == organisation_id)
        .group_by(SupplyRelationship.id, Organisation.name, SupplyRelationship.currency)).all()
    rates = rates if rates is not None else {money.BASE: Decimal(1)}
    out = []
    for rid, name, currency, exp, n, excess in rows:
        amount = Decimal(exp)
        # KRW has no minor unit: a converted amount is whole won, so the suppliers' figures add up to the total.
        krw = money.to_krw(amount, currency, rates)
        krw = krw.quantize(WON) if krw is not None and currency != money.BASE else krw
        out.append(SupplierExposure(rid, name, currency, amount, int(n), Decimal(excess), krw))
    return sorted(out, key=lambda s: (s.exposure_krw is None, -(s.exposure_krw or ZERO), -s.exposure, s.supplier,
                                      s.relationship_id))


def exposure_trend(organisation_id: int, now_per_currency: dict[str, Decimal], week: date) -> list[WeekPoint]:
    """Total exposure per ISO week over the last 13 weeks: the weekly sums per relationship (one row per
    relationship and week, whatever the number of items), and this week the live ledger.

    Each past week converts to KRW with the rates of its Monday's month; a week with an amount in a currency without a
    rate that month has no KRW figure (its sums per currency are kept for the table)."""
    first = week - timedelta(weeks=TREND_WEEKS - 1)
    rows = db.session.execute(
        select(ExposureWeek.week_start, ExposureWeek.currency, func.sum(ExposureWeek.exposure_amount))
        .where(ExposureWeek.relationship_id.in_(_prime_relationships(organisation_id)),
               ExposureWeek.week_start >= first, ExposureWeek.week_start < week)
        .group_by(ExposureWeek.week_start, ExposureWeek.currency)).all()
    by_week: dict[date, dict[str, Decimal]] = {}
    for monday, currency, total in rows:
        by_week.setdefault(monday, {})[currency] = Decimal(total)
    by_week[week] = dict(now_per_currency)
    mondays = [first + timedelta(weeks=n) for n in range(TREND_WEEKS)]
    # This week is the live total, converted like it with this month's rates (its Monday may be last month's).
    month_of = {monday: money.month_of(monday) for monday in mondays} | {week: money.current_month()}
    foreign = any(c != money.BASE for sums in by_week.values() for c in sums)
    rates = money.rates_by_month(organisation_id, month_of.values()) if foreign else {}
    points = []
    for monday in mondays:
        sums = by_week.get(monday)
        if sums is None:
            points.append(WeekPoint(monday, iso_label(monday), None))
            continue
        krw, per_currency = money.convert(sums, rates.get(month_of[monday], {money.BASE: Decimal(1)}))
        points.append(WeekPoint(monday, iso_label(monday), krw, per_currency))
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
               Alert.item_id, Item.prime_part_number, Organisation.name, SupplyRelationship.currency)
        .join(Item, Item.id == Alert.item_id)
        .join(SupplyRelationship, SupplyRelationship.id == Alert.relationship_id)
        .join(Organisation, Organisation.id == SupplyRelationship.supplier_id)
        .where(SupplyRelationship.prime_id == organisation_id, Alert.status == "open")
        .order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit)).all()
    return [AlertRow(*row) for row in rows]


def exposure_growth(organisation_id: int, week: date, limit: int = GROWTH_ROWS) -> list[Growth]:
    """The items whose exposure grew most since last week's snapshot (items without one are not compared).

    Growths in several currencies are ranked by their value in KRW at this month's rates; one in a currency
    without a rate comes after those, by its own amount (never ranked as if it were KRW)."""
    led, snap = CoverageLedger, ExposureSnapshot
    change = led.exposure_amount - snap.exposure_amount
    rate, on, change_krw, _missing = money.krw_value_sql(change, led.currency, SupplyRelationship.prime_id,
                                                         money.current_month())
    rows = db.session.execute(
        select(led.relationship_id, led.item_id, Item.prime_part_number, Item.description, Organisation.name,
               snap.exposure_amount, led.exposure_amount, led.currency)
        .join(snap, and_(snap.item_id == led.item_id, snap.week_start == week - timedelta(weeks=1)))
        .join(Item, Item.id == led.item_id)
        .join(SupplyRelationship, SupplyRelationship.id == led.relationship_id)
        .join(Organisation, Organisation.id == SupplyRelationship.supplier_id)
        .outerjoin(rate, on)
        .where(SupplyRelationship.prime_id == organisation_id, change > 0)
        .order_by(change_krw.desc().nulls_last(), change.desc(), led.item_id).limit(limit)).all()
    return [Growth(rid, iid, pn, desc or "", supplier, Decimal(before), Decimal(now), currency)
            for rid, iid, pn, desc, supplier, before, now, currency in rows]


def show_week(monday: date) -> str:
    """An ISO week with its Monday: the display filter `week` when the app has one, else 2026-W47 (2026-11-16)."""
    shown = current_app.jinja_env.filters.get("week")
    return str(shown(monday)) if shown else f"{iso_label(monday)} ({monday.isoformat()})"


def show_datetime(moment: datetime) -> str:
    """A moment in the user's time zone: the display filter `datetime` when the app has one, else ISO-like."""
    shown = current_app.jinja_env.filters.get("datetime")
    return str(shown(moment)) if shown else format_datetime(moment, "yyyy-MM-dd HH:mm")


def won(value: Decimal) -> str:
    """₩1,234,567: money in whole won (plain functions, not Jinja macros: a page calls them hundreds of times).
    Only for amounts that are KRW (a KRW relationship's, or a total converted with the month's rates)."""
    return f"₩{value:,.0f}"


def amount(value: Decimal | None, currency: str) -> str:
    """An amount in its own currency: ₩ in whole won for KRW, else the ISO code and the currency's decimals."""
    if value is None:
        return "—"
    if currency == money.BASE:
        return won(value)
    return formatting.format_money(value, currency, code=True)


def per_currency_text(sums: dict[str, Decimal] | None) -> str:
    """'₩1,200,000 + USD 3,400.00': a total that has no KRW figure, each currency on its own."""
    if not sums:
        return won(ZERO)
    return " + ".join(amount(v, c) for c, v in sums.items())


def raw(value: Decimal | None) -> str:
    """The whole-won figure for a data-value attribute ('' for none)."""
    return "" if value is None else f"{value:.0f}"


def labels() -> dict:
    return {"type_label": type_label, "severity_label": severity_label, "show_week": show_week,
            "show_datetime": show_datetime, "won": won, "raw": raw, "amount": amount,
            "per_currency_text": per_currency_text}


def context(actor) -> dict:
    week = current_week()
    month = money.current_month()
    rates = money.rates_for(actor.organisation_id, month)
    suppliers = exposure_by_supplier(actor.organisation_id, rates)
    totals = money.convert([(s.currency, s.exposure) for s in suppliers], rates)
    # The total in KRW is the sum of the suppliers' KRW figures (each rounded to the won), None without a rate.
    total = None if totals.krw_total is None else sum((s.exposure_krw for s in suppliers), ZERO)
    trend = exposure_trend(actor.organisation_id, totals.per_currency, week)
    counts = open_alert_counts(actor.organisation_id)
    previous = trend[-2].exposure if len(trend) > 1 else None
    return {
        "relationships": relationships.list_relationships(actor),
        "week": week,
        "total_exposure": total,  # KRW, or None when a currency in it has no rate this month
        "exposure_totals": money.total_view(totals, rates, month),
        "exposure_change": None if previous is None or total is None else total - previous,
        "trend_gaps": any(p.exposure is None and p.per_currency for p in trend),
        "suppliers": suppliers,
        "chart_suppliers": [s for s in suppliers if s.exposure_krw is not None and s.exposure_krw > 0][:CHART_SUPPLIERS],
        "unconverted_suppliers": [s for s in suppliers if s.exposure_krw is None],
        "trend": trend,
        "alert_counts": counts,
        "alert_total": sum(counts.values()),
        "severities": [s for s in reversed(SEVERITIES)],  # critical first
        "alert_types": list(ALERT_TYPES),
        "latest_alerts": latest_open_alerts(actor.organisation_id),
        "growth": exposure_growth(actor.organisation_id, week),
        **labels(),
    }
