"""End-to-end latency: production report POST → excess alert visible through GET /api/v1/alerts.

    .venv/bin/python bench/reconcile_latency.py [--posts 200] [--relay-seconds 2] [--kick|--no-kick]
                                                [--database sqlite|postgresql]

Everything is real: gunicorn on 127.0.0.1 (2 workers), a Celery worker and a beat on the shared Redis (db 12,
flushed), a temporary SQLite file (or the PostgreSQL database `cogrow_bench_latency`, dropped and created). Each
POST targets a fresh item with no guaranteed demand, so its report raises one excess alert; the bench polls the
alert list (newest first) every 10 ms until that item's alert shows, and prints p50/p95 of POST → visible.

The floor is what the path cannot avoid: one in-process write of the same report plus one direct reconcile (with
its alert sync), plus one round trip of a trivial task (cogrow.smoke) through Redis and the worker.

`--kick` (the default) runs gunicorn with a config hook that publishes `cogrow.coverage.relay` right after any
commit that wrote an outbox row, while the beat stays the safety net; `--no-kick` shows the beat alone. The
hook is the prototype of the change proposed for the app itself (see post_worker_init below).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

REDIS_URL = os.environ.get("COGROW_BENCH_LATENCY_REDIS", "redis://127.0.0.1:6379/12")
PG_ADMIN_URL = os.environ.get("COGROW_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "cogrow_bench_latency"
FLOOR_SAMPLES = 50
POLL_SECONDS = 0.01
VISIBLE_TIMEOUT = 30


# --- gunicorn config hook (loaded with `-c python:bench.reconcile_latency` when kicking) ------------------------

def post_worker_init(worker) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """In each web worker: after a commit that wrote an outbox row, publish the relay at once."""
    if os.environ.get("COGROW_BENCH_KICK") != "1":
        return
    install_relay_kick()


def install_relay_kick() -> None:
    """The faster path: the commit that writes outbox rows asks for a relay now instead of at the next beat."""
    from flask import current_app, has_app_context
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from cogrow.core.models import OutboxEvent

    @event.listens_for(Session, "after_flush")
    def _note_outbox(session, _context):
        if any(isinstance(obj, OutboxEvent) for obj in session.new):
            session.info["cogrow_outbox_written"] = True

    @event.listens_for(Session, "after_commit")
    def _kick(session):
        if not session.info.pop("cogrow_outbox_written", False) or not has_app_context():
            return
        with contextlib.suppress(Exception):  # the beat's relay is the safety net
            current_app.extensions["celery"].send_task("cogrow.coverage.relay", expires=10)

    @event.listens_for(Session, "after_rollback")
    def _forget(session):
        session.info.pop("cogrow_outbox_written", None)


# --- the bench ------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'latency.sqlite'}"
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def _seed(app, items: int) -> dict:
    """One active relationship with `items` items, a user and a token per side; nobody gets e-mail and there
    are no webhook endpoints, so the worker does only the work that makes an alert visible."""
    from cogrow.accounts import services as accounts
    from cogrow.accounts.models import Membership
    from cogrow.alerts.models import NotificationPreference
    from cogrow.catalog.models import Item
    from cogrow.core.auth import Actor
    from cogrow.extensions import db
    from cogrow.relationships.models import SupplyRelationship

    with app.app_context():
        prime = accounts.create_organisation("Latency Prime", "prime")
        supplier = accounts.create_organisation("Latency Supplier", "supplier")
        db.session.flush()
        rel = SupplyRelationship(prime_id=prime.id, supplier_id=supplier.id, status="active")
        db.session.add(rel)
        db.session.flush()
        for n in range(items):
            db.session.add(Item(relationship_id=rel.id, prime_part_number=f"LAT-{n:05d}",
                                supplier_part_number=f"SLAT-{n:05d}", unit_price=Decimal("1500")))
        users = {}
        for org, role in ((prime, "procurement"), (supplier, "production")):
            user = accounts.create_user(f"{role}@latency.example.com", role.title(), "latency-bench-password-0123")
            db.session.flush()
            db.session.add(Membership(user_id=user.id, organisation_id=org.id, role=role))
            db.session.add(NotificationPreference(user_id=user.id, email_mode="off"))
            users[role] = Actor(organisation_id=org.id, org_kind=org.kind, role=role, user_id=user.id)
        db.session.commit()
        tokens = {role: accounts.create_api_token(actor, "latency bench", role)[1] for role, actor in users.items()}
        item_ids = [i for (i,) in db.session.query(Item.id).filter(Item.relationship_id == rel.id).order_by(Item.id)]
        out = {"relationship": rel.id, "items": item_ids, "tokens": tokens, "supplier_actor": users["production"]}
        db.session.remove()
        db.engine.dispose()
    return out


def _wait_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def _wait_log(path: Path, marker: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:6]} exited:\n{path.read_text(errors='replace')[-3000:]}")
        if path.exists() and marker in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{marker!r} not in {path} after {timeout}s")


def _report_body(item_id: int) -> dict:
    return {"item_id": item_id, "as_of": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "good_qty": "10", "scrap_qty": "0", "wip_qty": "0", "fg_on_hand": "10"}


def _floor_in_process(app, seeded: dict, item_ids: list[int]) -> list[float]:
    """The same report written in-process, then one direct reconcile of its item (ledger + alert sync)."""
    from cogrow.coverage import services as coverage
    from cogrow.extensions import db
    from cogrow.production import schemas
    from cogrow.production import services as production

    samples = []
    with app.app_context():
        for item_id in item_ids:
            start = time.perf_counter()
            values = schemas.parse_report(_report_body(item_id))
            production.record_report(seeded["supplier_actor"], seeded["relationship"], values)
            coverage.reconcile(seeded["relationship"], [item_id])
            samples.append(time.perf_counter() - start)
        db.session.remove()
    return samples


def _floor_round_trip(app, samples: int) -> list[float]:
    """A trivial task (cogrow.smoke) sent through Redis, run by the worker, its result read back."""
    celery_app = app.extensions["celery"]
    out = []
    for n in range(samples):
        start = time.perf_counter()
        result = celery_app.send_task("cogrow.smoke", args=[f"latency-{n}"])
        result.get(timeout=30)
        out.append(time.perf_counter() - start)
        result.forget()
    return out


def measure(posts: int = 200, relay_seconds: int = 2, kick: bool = True, database: str = "sqlite",
            workdir: Path | None = None, verbose: bool = True) -> dict:
    """Run the whole measurement; returns seconds: p50, p95, floor parts and ratios."""
    import httpx
    import redis

    workdir = workdir or Path(tempfile.mkdtemp(prefix="cogrow-latency-"))
    url = _database_url(database, workdir)
    env = {
        "COGROW_VAR_DIR": str(workdir), "COGROW_DATABASE_URL": url, "COGROW_BROKER_URL": REDIS_URL,
        "COGROW_RESULT_BACKEND": REDIS_URL, "COGROW_CELERY_EAGER": "false", "COGROW_RATELIMIT_ENABLED": "false",
        "COGROW_OUTBOX_RELAY_SECONDS": str(relay_seconds), "COGROW_MAIL_ENABLED": "false",
        "COGROW_BENCH_KICK": "1" if kick else "0", "COGROW_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    client_redis = redis.Redis.from_url(REDIS_URL)
    client_redis.flushdb()

    from flask_migrate import upgrade

    from cogrow import create_app

    app = create_app()
    with app.app_context():
        upgrade()
    seeded = _seed(app, posts + FLOOR_SAMPLES)
    post_items, floor_items = seeded["items"][:posts], seeded["items"][posts:]

    child_env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)])}
    port = _free_port()
    procs: list[subprocess.Popen] = []
    logs = {name: workdir / f"{name}.log" for name in ("web", "worker", "beat")}

    def spawn(name: str, args: list[str]) -> subprocess.Popen:
        with open(logs[name], "wb") as log:
            process = subprocess.Popen(args, cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        procs.append(process)
        return process

    bin_dir = Path(sys.executable).parent
    gunicorn = [str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"]
    if kick:
        gunicorn += ["-c", "python:bench.reconcile_latency"]
    try:
        web = spawn("web", [*gunicorn, "cogrow:create_app()"])
        worker = spawn("worker", [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "--pool",
                                  "prefork", "--concurrency", "2", "--loglevel", "INFO", "--without-heartbeat",
                                  "--without-mingle", "--without-gossip"])
        beat = spawn("beat", [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat", "--loglevel", "INFO",
                              "--schedule", str(workdir / "beat-schedule"), "--pidfile", str(workdir / "beat.pid")])
        _wait_port(port, web)
        _wait_log(logs["worker"], " ready.", worker)
        _wait_log(logs["beat"], "beat: Starting", beat)

        rel = seeded["relationship"]
        supplier = {"Authorization": f"Bearer {seeded['tokens']['production']}"}
        prime = {"Authorization": f"Bearer {seeded['tokens']['procurement']}"}
        latencies: list[float] = []
        post_times: list[float] = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False) as http:
            for n, item_id in enumerate(post_items):
                start = time.perf_counter()
                response = http.post(f"/api/v1/relationships/{rel}/production-reports", json=_report_body(item_id),
                                     headers={**supplier, "Idempotency-Key": str(uuid.uuid4())})
                if response.status_code != 201:
                    raise RuntimeError(f"POST answered {response.status_code}: {response.text[:500]}")
                post_times.append(time.perf_counter() - start)
                deadline = start + VISIBLE_TIMEOUT
                while True:
                    listing = http.get("/api/v1/alerts", params={"type": "excess_inventory", "sort": "updated",
                                                                 "limit": 10}, headers=prime)
                    if any(a["item_id"] == item_id for a in listing.json()["data"]):
                        latencies.append(time.perf_counter() - start)
                        break
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"post {n}: no alert for item {item_id} after {VISIBLE_TIMEOUT}s")
                    time.sleep(POLL_SECONDS)
        in_process = _floor_in_process(app, seeded, floor_items)
        round_trip = _floor_round_trip(app, FLOOR_SAMPLES)
    finally:
        for process in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in procs:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        with contextlib.suppress(Exception):
            app.extensions["celery"].close()
        client_redis.flushdb()
        client_redis.close()

    floor = statistics.median(in_process) + statistics.median(round_trip)
    result = {
        "posts": len(latencies), "p50": _pct(latencies, 0.50), "p95": _pct(latencies, 0.95),
        "max": max(latencies), "post_p50": _pct(post_times, 0.50),
        "floor_in_process_p50": statistics.median(in_process), "floor_round_trip_p50": statistics.median(round_trip),
        "floor": floor, "relay_seconds": relay_seconds, "kick": kick, "database": database,
    }
    result["ratio_p50"] = result["p50"] / floor
    result["ratio_p95"] = result["p95"] / floor
    if verbose:
        report(result)
    return result


def report(r: dict) -> None:
    ms = 1000
    path = "relay kicked after the web commit + beat" if r["kick"] else "beat relay only"
    print(f"end-to-end latency ({r['database']}, {r['posts']} posts, {path}, beat relay every {r['relay_seconds']} s)")
    print(f"  POST -> alert visible      : p50 {r['p50'] * ms:7.0f} ms   p95 {r['p95'] * ms:7.0f} ms   "
          f"max {r['max'] * ms:7.0f} ms   (goal p95 < 1000 ms: {'yes' if r['p95'] < 1 else 'NO'})")
    print(f"  the POST alone             : p50 {r['post_p50'] * ms:7.0f} ms")
    print(f"  floor                      : {r['floor'] * ms:7.1f} ms = write + direct reconcile "
          f"{r['floor_in_process_p50'] * ms:.1f} ms + Redis/worker round trip {r['floor_round_trip_p50'] * ms:.1f} ms")
    print(f"  ratio to the floor         : p50 {r['ratio_p50']:.2f}x   p95 {r['ratio_p95']:.2f}x")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--relay-seconds", type=int, default=2, help="the beat's relay period (OUTBOX_RELAY_SECONDS)")
    parser.add_argument("--kick", action=argparse.BooleanOptionalAction, default=True,
                        help="publish the relay right after the web commit (the proposed fast path)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)
    workdir = Path(args.workdir) if args.workdir else None
    return measure(args.posts, args.relay_seconds, args.kick, args.database, workdir)


if __name__ == "__main__":
    main()
