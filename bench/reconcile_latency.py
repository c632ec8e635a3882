"""End-to-end latency: production report POST -> excess alert visible through GET /api/v1/alerts.

    .venv/bin/python bench/reconcile_latency.py [--posts 200] [--deployment embedded|postgresql|both] [--gap 0]

It measures the product as shipped: the Procfile's web, worker, notify and beat run under `python -m
cogrow.launcher` (what `make run` starts), with nothing added to their code. Two deployments:

- `embedded` (the default of `make run`): a temporary SQLite database, the SQLite-backed kombu broker
  (`sqla+sqlite:///.../broker.sqlite`) and the `db+sqlite` result backend, as Config gives them;
- `postgresql`: the PostgreSQL database `cogrow_bench_latency` (dropped and created) and Redis (db 12, flushed) as
  broker and result backend.

Each POST targets a fresh item with no guaranteed demand, so its report raises one excess alert; the bench polls the
alert list (newest first) every 10 ms until that item's alert shows, and prints p50/p95 of POST -> visible.
The POSTs follow each other at once; `--gap 1.5` waits that long before each, so that the embedded worker is back
at its idle polling interval (celery.EMBEDDED_POLL_SECONDS) when the report comes, as for a lone report.

The floor is what the path cannot avoid: one in-process write of the same report plus one direct reconcile (with
its alert sync), plus one round trip of a trivial task (cogrow.smoke) through the same broker and worker.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
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
    """A trivial task (cogrow.smoke) sent through the broker, run by the worker, its result read back (a database
    result backend is polled every 5 ms, so its reading adds little to the broker's own hop)."""
    celery_app = app.extensions["celery"]
    out = []
    for n in range(samples):
        start = time.perf_counter()
        result = celery_app.send_task("cogrow.smoke", args=[f"latency-{n}"])
        result.get(timeout=30, interval=0.005)
        out.append(time.perf_counter() - start)
        result.forget()
    return out


def _environment(deployment: str, workdir: Path) -> dict[str, str]:
    """The settings of one deployment; what is not named here is the product's default."""
    env = {
        "COGROW_VAR_DIR": str(workdir), "COGROW_CELERY_EAGER": "false", "COGROW_RATELIMIT_ENABLED": "false",
        "COGROW_MAIL_ENABLED": "false", "COGROW_LOG_LEVEL": "WARNING",
    }
    if deployment == "embedded":
        env["COGROW_DATABASE_URL"] = _database_url("sqlite", workdir)
        for name in ("COGROW_BROKER_URL", "COGROW_RESULT_BACKEND"):
            os.environ.pop(name, None)  # the defaults: sqla+sqlite broker and db+sqlite results under var/
    else:
        env.update({"COGROW_DATABASE_URL": _database_url("postgresql", workdir), "COGROW_BROKER_URL": REDIS_URL,
                    "COGROW_RESULT_BACKEND": REDIS_URL})
    return env


def _flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def measure(posts: int = 200, deployment: str = "embedded", workdir: Path | None = None, gap: float = 0.0,
            verbose: bool = True) -> dict:
    """Run the whole measurement on one deployment; returns seconds: p50, p95, floor parts and ratios."""
    import httpx

    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"cogrow-latency-{deployment}-"))
    env = _environment(deployment, workdir)
    os.environ.update(env)
    if deployment == "postgresql":
        _flush_redis()

    from cogrow import create_app
    from flask_migrate import upgrade

    # The bench's own writes (seed, floor) must not wake the worker: only the measured POSTs go through the product.
    app = create_app({"OUTBOX_KICK": False})
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per poll of the alert list otherwise
    with app.app_context():
        upgrade()
    seeded = _seed(app, posts + FLOOR_SAMPLES)
    post_items, floor_items = seeded["items"][:posts], seeded["items"][posts:]
    relay_seconds = app.config.get("OUTBOX_RELAY_SECONDS")
    broker = app.config["CELERY_BROKER_URL"]

    bin_dir = Path(sys.executable).parent
    child_env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
                 "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])}
    port = _free_port()
    log_path = workdir / "processes.log"
    with open(log_path, "wb") as log:
        launcher = subprocess.Popen([sys.executable, "-m", "cogrow.launcher", "--port", str(port), "--procfile",
                                     str(ROOT / "Procfile"), "web", "worker", "notify", "beat"],
                                    cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_port(port, launcher)
        _wait_log(log_path, "beat: Starting", launcher)
        _wait_log(log_path, "reconcile@", launcher)
        _wait_ready(log_path, launcher)

        rel = seeded["relationship"]
        supplier = {"Authorization": f"Bearer {seeded['tokens']['production']}"}
        prime = {"Authorization": f"Bearer {seeded['tokens']['procurement']}"}
        latencies: list[float] = []
        post_times: list[float] = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False) as http:
            for n, item_id in enumerate(post_items):
                if gap:
                    time.sleep(gap)  # the worker has been idle this long when the report arrives
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
        with contextlib.suppress(ProcessLookupError):
            launcher.send_signal(signal.SIGTERM)  # the launcher stops each process gracefully
        try:
            launcher.wait(timeout=45)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait(timeout=10)
        with contextlib.suppress(Exception):
            app.extensions["celery"].close()
        if deployment == "postgresql":
            _flush_redis()

    floor = statistics.median(in_process) + statistics.median(round_trip)
    result = {
        "posts": len(latencies), "p50": _pct(latencies, 0.50), "p95": _pct(latencies, 0.95),
        "max": max(latencies), "post_p50": _pct(post_times, 0.50),
        "floor_in_process_p50": statistics.median(in_process), "floor_round_trip_p50": statistics.median(round_trip),
        "floor": floor, "relay_seconds": relay_seconds, "gap": gap, "deployment": deployment, "broker": broker.split(":", 1)[0],
    }
    result["ratio_p50"] = result["p50"] / floor
    result["ratio_p95"] = result["p95"] / floor
    if verbose:
        report(result)
    return result


