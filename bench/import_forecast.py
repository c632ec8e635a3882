"""Benchmark: 100,000 forecast rows (2,000 items x 50 weeks) through the real import path, against the floor.

For SQLite and PostgreSQL: upload + confirm a CSV and an XLSX file (imports.services -> the forecast kind's
validate -> forecasts.services.publish), and per file the floor: the plainest code doing the same work without
any validation (the csv module or calamine reads the file, one dict maps part numbers to items, one
executemany (SQLite) or COPY (PostgreSQL) inserts the rows). Prints rows/s and the ratio to that floor, and to
the insert alone (the rows already in memory: the floor this bench had before it read the file).

    .venv/bin/python bench/import_forecast.py [--items 2000] [--weeks 50] [--only sqlite|postgres] [--profile]
        [--repeat 3]
"""
from __future__ import annotations

import argparse
import cProfile
import csv
import io
import os
import pstats
import signal
import sys
import tempfile
import time
from datetime import timedelta
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "platform"))

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cogrow_bench_import"
TIME_LIMIT_S = 900


def _reset_pg(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _build_app(url: str):
    os.environ.setdefault("COGROW_VAR_DIR", tempfile.mkdtemp(prefix="cogrow-bench-"))
    import logging

    from cogrow import create_app
    from cogrow.config import TestingConfig

    app = create_app(TestingConfig(url))
    app.config["IMPORT_ASYNC_ROWS"] = 10**9  # measure the synchronous, one-transaction apply
    app.config["IMPORT_INLINE_PARSE_BYTES"] = 10**12  # ... and the read in this process (the worker's work)
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return app


def _tenant(n_items: int):
    """A prime, a supplier, an active relationship with wide fences, and n items; returns (actor, rel_id, parts)."""
    from sqlalchemy import insert

    from cogrow.accounts.models import Organisation
    from cogrow.catalog.models import Item
    from cogrow.core.auth import Actor
    from cogrow.extensions import db
    from cogrow.relationships.models import SupplyRelationship

    prime = Organisation(name="Bench Prime", kind="prime")
    supplier = Organisation(name="Bench Supplier", kind="supplier")
    db.session.add_all([prime, supplier])
    db.session.flush()
    rel = SupplyRelationship(prime_id=prime.id, supplier_id=supplier.id, status="active", firm_fence_weeks=4,
                             material_fence_weeks=8, currency="KRW", material_share=Decimal("0.4"))
    db.session.add(rel)
    db.session.flush()
    parts = [f"BRK-{n:05d}" for n in range(n_items)]
    db.session.execute(insert(Item), [
        {"relationship_id": rel.id, "prime_part_number": p, "supplier_part_number": None, "description": "Bench",
         "uom": "EA", "unit_price": Decimal("1500"), "currency": "KRW", "lead_time_days": 7} for p in parts])
    db.session.commit()
    return Actor(organisation_id=prime.id, org_kind="prime", role="planner"), rel.id, parts


def _rows(parts: list[str], weeks: int, salt: int) -> list[tuple[str, str, int]]:
    from cogrow.core.weeks import current_week, iso_label

    base = current_week()
    labels = [iso_label(base + timedelta(weeks=w)) for w in range(weeks)]
    return [(p, label, 100 + (i + w + salt) % 50) for i, p in enumerate(parts) for w, label in enumerate(labels)]


def _csv(rows) -> bytes:
    out = io.StringIO()
    out.write("Part number,Week,Quantity\r\n")
    for p, w, q in rows:
        out.write(f"{p},{w},{q}\r\n")
    return out.getvalue().encode()


def _xlsx(rows) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("forecast")
    ws.append(["Part number", "Week", "Quantity"])
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _import(app, actor, rel_id, filename, data, profile: bool):
    from cogrow.imports import services

    with app.test_request_context(headers={"Accept-Language": "en"}):
        stages = (cProfile.Profile(), cProfile.Profile()) if profile else None
        started = time.perf_counter()
        if stages:
            stages[0].enable()
        batch = services.upload(actor, rel_id, "forecast", filename, data)
        if stages:
            stages[0].disable()
        uploaded = time.perf_counter()
        if batch.status != "preview":
            raise SystemExit(f"{filename}: import is {batch.status}: {(batch.errors or [])[:3]}")
        # The second file moves quantities inside the firm zone: like a planner, the bench gives a reason.
        if stages:
            stages[1].enable()
        batch = services.confirm(actor, rel_id, batch.id, reason="bench: a new forecast")
        if stages:
            stages[1].disable()
        done = time.perf_counter()
        if stages:  # the times above include the profiler's overhead: run without --profile for the figures
            for stage, profiler in zip(("upload: read + validate + preview", "confirm: validate + apply"), stages):
                print(f"---- {filename} {stage}: top frames by own time, then by cumulative time")
                stats = pstats.Stats(profiler, stream=sys.stdout)
                stats.sort_stats("tottime").print_stats(15)
                stats.sort_stats("cumulative").print_stats(20)
        if batch.status != "applied":
            raise SystemExit(f"{filename}: confirm left the import {batch.status}: {(batch.errors or [])[:3]}")
        return uploaded - started, done - uploaded


def _plain_rows(fmt: str, data: bytes) -> Iterator[tuple[str, str, str]]:
    """The file read the plainest way: the csv module on the decoded text, or calamine's rows; (part, week, qty)."""
    if fmt == "csv":
        rows = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        next(rows)
        return ((p, w, q) for p, w, q in rows)
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    rows = sheet.iter_rows()
    next(rows)
    return ((p, w, str(int(q))) for p, w, q in rows)


def _floor(app, rel_id, fmt: str | None, data: bytes | None, rows) -> float:
    """The plainest code doing the same work, no validation: read the file (fmt/data; None: rows already in
    memory), map each part number to its item id with one dict and each week label to its Monday, and insert
    the rows in one transaction: one executemany (SQLite) or COPY (PostgreSQL). Zones are a constant here."""
    from sqlalchemy import select, text

    from cogrow.catalog.models import Item
    from cogrow.core.weeks import parse_iso_label
    from cogrow.extensions import db
    from cogrow.forecasts.models import ForecastPublication

    with app.app_context():
        ids = dict(db.session.execute(select(Item.prime_part_number, Item.id).where(Item.relationship_id == rel_id)).all())
        base = min(parse_iso_label(w) for w in {r[1] for r in rows})
        pub = ForecastPublication(relationship_id=rel_id, version_no=999, base_week=base, firm_fence_weeks=4,
                                  material_fence_weeks=8, note="floor", bucket_count=len(rows))
        db.session.add(pub)
        db.session.commit()
        pub_id = pub.id
        db.session.close()  # no open read transaction may hold SQLite's lock while the floor writes
        engine = db.engine
        sqlite = engine.dialect.name == "sqlite"
        started = time.perf_counter()
        source = _plain_rows(fmt, data) if fmt else ((p, w, str(q)) for p, w, q in rows)
        mondays: dict[str, object] = {}
        records = []
        for p, w, q in source:
            monday = mondays.get(w)
            if monday is None:
                monday = mondays[w] = parse_iso_label(w).isoformat() if sqlite else parse_iso_label(w)
            records.append((pub_id, rel_id, ids[p], monday, q, "planning"))
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            if sqlite:
                cur.execute("BEGIN")  # the app's SQLite connections run in autocommit mode: one transaction here
                cur.executemany("INSERT INTO forecast_bucket (publication_id, relationship_id, item_id, week_start, "
                                "quantity, zone) VALUES (?, ?, ?, ?, ?, ?)", records)
                cur.execute("COMMIT")
            else:
                with cur.copy("COPY forecast_bucket (publication_id, relationship_id, item_id, week_start, quantity, "
                              "zone) FROM STDIN") as copy:
                    for record in records:
                        copy.write_row(record)
                raw.commit()
        finally:
            raw.close()
        elapsed = time.perf_counter() - started
        if len(records) != len(rows):
            raise SystemExit(f"floor read {len(records)} rows, expected {len(rows)}")
        db.session.execute(text("DELETE FROM forecast_bucket WHERE publication_id = :p"), {"p": pub_id})
        db.session.execute(text("DELETE FROM forecast_publication WHERE id = :p"), {"p": pub_id})
        db.session.commit()
        return elapsed


def run(label: str, url: str, n_items: int, weeks: int, profile: bool, repeat: int) -> None:
    """Per format, `repeat` times: the floor, then the import of a new file (each one a new version); the best
    of each is what counts, as other work on a shared machine only ever adds time."""
    app = _build_app(url)
    from cogrow.extensions import db

    with app.app_context():
        actor, rel_id, parts = _tenant(n_items)
    insert = "executemany" if url.startswith("sqlite") else "COPY"
    bare = min(_floor(app, rel_id, None, None, _rows(parts, weeks, 0)) for _r in range(repeat))
    n = n_items * weeks
    print(f"[{label}] {n:,} rows; insert only ({insert} of rows already in memory, no validation), best of "
          f"{repeat}: {bare:.2f}s = {n / bare:,.0f} rows/s", flush=True)
    for offset, fmt in enumerate(("csv", "xlsx")):
        floors, totals, parts_of = [], [], []
        for attempt in range(repeat):
            rows = _rows(parts, weeks, 2 * attempt + offset)
            t = time.perf_counter()
            data = _csv(rows) if fmt == "csv" else _xlsx(rows)
            built = time.perf_counter() - t
            floor = _floor(app, rel_id, fmt, data, rows)
            up, confirm = _import(app, actor, rel_id, f"forecast-{attempt}.{fmt}", data, profile)
            floors.append(floor)
            totals.append(up + confirm)
            parts_of.append((up, confirm))
            print(f"[{label}]   {fmt.upper():4} run {attempt + 1}: file {len(data) / 1e6:.1f} MB built in {built:.2f}s; "
                  f"floor {floor:.2f}s; import: upload+preview {up:.2f}s, confirm+apply {confirm:.2f}s, "
                  f"total {up + confirm:.2f}s", flush=True)
        floor, total = min(floors), min(totals)
        up, confirm = parts_of[totals.index(total)]
        print(f"[{label}] floor {fmt.upper():4} (plain read + one {insert}, no validation), best of {repeat}: "
              f"{floor:.2f}s = {n / floor:,.0f} rows/s", flush=True)
        print(f"[{label}] import {fmt.upper():4}, best of {repeat}: upload+preview {up:.2f}s, confirm+apply "
              f"{confirm:.2f}s, total {total:.2f}s = {n / total:,.0f} rows/s, {total / floor:.1f}x the floor "
              f"({total / bare:.1f}x the insert alone)", flush=True)
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=50)
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per format; the best counts (default 3)")
    args = parser.parse_args()
    signal.alarm(TIME_LIMIT_S)  # never hang a shared machine
    if args.only != "postgres":
        directory = tempfile.mkdtemp(prefix="cogrow-bench-sqlite-")
        run("sqlite", f"sqlite:///{directory}/bench.sqlite", args.items, args.weeks, args.profile, args.repeat)
    if args.only != "sqlite":
        _reset_pg(PG_URL)
        run("postgres", PG_URL, args.items, args.weeks, args.profile, args.repeat)


if __name__ == "__main__":
    main()
