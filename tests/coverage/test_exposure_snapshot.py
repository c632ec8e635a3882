"""The exposure history: every recompute writes the week's snapshot of each item it covers, set-based."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import event, select

from cogrow.core.weeks import current_week
from cogrow.coverage import services
from cogrow.coverage.models import ExposureSnapshot, ExposureWeek
from tests.coverage import builders as b
from tests.coverage.builders import CW, NOW, D, ledger_of


def snapshots(db, it) -> dict:
    db.session.expire_all()
    rows = db.session.scalars(select(ExposureSnapshot).where(ExposureSnapshot.item_id == it.id)).all()
    return {r.week_start: r for r in rows}


def week_sum(db, rel, week):
    db.session.expire_all()
    return db.session.get(ExposureWeek, (rel.id, week))


def over_produced(fg):
    rel = b.relationship(share="0.4")
    it = b.item(rel, price="1000")
    b.report(it, fg=fg)  # nothing guaranteed: all of it is excess, no material cover
    return rel, it


def test_a_reconcile_writes_this_weeks_snapshot_from_the_ledger_row(db):
    rel, it = over_produced(250)
    services.reconcile(rel.id, [it.id], NOW)
    ledger = ledger_of(db, it)
    rows = snapshots(db, it)
    assert list(rows) == [CW]
    snap = rows[CW]
    assert (snap.exposure_amount, snap.excess_qty, snap.shortage_qty) == (D(250_000), D(250), D(0))
    assert snap.exposure_amount == ledger.exposure_amount and snap.relationship_id == rel.id


def test_a_recompute_in_the_same_week_overwrites_it_and_a_later_week_adds_a_row(db):
    rel, it = over_produced(250)
    services.reconcile(rel.id, [it.id], NOW)
    b.report(it, fg=400, as_of=NOW + timedelta(hours=1))
    later_same_week = NOW + timedelta(hours=2)
    services.reconcile(rel.id, [it.id], later_same_week)
    assert {w: r.exposure_amount for w, r in snapshots(db, it).items()} == {CW: D(400_000)}

    next_week = NOW + timedelta(weeks=1)
    b.report(it, fg=100, as_of=next_week - timedelta(hours=1))
    services.reconcile(rel.id, [it.id], next_week)
    rows = snapshots(db, it)
    assert {w: r.exposure_amount for w, r in rows.items()} == {CW: D(400_000), CW + timedelta(weeks=1): D(100_000)}
    assert rows[CW + timedelta(weeks=1)].updated_at == next_week


def test_the_snapshot_week_follows_the_clock(db, time_machine):
    rel, it = over_produced(10)
    time_machine.move_to(NOW + timedelta(weeks=2), tick=False)
    services.reconcile(rel.id, [it.id])  # no explicit instant: the (moved) clock's business week
    assert list(snapshots(db, it)) == [current_week(datetime.now(timezone.utc))] == [CW + timedelta(weeks=2)]


def test_a_sweep_snapshots_active_relationships_only_in_one_statement(db):
    rel, it = over_produced(30)
    idle = b.relationship(status="suspended")
    other = b.item(idle)
    b.report(other, fg=50)
    statements = []

    def count(conn, cursor, statement, *args):
        if "exposure_snapshot" in statement:
            statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        services.full_sweep(NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert snapshots(db, it)[CW].excess_qty == D(30)
    assert snapshots(db, other) == {}
    assert len([s for s in statements if s.lstrip().upper().startswith("INSERT INTO EXPOSURE_SNAPSHOT")]) == 1
    assert len([s for s in statements if s.lstrip().upper().startswith("INSERT INTO EXPOSURE_WEEK")]) == 1
    assert week_sum(db, rel, CW).exposure_amount == D(30_000)
    assert week_sum(db, idle, CW) is None



def test_the_relationships_weekly_sum_counts_every_item_not_only_the_recomputed_one(db):
    rel, first = over_produced(100)
    second = b.item(rel, price="2000")
    b.report(second, fg=10)
    services.reconcile(rel.id, None, NOW)
    total = week_sum(db, rel, CW)
    assert (total.exposure_amount, total.excess_qty, total.items_exposed) == (D(120_000), D(110), 2)

    b.report(first, fg=0, as_of=NOW + timedelta(hours=1))
    services.reconcile(rel.id, [first.id], NOW + timedelta(hours=2))  # one item: the sum keeps the other's share
    total = week_sum(db, rel, CW)
    assert (total.exposure_amount, total.excess_qty, total.items_exposed) == (D(20_000), D(10), 1)
    assert week_sum(db, rel, CW - timedelta(weeks=1)) is None


def test_rebuilding_the_weekly_sums_from_snapshots_written_directly(db):
    rel, it = over_produced(1)
    for back, exposure in ((1, 500), (2, 700)):
        db.session.add(ExposureSnapshot(item_id=it.id, relationship_id=rel.id, week_start=CW - timedelta(weeks=back),
                                        exposure_amount=D(exposure), excess_qty=D(1), shortage_qty=D(0), updated_at=NOW))
    db.session.flush()
    services.rebuild_exposure_weeks()
    assert week_sum(db, rel, CW - timedelta(weeks=1)).exposure_amount == D(500)
    assert week_sum(db, rel, CW - timedelta(weeks=2)).exposure_amount == D(700)
