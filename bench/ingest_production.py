"""Benchmark: production reports through the real HTTP API (gunicorn, 2 workers, PostgreSQL) against the floor.

1. Resets and migrates PostgreSQL database `cogrow_bench_ingest`, seeds a relationship with items and a
   supplier production API token.
2. Starts gunicorn with 2 workers on 127.0.0.1 (a free port) serving `cogrow:create_app()`.
3. From a separate load process (httpx clients, bounded in count and time):
   - single-report POSTs from 16 concurrent clients (`/production-reports`);
   - the batch endpoint with 1,000 reports per request from 2 clients (`/production-reports/batch`).
4. Floor: the same number of report rows inserted directly with one psycopg executemany.
Prints reports/s, p50/p95 latency, and the ratio to the floor. Goals: >= 1,000 single reports/s,
>= 20,000 reports/s batched, p95 single < 50 ms at 16 clients.
With `--cpu` it measures instead the app's CPU time per request in one process (Flask's test client on the same
database), beside the CPU of the executemany floor: the figure to compare two versions of the code with on a
machine whose load changes.

    .venv/bin/python bench/ingest_production.py [--seconds 15] [--clients 16] [--batches 20] [--items 1000]
    .venv/bin/python bench/ingest_production.py --cpu [--singles 1000]
"""
from __future__ import annotations

import argparse
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
MAX_SINGLE_REQUESTS = 200_000  # a bound on the load, whatever the time limit


# --- setup ---------------------------------------------------------------------------------------------------

