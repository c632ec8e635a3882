"""Faults: kill -9 of the worker in the middle of reconciliation and notification, a Redis that restarts empty,
and two beats. Each test counts the alerts and notifications lost and duplicated; both must be 0."""
from __future__ import annotations

import os
import random
import re
import signal
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.services import require_redis
from tests.workers.conftest import wait_for
from tests.workers.faults_support import (
    RedisServer, Stage, children, flush_redis, kill9, seed, settled, stage, tally,
)

pytestmark = [pytest.mark.worker, pytest.mark.redis]

REDIS_FAULTS_URL = "redis://127.0.0.1:6379/13"
OWN_REDIS_PORT = 6391
KILLS = 24
NODE_KILL_EVERY = 4
ITEMS = 8
VISIBILITY_SECONDS = 2  # how long Redis keeps a dead worker's unacknowledged task before handing it out again
DRAIN_TIMEOUT = 150
EXCESS_FG = Decimal("60")

_TASK_LINE = re.compile(r"(Task |Discarding revoked task: )(cogrow\.[\w.]+)\[([0-9a-f-]+)\]( received)?")


class Reporter:
    """Writes production reports as the supplier's service would (report + position + outbox row, one commit)."""

    def __init__(self, st: Stage) -> None:
        self.st = st
        self.state: dict[int, bool] = {item: False for item in st.ids["items"]}
        self.last = datetime.now(timezone.utc) - timedelta(hours=1)

    def _moment(self) -> datetime:
        self.last = max(self.last + timedelta(milliseconds=1), datetime.now(timezone.utc) - timedelta(seconds=1))
        return self.last

    def report(self, items: list[int], excess: bool) -> None:
        from cogrow.extensions import db
        from cogrow.production import services

        with self.st.app.app_context():
            for item_id in items:
                fg = EXCESS_FG if excess else Decimal("0")
                services.record_reports(self.st.ids["supplier_actor"], self.st.ids["relationship"], [{
                    "item_id": item_id, "as_of": self._moment(), "good_qty": fg, "scrap_qty": Decimal("0"),
                    "wip_qty": Decimal("0"), "fg_on_hand": fg, "raw_on_hand": None, "plan": [], "note": ""}])
                self.state[item_id] = excess
            db.session.remove()

    def toggle(self, items: list[int]) -> None:
        for item_id in items:
            self.report([item_id], not self.state[item_id])


def _in_flight(log: str) -> str:
    """The task the worker was running when it died (received and not finished), or 'idle'."""
    open_tasks: dict[str, str] = {}
    for prefix, name, task_id, received in _TASK_LINE.findall(log):
        if received and prefix == "Task ":
            open_tasks[task_id] = name
        else:
            open_tasks.pop(task_id, None)
    return ",".join(sorted(set(open_tasks.values()))) or "idle"


def _check_alerts(st: Stage, expected_open: set[int]) -> dict[str, int]:
    """Every item in excess has exactly one live excess alert, no other item has one; every alert was raised once
    and, when resolved, resolved once."""
    live = st.query("SELECT item_id, count(*) FROM alert WHERE type = 'excess_inventory' AND status <> 'resolved' "
                    "GROUP BY item_id")
    kinds = st.query("SELECT a.id, a.status, e.kind, count(*) FROM alert a JOIN alert_event e ON e.alert_id = a.id "
                     "WHERE e.kind IN ('raised', 'resolved') GROUP BY a.id, a.status, e.kind")
    per_alert: dict[int, dict[str, int]] = {}
    status: dict[int, str] = {}
    for alert_id, alert_status, kind, n in kinds:
        per_alert.setdefault(alert_id, {})[kind] = n
        status[alert_id] = alert_status
    all_alerts = st.scalar("SELECT count(*) FROM alert WHERE type = 'excess_inventory'")
    found_open = {item for item, _n in live}
    bad_events = sum(1 for alert_id, counts in per_alert.items()
                     if counts.get("raised") != 1 or counts.get("resolved", 0) != (status[alert_id] == "resolved"))
    return {
        "expected_open": len(expected_open), "found_open": len(found_open & expected_open),
        "lost": len(expected_open - found_open), "unexpected_open": len(found_open - expected_open),
        "duplicated": sum(n - 1 for _item, n in live if n > 1) + bad_events,
        "alerts_total": all_alerts or 0,
    }


