"""What the end-to-end and fault tests share: a local SMTP server, a webhook receiver that verifies
Standard Webhooks signatures on its own, worker/beat/redis-server processes, and a seeded tenant."""
from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.workers.conftest import REPO_ROOT, WorkerEnv, wait_for

READY_TIMEOUT = 60
SIGNATURE_TOLERANCE_SECONDS = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- e-mail --------------------------------------------------------------------------------------------------

@dataclass
class Mail:
    message_id: str
    to: str
    subject: str
    body: str
    received: float


class Mailbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Mail] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        with self._lock:
            self.messages.append(Mail(str(message["Message-ID"]), str(message["To"]), str(message["Subject"]),
                                      body.get_content() if body is not None else "", time.monotonic()))
        return "250 OK"

    def snapshot(self) -> list[Mail]:
        with self._lock:
            return list(self.messages)


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a free local port."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


# --- webhooks ------------------------------------------------------------------------------------------------

def verify_signature(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    """Standard Webhooks, read from the spec rather than from our sender: HMAC-SHA256 over id.timestamp.body,
    key = base64 after the whsec_ prefix, any of the space-separated v1 signatures, timestamp within 5 minutes."""
    try:
        msg_id, stamp, signatures = headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]
        key = base64.b64decode(secret.removeprefix("whsec_"))
        if abs((now or time.time()) - int(stamp)) > SIGNATURE_TOLERANCE_SECONDS:
            return False
    except (KeyError, ValueError):
        return False
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    return any(version == "v1" and hmac.compare_digest(sig.encode(), expected)
               for version, _sep, sig in (part.partition(",") for part in signatures.split(" ")))


@dataclass
class Hook:
    webhook_id: str
    verified: bool
    payload: dict
    received: float


class WebhookReceiver:
    """A local HTTP receiver: records every POST and whether its signature verifies with the endpoint's secret."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.hooks: list[Hook] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = receiver.secret is not None and verify_signature(receiver.secret, headers, body)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                with receiver._lock:
                    receiver.hooks.append(Hook(headers.get("webhook-id", ""), verified, payload, time.monotonic()))
                self.send_response(204 if verified else 401)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cogrow-hook"

    def snapshot(self) -> list[Hook]:
        with self._lock:
            return list(self.hooks)


@contextlib.contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def duplicates(keys) -> int:
    """How many receipts beyond the first, over all keys."""
    return sum(n - 1 for n in Counter(keys).values() if n > 1)


# --- processes -----------------------------------------------------------------------------------------------

class Processes:
    """Celery workers and beats started by a test; each start gets its own log; all stopped at the end."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env
        self.started: list[tuple[subprocess.Popen, Path]] = []
        self.counter = 0

    def _spawn(self, args: list[str], name: str, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path]:
        self.counter += 1
        log_path = self.root / f"{name}-{self.counter:03d}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(args, cwd=REPO_ROOT, env={**os.environ, **self.env, **(extra_env or {})},
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append((process, log_path))
        return process, log_path

    def worker(self, pool: str = "solo", concurrency: int = 1, wait: bool = True,
               extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path]:
        args = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "--pool", pool,
                "--loglevel", "INFO", "--without-heartbeat", "--without-mingle", "--without-gossip",
                "--hostname", f"w{self.counter + 1}@%h"]
        if pool == "prefork":
            args += ["--concurrency", str(concurrency)]
        process, log_path = self._spawn(args, "worker", extra_env)
        if wait:
            wait_ready(process, log_path, " ready.")
        return process, log_path

    def beat(self, name: str = "beat", wait: bool = True) -> tuple[subprocess.Popen, Path]:
        self.counter += 1
        schedule = self.root / f"{name}-{self.counter}-schedule"
        args = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat", "--loglevel", "INFO",
                "--schedule", str(schedule), "--pidfile", str(self.root / f"{name}-{self.counter}.pid")]
        process, log_path = self._spawn(args, name)
        if wait:
            wait_ready(process, log_path, "beat: Starting")
        return process, log_path

    def stop_all(self) -> None:
        for process, _log in self.started:
            stop(process)


