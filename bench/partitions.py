"""Benchmark of the monthly partitions of production_report (PostgreSQL) beside a plain table with the same rows.

    flock /tmp/cogrow-bench.lock .venv/bin/python bench/partitions.py [--scale 1.0] [--budget 240]

It builds the schema with the product's migrations (production_report partitioned by month, migration 0013), the
months of the data with the product's `create_partition`, and then ref-L's production reports (domain.md's ref-M
× 10: 500,000 relationship × item pairs in 20,000 relationships, 10,000,000 reports, 20 per pair spread over the
12 months before NOW) generated on the server, a million at a time, until `--budget` seconds of building are
spent: the output says the size it reached. `production_report_plain` then gets the same rows: a plain table
with the pre-0013 shape (key on id, the same index and foreign keys). item_position holds each pair's latest
report, as the ingest keeps it.

Figures, each beside its floor measured in the same run on the plain table, with the ratio:
1. ingest: a COPY of 100,000 reports, and 20 executemany INSERT batches of 1,000 (the API's batch), committed,
   with foreign keys checked, into the current month;
2. retention: dropping one month through the product's `drop_expired` (check, detach, drop) vs a DELETE of the
   same month's rows from the plain table (the DELETE also leaves its dead rows to VACUUM, not counted);
3. the latest report per item: for 2,000 items, one index probe each (LATERAL … ORDER BY as_of DESC LIMIT 1),
   the same items through item_position (what the product reads: the position names its report by id and
   as_of), and for every pair at once (DISTINCT ON over the whole table).

The PostgreSQL database `cogrow_bench_partitions` is dropped and created by the script
(COGROW_BENCH_PG_ADMIN_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PG_ADMIN_URL = os.environ.get("COGROW_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "cogrow_bench_partitions"
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # Wednesday noon in Seoul
SEED = 20261207
REF_L_PAIRS, REPORTS_PER_PAIR, ITEMS_PER_RELATIONSHIP, PRIMES = 500_000, 20, 25, 200
CHUNK_PAIRS = 50_000  # a million reports per statement
COLUMNS = ("relationship_id", "item_id", "as_of", "good_qty", "scrap_qty", "wip_qty", "fg_on_hand", "raw_on_hand",
           "source", "note", "reported_by_id", "token_id", "received_at")


def _database() -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}"'))
        conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=PG_DATABASE).render_as_string(hide_password=False)


def _app(url: str):
    os.environ.setdefault("COGROW_VAR_DIR", tempfile.mkdtemp(prefix="cogrow-bench-"))
    from cogrow import create_app
    from cogrow.config import TestingConfig

    app = create_app(TestingConfig(url))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return app


def _parents(conn, pairs: int) -> None:
    relationships = -(-pairs // ITEMS_PER_RELATIONSHIP)
    conn.execute(text("INSERT INTO organisation (id, name, kind, created_at) SELECT g, 'Org ' || g, "
                      "CASE WHEN g <= :primes THEN 'prime' ELSE 'supplier' END, :now "
                      "FROM generate_series(1, :n) g"), {"primes": PRIMES, "n": PRIMES + relationships, "now": NOW})
    conn.execute(text("INSERT INTO supply_relationship (id, prime_id, supplier_id, status, firm_fence_weeks, "
                      "material_fence_weeks, currency, material_share, version, created_at) "
                      "SELECT r, 1 + r % :primes, :primes + r, 'active', 4, 8, 'KRW', 0.5, 1, :now "
                      "FROM generate_series(1, :n) r"), {"primes": PRIMES, "n": relationships, "now": NOW})
    conn.execute(text("INSERT INTO item (id, relationship_id, prime_part_number, description, uom, unit_price, "
                      "currency, lead_time_days, active, version, created_at) "
                      "SELECT i, (i - 1) / :per + 1, 'P-' || i, '', 'EA', 10, 'KRW', 14, true, 1, :now "
                      "FROM generate_series(1, :n) i"), {"per": ITEMS_PER_RELATIONSHIP, "n": pairs, "now": NOW})
    for table in ("organisation", "supply_relationship", "item"):
        conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))


# Pair p (item p + 1) reports every 365/20 days back from NOW, offset by a few hours per pair.
_GENERATE = (
    "INSERT INTO production_report (relationship_id, item_id, as_of, good_qty, scrap_qty, wip_qty, fg_on_hand, "
    "source, note, received_at) "
    "SELECT p / :per + 1, p + 1, t.at, 100 + p % 50, p % 3, 40, 500 + k, 'api', '', t.at "
    "FROM generate_series(:lo, :hi - 1) p CROSS JOIN generate_series(0, :reports - 1) k "
    "CROSS JOIN LATERAL (SELECT CAST(:now AS timestamptz) - make_interval(secs => "
    "(k * 365.0 / :reports + (p % 97) / 97.0) * 86400) AS at) t")


def build(app, pairs_wanted: int, budget: float) -> dict:
    from cogrow.extensions import db
    from cogrow.production import partitions

    with app.app_context():
        have = partitions.partitions("production_report")
        for back in range(13, -1, -1):
            month = partitions.month_start(NOW, -back)
            if month not in have:
                partitions.create_partition("production_report", month)
        engine = db.engine
    started = time.perf_counter()
    with engine.begin() as conn:
        _parents(conn, pairs_wanted)
    pairs = 0
    while pairs < pairs_wanted and time.perf_counter() - started < budget:
        hi = min(pairs + CHUNK_PAIRS, pairs_wanted)
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # parents exist by construction
            conn.execute(text(_GENERATE), {"lo": pairs, "hi": hi, "per": ITEMS_PER_RELATIONSHIP,
                                           "reports": REPORTS_PER_PAIR, "now": NOW})
        pairs = hi
        print(f"  built {pairs * REPORTS_PER_PAIR:>11,} reports ({time.perf_counter() - started:6.1f} s)", flush=True)
    built_partitioned = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("INSERT INTO item_position (item_id, relationship_id, report_id, as_of, good_qty, "
                          "scrap_qty, wip_qty, fg_on_hand, raw_on_hand, updated_at) "
                          "SELECT DISTINCT ON (item_id) item_id, relationship_id, id, as_of, good_qty, scrap_qty, "
                          "wip_qty, fg_on_hand, raw_on_hand, as_of FROM production_report "
                          "ORDER BY item_id, as_of DESC"))
    clock = time.perf_counter()
    with engine.begin() as conn:  # the pre-0013 shape, same rows
        conn.execute(text("CREATE TABLE production_report_plain "
                          "(LIKE production_report INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
        conn.execute(text("INSERT INTO production_report_plain SELECT * FROM production_report"))
        conn.execute(text("ALTER TABLE production_report_plain ADD PRIMARY KEY (id)"))
        conn.execute(text("CREATE INDEX ix_plain_item_as_of ON production_report_plain (relationship_id, item_id, as_of)"))
        for column, target in (("item_id", "item"), ("relationship_id", "supply_relationship"),
                               ("reported_by_id", "user_account"), ("token_id", "api_token")):
            conn.execute(text(f"ALTER TABLE production_report_plain ADD FOREIGN KEY ({column}) REFERENCES {target} (id)"))
    built_plain = time.perf_counter() - clock
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE production_report"))
        conn.execute(text("VACUUM ANALYZE production_report_plain"))
        conn.execute(text("ANALYZE item_position"))
        size = {
            "pairs": pairs, "reports": conn.scalar(text("SELECT count(*) FROM production_report")),
            "partitions": conn.scalar(text("SELECT count(*) FROM pg_inherits "
                                           "WHERE inhparent = 'production_report'::regclass")),
            "mb": conn.scalar(text("SELECT CAST(sum(pg_total_relation_size(inhrelid)) / 1048576 AS int) FROM pg_inherits "
                                   "WHERE inhparent = 'production_report'::regclass")),
            "built_s": built_partitioned, "plain_s": built_plain,
        }
    return size


def _report_rows(count: int, pairs: int, rng: random.Random) -> list[tuple]:
    at = NOW - timedelta(minutes=5)
    rows = []
    for n in range(count):
        p = rng.randrange(pairs)
        moment = at + timedelta(microseconds=n)
        rows.append((p // ITEMS_PER_RELATIONSHIP + 1, p + 1, moment, 120, 1, 40, 500, None, "api", "", None, None,
                     moment))
    return rows


def ingest(engine, table: str, rows: list[tuple], batches: list[list[tuple]]) -> tuple[float, float]:
    """(COPY rows/s, executemany rows/s) into `table`, each committed."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        clock = time.perf_counter()
        with cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        copy_rate = len(rows) / (time.perf_counter() - clock)
        statement = (f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})")
        clock = time.perf_counter()
        for batch in batches:
            cursor.executemany(statement, batch)
            raw.commit()
        insert_rate = sum(len(b) for b in batches) / (time.perf_counter() - clock)
    finally:
        raw.close()
    return copy_rate, insert_rate


