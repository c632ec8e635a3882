"""The outbox relay publishes pending rows by topic, and the sweep runs once per period."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select

from cogrow.core import outbox
from cogrow.core.models import OutboxEvent
from cogrow.coverage import services, tasks
from cogrow.coverage.models import CoverageLedger, PeriodicRun
from tests.conftest import on_postgres
from tests.coverage import builders as b
from tests.coverage.builders import NOW, week


class Recorder:
    """Stands in for the broker: records what would be sent, or fails for chosen tasks."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        self.sent: list[tuple[str, list]] = []
        self.failing = failing

    def __call__(self, task_name, args):
        if task_name in self.failing:
            raise ConnectionError("broker down")
        self.sent.append((task_name, args))


def _pending(db):
    db.session.expire_all()
    return db.session.scalars(select(OutboxEvent).where(OutboxEvent.published_at.is_(None))).all()


def test_the_relay_coalesces_reconcile_events_per_relationship_and_sends_notifications_one_by_one(db):
    one, two = b.relationship(), b.relationship()
    a1 = outbox.enqueue_reconcile(one.id, [3, 1], "po")
    a2 = outbox.enqueue_reconcile(one.id, [2, 1], "forecast")
    b1 = outbox.enqueue_reconcile(two.id, None, "terms")
    b2 = outbox.enqueue_reconcile(two.id, [9], "report")
    note = outbox.enqueue("notify", {"event_id": 7}, one.id)
    db.session.commit()
    recorder = Recorder()
    assert services.relay_pending(publish=recorder) == 5
    assert sorted(recorder.sent, key=str) == sorted([
        ("cogrow.coverage.reconcile", [one.id, [1, 2, 3], [a1.id, a2.id]]),
        ("cogrow.coverage.reconcile", [two.id, None, [b1.id, b2.id]]),  # one event asked for every item
        ("cogrow.alerts.dispatch", [note.id]),
    ], key=str)
    assert _pending(db) == []
    assert services.relay_pending(publish=recorder) == 0 and len(recorder.sent) == 3  # nothing twice


def test_a_failed_publish_leaves_the_rows_pending_for_the_next_run(db):
    rel = b.relationship()
    event = outbox.enqueue_reconcile(rel.id, [1], "po")
    note = outbox.enqueue("notify", {"event_id": 1}, rel.id)
    db.session.commit()
    assert services.relay_pending(publish=Recorder(failing=("cogrow.coverage.reconcile",))) == 1
    pending = _pending(db)
    assert [(e.topic, e.attempts) for e in pending] == [("reconcile", 1)]
    assert db.session.get(OutboxEvent, note.id).published_at is not None
    recorder = Recorder()
    assert services.relay_pending(publish=recorder) == 1
    assert recorder.sent == [("cogrow.coverage.reconcile", [rel.id, [1], [event.id]])] and _pending(db) == []


def test_a_published_row_whose_task_never_finished_is_published_again_after_the_lease(db, app, monkeypatch):
    """A broker that lost its queue (Redis restarted empty) loses nothing: rows not done are republished."""
    from datetime import datetime, timedelta, timezone

    rel = b.relationship()
    lost = outbox.enqueue_reconcile(rel.id, [1], "po")
    finished = outbox.enqueue_reconcile(b.relationship().id, [2], "po")
    db.session.commit()
    first = Recorder()
    assert services.relay_pending(publish=first) == 2
    outbox.mark_done([finished.id])  # only this one's task ran
    assert services.relay_pending(publish=Recorder()) == 0  # within the lease: nothing again
    earlier = datetime.now(timezone.utc) - timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
    db.session.execute(OutboxEvent.__table__.update().values(published_at=earlier))
    db.session.commit()
    again = Recorder()
    assert services.relay_pending(publish=again) == 1
    assert again.sent == [("cogrow.coverage.reconcile", [rel.id, [1], [lost.id]])]
    outbox.mark_done([lost.id])
    db.session.execute(OutboxEvent.__table__.update().values(published_at=earlier))
    db.session.commit()
    assert services.relay_pending(publish=Recorder()) == 0


def test_the_relay_leaves_topics_it_does_not_know(db):
    outbox.enqueue("something_else", {}, None)
    db.session.commit()
    assert services.relay_pending(publish=Recorder()) == 0
    assert [e.topic for e in _pending(db)] == ["something_else"]