def wait_ready(process: subprocess.Popen, log_path: Path, marker: str, timeout: float = READY_TIMEOUT) -> None:
    def log() -> str:
        return log_path.read_text(errors="replace") if log_path.exists() else ""

    ready = wait_for(lambda: process.poll() is not None or marker in log(), timeout, interval=0.1)
    if process.poll() is not None:
        pytest.fail(f"{process.args[4:6]} exited with {process.returncode}:\n{log()[-5000:]}")
    if not ready:
        pytest.fail(f"{process.args[4:6]} not ready after {timeout}s:\n{log()[-5000:]}")


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def kill9(process: subprocess.Popen) -> None:
    """SIGKILL to the whole worker node (its session: main process and pool children), as a pulled plug would."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (the prefork pool's workers), from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


class RedisServer:
    """Our own redis-server (never the shared one): no persistence, so a restart comes back empty."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        from tests.services import port_open

        if port_open("127.0.0.1", self.port, timeout=0.2):
            pytest.fail(f"port {self.port} is already taken; another redis-server of a fault test is running")
        log = open(self.root / f"redis-{self.port}.log", "ab")  # noqa: SIM115 - the child keeps the descriptor
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not wait_for(lambda: port_open("127.0.0.1", self.port, timeout=0.2), 15, interval=0.05):
            pytest.fail(f"redis-server on {self.port} did not start")

    def kill(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()  # SIGKILL: no shutdown save, queued tasks gone
            self.process.wait(timeout=10)
            self.process = None

    def queued(self, queue: str | None = None) -> int:
        """Messages waiting in one queue, or in all of the app's queues (cogrow.celery.QUEUES) when None."""
        import redis

        from cogrow.celery import QUEUES

        client = redis.Redis.from_url(self.url)
        try:
            return sum(int(client.llen(name)) for name in ([queue] if queue else QUEUES))
        finally:
            client.close()


# --- the environment and its data ----------------------------------------------------------------------------

@dataclass
class Stage:
    """An isolated var/ directory, database file, broker, mail server and webhook receiver."""

    worker_env: WorkerEnv
    mailbox: Mailbox
    receiver: WebhookReceiver
    processes: Processes
    app: object = None
    ids: dict = field(default_factory=dict)

    @property
    def database(self) -> Path:
        return self.worker_env.database_path

    def query(self, sql: str, *params) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(self.database, timeout=30)) as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params):
        rows = self.query(sql, *params)
        return rows[0][0] if rows else None


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@contextlib.contextmanager
def stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broker: str, **settings: str) -> Iterator[Stage]:
    """Migrate a SQLite file, point the app (this process and its children) at it, the broker, SMTP and hooks."""
    with smtp_server() as (mailbox, mail_port), webhook_receiver() as receiver:
        extra = {
            "COGROW_MAIL_SERVER": "127.0.0.1", "COGROW_MAIL_PORT": str(mail_port), "COGROW_MAIL_ENABLED": "true",
            "COGROW_WEBHOOK_ALLOW_PRIVATE": "true", "COGROW_WEBHOOK_TIMEOUT_SECONDS": "5",
            "COGROW_PUBLIC_URL": "https://cogrow.example.com", "COGROW_OUTBOX_RELAY_SECONDS": "1",
            "COGROW_RATELIMIT_ENABLED": "false",
            **{f"COGROW_{k}": v for k, v in settings.items()},
        }
        for name, value in extra.items():
            monkeypatch.setenv(name, value)
        env = {"COGROW_VAR_DIR": str(tmp_path), "COGROW_DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
               "COGROW_BROKER_URL": broker, "COGROW_RESULT_BACKEND": broker, "COGROW_CELERY_EAGER": "false", **extra}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        worker_env = WorkerEnv(root=tmp_path, env=env, organisations=0)
        processes = Processes(tmp_path, env)
        result = Stage(worker_env, mailbox, receiver, processes, app=_migrated_app())
        try:
            yield result
        finally:
            processes.stop_all()
            if result.app is not None:
                close_app(result.app)


