"""A burst of 200 production reports across 20 relationships while SMTP hangs: every ledger is current within
10 s of the last write, with the worker processes the Procfile starts (reconcile and notify nodes) and a beat."""
from __future__ import annotations

import contextlib
import re
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.services import require_redis
from tests.workers.conftest import REPO_ROOT, wait_for
from tests.workers.faults_support import Stage, flush_redis, seed, stage, wait_ready

pytestmark = pytest.mark.worker

RELATIONSHIPS = 20
WRITES = 200
FRESH_WITHIN_SECONDS = 10
REDIS_BURST_URL = "redis://127.0.0.1:6379/12"
EXCESS_FG = Decimal("60")


@contextlib.contextmanager
def silent_smtp() -> Iterator[int]:
    """A port that accepts connections and never says a word: every send waits for MAIL_TIMEOUT_SECONDS and fails."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        yield listener.getsockname()[1]


def procfile_workers() -> list[list[str]]:
    """The Procfile's Celery worker commands, as argument lists for this interpreter (variables at their defaults)."""
    commands = []
    for line in (REPO_ROOT / "Procfile").read_text().splitlines():
        _name, _sep, command = line.partition(":")
        words = shlex.split(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", command))
        if words[:1] == ["celery"] and "worker" in words:
            commands.append([sys.executable, "-m", *words, "--without-heartbeat", "--without-mingle",
                             "--without-gossip"])
    return commands


def start_like_the_procfile(st: Stage) -> None:
    commands = procfile_workers()
    assert len(commands) >= 2, "the Procfile should start reconciliation and notification on separate workers"
    started = [(*st.processes._spawn(args, f"procfile-worker-{number}"), " ready.")
               for number, args in enumerate(commands)]
    started.append((*st.processes.beat(wait=False), "beat: Starting"))
    for process, log_path, marker in started:  # all start at once; a cold start of each costs seconds
        wait_ready(process, log_path, marker)


def more_relationships(st: Stage, count: int) -> list[tuple[int, int, object]]:
    """(relationship, item, supplier actor) for the seeded one and `count - 1` more suppliers of the same prime."""
    from cogrow.accounts.models import Organisation
    from cogrow.core.auth import Actor
    from cogrow.extensions import db
    from tests import factories as f

    out = [(st.ids["relationship"], st.ids["items"][0], st.ids["supplier_actor"])]
    with st.app.app_context():
        prime = db.session.get(Organisation, st.ids["prime"])
        for n in range(1, count):
            supplier = f.OrganisationFactory(kind="supplier", name=f"Burst Supplier {n:02d}")
            rel = f.RelationshipFactory(prime=prime, supplier=supplier)
            item = f.ItemFactory(supply_relationship=rel, prime_part_number=f"PN-BURST-{n:02d}",
                                 unit_price=Decimal("1500"))
            user = f.UserFactory(email=f"production.burst{n:02d}@example.com")
            f.MembershipFactory(user=user, organisation=supplier, role="production")
            db.session.flush()
            out.append((rel.id, item.id, Actor(organisation_id=supplier.id, org_kind="supplier", role="production",
                                               user_id=user.id)))
        db.session.commit()
        db.session.remove()
    return out


class Reports:
    """Production reports written through the production service, each in its own transaction, as the API does."""

    def __init__(self, st: Stage, targets: list[tuple[int, int, object]]) -> None:
        self.st, self.targets = st, targets
        self.moment = datetime.now(timezone.utc) - timedelta(minutes=30)
        self.final: dict[int, Decimal] = {}

    def write(self, count: int, fg_of_round) -> float:
        """`count` reports, round robin over the targets; returns the monotonic time of the last commit."""
        from cogrow.extensions import db
        from cogrow.production import services

        with self.st.app.app_context():
            for n in range(count):
                rel_id, item_id, actor = self.targets[n % len(self.targets)]
                fg = fg_of_round(n // len(self.targets))
                self.moment += timedelta(milliseconds=5)
                services.record_reports(actor, rel_id, [{
                    "item_id": item_id, "as_of": self.moment, "good_qty": fg, "scrap_qty": Decimal("0"),
                    "wip_qty": Decimal("0"), "fg_on_hand": fg, "raw_on_hand": None, "plan": [], "note": ""}])
                self.final[item_id] = fg
            db.session.remove()
        return time.monotonic()


def stale_items(st: Stage, final: dict[int, Decimal]) -> list[int]:
    """Items whose ledger does not show their last report yet, or that still have reconciliation pending."""
    ledgers = dict(st.query("SELECT item_id, fg_on_hand FROM coverage_ledger"))
    behind = [item for item, fg in final.items() if item not in ledgers or Decimal(str(ledgers[item])) != fg]
    pending = st.scalar("SELECT count(*) FROM outbox_event WHERE topic = 'reconcile' AND done_at IS NULL")
    return behind + (["pending"] if pending else [])


def run_burst(st: Stage, capsys, label: str) -> None:
    targets = more_relationships(st, RELATIONSHIPS)
    start_like_the_procfile(st)
    reports = Reports(st, targets)
    # First every item goes into excess: alerts are raised and their e-mails wait on the silent SMTP server.
    reports.write(len(targets), lambda _round: EXCESS_FG)
    assert wait_for(lambda: st.scalar("SELECT count(*) FROM email_delivery WHERE attempts > 0") > 0, 30), \
        "no alert e-mail was ever tried"
    # Then the burst: each item alternates between no stock and excess, ending on a value it never had.
    started = time.monotonic()
    last_write = reports.write(WRITES, lambda n: EXCESS_FG + n if n % 2 else Decimal("0"))
    final = reports.final
    written_in = last_write - started
    fresh = wait_for(lambda: not stale_items(st, final), FRESH_WITHIN_SECONDS + 20, interval=0.1)
    lag = time.monotonic() - last_write
    emails = st.scalar("SELECT count(*) FROM email_delivery")
    sent = st.scalar("SELECT count(*) FROM email_delivery WHERE status = 'sent'")
    notified = "SELECT count(*) FROM alert_event WHERE kind IN ('raised', 'escalated', 'resolved')"
    in_inbox = "SELECT count(DISTINCT event_id) FROM inbox_entry"
    wait_for(lambda: st.scalar(in_inbox) >= st.scalar(notified), FRESH_WITHIN_SECONDS)
    events, inbox = st.scalar(notified), st.scalar(in_inbox)
    with capsys.disabled():
        print(f"\n{label}: {WRITES} writes over {len(targets)} relationships in {written_in:.1f}s; every ledger "
              f"current {lag:.1f}s after the last write; alert events={events}, e-mail rows={emails} (sent={sent})")
    assert fresh, f"{label}: still behind {FRESH_WITHIN_SECONDS + 20}s after the last write: {stale_items(st, final)}"
    assert lag <= FRESH_WITHIN_SECONDS, f"{label}: ledgers current only {lag:.1f}s after the last write"
    assert events > 0 and sent == 0, "the burst should raise alerts whose e-mails cannot be sent"
    assert inbox >= events, "every alert event reaches the inbox, whatever the mail server does"
    for process, log_path in st.processes.started:
        log = log_path.read_text(errors="replace")
        assert process.poll() is None, log[-3000:]
        assert "Discarding revoked task" not in log
        # At INFO the relay speaks only when it published rows, in its own words; Celery's lines about it are DEBUG.
        assert "Task cogrow.coverage.relay[" not in log and "due task outbox-relay" not in log, log[-3000:]
    assert "relayed " in "".join(path.read_text(errors="replace") for _p, path in st.processes.started)


SMTP_SETTINGS = {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_TIMEOUT_SECONDS": "10",
                 "OUTBOX_RELAY_SECONDS": "2"}


def test_a_burst_with_hanging_smtp_keeps_every_ledger_current_on_the_embedded_broker(tmp_path, monkeypatch, capsys):
    with silent_smtp() as port, stage(tmp_path, monkeypatch, broker=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
                                      MAIL_PORT=str(port), **SMTP_SETTINGS) as st:
        monkeypatch.setenv("COGROW_RESULT_BACKEND", f"db+sqlite:///{tmp_path / 'results.sqlite'}")
        st.worker_env.env["COGROW_RESULT_BACKEND"] = f"db+sqlite:///{tmp_path / 'results.sqlite'}"
        seed(st)
        run_burst(st, capsys, "embedded sqla+sqlite")


@pytest.mark.redis
def test_a_burst_with_hanging_smtp_keeps_every_ledger_current_on_redis(tmp_path, monkeypatch, capsys):
    require_redis()
    flush_redis(REDIS_BURST_URL)
    try:
        with silent_smtp() as port, stage(tmp_path, monkeypatch, broker=REDIS_BURST_URL, MAIL_PORT=str(port),
                                          **SMTP_SETTINGS) as st:
            seed(st)
            run_burst(st, capsys, "redis")
    finally:
        flush_redis(REDIS_BURST_URL)