def _wait_ready(path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    """Both Celery nodes (worker and notify) said they are ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the launcher exited:\n{path.read_text(errors='replace')[-3000:]}")
        if path.read_text(errors="replace").count(" ready.") >= 2:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the Celery nodes are not ready after {timeout}s:\n{path.read_text(errors='replace')[-3000:]}")


def report(r: dict) -> None:
    ms = 1000
    where = ("embedded: SQLite + sqla+sqlite broker" if r["deployment"] == "embedded"
             else "PostgreSQL + Redis")
    spacing = f"each after {r['gap']:g} s idle" if r["gap"] else "back to back"
    print(f"end-to-end latency ({where}, {r['posts']} posts {spacing}, Procfile processes, beat relay every "
          f"{r['relay_seconds']} s)")
    print(f"  POST -> alert visible      : p50 {r['p50'] * ms:7.0f} ms   p95 {r['p95'] * ms:7.0f} ms   "
          f"max {r['max'] * ms:7.0f} ms   (goal p95 < 1000 ms: {'yes' if r['p95'] < 1 else 'NO'})")
    print(f"  the POST alone             : p50 {r['post_p50'] * ms:7.0f} ms")
    print(f"  floor                      : {r['floor'] * ms:7.1f} ms = write + direct reconcile "
          f"{r['floor_in_process_p50'] * ms:.1f} ms + {r['broker']} broker/worker round trip "
          f"{r['floor_round_trip_p50'] * ms:.1f} ms")
    print(f"  ratio to the floor         : p50 {r['ratio_p50']:.2f}x   p95 {r['ratio_p95']:.2f}x", flush=True)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--deployment", choices=("embedded", "postgresql", "both"), default="both")
    parser.add_argument("--gap", type=float, default=0.0,
                        help="seconds of quiet before each POST (the embedded worker polls slower when idle)")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)
    deployments = ("embedded", "postgresql") if args.deployment == "both" else (args.deployment,)
    results = []
    for deployment in deployments:
        workdir = Path(args.workdir) / deployment if args.workdir else None
        if workdir is not None:
            workdir.mkdir(parents=True, exist_ok=True)
        results.append(measure(args.posts, deployment, workdir, args.gap))
    return results


if __name__ == "__main__":
    main()
