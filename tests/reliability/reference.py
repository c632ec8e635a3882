"""A slow reference of the forecast reliability, written from the definitions in shared/design/domain.md with plain
Python loops over the raw rows: nothing here is shared with cogrow.reliability."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cogrow.core.weeks import business_timezone
from cogrow.forecasts.models import ForecastBucket, ForecastPublication
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine

DEMAND_STATES = {"issued", "acknowledged", "change_proposed", "partially_shipped", "closed"}


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_starts_at(monday: date) -> datetime:
    """Monday 00:00 in the business zone, as a UTC instant."""
    local = datetime(monday.year, monday.month, monday.day, tzinfo=ZoneInfo(business_timezone()))
    return local.astimezone(timezone.utc)


def rows(session, relationship_id: int, now: datetime, earliest: date) -> dict[tuple[int, date, int], tuple]:
    """{(item, week, lag): (F, A)} for every finished week from `earliest`, leaving out F = A = 0."""
    versions = []
    for pub in session.scalars(select(ForecastPublication).where(ForecastPublication.relationship_id == relationship_id)):
        buckets = {(b.item_id, b.week_start): b.quantity for b in session.scalars(
            select(ForecastBucket).where(ForecastBucket.publication_id == pub.id))}
        versions.append((pub.version_no, pub.published_at, buckets))
    demand: dict[tuple[int, date], Decimal] = {}
    for line, status in session.execute(select(PurchaseOrderLine, PurchaseOrder.status).join(PurchaseOrder).where(
            PurchaseOrderLine.relationship_id == relationship_id)):
        if status in DEMAND_STATES:
            key = (line.item_id, monday_of(line.due_date))
            demand[key] = demand.get(key, Decimal(0)) + line.quantity
    items = {i for _v, _p, buckets in versions for i, _w in buckets} | {i for i, _w in demand}
    current = monday_of(now.astimezone(ZoneInfo(business_timezone())).date())
    out = {}
    target = earliest
    while target < current:
        for lag in range(1, 13):
            cutoff = week_starts_at(target - timedelta(weeks=lag))
            before = [v for v in versions if v[1] < cutoff]
            if not before:
                continue
            _no, _at, buckets = max(before, key=lambda v: v[0])
            for item in items:
                f = buckets.get((item, target), Decimal(0))
                a = demand.get((item, target), Decimal(0))
                if f or a:
                    out[(item, target, lag)] = (f, a)
        target += timedelta(weeks=1)
    return out


def ratios(found: dict[tuple[int, date, int], tuple], first: date, last: date, lag: int) -> tuple:
    """(WAPE, bias) at `lag` over weeks first..last as exact fractions; (None, None) when nothing was ordered."""
    abs_error = error = actual = Decimal(0)
    for (_item, target, row_lag), (f, a) in found.items():
        if row_lag == lag and first <= target <= last:
            abs_error += abs(f - a)
            error += f - a
            actual += a
    if actual == 0:
        return None, None
    return abs_error / actual, error / actual