def _timed(engine, sql: str, params: dict, runs: int) -> float:
    times = []
    with engine.connect() as conn:
        for _ in range(runs):
            clock = time.perf_counter()
            conn.execute(text(sql), params).all()
            times.append(time.perf_counter() - clock)
    return statistics.median(times)


def latest(engine, table: str, items: list[int], runs: int) -> tuple[float, float, float]:
    probe = (f"SELECT i.id, r.as_of, r.fg_on_hand FROM unnest(CAST(:ids AS int[])) AS i(id) CROSS JOIN LATERAL "
             f"(SELECT as_of, fg_on_hand FROM {table} WHERE relationship_id = (i.id - 1) / {ITEMS_PER_RELATIONSHIP} + 1 "
             f"AND item_id = i.id ORDER BY as_of DESC LIMIT 1) r")
    every = (f"SELECT count(*), sum(fg_on_hand) FROM (SELECT DISTINCT ON (relationship_id, item_id) fg_on_hand "
             f"FROM {table} ORDER BY relationship_id, item_id, as_of DESC) x")
    # What the product reads for an item's latest report: its position, then the report it names.
    position = (f"SELECT r.id, r.as_of, r.fg_on_hand FROM item_position p JOIN {table} r "
                f"ON r.id = p.report_id AND r.as_of = p.as_of WHERE p.item_id = ANY(CAST(:ids AS int[]))")
    return (_timed(engine, probe, {"ids": items}, runs), _timed(engine, position, {"ids": items}, runs),
            _timed(engine, every, {}, max(1, runs // 3)))


def retention(app, engine) -> dict:
    """Drop the oldest full month through the product, DELETE the same rows from the plain table."""
    from cogrow.extensions import db
    from cogrow.production import partitions

    with app.app_context():
        months = sorted(partitions.partitions("production_report"))
        with engine.connect() as conn:
            filled = [m for m in months if conn.scalar(text(
                f"SELECT EXISTS (SELECT 1 FROM {partitions.partition_name('production_report', m)})"))]
        oldest, month = filled[0], filled[1]  # the first month is partial: dropped untimed first
        this = partitions.month_start(NOW)
        behind = (this.year * 12 + this.month) - (month.year * 12 + month.month)  # months from `month` to NOW's
        partitions.drop_expired(NOW, behind)  # cutoff = `month`'s start: only the partial one goes
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM production_report_plain WHERE as_of < :hi"), {"hi": month})
        with engine.connect() as conn:
            rows = conn.scalar(text(f"SELECT count(*) FROM {partitions.partition_name('production_report', month)}"))
        clock = time.perf_counter()
        outcome = partitions.drop_expired(NOW, behind - 1)
        dropped_s = time.perf_counter() - clock
        assert outcome.dropped == [partitions.partition_name("production_report", month)], outcome
        db.session.remove()
    clock = time.perf_counter()
    with engine.begin() as conn:
        deleted = conn.execute(text("DELETE FROM production_report_plain WHERE as_of < :hi"),
                               {"hi": partitions.month_start(month, 1)}).rowcount
    delete_s = time.perf_counter() - clock
    assert deleted == rows, (deleted, rows)
    return {"month": f"{month:%Y-%m}", "rows": rows, "drop_s": dropped_s, "delete_s": delete_s,
            "first": f"{oldest:%Y-%m}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of ref-L to aim for (1.0 = ref-L)")
    parser.add_argument("--budget", type=float, default=240.0, help="seconds of building before stopping short")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(SEED)
    url = _database()
    app = _app(url)
    from cogrow.extensions import db

    with app.app_context():
        engine = db.engine
    wanted = max(CHUNK_PAIRS, round(REF_L_PAIRS * args.scale))
    print(f"building toward {wanted * REPORTS_PER_PAIR:,} reports (ref-L is {REF_L_PAIRS * REPORTS_PER_PAIR:,}), "
          f"budget {args.budget:.0f} s")
    size = build(app, wanted, args.budget)
    reached = size["reports"] / (REF_L_PAIRS * REPORTS_PER_PAIR)
    print(f"size reached: {size['reports']:,} reports, {size['pairs']:,} pairs, {size['partitions']} partitions, "
          f"{size['mb']:,} MB = {reached:.2f} × ref-L ({reached * 10:.1f} × ref-M); built in {size['built_s']:.0f} s, "
          f"the plain copy in {size['plain_s']:.0f} s")

    copy_rows = _report_rows(100_000, size["pairs"], rng)
    batches = [_report_rows(1_000, size["pairs"], rng) for _ in range(20)]
    ingest(engine, "production_report", copy_rows[:5_000], batches[:1])  # warm both
    ingest(engine, "production_report_plain", copy_rows[:5_000], batches[:1])
    part_copy, part_insert, plain_copy, plain_insert = [], [], [], []
    for _ in range(3):  # alternate, so that the machine's load hits both alike
        c, i = ingest(engine, "production_report_plain", copy_rows, batches)
        plain_copy.append(c)
        plain_insert.append(i)
        c, i = ingest(engine, "production_report", copy_rows, batches)
        part_copy.append(c)
        part_insert.append(i)
    pc, pi, fc, fi = (statistics.median(x) for x in (part_copy, part_insert, plain_copy, plain_insert))
    print("\n1. ingest into the current month (rows/s, median of 3, foreign keys checked)")
    print(f"   COPY 100,000        partitioned {pc:>10,.0f}   plain (floor) {fc:>10,.0f}   ratio {pc / fc:5.2f}")
    print(f"   INSERT 20 × 1,000   partitioned {pi:>10,.0f}   plain (floor) {fi:>10,.0f}   ratio {pi / fi:5.2f}")

    items = rng.sample(range(1, size["pairs"] + 1), 2_000)
    probe_p, pos_p, every_p = latest(engine, "production_report", items, args.runs)
    probe_f, pos_f, every_f = latest(engine, "production_report_plain", items, args.runs)
    print("\n2. latest report per item (median)")
    print(f"   2,000 items, LATERAL probe  partitioned {probe_p * 1000:8.1f} ms   plain (floor) {probe_f * 1000:8.1f} ms"
          f"   ratio {probe_p / probe_f:5.2f}")
    print(f"   2,000 items, via position   partitioned {pos_p * 1000:8.1f} ms   plain (floor) {pos_f * 1000:8.1f} ms"
          f"   ratio {pos_p / pos_f:5.2f}")
    print(f"   every pair, DISTINCT ON     partitioned {every_p:8.2f} s    plain (floor) {every_f:8.2f} s "
          f"   ratio {every_p / every_f:5.2f}")

    drop = retention(app, engine)
    print(f"\n3. retention of one month ({drop['month']}, {drop['rows']:,} reports; {drop['first']} went first, untimed)")
    print(f"   product drop_expired (check + detach + drop) {drop['drop_s'] * 1000:9.1f} ms   "
          f"DELETE from the plain table (floor) {drop['delete_s'] * 1000:9.1f} ms   "
          f"ratio {drop['drop_s'] / drop['delete_s']:6.3f}")
    engine.dispose()


if __name__ == "__main__":
    main()