def _migrated_app():
    """The app of this process on the stage's database, migrated in-process (no subprocess to pay for)."""
    from flask_migrate import upgrade

    from cogrow import create_app
    from cogrow.extensions import db

    app = create_app()
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


def close_app(app) -> None:
    from cogrow.extensions import db

    celery_app = app.extensions["celery"]
    with contextlib.suppress(Exception):
        celery_app.close()
    with app.app_context():
        db.engine.dispose()


def seed(st: Stage, items: int = 1, price: Decimal = Decimal("1500")) -> dict:
    """A prime and a supplier with a user and token per role, `items` items, the prime's webhook endpoint, and
    every recipient on one e-mail per alert event."""
    from cogrow import create_app
    from cogrow.accounts.models import User
    from cogrow.alerts import preferences, webhooks
    from cogrow.core.auth import Actor
    from cogrow.extensions import db
    from tests import factories as f
    from tests.conftest import actor_of, build_tenant

    st.app = st.app or create_app()
    with st.app.app_context():
        tenant = build_tenant("E2E")
        extra = [f.ItemFactory(supply_relationship=tenant.relationship, prime_part_number=f"PN-E2E-{n:03d}",
                               unit_price=price) for n in range(1, items)]
        tenant.item.unit_price = price
        db.session.commit()
        admin = actor_of(tenant.users["prime:admin"], tenant.prime)
        _endpoint, secret = webhooks.create_endpoint(admin, st.receiver.url, "fault tests")
        st.receiver.secret = secret
        for key, user in tenant.users.items():
            org = tenant.prime if key.startswith("prime:") else tenant.supplier
            preferences.set_email_mode(actor_of(user, org), "each")
        procurement = tenant.users["prime:procurement"]
        ids = {
            "relationship": tenant.relationship.id, "items": [tenant.item.id, *[i.id for i in extra]],
            "prime": tenant.prime.id, "supplier": tenant.supplier.id, "tokens": dict(tenant.tokens),
            "procurement_email": procurement.email,
            "users": {key: user.id for key, user in tenant.users.items()},
            "emails": {user.id: user.email for user in db.session.query(User).all()},
            "supplier_actor": Actor(organisation_id=tenant.supplier.id, org_kind="supplier", role="production",
                                    user_id=tenant.users["supplier:production"].id),
            "planner_actor": Actor(organisation_id=tenant.prime.id, org_kind="prime", role="planner",
                                   user_id=tenant.users["prime:planner"].id),
        }
        db.session.remove()
        db.engine.dispose()
    st.ids = ids
    return ids


# --- what was expected and what arrived ----------------------------------------------------------------------

@dataclass
class Tally:
    """Notifications expected (from the database's events and recipients) against what the servers received."""

    events: int = 0
    inbox_expected: int = 0
    inbox_found: int = 0
    inbox_duplicates: int = 0
    emails_expected: int = 0
    emails_found: int = 0
    emails_resent: int = 0
    emails_duplicated: int = 0
    hooks_expected: int = 0
    hooks_found: int = 0
    hooks_resent: int = 0
    hooks_unverified: int = 0
    pending_outbox: int = 0
    undelivered_rows: int = 0

    @property
    def lost(self) -> int:
        return ((self.inbox_expected - self.inbox_found) + (self.emails_expected - self.emails_found)
                + (self.hooks_expected - self.hooks_found))

    @property
    def duplicated(self) -> int:
        return self.inbox_duplicates + self.emails_duplicated

    def line(self) -> str:
        return (f"events={self.events} inbox expected/found/dup={self.inbox_expected}/{self.inbox_found}/"
                f"{self.inbox_duplicates} e-mails expected/found/dup={self.emails_expected}/{self.emails_found}/"
                f"{self.emails_duplicated} (re-sent same Message-ID={self.emails_resent}) webhooks expected/found="
                f"{self.hooks_expected}/{self.hooks_found} (re-sent same webhook-id={self.hooks_resent}, "
                f"unverified={self.hooks_unverified}) outbox pending={self.pending_outbox} "
                f"deliveries not sent={self.undelivered_rows}")


