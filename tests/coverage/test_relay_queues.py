"""The relay is quiet when idle, never expires, skips messages a newer run already served, and reconciliation
has its own queue and worker, apart from notifications."""
from __future__ import annotations

import logging
import re
import shlex
import time
from pathlib import Path

import pytest

from cogrow.celery import QUEUES, SENT_AT_HEADER, QuietPeriodicFilter
from cogrow.core import outbox
from cogrow.coverage import services, tasks
from tests.coverage import builders as b

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def relay_task(app, monkeypatch):
    """This app's relay task, with no memory of earlier runs."""
    monkeypatch.setattr(tasks, "_drained_since", None)
    return app.extensions["celery"].tasks["cogrow.coverage.relay"]


def _records(caplog, level=logging.INFO):
    return [r for r in caplog.records if r.levelno >= level and r.name.startswith(("cogrow", "celery"))]


def test_an_idle_relay_logs_nothing_at_info(db, relay_task, caplog):
    caplog.set_level(logging.DEBUG)
    assert relay_task.apply().get() == 0
    assert _records(caplog) == []
    assert any(r.levelno == logging.DEBUG and r.name == "cogrow.coverage" for r in caplog.records)


def test_a_relay_that_published_rows_logs_one_info_line(db, relay_task, caplog, monkeypatch):
    rel = b.relationship()
    outbox.enqueue_reconcile(rel.id, [1], "po")
    outbox.enqueue_reconcile(rel.id, [2], "forecast")
    db.session.commit()
    sent = []
    monkeypatch.setattr(services, "celery_publisher", lambda name, args: sent.append(name))
    caplog.set_level(logging.INFO)
    assert relay_task.apply().get() == 2
    assert sent == ["cogrow.coverage.reconcile"]
    assert [r.getMessage() for r in _records(caplog)] == [_records(caplog)[0].getMessage()]
    assert "relayed 2 outbox row(s)" in _records(caplog)[0].getMessage()


def test_a_relay_message_sent_before_a_run_that_drained_the_outbox_is_skipped(db, relay_task, monkeypatch):
    """Messages that piled up behind a stopped worker cost no query; one sent after the drain runs."""
    calls = []
    real = services.relay_pending
    monkeypatch.setattr(services, "relay_pending", lambda **kw: calls.append(kw) or real(**kw))
    sent_before = time.time()
    relay_task.apply(headers={SENT_AT_HEADER: sent_before - 5}).get()  # the first of the pile runs
    assert len(calls) == 1
    relay_task.apply(headers={SENT_AT_HEADER: sent_before - 4}).get()  # its older siblings do not
    relay_task.apply(headers={SENT_AT_HEADER: sent_before}).get()
    assert len(calls) == 1
    rel = b.relationship()
    outbox.enqueue_reconcile(rel.id, [1], "po")
    db.session.commit()
    monkeypatch.setattr(services, "celery_publisher", lambda name, args: None)
    assert relay_task.apply(headers={SENT_AT_HEADER: time.time() + 1}).get() == 1  # sent after: it runs
    assert relay_task.apply().get() == 0 and len(calls) == 3  # a message without a stamp always runs


def test_relay_messages_are_stamped_when_published(app):
    celery_app = app.extensions["celery"]
    stamped = {}

    def capture(sender=None, headers=None, **_kw):
        stamped[sender] = dict(headers or {})

    from celery.signals import before_task_publish

    before_task_publish.connect(capture, weak=False)
    try:
        with celery_app.connection_for_write("memory://") as conn:
            before = time.time()
            celery_app.tasks["cogrow.coverage.relay"].apply_async(connection=conn)
            celery_app.tasks["cogrow.coverage.reconcile"].apply_async((1, [1], [1]), connection=conn)
    finally:
        before_task_publish.disconnect(capture)
    assert stamped["cogrow.coverage.relay"][SENT_AT_HEADER] >= before
    assert SENT_AT_HEADER not in stamped["cogrow.coverage.reconcile"]


