"""Benchmark: production reports (or machine readings) through the real HTTP API (gunicorn, 2 workers, PostgreSQL)
against two floors measured in the same run.

1. Resets and migrates PostgreSQL database `cogrow_bench_ingest`, seeds a relationship with items (and, for the
   machine feed, one production line per item) and a supplier production API token.
2. Starts gunicorn with 2 workers on 127.0.0.1 (a free port) serving `cogrow:create_app()`.
3. From a separate load process (httpx clients, bounded in count and time):
   - single POSTs from 16 concurrent clients (`/production-reports`, or one reading to `/lines/<id>/readings`);
   - the batch endpoint with 1,000 reports (readings of one line) per request from 2 clients.
4. The app floor: the same gunicorn settings serving `floor_app()` below, a minimal Flask endpoint that looks the
   bearer token up by its hash (one SELECT, as the product does) and does one INSERT and commit with psycopg; the
   same single POSTs from the same clients.
5. The executemany floor: the same number of rows inserted directly with one psycopg executemany.
Prints reports/s, p50/p95 latency, and the ratios. Goals (issue 12): single >= 0.5x the app floor with p95 < 50 ms
at 16 clients; batched >= 0.7x the executemany floor.
With `--cpu` it measures instead the app's CPU time per request in one process (Flask's test client on the same
database), beside the CPU of the executemany floor, and counts the SQL statements (round trips) per request; with
`--profile` as well it prints cProfile's top frames (cumulative) of the single and the batch path.

    .venv/bin/python bench/ingest_production.py [--feed production|machine] [--seconds 15] [--clients 16] [--batches 20]
    .venv/bin/python bench/ingest_production.py --cpu [--singles 1000] [--profile]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cogrow_bench_ingest"
PLAIN_URL = PG_URL.replace("postgresql+psycopg://", "postgresql://")
MAX_SINGLE_REQUESTS = 200_000  # a bound on the load, whatever the time limit

_REPORT_INSERT = ("INSERT INTO production_report (relationship_id, item_id, as_of, good_qty, scrap_qty, wip_qty, "
                  "fg_on_hand, source, note, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
_READING_INSERT = ("INSERT INTO machine_reading (line_id, relationship_id, item_id, read_at, counter, produced, "
                   "new_run, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")


# --- setup ---------------------------------------------------------------------------------------------------

def _reset_pg(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _seed(url: str, n_items: int, var_dir: str) -> dict:
    """Migrate and seed in this process; returns the relationship id, item ids, line ids (one line per item, in
    item order) and the raw API token."""
    os.environ["COGROW_VAR_DIR"] = var_dir
    sys.path.insert(0, str(REPO / "platform"))
    import logging

    from sqlalchemy import insert, select

    from cogrow import create_app
    from cogrow.accounts import services as accounts
    from cogrow.accounts.models import Organisation
    from cogrow.catalog.models import Item
    from cogrow.config import TestingConfig
    from cogrow.core.auth import Actor
    from cogrow.extensions import db
    from cogrow.production.models import ProductionLine
    from cogrow.relationships.models import SupplyRelationship

    app = create_app(TestingConfig(url))
    logging.getLogger().setLevel(logging.WARNING)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        prime = Organisation(name="Bench Prime", kind="prime")
        supplier = Organisation(name="Bench Supplier", kind="supplier")
        db.session.add_all([prime, supplier])
        db.session.flush()
        rel = SupplyRelationship(prime_id=prime.id, supplier_id=supplier.id, status="active", firm_fence_weeks=4,
                                 material_fence_weeks=8, currency="KRW", material_share=Decimal("0.4"))
        db.session.add(rel)
        db.session.flush()
        db.session.execute(insert(Item), [
            {"relationship_id": rel.id, "prime_part_number": f"BEN-{n:05d}", "description": "Bench", "uom": "EA",
             "unit_price": Decimal("1500"), "currency": "KRW", "lead_time_days": 7} for n in range(n_items)])
        item_ids = list(db.session.scalars(select(Item.id).where(Item.relationship_id == rel.id).order_by(Item.id)))
        db.session.execute(insert(ProductionLine), [
            {"relationship_id": rel.id, "code": f"L{n:05d}", "name": "", "item_id": item_id, "active": True,
             "version": 1} for n, item_id in enumerate(item_ids)])
        line_ids = list(db.session.scalars(select(ProductionLine.id).where(ProductionLine.relationship_id == rel.id)
                                           .order_by(ProductionLine.code)))
        actor = Actor(organisation_id=supplier.id, org_kind="supplier", role="admin")
        with app.test_request_context():
            _token, raw = accounts.create_api_token(actor, "bench gateway", "production")
        db.session.commit()
        rel_id = rel.id
        db.engine.dispose()
    return {"relationship_id": rel_id, "item_ids": item_ids, "line_ids": line_ids, "token": raw}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


BENCH_REDIS = os.environ.get("COGROW_BENCH_INGEST_REDIS", "redis://127.0.0.1:6379/15")


def _broker(choice: str) -> str | None:
    """The broker the product publishes its outbox kicks to (one relay message after each commit that wrote outbox
    rows, core/outbox.py): Redis as deployed (PostgreSQL with Redis) when it answers, else the embedded default's
    SQLite broker. The bench's own Redis database is emptied before and after (no worker consumes the kicks)."""
    if choice == "embedded":
        return None
    try:
        import redis

        redis.Redis.from_url(BENCH_REDIS, socket_connect_timeout=1).flushdb()
        return BENCH_REDIS
    except Exception:
        if choice == "redis":
            raise SystemExit(f"--broker redis: {BENCH_REDIS} does not answer")
        return None


