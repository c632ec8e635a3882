"""Benchmark of the what-if (coverage.whatif) for a relationship of 500 items, on PostgreSQL at ref-M.

    .venv/bin/python bench/whatif.py [--scale 1.0] [--items 500] [--runs 7] [--backend postgresql|sqlite]

It builds the ref-M network of bench/reconcile.py (the same seeded generator; --scale builds a fraction of it), adds
one relationship of 500 items (26 weekly buckets each, PO lines, FAB/RAW authorizations, a position with planned
output), computes its ledger, and stores a forecast draft that halves every firm-zone bucket. It then times:
- the what-if of that draft over the 500 items (two read-only SELECTs: the published rows, the draft), and
- the floor: the incremental reconcile of the same 500 items (coverage.services.reconcile: the same ledger SQL,
  writing the ledger and syncing alerts), which is the plainest code that computes these figures today;
and prints both medians, the ratio, and the goal (what-if under 2 s on PostgreSQL at ref-M).

The PostgreSQL database `bench_whatif` is dropped and created by the script (COGROW_BENCH_PG_ADMIN_URL).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from sqlalchemy import case, func, select, text  # noqa: E402

from bench.reconcile import NOW, REF_M, SEED, _load, build_app, generate, reset_postgres  # noqa: E402

PG_DATABASE = "bench_whatif"
GOAL_S = 2.0


def add_wide_relationship(engine, n_items: int) -> tuple[int, list[int]]:
    """One more relationship, of `n_items` items with every ledger input; returns (relationship id, item ids)."""
    from cogrow.accounts.models import Organisation
    from cogrow.catalog.models import Item
    from cogrow.core.weeks import current_week
    from cogrow.forecasts.models import Authorization, ForecastBucket, ForecastPublication
    from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
    from cogrow.production.models import ItemPosition, PlannedOutput, ProductionReport
    from cogrow.relationships.models import SupplyRelationship

    rng = random.Random(SEED + 500)
    cw = current_week(NOW)
    D = Decimal  # noqa: N806
    with engine.begin() as conn:
        def next_id(table: str) -> int:
            return (conn.scalar(text(f"SELECT max(id) FROM {table}")) or 0) + 1

        supplier, rel_id, first_item = next_id("organisation"), next_id("supply_relationship"), next_id("item")
        pub_id, po_id, line_id = next_id("forecast_publication"), next_id("purchase_order"), next_id("purchase_order_line")
        report_id, bucket_id = next_id("production_report"), next_id("forecast_bucket")
        _load(conn, Organisation, iter([{"id": supplier, "name": f"Wide supplier {supplier}", "kind": "supplier"}]))
        _load(conn, SupplyRelationship, iter([{"id": rel_id, "prime_id": 1, "supplier_id": supplier, "status": "active",
                                               "firm_fence_weeks": 4, "material_fence_weeks": 8,
                                               "material_share": D("0.4")}]))
        items = list(range(first_item, first_item + n_items))
        _load(conn, Item, ({"id": i, "relationship_id": rel_id, "prime_part_number": f"W{i:07d}",
                            "unit_price": D(rng.randrange(100, 50_000)), "lead_time_days": 14} for i in items))
        _load(conn, ForecastPublication, iter([{"id": pub_id, "relationship_id": rel_id, "version_no": 1,
                                                "base_week": cw, "firm_fence_weeks": 4, "material_fence_weeks": 8,
                                                "bucket_count": 26 * n_items}]))
        _load(conn, ForecastBucket, (
            {"id": bucket_id + n * 26 + k, "publication_id": pub_id, "relationship_id": rel_id, "item_id": i,
             "week_start": cw + timedelta(weeks=k), "quantity": D(rng.randrange(20, 400)),
             "zone": "firm" if k < 4 else "material" if k < 8 else "planning"}
            for n, i in enumerate(items) for k in range(26)))
        _load(conn, Authorization, ({"relationship_id": rel_id, "item_id": i, "kind": kind,
                                     "cum_start_date": date(2026, 7, 1), "quantity": D(rng.randrange(0, 6_000))}
                                    for i in items for kind in ("FAB", "RAW")))
        n_pos = (n_items + 3) // 4
        _load(conn, PurchaseOrder, ({"id": po_id + n, "relationship_id": rel_id, "prime_id": 1,
                                     "number": f"WPO{po_id + n:08d}", "status": "acknowledged", "issued_at": NOW}
                                    for n in range(n_pos)))
        _load(conn, PurchaseOrderLine, (
            {"id": line_id + n, "purchase_order_id": po_id + n // 4, "relationship_id": rel_id, "line_no": n % 4 + 1,
             "item_id": i, "quantity": D(rng.randrange(10, 500)),
             "due_date": NOW.date() + timedelta(days=rng.randrange(0, 60)), "unit_price": D(1000),
             "shipped_qty": D(0), "received_qty": D(0)} for n, i in enumerate(items)))
        positions = [(report_id + n, i, rng.randrange(0, 3_000), rng.randrange(0, 800)) for n, i in enumerate(items)]
        as_of = NOW - timedelta(hours=2)
        _load(conn, ProductionReport, ({"id": rid, "relationship_id": rel_id, "item_id": i, "as_of": as_of,
                                        "good_qty": D(0), "scrap_qty": D(0), "wip_qty": D(wip), "fg_on_hand": D(fg),
                                        "source": "api"} for rid, i, fg, wip in positions))
        _load(conn, ItemPosition, ({"item_id": i, "relationship_id": rel_id, "report_id": rid, "as_of": as_of,
                                    "good_qty": D(0), "scrap_qty": D(0), "wip_qty": D(wip), "fg_on_hand": D(fg)}
                                   for rid, i, fg, wip in positions))
        _load(conn, PlannedOutput, ({"report_id": rid, "week_start": cw + timedelta(weeks=k),
                                     "quantity": D(rng.randrange(0, 400))} for rid, *_rest in positions
                                    for k in range(8)))
        if engine.dialect.name == "postgresql":
            for table in ("organisation", "supply_relationship", "item", "forecast_publication", "forecast_bucket",
                          "forecast_authorization", "purchase_order", "purchase_order_line", "production_report"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {table}))"))
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return rel_id, items


def store_draft(rel_id: int) -> int:
    """A draft of the relationship's latest version with every firm-zone bucket halved (one INSERT … SELECT)."""
    from cogrow.extensions import db
    from cogrow.forecasts.models import ForecastBucket, ForecastDraft, ForecastDraftBucket, ForecastPublication

    pub_id = db.session.scalar(select(ForecastPublication.id).where(ForecastPublication.relationship_id == rel_id)
                               .order_by(ForecastPublication.version_no.desc()).limit(1))
    draft = ForecastDraft(relationship_id=rel_id, note="bench", bucket_count=0, base_version_no=1)
    db.session.add(draft)
    db.session.flush()
    b = ForecastBucket.__table__
    halved = case((b.c.zone == "firm", func.round(b.c.quantity / 2, 0)), else_=b.c.quantity)
    db.session.execute(ForecastDraftBucket.__table__.insert().from_select(
        ["draft_id", "relationship_id", "item_id", "week_start", "quantity", "zone"],
        select(draft.id, b.c.relationship_id, b.c.item_id, b.c.week_start, halved, b.c.zone)
        .where(b.c.publication_id == pub_id)))
    db.session.commit()
    return draft.id