def test_an_outbox_row_reaches_the_ledger_through_the_relay_task(app, db):
    rel = b.relationship()
    it = b.item(rel)
    b.po_line(it, 42, week(1))
    outbox.enqueue_reconcile(rel.id, [it.id], "po issued")
    db.session.commit()
    # This app's own Celery app: `tasks.relay` resolves to whichever app the session created last.
    celery_app = app.extensions["celery"]
    celery_app.conf.task_always_eager = True
    try:
        celery_app.tasks["cogrow.coverage.relay"].delay()
    finally:
        celery_app.conf.task_always_eager = False
    db.session.expire_all()
    assert db.session.get(CoverageLedger, it.id).open_po == 42
    assert _pending(db) == []


def test_the_reconcile_task_twice_gives_the_same_rows(db):
    rel = b.relationship()
    it = b.item(rel)
    b.po_line(it, 10, week(1))
    b.report(it, fg=30, plan={week(1): 5})
    db.session.commit()
    tasks.reconcile(rel.id, [it.id])
    first = {c: getattr(db.session.get(CoverageLedger, it.id), c) for c in ("guaranteed", "excess", "exposure_amount")}
    tasks.reconcile(rel.id, [it.id])
    db.session.expire_all()
    assert {c: getattr(db.session.get(CoverageLedger, it.id), c) for c in first} == first
    assert db.session.query(CoverageLedger).filter_by(item_id=it.id).count() == 1


def test_the_reconcile_task_relays_its_own_notifications_and_wakes_no_second_relay(app, db, monkeypatch):
    kicks, relayed = [], []
    monkeypatch.setitem(app.config, "OUTBOX_KICK", True)
    monkeypatch.setattr(app.extensions["celery"], "send_task", lambda name, **_kwargs: kicks.append(name))
    monkeypatch.setattr(outbox._kicker, "_connection_for", lambda _celery_app: "connection")
    outbox._kicker.reset()

    def reconcile_that_notifies(relationship_id, item_ids):
        outbox.enqueue("notify", {"event_id": 1})  # what an alert raised by the sync writes
        db.session.commit()
        return 1

    monkeypatch.setattr(services, "reconcile", reconcile_that_notifies)
    monkeypatch.setattr(services, "relay_pending", lambda **kwargs: relayed.append(kwargs) or 0)
    assert tasks.reconcile(1, [1]) == 1
    assert relayed == [{"topics": ("notify",)}] and kicks == []
    outbox.enqueue("notify", {"event_id": 2})
    db.session.commit()
    assert kicks == [outbox.RELAY_TASK]  # the skip lasted one transaction
    outbox._kicker.reset()


def test_the_sweep_runs_once_per_period(db):
    rel = b.relationship()
    it = b.item(rel)
    b.po_line(it, 10, week(1))
    assert services.locked_sweep(15, NOW) is not None
    assert services.locked_sweep(15, NOW + timedelta(minutes=1)) is None  # same quarter hour
    assert services.locked_sweep(15, NOW + timedelta(minutes=15)) is not None
    runs = db.session.scalars(select(PeriodicRun).order_by(PeriodicRun.period_start)).all()
    assert [r.period_start for r in runs] == [NOW, NOW + timedelta(minutes=15)]
    assert all(r.finished_at is not None and r.items >= 1 for r in runs)


def test_a_failed_sweep_frees_its_period_for_the_retry(db, monkeypatch):
    def broken(now=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "full_sweep", broken)
    with pytest.raises(RuntimeError):
        services.locked_sweep(15, NOW)
    monkeypatch.undo()
    assert services.locked_sweep(15, NOW) is not None


def test_the_sweep_task_reads_its_period_from_the_configuration(app, db, monkeypatch):
    seen = {}
    monkeypatch.setattr(services, "locked_sweep", lambda minutes, now=None: seen.setdefault("minutes", minutes))
    monkeypatch.setitem(app.config, "COVERAGE_SWEEP_MINUTES", 7)
    app.extensions["celery"].tasks["cogrow.coverage.sweep"]()
    assert seen == {"minutes": 7}


@pytest.mark.postgres_only
def test_two_concurrent_sweeps_of_one_period_run_once(app):
    assert on_postgres()
    from cogrow.extensions import db as database

    moment = datetime(2031, 5, 5, 5, 5, tzinfo=timezone.utc)
    results: list = []
    barrier = threading.Barrier(2)

    def run():
        with app.app_context():
            barrier.wait()
            try:
                results.append(services.locked_sweep(15, moment))
            finally:
                database.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert len(results) == 2 and results.count(None) == 1
    finally:
        with app.app_context():
            database.session.execute(delete(PeriodicRun).where(PeriodicRun.period_start >= moment - timedelta(hours=1)))
            database.session.commit()
            database.session.remove()