def _start_gunicorn(port: int, var_dir: str, log, threads: int, app: str = "cogrow:create_app()",
                    broker: str | None = None) -> subprocess.Popen:
    # The per-token rate limit (600/min) would answer most of the load with 429: the bench measures the work.
    env = {**os.environ, "COGROW_DATABASE_URL": PG_URL, "COGROW_VAR_DIR": var_dir, "COGROW_ENV": "development",
           "COGROW_RATELIMIT_ENABLED": "false"}
    if broker:
        env["COGROW_BROKER_URL"] = broker
    # gthread workers: a request spends most of its time waiting on PostgreSQL, so a few threads per worker
    # overlap those waits (each thread has its own app context and session). --threads 1 is the sync worker.
    # The app floor runs under exactly the same settings (only the app differs).
    command = [str(VENV_BIN / "gunicorn"), "--workers", "2", "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
               "--log-level", "warning", "--pythonpath", str(REPO / "bench"), app]
    return subprocess.Popen(command, cwd=str(REPO), env=env, stdout=log, stderr=log)


def _wait_ready(port: int, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz in time")


# --- the app floor: a minimal Flask endpoint -----------------------------------------------------------------

def floor_app():
    """The app floor (gunicorn `ingest_production:floor_app()`): Flask, the bearer token looked up by its SHA-256
    (one SELECT), the JSON body read, one INSERT and a commit on a per-thread psycopg connection. No validation,
    no tenancy, no idempotency, no audit or outbox: what any endpoint that stores a row must at least do."""
    import psycopg
    from flask import Flask, abort, request

    app = Flask("ingest_floor")
    local = threading.local()

    def connection() -> psycopg.Connection:
        conn = getattr(local, "conn", None)
        if conn is None or conn.closed:
            conn = local.conn = psycopg.connect(PLAIN_URL)
        return conn

    def token() -> tuple[int, int]:
        scheme, _, raw = (request.headers.get("Authorization") or "").partition(" ")
        row = connection().execute(
            "SELECT id, organisation_id FROM api_token WHERE token_hash = %s AND revoked_at IS NULL",
            (hashlib.sha256(raw.strip().encode()).hexdigest(),)).fetchone()
        if scheme.lower() != "bearer" or row is None:
            abort(401)
        return row

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.post("/api/v1/relationships/<int:relationship_id>/production-reports")
    def report(relationship_id: int):
        token_id, _org = token()
        body = request.get_json()
        conn = connection()
        row = conn.execute(
            "INSERT INTO production_report (relationship_id, item_id, as_of, good_qty, scrap_qty, wip_qty, fg_on_hand,"
            " source, note, token_id, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, 'api', '', %s, now()) "
            "RETURNING id", (relationship_id, body["item_id"], body["as_of"], body["good_qty"], body["scrap_qty"],
                             body["wip_qty"], body["fg_on_hand"], token_id)).fetchone()
        conn.commit()
        return {"id": row[0]}, 201

    @app.post("/api/v1/relationships/<int:relationship_id>/lines/<int:line_id>/readings")
    def readings(relationship_id: int, line_id: int):
        token()
        reading = request.get_json()["readings"][0]
        conn = connection()
        row = conn.execute(
            "INSERT INTO machine_reading (line_id, relationship_id, item_id, read_at, counter, produced, new_run, "
            "received_at) VALUES (%s, %s, %s, %s, %s, 0, false, now()) RETURNING id",
            (line_id, relationship_id, request.args.get("item_id", type=int), reading["read_at"],
             reading["counter"])).fetchone()
        conn.commit()
        return {"id": row[0]}, 201

    return app


# --- the load process ----------------------------------------------------------------------------------------

def _report(item_id: int, as_of: datetime, n: int) -> dict:
    return {"item_id": item_id, "as_of": as_of.isoformat(), "good_qty": str(n % 97), "scrap_qty": "1",
            "wip_qty": str(n % 50), "fg_on_hand": str(n % 1000)}


def _reading(read_at: datetime, n: int) -> dict:
    return {"read_at": read_at.isoformat(), "counter": n}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _single_requests(config: dict, start_time: datetime, count: int) -> list[tuple[str, bytes]]:
    """(path, body) of the single POSTs: report n is for item n mod items at start + n ms; reading n is line
    n mod lines at start + n ms with counter n (so each line's counter grows with time)."""
    items, lines = config["item_ids"], config["line_ids"]
    out = []
    for n in range(count):
        moment = start_time + timedelta(milliseconds=n)
        if config["feed"] == "machine":
            k = n % len(lines)
            out.append((f"/lines/{lines[k]}/readings?item_id={items[k]}",
                        json.dumps({"readings": [_reading(moment, n)]}).encode()))
        else:
            out.append(("/production-reports", json.dumps(_report(items[n % len(items)], moment, n)).encode()))
    return out


def _batch_requests(config: dict, start_time: datetime) -> list[tuple[str, bytes]]:
    items, lines, size = config["item_ids"], config["line_ids"], config["batch_size"]
    out = []
    for b in range(config["batches"]):
        offset = 10**6 + b * size
        if config["feed"] == "machine":
            # One line per batch (a gateway sends one line's backlog), after every single reading of that line.
            k = (len(lines) - 1 - b) % len(lines)
            out.append((f"/lines/{lines[k]}/readings", json.dumps({"readings": [
                _reading(start_time + timedelta(milliseconds=offset + j), 10**7 + j) for j in range(size)]}).encode()))
        else:
            out.append(("/production-reports/batch", json.dumps({"reports": [
                _report(items[(offset + k) % len(items)], start_time + timedelta(milliseconds=offset + k), offset + k)
                for k in range(size)]}).encode()))
    return out


def _load(config: dict) -> dict:
    """Runs in its own process: drives the server and returns the measurements as a dict."""
    import httpx

    base = f"http://127.0.0.1:{config['port']}/api/v1/relationships/{config['relationship_id']}"
    headers = {"Authorization": f"Bearer {config['token']}", "Content-Type": "application/json"}
    start_time = datetime.now(timezone.utc) - timedelta(hours=config["hours_ago"])

    # Bodies are encoded up front so that the client spends its (shared) CPU on sending, not on json.dumps.
    singles = _single_requests(config, start_time, min(MAX_SINGLE_REQUESTS, config["clients"] * 4000))
    lock = threading.Lock()
    cursor = {"next": 0}

    def take() -> int | None:
        with lock:
            n = cursor["next"]
            if n >= len(singles):
                return None
            cursor["next"] = n + 1
            return n

    def single_worker(stop_at: float, latencies: list[float], errors: list) -> None:
        with httpx.Client(headers=headers, timeout=30) as client:
            while time.monotonic() < stop_at:
                n = take()
                if n is None:
                    return
                path, body = singles[n]
                began = time.perf_counter()
                response = client.post(base + path, content=body)
                elapsed = time.perf_counter() - began
                if response.status_code == 201:
                    latencies.append(elapsed)
                else:
                    errors.append((response.status_code, response.text[:200]))

    # Warm up both workers (connections, imports, caches), not measured.
    warm: list[float] = []
    threads = [threading.Thread(target=single_worker, args=(time.monotonic() + 2, warm, [])) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]

    latencies: list[float] = []
    errors: list = []
    began = time.perf_counter()
    stop_at = time.monotonic() + config["seconds"]
    threads = [threading.Thread(target=single_worker, args=(stop_at, latencies, errors)) for _ in range(config["clients"])]
    [t.start() for t in threads]
    [t.join() for t in threads]
    single_elapsed = time.perf_counter() - began
    result = {
        "single_ok": len(latencies), "single_errors": errors[:5], "single_error_count": len(errors),
        "single_elapsed": single_elapsed, "single_p50": _percentile(latencies, 0.5),
        "single_p95": _percentile(latencies, 0.95), "single_mean": statistics.fmean(latencies) if latencies else 0}
    if not config["batches"]:
        return result

    batch_bodies = _batch_requests(config, start_time)
    batch_latencies: list[float] = []
    batch_errors: list = []
    queue = list(range(len(batch_bodies)))

    def batch_worker() -> None:
        with httpx.Client(headers=headers, timeout=120) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    n = queue.pop()
                path, body = batch_bodies[n]
                t0 = time.perf_counter()
                response = client.post(base + path, content=body)
                elapsed = time.perf_counter() - t0
                if response.status_code == 201:
                    batch_latencies.append(elapsed)
                else:
                    batch_errors.append((response.status_code, response.text[:200]))

    began = time.perf_counter()
    threads = [threading.Thread(target=batch_worker) for _ in range(config["batch_clients"])]
    [t.start() for t in threads]
    [t.join() for t in threads]
    batch_elapsed = time.perf_counter() - began
    return {**result, "batch_ok": len(batch_latencies), "batch_error_count": len(batch_errors),
            "batch_errors": batch_errors[:5], "batch_elapsed": batch_elapsed,
            "batch_p50": _percentile(batch_latencies, 0.5), "batch_p95": _percentile(batch_latencies, 0.95)}


# --- the executemany floor -----------------------------------------------------------------------------------

def _floor_rows(feed: str, seed: dict, rows: int, start_time: datetime) -> tuple[str, list[tuple]]:
    """The floor's statement and rows: the same rows the batches write, on times no request used."""
    items, lines, rel = seed["item_ids"], seed["line_ids"], seed["relationship_id"]
    now = datetime.now(timezone.utc)
    if feed == "machine":
        return _READING_INSERT, [(lines[n % len(lines)], rel, items[n % len(items)],
                                  start_time + timedelta(milliseconds=n), n, Decimal(1), False, now)
                                 for n in range(rows)]
    return _REPORT_INSERT, [(rel, items[n % len(items)], start_time + timedelta(milliseconds=n), Decimal(n % 97),
                             Decimal(1), Decimal(n % 50), Decimal(n % 1000), "api", "", now) for n in range(rows)]


def _floor(feed: str, seed: dict, rows: int) -> float:
    """Rows/s for the same rows inserted with one executemany and one commit (no HTTP, no app)."""
    import psycopg

    sql, values = _floor_rows(feed, seed, rows, datetime.now(timezone.utc) - timedelta(hours=12))
    with psycopg.connect(PLAIN_URL) as conn:
        began = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(sql, values)
        conn.commit()
        return rows / (time.perf_counter() - began)


# --- --cpu: CPU per request, round trips, profiles -----------------------------------------------------------

_WRAPPERS = ("werkzeug/test.py", "flask/testing.py", "flask/app.py", "(post)", "core/auth.py", "api.py:218(wrapped)",
             "idempotency.py:139(wrapped)")


def _print_profile(title: str, profiler, limit: int = 15) -> None:
    """The top `limit` frames by cumulative time, below the test client and Flask's dispatch (which only wrap)."""
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(limit + 40)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    lines = [line for line in lines if not any(w in line for w in _WRAPPERS)]
    print(f"--- profile: {title} (top {limit} by cumulative time) ---")
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    for line in lines[start:start + limit + 1]:
        print("  " + line.replace(str(REPO) + "/", "").replace(str(VENV_BIN.parent) + "/lib/", ""))


def _cpu(feed: str, seed: dict, singles: int, batches: int, batch_size: int, profile: bool) -> None:
    """The app's own CPU per request, in this process (Flask's test client, no HTTP, no other process): CPU time
    barely moves with the machine's load, so two versions of the code compare even on a busy machine. The floor
    is this process's CPU for the same rows through one psycopg executemany. Round trips: the statements the app
    sends per request (a SQLAlchemy before_cursor_execute listener; BEGIN/COMMIT are not statements here, so
    commits are counted apart)."""
    import cProfile
    import logging

    import psycopg
    from sqlalchemy import event

    from cogrow import create_app
    from cogrow.config import TestingConfig
    from cogrow.extensions import db

    # As the HTTP run: the rate limit is off from the start (set after create_app, the limiter still counted every
    # request in var/ratelimit.sqlite, about a sixth of the CPU this mode measured).
    os.environ["COGROW_RATELIMIT_ENABLED"] = "false"
    app = create_app(TestingConfig(PG_URL))
    logging.getLogger().setLevel(logging.WARNING)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {seed['token']}"}
    config = {"feed": feed, "batch_size": batch_size, "batches": batches, **seed}
    start = datetime.now(timezone.utc) - timedelta(hours=6)
    base = f"/api/v1/relationships/{seed['relationship_id']}"
    requests = _single_requests(config, start, singles + 20)
    statements: list[str] = []
    commits = [0]
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda conn, cur, stmt, *a: statements.append(stmt))
    event.listen(engine, "commit", lambda conn: commits.__setitem__(0, commits[0] + 1))

    def post(path: str, body: bytes) -> None:
        response = client.post(base + path, data=body, headers=headers, content_type="application/json")
        assert response.status_code == 201, response.get_data(as_text=True)[:300]

    for path, body in requests[:20]:  # warm-up: imports, caches, the first connections
        post(path, body)
    statements.clear()
    commits[0] = 0
    post(*requests[20])
    one = list(statements)
    one_commits = commits[0]
    profiler = cProfile.Profile() if profile else None
    began = time.process_time()
    if profiler:
        profiler.enable()
    for path, body in requests[21:]:
        post(path, body)
    if profiler:
        profiler.disable()
    single_cpu = (time.process_time() - began) / (singles - 1)
    if profiler:
        _print_profile(f"{feed}, {singles - 1} single POSTs", profiler)
    bodies = _batch_requests(config, start)
    statements.clear()
    commits[0] = 0
    profiler = cProfile.Profile() if profile else None
    began = time.process_time()
    if profiler:
        profiler.enable()
    for path, body in bodies:
        post(path, body)
    if profiler:
        profiler.disable()
    batch_cpu = (time.process_time() - began) / (batches * batch_size)
    batch_statements, batch_commits = len(statements), commits[0]
    if profiler:
        _print_profile(f"{feed}, {batches} batches of {batch_size}", profiler)
    rows = batches * batch_size
    sql, values = _floor_rows(feed, seed, rows, start - timedelta(hours=6))
    with psycopg.connect(PLAIN_URL) as conn:
        began = time.process_time()
        with conn.cursor() as cur:
            cur.executemany(sql, values)
        conn.commit()
        floor_cpu = (time.process_time() - began) / rows
    print(f"app CPU per request, in process, feed {feed} ({singles} single POSTs, {batches} batches of {batch_size}):")
    print(f"  single: {single_cpu * 1000:.2f} ms CPU per request")
    print(f"  batched: {batch_cpu * 1e6:.0f} us CPU per row")
    print(f"  floor:   {floor_cpu * 1e6:.1f} us CPU per row (one psycopg executemany)")
    print(f"  ratio to floor: single {single_cpu / floor_cpu:.0f}x   batched {batch_cpu / floor_cpu:.1f}x")
    print(f"round trips per single request: {len(one)} statements + {one_commits} commit(s)")
    for stmt in one:
        print("    " + " ".join(stmt.split())[:150])
    print(f"round trips per batch request: {batch_statements / batches:.1f} statements + "
          f"{batch_commits / batches:.1f} commit(s)")