def _reset_pg(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _seed(url: str, n_items: int, var_dir: str) -> dict:
    """Migrate and seed in this process; returns the relationship id, item ids and the raw API token."""
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
        actor = Actor(organisation_id=supplier.id, org_kind="supplier", role="admin")
        with app.test_request_context():
            _token, raw = accounts.create_api_token(actor, "bench gateway", "production")
        db.session.commit()
        rel_id = rel.id
        db.engine.dispose()
    return {"relationship_id": rel_id, "item_ids": item_ids, "token": raw}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_gunicorn(port: int, var_dir: str, log, threads: int) -> subprocess.Popen:
    # The per-token rate limit (600/min) would answer most of the load with 429: the bench measures the work.
    env = {**os.environ, "COGROW_DATABASE_URL": PG_URL, "COGROW_VAR_DIR": var_dir, "COGROW_ENV": "development",
           "COGROW_RATELIMIT_ENABLED": "false"}
    # gthread workers: a request spends most of its time waiting on PostgreSQL, so a few threads per worker
    # overlap those waits (each thread has its own app context and session). --threads 1 is the sync worker.
    command = [str(VENV_BIN / "gunicorn"), "--workers", "2", "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
               "cogrow:create_app()"]
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


# --- the load process ----------------------------------------------------------------------------------------

def _report(item_id: int, as_of: datetime, n: int) -> dict:
    return {"item_id": item_id, "as_of": as_of.isoformat(), "good_qty": str(n % 97), "scrap_qty": "1",
            "wip_qty": str(n % 50), "fg_on_hand": str(n % 1000)}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _load(config: dict) -> dict:
    """Runs in its own process: drives the server and returns the measurements as a dict."""
    import httpx

    base = f"http://127.0.0.1:{config['port']}/api/v1/relationships/{config['relationship_id']}"
    headers = {"Authorization": f"Bearer {config['token']}", "Content-Type": "application/json"}
    items = config["item_ids"]
    start_time = datetime.now(timezone.utc) - timedelta(hours=6)

    # Bodies are encoded up front so that the client spends its (shared) CPU on sending, not on json.dumps.
    singles = [json.dumps(_report(items[n % len(items)], start_time + timedelta(milliseconds=n), n)).encode()
               for n in range(min(MAX_SINGLE_REQUESTS, config["clients"] * 4000))]
    lock = threading.Lock()
    cursor = {"next": 0}

    def take() -> int | None:
        with lock:
            n = cursor["next"]
            if n >= len(singles):
                return None
            cursor["next"] = n + 1
            return n

    def single_worker(stop_at: float, latencies: list[float], errors: list[int]) -> None:
        with httpx.Client(headers=headers, timeout=30) as client:
            while time.monotonic() < stop_at:
                n = take()
                if n is None:
                    return
                began = time.perf_counter()
                response = client.post(f"{base}/production-reports", content=singles[n])
                elapsed = time.perf_counter() - began
                if response.status_code == 201:
                    latencies.append(elapsed)
                else:
                    errors.append(response.status_code)

    # Warm up both workers (connections, imports, caches), not measured.
    warm: list[float] = []
    threads = [threading.Thread(target=single_worker, args=(time.monotonic() + 2, warm, [])) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]

    latencies: list[float] = []
    errors: list[int] = []
    began = time.perf_counter()
    stop_at = time.monotonic() + config["seconds"]
    threads = [threading.Thread(target=single_worker, args=(stop_at, latencies, errors)) for _ in range(config["clients"])]
    [t.start() for t in threads]
    [t.join() for t in threads]
    single_elapsed = time.perf_counter() - began

    batch_size = config["batch_size"]
    batch_bodies = []
    for b in range(config["batches"]):
        offset = 10**6 + b * batch_size
        batch_bodies.append(json.dumps({"reports": [
            _report(items[(offset + k) % len(items)], start_time + timedelta(milliseconds=offset + k), offset + k)
            for k in range(batch_size)]}).encode())
    batch_latencies: list[float] = []
    batch_errors: list[int] = []
    queue = list(range(len(batch_bodies)))

    def batch_worker() -> None:
        with httpx.Client(headers=headers, timeout=120) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    n = queue.pop()
                t0 = time.perf_counter()
                response = client.post(f"{base}/production-reports/batch", content=batch_bodies[n])
                elapsed = time.perf_counter() - t0
                if response.status_code == 201:
                    batch_latencies.append(elapsed)
                else:
                    batch_errors.append(response.status_code)

    began = time.perf_counter()
    threads = [threading.Thread(target=batch_worker) for _ in range(config["batch_clients"])]
    [t.start() for t in threads]
    [t.join() for t in threads]
    batch_elapsed = time.perf_counter() - began
    return {
        "single_ok": len(latencies), "single_errors": errors[:20], "single_error_count": len(errors),
        "single_elapsed": single_elapsed, "single_p50": _percentile(latencies, 0.5),
        "single_p95": _percentile(latencies, 0.95), "single_mean": statistics.fmean(latencies) if latencies else 0,
        "batch_ok": len(batch_latencies), "batch_error_count": len(batch_errors), "batch_errors": batch_errors[:20],
        "batch_elapsed": batch_elapsed, "batch_p50": _percentile(batch_latencies, 0.5),
        "batch_p95": _percentile(batch_latencies, 0.95),
    }


# --- the floor -----------------------------------------------------------------------------------------------

def _floor(relationship_id: int, item_ids: list[int], rows: int) -> float:
    """Rows/s for the same report rows inserted with one executemany and one commit (no HTTP, no app)."""
    import psycopg

    start_time = datetime.now(timezone.utc) - timedelta(hours=12)
    now = datetime.now(timezone.utc)
    values = [(relationship_id, item_ids[n % len(item_ids)], start_time + timedelta(milliseconds=n), Decimal(n % 97),
               Decimal(1), Decimal(n % 50), Decimal(n % 1000), "api", "", now) for n in range(rows)]
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
        began = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO production_report (relationship_id, item_id, as_of, good_qty, scrap_qty, wip_qty, "
                "fg_on_hand, source, note, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", values)
        conn.commit()
        return rows / (time.perf_counter() - began)


def _cpu(seed: dict, var_dir: str, singles: int, batches: int, batch_size: int) -> None:
    """The app's own CPU per request, in this process (Flask's test client, no HTTP, no other process): CPU time
    barely moves with the machine's load, so two versions of the code compare even on a busy machine. The floor
    is this process's CPU for the same rows through one psycopg executemany."""
    import logging

    import psycopg

    from cogrow import create_app
    from cogrow.config import TestingConfig

    app = create_app(TestingConfig(PG_URL))
    app.config["RATELIMIT_ENABLED"] = False
    logging.getLogger().setLevel(logging.WARNING)
    client = app.test_client()
    url = f"/api/v1/relationships/{seed['relationship_id']}/production-reports"
    headers = {"Authorization": f"Bearer {seed['token']}"}
    items = seed["item_ids"]
    start = datetime.now(timezone.utc) - timedelta(hours=6)
    for n in range(20):  # warm-up: imports, caches, the first connections
        client.post(url, json=_report(items[n % len(items)], start + timedelta(microseconds=n), n), headers=headers)
    began = time.process_time()
    for n in range(singles):
        response = client.post(url, json=_report(items[n % len(items)], start + timedelta(seconds=1, microseconds=n), n),
                               headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
    single_cpu = (time.process_time() - began) / singles
    bodies = [{"reports": [_report(items[n % len(items)], start + timedelta(seconds=2 + b, microseconds=n), n)
                           for n in range(batch_size)]} for b in range(batches)]
    began = time.process_time()
    for body in bodies:
        response = client.post(url + "/batch", json=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
    batch_cpu = (time.process_time() - began) / (batches * batch_size)
    rows = batches * batch_size
    now = datetime.now(timezone.utc)
    values = [(seed["relationship_id"], items[n % len(items)], start + timedelta(seconds=3, microseconds=n),
               Decimal(n % 97), Decimal(1), Decimal(n % 50), Decimal(n % 1000), "api", "", now) for n in range(rows)]
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
        began = time.process_time()
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO production_report (relationship_id, item_id, as_of, good_qty, scrap_qty, wip_qty, "
                "fg_on_hand, source, note, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", values)
        conn.commit()
        floor_cpu = (time.process_time() - began) / rows
    print(f"app CPU per request, in process ({singles} single POSTs, {batches} batches of {batch_size}):")
    print(f"  single report: {single_cpu * 1000:.2f} ms CPU per request")
    print(f"  batched:       {batch_cpu * 1e6:.0f} us CPU per report")
    print(f"  floor:         {floor_cpu * 1e6:.1f} us CPU per row (one psycopg executemany)")
    print(f"  ratio to floor: single {single_cpu / floor_cpu:.0f}x   batched {batch_cpu / floor_cpu:.1f}x")


def _count_rows() -> tuple[int, int, int]:
    import psycopg

    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
        reports = conn.execute("SELECT count(*) FROM production_report").fetchone()[0]
        positions = conn.execute("SELECT count(*) FROM item_position").fetchone()[0]
        outbox = conn.execute("SELECT count(*) FROM outbox_event").fetchone()[0]
    return reports, positions, outbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the single-report phase")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--batches", type=int, default=20, help="batch requests of --batch-size reports")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-clients", type=int, default=2)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (1 = sync worker)")
    parser.add_argument("--cpu", action="store_true",
                        help="measure the app's CPU per request in this process instead of the HTTP load")
    parser.add_argument("--singles", type=int, default=1000, help="single POSTs of the --cpu run")
    parser.add_argument("--load", help=argparse.SUPPRESS)  # internal: run as the load process
    args = parser.parse_args()
    if args.load:
        print(json.dumps(_load(json.loads(args.load))))
        return

    var_dir = tempfile.mkdtemp(prefix="cogrow-bench-ingest-")
    print(f"database {PG_URL.rsplit('/', 1)[1]}: reset, migrate, seed {args.items} items", flush=True)
    _reset_pg(PG_URL)
    seed = _seed(PG_URL, args.items, var_dir)
    if args.cpu:
        _cpu(seed, var_dir, args.singles, min(args.batches, 5), args.batch_size)
        return
    port = _free_port()
    log_path = Path(var_dir) / "gunicorn.log"
    with open(log_path, "w") as log:
        server = _start_gunicorn(port, var_dir, log, args.threads)
        try:
            _wait_ready(port)
            config = {"port": port, "seconds": args.seconds, "clients": args.clients, "batches": args.batches,
                      "batch_size": args.batch_size, "batch_clients": args.batch_clients, **seed}
            load = subprocess.run([sys.executable, __file__, "--load", json.dumps(config)], capture_output=True,
                                  text=True, timeout=args.seconds + 600)
            if load.returncode != 0:
                print(load.stderr[-4000:])
                raise SystemExit("the load process failed")
            result = json.loads(load.stdout.strip().splitlines()[-1])
        finally:
            server.terminate()  # the gunicorn this script started, by its own pid
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    reports, positions, outbox = _count_rows()
    floor_rows = args.batches * args.batch_size
    floor = _floor(seed["relationship_id"], seed["item_ids"], floor_rows)

    single_rate = result["single_ok"] / result["single_elapsed"]
    batch_rate = result["batch_ok"] * args.batch_size / result["batch_elapsed"]
    cores = os.cpu_count()
    print(f"machine: {cores} cores (shared with other processes, load average {os.getloadavg()[0]:.1f}); "
          f"gunicorn 2 workers x {args.threads} threads; load process on the same machine")
    print(f"single reports, {args.clients} clients, {result['single_elapsed']:.1f} s: {result['single_ok']} ok, "
          f"{result['single_error_count']} errors {result['single_errors']}")
    print(f"  {single_rate:,.0f} reports/s   p50 {result['single_p50'] * 1000:.1f} ms   p95 "
          f"{result['single_p95'] * 1000:.1f} ms   (goal >= 1,000/s, p95 < 50 ms)")
    print(f"batch, {args.batch_size} reports/request, {args.batch_clients} clients, {result['batch_ok']} requests ok, "
          f"{result['batch_error_count']} errors {result['batch_errors']}")
    print(f"  {batch_rate:,.0f} reports/s   p50 {result['batch_p50'] * 1000:.0f} ms   p95 "
          f"{result['batch_p95'] * 1000:.0f} ms per request   (goal >= 20,000/s)")
    print(f"floor: {floor_rows} rows, one psycopg executemany + commit: {floor:,.0f} rows/s")
    print(f"ratio to floor: single {single_rate / floor:.3f}   batch {batch_rate / floor:.3f}")
    expected = result["single_ok"] + result["batch_ok"] * args.batch_size
    print(f"stored before the floor: {reports} reports (expected >= {expected}, warm-up included), "
          f"{positions} positions, {outbox} outbox rows")
    print(f"gunicorn log: {log_path}")


if __name__ == "__main__":
    main()