def test_kill_9_of_the_worker_mid_task_loses_and_duplicates_no_alert_or_notification(tmp_path, monkeypatch, capsys):
    require_redis()
    flush_redis(REDIS_FAULTS_URL)
    rng = random.Random(20260305)
    try:
        # A task that a killed node held and the broker does not hand out again in time is published again from
        # the outbox once its lease runs out: the designed recovery (reliability.md), not a test shortcut.
        with stage(tmp_path, monkeypatch, broker=REDIS_FAULTS_URL,
                   CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS), OUTBOX_LEASE_SECONDS="10") as st:
            seed(st, items=ITEMS)
            reporter = Reporter(st)
            items = st.ids["items"]
            beat, _beat_log = st.processes.beat(wait=False)  # the relay, every second, run by the worker
            worker, log_path = st.processes.worker(pool="prefork", concurrency=1)
            kills: list[str] = []
            for round_no in range(KILLS):
                offset = len(log_path.read_text(errors="replace"))
                reporter.toggle(rng.sample(items, rng.randint(2, 4)))
                # Aim at reconciliation on even rounds and at the notifications it causes on odd ones.
                target = "Task cogrow.coverage.reconcile" if round_no % 2 == 0 else "Task cogrow.alerts."
                wait_for(lambda: target in log_path.read_text(errors="replace")[offset:], 10, interval=0.02)
                time.sleep(rng.uniform(0.0, 0.2))
                if round_no % NODE_KILL_EVERY == NODE_KILL_EVERY - 1:
                    # The whole node: its task stays unacknowledged in Redis until the visibility timeout.
                    kill9(worker)
                    kills.append("node:" + _in_flight(log_path.read_text(errors="replace")[offset:]))
                    worker, log_path = st.processes.worker(pool="prefork", concurrency=1)
                else:
                    # The pool process running the task: the main process requeues it (reject_on_worker_lost).
                    pids = children(worker.pid)
                    for pid in pids:
                        os.kill(pid, signal.SIGKILL)
                    kills.append("child:" + _in_flight(log_path.read_text(errors="replace")[offset:]))
                    wait_for(lambda: children(worker.pid) and not set(children(worker.pid)) & set(pids), 15)
            # Redis hands a dead node's task out again once it is older than the visibility timeout, when a worker
            # starts (and about every 100 s after): let the last one age, then start a fresh node.
            time.sleep(VISIBILITY_SECONDS + 0.5)
            kill9(worker)
            st.processes.worker(pool="prefork", concurrency=1)
            drained = wait_for(settled(st), DRAIN_TIMEOUT, interval=0.5)
            t = tally(st)
            alerts = _check_alerts(st, {item for item, excess in reporter.state.items() if excess})
            hit: dict[str, int] = {}
            for what in kills:
                hit[what] = hit.get(what, 0) + 1
            hit = dict(sorted(hit.items()))
            with capsys.disabled():
                print(f"\nkill -9 faults: kills done={len(kills)} in flight at the kill: {hit}")
                print(f"kill -9 faults: alerts expected open/found={alerts['expected_open']}/{alerts['found_open']} "
                      f"lost={alerts['lost']} unexpected={alerts['unexpected_open']} duplicated={alerts['duplicated']} "
                      f"(alerts over the run: {alerts['alerts_total']})")
                print(f"kill -9 faults: notifications {t.line()}; lost={t.lost} duplicated={t.duplicated}")
            assert len(kills) >= 20
            assert drained, f"not drained after {DRAIN_TIMEOUT}s: {t.line()}"
            assert (alerts["lost"], alerts["unexpected_open"], alerts["duplicated"]) == (0, 0, 0), alerts
            assert (t.lost, t.duplicated, t.pending_outbox, t.hooks_unverified) == (0, 0, 0, 0), t.line()
            # A kill between the SMTP server's (or receiver's) 250/2xx and our commit re-sends that one message
            # with the same Message-ID / webhook-id, which receivers drop; it can happen at most once per kill.
            assert t.emails_resent + t.hooks_resent <= len(kills), t.line()
    finally:
        flush_redis(REDIS_FAULTS_URL)


# --- Redis restarts -----------------------------------------------------------------------------------------

RESTART_ITEMS = 6
RESTART_TIMEOUT = 60
REQUEUED_TIMEOUT = 30


def _own_redis(tmp_path) -> RedisServer:
    server = RedisServer(tmp_path, OWN_REDIS_PORT)
    server.start()
    return server


def _expect_everything(st: Stage, reporter: Reporter, timeout: float, label: str) -> tuple[dict, object]:
    drained = wait_for(lambda: settled(st)() and _check_alerts(
        st, {i for i, e in reporter.state.items() if e})["lost"] == 0, timeout, interval=0.5)
    t = tally(st)
    alerts = _check_alerts(st, {item for item, excess in reporter.state.items() if excess})
    print(f"\n{label}: alerts expected/found={alerts['expected_open']}/{alerts['found_open']} lost={alerts['lost']} "
          f"duplicated={alerts['duplicated']}; notifications {t.line()}; lost={t.lost} duplicated={t.duplicated}")
    return {"drained": bool(drained), **alerts}, t