def _count_rows() -> tuple[int, int, int, int]:
    import psycopg

    with psycopg.connect(PLAIN_URL) as conn:
        reports = conn.execute("SELECT count(*) FROM production_report").fetchone()[0]
        readings = conn.execute("SELECT count(*) FROM machine_reading").fetchone()[0]
        positions = conn.execute("SELECT count(*) FROM item_position").fetchone()[0]
        outbox = conn.execute("SELECT count(*) FROM outbox_event").fetchone()[0]
    return reports, readings, positions, outbox


def _run_load(port: int, config: dict, seconds: float) -> dict:
    load = subprocess.run([sys.executable, __file__, "--load", json.dumps({**config, "port": port})],
                          capture_output=True, text=True, timeout=seconds + 600)
    if load.returncode != 0:
        print(load.stderr[-4000:])
        raise SystemExit("the load process failed")
    return json.loads(load.stdout.strip().splitlines()[-1])


def _serve_and_load(app: str, var_dir: str, threads: int, config: dict, log_name: str,
                    broker: str | None = None) -> dict:
    port = _free_port()
    log_path = Path(var_dir) / log_name
    with open(log_path, "w") as log:
        server = _start_gunicorn(port, var_dir, log, threads, app, broker)
        try:
            _wait_ready(port)
            return _run_load(port, config, config["seconds"])
        finally:
            server.terminate()  # the gunicorn this script started, by its own pid
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def main(argv: list[str] | None = None, default_feed: str = "production") -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", choices=("production", "machine"), default=default_feed,
                        help="production reports, or machine counter readings")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each single-POST phase")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--batches", type=int, default=20, help="batch requests of --batch-size rows")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-clients", type=int, default=2)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (1 = sync worker)")
    parser.add_argument("--cpu", action="store_true",
                        help="measure the app's CPU per request in this process instead of the HTTP load")
    parser.add_argument("--profile", action="store_true", help="with --cpu: cProfile's top frames of both paths")
    parser.add_argument("--singles", type=int, default=1000, help="single POSTs of the --cpu run")
    parser.add_argument("--broker", choices=("auto", "redis", "embedded"), default="auto",
                        help="where the product's outbox kicks go: Redis (auto: when it answers) or the SQLite broker")
    parser.add_argument("--load", help=argparse.SUPPRESS)  # internal: run as the load process
    args = parser.parse_args(argv)
    if args.load:
        print(json.dumps(_load(json.loads(args.load))))
        return

    var_dir = tempfile.mkdtemp(prefix="cogrow-bench-ingest-")
    print(f"database {PG_URL.rsplit('/', 1)[1]}: reset, migrate, seed {args.items} items (and lines)", flush=True)
    _reset_pg(PG_URL)
    seed = _seed(PG_URL, args.items, var_dir)
    if args.cpu:
        _cpu(args.feed, seed, args.singles, min(args.batches, 5), args.batch_size, args.profile)
        return
    config = {"feed": args.feed, "seconds": args.seconds, "clients": args.clients, "batches": args.batches,
              "batch_size": args.batch_size, "batch_clients": args.batch_clients, "hours_ago": 6, **seed}
    broker = _broker(args.broker)
    result = _serve_and_load("cogrow:create_app()", var_dir, args.threads, config, "gunicorn.log", broker)
    stored = _count_rows()
    if broker:
        _broker("redis")  # empty again: the kicks nobody consumed
    # The app floor: the same single POSTs (three hours earlier, so no reading lands on a time already stored).
    app_floor = _serve_and_load("ingest_production:floor_app()", var_dir, args.threads,
                                {**config, "batches": 0, "hours_ago": 9}, "gunicorn-floor.log")
    floor_rows = args.batches * args.batch_size
    floor = _floor(args.feed, seed, floor_rows)

    noun = "readings" if args.feed == "machine" else "reports"
    single_rate = result["single_ok"] / result["single_elapsed"]
    app_floor_rate = app_floor["single_ok"] / app_floor["single_elapsed"]
    batch_rate = result["batch_ok"] * args.batch_size / result["batch_elapsed"]
    print(f"machine: {os.cpu_count()} cores (shared with other processes, load average {os.getloadavg()[0]:.1f}); "
          f"gunicorn 2 workers x {args.threads} threads; load process on the same machine; feed {args.feed}; "
          f"outbox kicks to {broker or 'the embedded SQLite broker'}")
    print(f"single {noun}, {args.clients} clients, {result['single_elapsed']:.1f} s: {result['single_ok']} ok, "
          f"{result['single_error_count']} errors {result['single_errors']}")
    print(f"  {single_rate:,.0f} {noun}/s   p50 {result['single_p50'] * 1000:.1f} ms   p95 "
          f"{result['single_p95'] * 1000:.1f} ms   (goal p95 < 50 ms)")
    print(f"app floor (Flask + token SELECT + one INSERT/commit, same gunicorn), {args.clients} clients: "
          f"{app_floor['single_ok']} ok, {app_floor['single_error_count']} errors {app_floor['single_errors']}")
    print(f"  {app_floor_rate:,.0f} {noun}/s   p50 {app_floor['single_p50'] * 1000:.1f} ms   p95 "
          f"{app_floor['single_p95'] * 1000:.1f} ms")
    print(f"batch, {args.batch_size} {noun}/request, {args.batch_clients} clients, {result['batch_ok']} requests ok, "
          f"{result['batch_error_count']} errors {result['batch_errors']}")
    print(f"  {batch_rate:,.0f} {noun}/s   p50 {result['batch_p50'] * 1000:.0f} ms   p95 "
          f"{result['batch_p95'] * 1000:.0f} ms per request")
    print(f"executemany floor: {floor_rows} rows, one psycopg executemany + commit: {floor:,.0f} rows/s")
    print(f"ratio single / app floor: {single_rate / app_floor_rate:.3f}   (goal >= 0.5)")
    print(f"ratio batch / executemany floor: {batch_rate / floor:.3f}   (goal >= 0.7)")
    reports, readings, positions, outbox = stored
    expected = result["single_ok"] + result["batch_ok"] * args.batch_size
    print(f"stored by the app: {reports if args.feed == 'production' else readings} {noun} (expected >= {expected}, "
          f"warm-up included), {positions} positions, {outbox} outbox rows")
    print(f"gunicorn logs: {var_dir}")


if __name__ == "__main__":
    main()