def median_of(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for n in range(runs + 2):
        start = time.perf_counter()
        result = fn()
        if n >= 2:  # the first calls warm caches and compiled statements
            times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of ref-M to build (1.0 = ref-M)")
    parser.add_argument("--items", type=int, default=500, help="items of the relationship the what-if covers")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    net = REF_M.scaled(args.scale, "ref-M" if args.scale == 1 else f"ref-M×{args.scale:g}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-whatif-"))
    url = reset_postgres(PG_DATABASE) if args.backend == "postgresql" else f"sqlite:///{workdir / 'whatif.sqlite'}"
    app = build_app(url, workdir)
    with app.app_context():
        from cogrow.coverage import services, whatif
        from cogrow.extensions import db

        start = time.perf_counter()
        counts = generate(db.engine, net)
        rel_id, items = add_wide_relationship(db.engine, args.items)
        print(f"[{args.backend}] {net.name} + one relationship of {args.items} items generated in "
              f"{time.perf_counter() - start:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
              flush=True)
        services.reconcile(rel_id, None, NOW)  # the ledger and alerts exist, as in production
        draft_id = store_draft(rel_id)
        floor_s, _count = median_of(lambda: services.reconcile(rel_id, items, NOW), args.runs)
        figure_s, result = median_of(lambda: whatif.compute(rel_id, whatif.FORECAST_DRAFT, draft_id, now=NOW),
                                     args.runs)
        db.session.rollback()
        changed = len(result.changed)
        print(f"\n== what-if of a forecast draft, {args.items} items, {net.name}, {args.backend} (median of "
              f"{args.runs}) ==")
        print(f"what-if (2 read-only SELECTs, {changed} of {len(result.items)} items changed): {figure_s * 1000:.0f} ms")
        print(f"floor: incremental reconcile of the same {args.items} items (writes ledger, syncs alerts): "
              f"{floor_s * 1000:.0f} ms")
        print(f"ratio what-if / floor: {figure_s / floor_s:.2f}")
        print(f"goal: what-if < {GOAL_S:.0f} s on PostgreSQL at ref-M: {'met' if figure_s < GOAL_S else 'NOT met'}"
              + ("" if args.scale == 1 and args.backend == "postgresql" else " (measured off ref-M/PostgreSQL)"))
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