def test_reconciliation_and_notification_have_separate_queues(app):
    router = app.extensions["celery"].amqp.router
    queue = {name: router.route({}, name)["queue"].name for name in (
        "cogrow.coverage.relay", "cogrow.coverage.reconcile", "cogrow.coverage.sweep", "cogrow.alerts.dispatch",
        "cogrow.alerts.send_email", "cogrow.alerts.deliver_webhook", "cogrow.alerts.send_digests",
        "cogrow.imports.apply", "cogrow.heartbeat")}
    assert {queue[n] for n in queue if n.startswith("cogrow.coverage.")} == {"reconcile"}
    assert queue["cogrow.alerts.dispatch"] == "reconcile"  # inbox rows do not wait behind a hanging mail server
    assert {queue[n] for n in queue if n.startswith("cogrow.alerts.") and n != "cogrow.alerts.dispatch"} == {"notify"}
    assert queue["cogrow.imports.apply"] == "imports" and queue["cogrow.heartbeat"] == "default"
    assert set(queue.values()) <= set(QUEUES)


def test_the_procfile_serves_reconciliation_on_a_worker_that_runs_nothing_slow():
    """One worker node for reconcile (and the light default queue), another for notifications and imports."""
    served: dict[str, set[str]] = {}
    for line in (REPO_ROOT / "Procfile").read_text().splitlines():
        name, _sep, command = line.partition(":")
        words = shlex.split(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", command))
        if words[:1] == ["celery"] and "worker" in words:
            option = "--queues" if "--queues" in words else "-Q"
            assert option in words, f"{name} consumes every queue"
            served[name] = set(words[words.index(option) + 1].split(","))
    reconcile = [name for name, queues in served.items() if "reconcile" in queues]
    assert len(reconcile) == 1 and not served[reconcile[0]] & {"notify", "imports"}, served
    assert set().union(*served.values()) == set(QUEUES), served


def test_no_relay_or_reconcile_message_expires():
    from workers.schedule import beat_schedule

    schedule = beat_schedule({"OUTBOX_RELAY_SECONDS": 2, "COVERAGE_SWEEP_MINUTES": 15})
    for entry in schedule.values():
        if entry["task"].startswith("cogrow.coverage."):
            assert "expires" not in entry.get("options", {}), entry


def test_celerys_lines_about_the_idle_relay_move_to_debug_and_others_stay():
    def record(name, level, msg, args):
        return logging.LogRecord(name, level, __file__, 1, msg, args, None)

    quiet = QuietPeriodicFilter()
    received = record("celery.worker.strategy", logging.INFO, "Task %(name)s[%(id)s] received",
                      ({"name": "cogrow.coverage.relay", "id": "1"},))
    beat = record("celery.beat", logging.INFO, "Scheduler: Sending due task %s (%s)",
                  ("outbox-relay", "cogrow.coverage.relay"))
    reconcile = record("celery.app.trace", logging.INFO, "Task %(name)s[%(id)s] succeeded in %(runtime)ss",
                       ({"name": "cogrow.coverage.reconcile", "id": "2", "runtime": 0.1},))
    failure = record("celery.app.trace", logging.ERROR, "Task %(name)s[%(id)s] raised unexpected",
                     ({"name": "cogrow.coverage.relay", "id": "3"},))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    try:
        assert not quiet.filter(received) and not quiet.filter(beat)
        assert quiet.filter(reconcile) and quiet.filter(failure) and failure.levelno == logging.ERROR
        root.setLevel(logging.DEBUG)
        relay_line = record("celery.worker.strategy", logging.INFO, "Task %(name)s[%(id)s] received",
                            ({"name": "cogrow.coverage.relay", "id": "4"},))
        assert quiet.filter(relay_line) and relay_line.levelname == "DEBUG"
    finally:
        root.setLevel(level)
