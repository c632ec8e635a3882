"""A prime (or a supplier) with n suppliers (customers) and items whose ledger, snapshots and alerts tests control.

Exposure is made simple to compute: an item with `fg` units on hand and nothing guaranteed has `fg` units of
excess and no material cover, so its exposure is fg × unit price.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import event

from cogrow.alerts.models import Alert
from cogrow.coverage import services as coverage
from cogrow.coverage.models import ExposureSnapshot
from cogrow.extensions import db
from tests import factories as f
from tests.coverage import builders as b
from tests.coverage.builders import CW, NOW

D = Decimal


def user(org, role: str):
    u = f.UserFactory()
    f.MembershipFactory(user=u, organisation=org, role=role)
    return u


def stocked_item(rel, fg, price, **kw):
    it = f.ItemFactory(supply_relationship=rel, unit_price=D(price), **kw)
    b.report(it, fg=fg)
    return it


def compute(rel, items) -> None:
    """The ledger and this week's snapshot of the items (no alerts: tests place those themselves)."""
    coverage.open_ledger(rel.id, [i.id for i in items], NOW)


def roll_up() -> None:
    """The weekly sums per relationship of the snapshots written directly (the reconcile batch writes both)."""
    coverage.rebuild_exposure_weeks()


def snapshot(it, weeks_ago: int, exposure, excess=0) -> ExposureSnapshot:
    row = ExposureSnapshot(item_id=it.id, relationship_id=it.relationship_id, week_start=CW - timedelta(weeks=weeks_ago),
                           exposure_amount=D(exposure), currency=it.currency, excess_qty=D(excess), shortage_qty=D(0),
                           updated_at=NOW)
    db.session.add(row)
    return row


def alert(it, severity: str, kind: str = "excess_inventory", status: str = "open", hours_ago: int = 1,
          exposure=0) -> Alert:
    row = Alert(type=kind, relationship_id=it.relationship_id, item_id=it.id, status=status, severity=severity,
                exposure=D(exposure), numbers={}, context={}, opened_at=NOW - timedelta(hours=hours_ago),
                updated_at=NOW - timedelta(hours=hours_ago))
    db.session.add(row)
    db.session.flush()
    return row


@contextmanager
def counting_statements():
    """Count the SQL statements executed on the engine inside the block."""
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)
