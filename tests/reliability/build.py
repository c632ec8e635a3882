"""Helpers of the reliability tests: versions published at chosen instants, PO lines in chosen states."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from cogrow.core.weeks import current_week
from cogrow.reliability.services import starts_at
from tests import factories as f


def week(offset: int) -> date:
    """The Monday `offset` weeks from the current week (negative: past)."""
    return current_week() + timedelta(weeks=offset)


def at(monday: date, days: int = 0, hours: float = 0) -> datetime:
    """An instant `days` and `hours` after the start of `monday` in the business time zone (UTC-aware)."""
    return starts_at(monday) + timedelta(days=days, hours=hours)


def version(rel, version_no: int, published_at: datetime, buckets: dict[tuple[object, date], object]):
    """Publication `version_no` at `published_at` with {(item, week): quantity} buckets."""
    pub = f.PublicationFactory(supply_relationship=rel, version_no=version_no, published_at=published_at,
                               base_week=current_week())
    for (item, monday), qty in buckets.items():
        f.BucketFactory(publication=pub, item=item, week_start=monday, quantity=Decimal(str(qty)))
    return pub


def po_line(rel, item, due: date, qty, status: str = "issued"):
    po = f.PurchaseOrderFactory(supply_relationship=rel, status=status)
    return f.PurchaseOrderLineFactory(purchase_order=po, item=item, due_date=due, quantity=Decimal(str(qty)))