def test_a_redis_restarted_empty_while_changes_wait_in_the_outbox_loses_nothing(tmp_path, monkeypatch, capsys):
    """Redis dies before the relay could publish: the rows stay pending and go out once it is back."""
    redis_server = _own_redis(tmp_path)
    try:
        with stage(tmp_path, monkeypatch, broker=redis_server.url) as st:
            seed(st, items=RESTART_ITEMS)
            reporter = Reporter(st)
            st.processes.beat(wait=False)
            st.processes.worker()
            redis_server.kill()
            reporter.report(st.ids["items"], excess=True)
            pending = st.scalar("SELECT count(*) FROM outbox_event WHERE published_at IS NULL")
            time.sleep(2)  # the beat and the worker find Redis gone
            redis_server.start()
            with capsys.disabled():
                result, t = _expect_everything(st, reporter, RESTART_TIMEOUT, "redis down before publishing")
                print(f"redis down before publishing: outbox rows pending while Redis was down={pending}")
            assert pending >= RESTART_ITEMS
            assert result["drained"] and (result["lost"], result["duplicated"]) == (0, 0), (result, t.line())
            assert (t.lost, t.duplicated, t.pending_outbox) == (0, 0, 0), t.line()
    finally:
        redis_server.kill()


def test_tasks_queued_in_redis_when_it_restarts_empty_are_republished_from_the_outbox(tmp_path, monkeypatch, capsys):
    """Tasks already handed to Redis (reconciles and notification fan-outs) are lost with it; the outbox must
    publish them again."""
    from cogrow.coverage import services as coverage
    from cogrow.extensions import db

    redis_server = _own_redis(tmp_path)
    try:
        # OUTBOX_LEASE_SECONDS: how long a published row may stay not done before the relay publishes it again.
        with stage(tmp_path, monkeypatch, broker=redis_server.url, OUTBOX_LEASE_SECONDS="3") as st:
            seed(st, items=2 * RESTART_ITEMS)
            reporter = Reporter(st)
            to_reconcile, to_notify = st.ids["items"][:RESTART_ITEMS], st.ids["items"][RESTART_ITEMS:]
            with st.app.app_context():
                for item_id in to_reconcile:  # a reconcile task per change, queued: no worker runs yet
                    reporter.report([item_id], excess=True)
                    coverage.relay_pending(topics=("reconcile",))
                for item_id in to_notify:  # reconciled here, as a worker would; their fan-outs are queued
                    reporter.report([item_id], excess=True)
                coverage.reconcile(st.ids["relationship"], to_notify)
                coverage.relay_pending()
                db.session.remove()
            queued = redis_server.queued()
            redis_server.kill()
            redis_server.start()
            st.processes.beat(wait=False)
            st.processes.worker()
            with capsys.disabled():
                print(f"\nredis restarted empty: tasks queued in Redis when it died={queued}")
                result, t = _expect_everything(st, reporter, REQUEUED_TIMEOUT, "redis restarted empty")
            assert queued >= RESTART_ITEMS + 1
            assert result["drained"] and (result["lost"], result["duplicated"]) == (0, 0), (result, t.line())
            assert (t.lost, t.duplicated, t.pending_outbox) == (0, 0, 0), t.line()
    finally:
        redis_server.kill()


# --- two beats ----------------------------------------------------------------------------------------------

SWEEP_TIMEOUT = 150


def test_two_beats_run_the_sweep_once_per_period(tmp_path, monkeypatch, capsys):
    require_redis()
    flush_redis(REDIS_FAULTS_URL)
    try:
        with stage(tmp_path, monkeypatch, broker=REDIS_FAULTS_URL, COVERAGE_SWEEP_MINUTES="1") as st:
            seed(st, items=2)
            beats = [st.processes.beat(wait=False), st.processes.beat(wait=False)]
            worker, log_path = st.processes.worker()

            def sends() -> list[int]:
                return [path.read_text(errors="replace").count("Sending due task coverage-sweep") for _p, path in beats]

            def handled() -> int:
                log = log_path.read_text(errors="replace")
                return log.count("swept ") + log.count("already taken")

            done = wait_for(lambda: min(sends()) >= 1 and handled() >= sum(sends()), SWEEP_TIMEOUT, interval=0.5)
            log = log_path.read_text(errors="replace")
            runs, skipped = log.count("swept "), log.count("already taken")
            periods = st.query("SELECT period_start, finished_at FROM periodic_run WHERE job = 'coverage.sweep'")
            with capsys.disabled():
                print(f"\ntwo beats: sweep sends per beat={sends()} sweeps run={runs} skipped by the lock={skipped} "
                      f"periods={len(periods)}")
            assert done, f"the sweeps were not all handled after {SWEEP_TIMEOUT}s: sends={sends()}\n{log[-3000:]}"
            assert runs == len(periods) and all(finished for _start, finished in periods), (runs, periods)
            assert runs + skipped == sum(sends()) and skipped >= sum(sends()) - len(periods)
            assert worker.poll() is None
    finally:
        flush_redis(REDIS_FAULTS_URL)