NOTIFIED = ("raised", "escalated", "resolved")


def tally(st: Stage) -> Tally:
    """Count, per notified event: one inbox row per recipient, one e-mail per (event, user), one webhook per
    (event, endpoint). An e-mail's identity is its Message-ID (one per delivery row); a webhook's is webhook-id."""
    t = Tally()
    marks = ",".join(f"'{k}'" for k in NOTIFIED)
    events = st.query(f"SELECT id, uuid FROM alert_event WHERE kind IN ({marks})")
    t.events = len(events)
    recipients = st.scalar(
        "SELECT count(DISTINCT m.user_id) FROM membership m JOIN user_account u ON u.id = m.user_id "
        "WHERE u.active AND ((m.organisation_id = ? AND m.role IN ('admin', 'procurement')) OR "
        "(m.organisation_id = ? AND m.role IN ('admin', 'production')))", st.ids["prime"], st.ids["supplier"])
    endpoints = st.scalar("SELECT count(*) FROM webhook_endpoint WHERE active")
    t.inbox_expected = t.events * recipients
    t.emails_expected = t.events * recipients
    t.hooks_expected = t.events * endpoints
    inbox = st.query(f"SELECT i.user_id, i.event_id FROM inbox_entry i JOIN alert_event e ON e.id = i.event_id "
                     f"WHERE e.kind IN ({marks})")
    t.inbox_found = len(set(inbox))
    t.inbox_duplicates = duplicates(inbox)
    # Which (event, user) each Message-ID stands for.
    deliveries = {row[0]: (row[1], row[2]) for row in st.query(
        "SELECT id, event_id, user_id FROM email_delivery WHERE event_id IS NOT NULL")}
    mails = st.mailbox.snapshot()
    ids = [m.message_id for m in mails]
    delivery_of = {}
    for mid in ids:
        with contextlib.suppress(ValueError):
            delivery_of[mid] = int(mid.strip("<>").split("@")[0].removeprefix("delivery-"))
    pairs = {deliveries.get(delivery_of.get(mid)) for mid in set(ids)} - {None}
    t.emails_found = len(pairs)
    t.emails_resent = duplicates(ids)
    # Two different Message-IDs for one (event, user) would be a duplicate no mail system can drop.
    t.emails_duplicated = len(set(ids)) - len(pairs)
    uuids = {row[1] for row in events}
    hooks = st.receiver.snapshot()
    verified = [h.webhook_id for h in hooks if h.verified]
    t.hooks_unverified = len(hooks) - len(verified)
    t.hooks_found = len(set(verified) & uuids)
    t.hooks_resent = duplicates(verified)
    # Once outbox rows record when their work was done (done_at), "pending" means not done, not just unsent.
    columns = {row[1] for row in st.query("PRAGMA table_info(outbox_event)")}
    t.pending_outbox = st.scalar("SELECT count(*) FROM outbox_event WHERE "
                                 + ("done_at IS NULL" if "done_at" in columns else "published_at IS NULL"))
    t.undelivered_rows = (st.scalar("SELECT count(*) FROM email_delivery WHERE status NOT IN ('sent')")
                          + st.scalar("SELECT count(*) FROM webhook_delivery WHERE status NOT IN ('delivered')"))
    return t


def settled(st: Stage) -> Callable[[], bool]:
    """True once the outbox is drained, every delivery row is sent and the servers hold everything expected."""
    def check() -> bool:
        t = tally(st)
        return (t.pending_outbox == 0 and t.undelivered_rows == 0 and t.lost == 0 and t.inbox_expected > 0)
    return check
