"""Benchmark of every role's home page on ref-M-sized data, beside a floor: the same page's SQL run bare.

    .venv/bin/python bench/home_pages.py [--postgres] [--gets 50] [--others 4]

It builds, deterministically, one prime's share of ref-M (domain.md: 20 primes, 2,000 suppliers, 50,000
relationship × item pairs, so a prime has ~100 suppliers × 25 items): the prime's 100 suppliers with 25 items
each, their ledger rows, 13 weeks of exposure snapshots (and their weekly sums per relationship), a few hundred alerts
(open and resolved), 3 forecast versions of 26 weeks (the newest cutting some firm-zone cells, with the cuts stored),
the supplier's commits on most firm and material buckets of the newest (some below the forecast), and ~10,000 PO
lines (some issued and unacknowledged past po_ack_days, some with open change proposals, some due this week); one of
those suppliers also serves two more primes, 25 items each, with the same supplier part numbers (the supplier
admin's cross-prime view); and `--others` more primes of the same size as background rows, so the queries filter
as they would at ref-M (each with one forecast version and the same POs). Everything is bulk-inserted (core
INSERT, executemany), not through the services, so the build takes seconds.
Then, for each role (procurement, planner, admin of the prime; production, admin of the
supplier) it signs in and times ~50 GETs of /home in-process (the server's time: routing, queries, template),
and reports p50 and p95 beside the floor: the SQL statements one GET issued, captured with an event listener,
executed again with the raw DBAPI connection (fetching every row) and timed the same way. Goal: p95 < 100 ms.

The throwaway PostgreSQL database `cogrow_bench_home` (never the shared `test` one) is dropped and created by the
script, and dropped again after the run
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
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from sqlalchemy import create_engine, event, insert, text  # noqa: E402

PG_ADMIN_URL = os.environ.get("COGROW_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "cogrow_bench_home"
SEED = 20261207
SUPPLIERS = 100
ITEMS = 25
WEEKS = 13
ALERTS_OPEN = 300
ALERTS_RESOLVED = 300
CHUNK = 5_000
VERSIONS = 3               # forecast versions of the measured prime's relationships (1 for the background primes)
HORIZON = 26               # weeks per version
POS_PER_REL = 20           # x LINES_PER_PO lines: ~10,000 PO lines per prime
LINES_PER_PO = 5
CUT_SHARE = 0.06           # share of items whose firm-zone weeks the newest version cuts
BELOW_SHARE = 0.1          # share of commits below the forecast
COMMIT_SHARE = 0.9         # share of firm and material buckets the supplier committed to
ROLES = (("prime", "procurement"), ("prime", "planner"), ("prime", "admin"), ("supplier", "production"),
         ("supplier", "admin"))


def build_app(url: str, var: Path):
    os.environ["COGROW_VAR_DIR"] = str(var)
    os.environ["COGROW_DATABASE_URL"] = url
    os.environ["COGROW_RATELIMIT_ENABLED"] = "false"
    import logging

    from cogrow import create_app

    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("alembic", "cogrow", "cogrow.coverage", "cogrow.alerts", "werkzeug"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return app


def reset_postgres() -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_DATABASE}"))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def drop_postgres() -> None:
    """The throwaway database goes when the run is done."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
    admin.dispose()


# Generation -------------------------------------------------------------------------------------------------

def _bulk(conn, model, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(insert(model.__table__), rows[start:start + CHUNK])


def _ledger_row(item_id: int, rel_id: int, week, now, rng: random.Random, price: Decimal) -> dict:
    excess = Decimal(rng.choice((0, 0, 0, rng.randint(1, 400))))
    cover = (excess * Decimal("0.3")).quantize(Decimal("1"))
    exposure = (excess - cover) * price + cover * Decimal("0.6") * price
    shortage = Decimal(rng.choice((0, 0, 0, 0, rng.randint(1, 100))))
    zero = Decimal(0)
    near = rng.random() < 0.05  # a FAB authorization 90 %+ used: the planner's "near their quantity" queue
    return {"item_id": item_id, "relationship_id": rel_id, "computed_at": now, "current_week": week,
            "unit_price": price, "material_share": Decimal("0.4"), "open_po": Decimal(100), "firm_forecast": Decimal(200),
            "firm_uncovered": Decimal(100), "fab_authorized": Decimal(1000) if near else zero, "raw_authorized": zero,
            "cum_start_date": week - timedelta(weeks=8) if near else None,
            "cum_shipped": Decimal(rng.randint(900, 1000)) if near else zero, "guaranteed": Decimal(200),
            "fg_on_hand": Decimal(200) + excess, "wip": zero,
            "produced_since_report": zero, "position_as_of": now, "supply": Decimal(200) + excess, "excess": excess,
            "material_forecast": cover, "material_cover": cover, "exposure_amount": exposure, "currency": "KRW",
            "projected_excess_qty": zero, "projected_excess_week": None, "shortage_qty": shortage,
            "shortage_week": week + timedelta(weeks=2) if shortage else None}


def generate(app, others: int) -> dict:
    """Write the data; returns the organisations and users the measurements sign in as."""
    from cogrow.accounts.models import Membership, Organisation, User
    from cogrow.alerts.models import Alert
    from cogrow.catalog.models import Item
    from cogrow.core.weeks import current_week
    from cogrow.coverage.models import CoverageLedger, ExposureSnapshot
    from cogrow.extensions import db
    from cogrow.relationships.models import SupplyRelationship

    rng = random.Random(SEED)
    now = datetime.now(timezone.utc)
    week = current_week(now)
    counts = {"items": 0, "snapshots": 0, "alerts": 0}
    with app.app_context():
        conn = db.session.connection()

        def org(name: str, kind: str) -> int:
            return conn.execute(insert(Organisation.__table__).values(name=name, kind=kind, created_at=now)
                                .returning(Organisation.__table__.c.id)).scalar_one()

        def person(org_id: int, role: str, label: str) -> int:
            user_id = conn.execute(insert(User.__table__).values(
                email=f"{role}.{label}@bench.example.com", name=f"{role} {label}", password_hash="!", locale="en",
                created_at=now).returning(User.__table__.c.id)).scalar_one()
            conn.execute(insert(Membership.__table__).values(user_id=user_id, organisation_id=org_id, role=role))
            return user_id

        primes = [org(f"Prime {p:02d}", "prime") for p in range(1 + others)]
        suppliers = [[org(f"Supplier {p:02d}-{s:03d}", "supplier") for s in range(SUPPLIERS)] for p in range(1 + others)]
        the_prime, the_supplier = primes[0], suppliers[0][0]
        users = {("prime", role): person(the_prime, role, "prime") for role in ("admin", "planner", "procurement")}
        users.update({("supplier", role): person(the_supplier, role, "supplier") for role in ("admin", "production")})

        pairs = [(primes[p], suppliers[p][s]) for p in range(1 + others) for s in range(SUPPLIERS)]
        # The measured supplier also serves the next two primes (the same physical parts, their own part numbers).
        pairs += [(primes[1 + k] if others > k else org(f"Extra prime {k}", "prime"), the_supplier) for k in range(2)]
        rel_ids = []
        for prime_id, supplier_id in pairs:
            rel_ids.append(conn.execute(insert(SupplyRelationship.__table__).values(
                prime_id=prime_id, supplier_id=supplier_id, status="active", firm_fence_weeks=4,
                material_fence_weeks=8, currency="KRW", material_share=Decimal("0.4"), threshold_units=Decimal(100),
                threshold_amount=Decimal(1_000_000), threshold_pct=Decimal("0.1"), over_delivery_pct=Decimal(0),
                po_ack_days=3, version=1, created_at=now, accepted_at=now)
                .returning(SupplyRelationship.__table__.c.id)).scalar_one())
        supplier_rels = {rid for rid, (_, sid) in zip(rel_ids, pairs) if sid == the_supplier}

        items = []
        for rid in rel_ids:
            for n in range(ITEMS):
                spn = f"SP-{n:03d}" if rid in supplier_rels and n % 5 else (None if rid in supplier_rels else
                                                                          f"S{rid}-{n:03d}")
                items.append({"relationship_id": rid, "prime_part_number": f"P{rid}-{n:03d}",
                              "supplier_part_number": spn, "description": "Bench part", "uom": "EA",
                              "unit_price": Decimal(rng.choice((350, 1200, 15000, 22000, 48000))), "currency": "KRW",
                              "lead_time_days": 14, "active": True, "version": 1, "created_at": now})
        _bulk(conn, Item, items)
        item_rows = conn.execute(text("SELECT id, relationship_id, unit_price FROM item ORDER BY id")).all()
        counts["items"] = len(item_rows)

        ledgers = [_ledger_row(i, r, week, now, rng, Decimal(str(p))) for i, r, p in item_rows]
        _bulk(conn, CoverageLedger, ledgers)
        snaps = []
        for row in ledgers:
            growing = rng.random() < 0.5  # half the items' exposure climbed to today's; the others held still
            for back in range(WEEKS):
                factor = Decimal(1) - Decimal("0.05") * back if growing else Decimal(1)
                snaps.append({"item_id": row["item_id"], "relationship_id": row["relationship_id"],
                              "week_start": week - timedelta(weeks=back),
                              "exposure_amount": (row["exposure_amount"] * max(Decimal(0), factor)).quantize(Decimal(1)), "currency": "KRW",
                              "excess_qty": row["excess"], "shortage_qty": row["shortage_qty"],
                              "updated_at": now - timedelta(weeks=back)})
        _bulk(conn, ExposureSnapshot, snaps)
        counts["snapshots"] = len(snaps)
        from cogrow.coverage.services import rebuild_exposure_weeks

        rebuild_exposure_weeks()  # the per-relationship weekly sums the reconcile batches would have written

        prime_items = [(i, r) for i, r, _ in item_rows if r in rel_ids[:SUPPLIERS] or r in supplier_rels]
        alerts = []
        kinds = ("excess_inventory", "projected_excess", "shortage_risk")
        for n, (item_id, rid) in enumerate(rng.sample(prime_items, ALERTS_OPEN + ALERTS_RESOLVED)):
            at = now - timedelta(hours=rng.randint(1, 24 * 90))
            alerts.append({"type": kinds[n % 3], "relationship_id": rid, "item_id": item_id,
                           "status": "open" if n < ALERTS_OPEN else "resolved",
                           "severity": ("info", "warning", "critical")[rng.randint(0, 2)],
                           "exposure": Decimal(rng.randint(0, 9_000_000)), "numbers": {}, "context": {},
                           "opened_at": at, "updated_at": at, "resolved_at": None if n < ALERTS_OPEN else now,
                           "version": 1})
        _bulk(conn, Alert, alerts)
        counts["alerts"] = len(alerts)
        measured = set(rel_ids[:SUPPLIERS]) | supplier_rels
        prices = {i: Decimal(str(p)) for i, _r, p in item_rows}
        by_rel: dict[int, list[int]] = {}
        for i, r, _p in item_rows:
            by_rel.setdefault(r, []).append(i)
        counts.update(_forecasts(conn, rng, now, week, rel_ids, measured, by_rel, prices, users))
        counts.update(_orders(conn, rng, now, week, pairs, rel_ids, by_rel, prices, users))
        db.session.commit()
    return {"users": users, "prime": the_prime, "supplier": the_supplier, "counts": counts}


def _forecasts(conn, rng: random.Random, now, week, rel_ids, measured: set[int], by_rel: dict[int, list[int]],
               prices: dict[int, Decimal], users: dict) -> dict:
    """VERSIONS weekly versions per measured relationship (one per background one), published a week apart, the
    newest this morning; the newest cuts some firm-zone cells (stored as forecast_cut, with the reason) and the
    supplier has committed to most of its firm and material buckets, some below the forecast."""
    from cogrow.core.weeks import zone_for
    from cogrow.forecasts.models import ForecastBucket, ForecastCommit, ForecastCut, ForecastPublication
    from cogrow.forecasts.services import REASON_CODES

    pubs, latest = [], {}
    for rid in rel_ids:
        versions = VERSIONS if rid in measured else 1
        for v in range(1, versions + 1):
            back = versions - v  # weeks before this one
            pubs.append({"relationship_id": rid, "version_no": v, "base_week": week - timedelta(weeks=back),
                         "firm_fence_weeks": 4, "material_fence_weeks": 8, "note": "Bench forecast",
                         "cut_reason": "Bench: demand moved out" if v == versions and v > 1 else None,
                         "firm_cuts": 0, "bucket_count": len(by_rel[rid]) * HORIZON,
                         "published_by_id": users[("prime", "planner")],
                         "published_at": now - timedelta(days=7 * back, hours=1)})
    _bulk(conn, ForecastPublication, pubs)
    pub_ids = {(r, v): i for i, r, v in conn.execute(text(
        "SELECT id, relationship_id, version_no FROM forecast_publication"))}
    buckets, cuts, commits_for = [], [], []
    base_qty = {i: Decimal(rng.choice((100, 200, 400, 800))) for items in by_rel.values() for i in items}
    for rid in rel_ids:
        versions = VERSIONS if rid in measured else 1
        cut_items = {i for i in by_rel[rid] if rng.random() < CUT_SHARE} if versions > 1 else set()
        for v in range(1, versions + 1):
            base = week - timedelta(weeks=versions - v)
            pub_id = pub_ids[(rid, v)]
            for item_id in by_rel[rid]:
                qty0 = base_qty[item_id]
                for w in range(HORIZON):
                    wk = base + timedelta(weeks=w)
                    # Each version moves the planning weeks a little (the supplier's "what changed").
                    qty = qty0 + (Decimal(10 * ((item_id + v + w) % 5)) if w >= 8 else 0)
                    if v == versions and item_id in cut_items and (wk - week).days // 7 in (1, 2):
                        previous = qty
                        qty = (qty * Decimal("0.6")).quantize(Decimal(1))
                        cuts.append({"publication_id": pub_id, "relationship_id": rid, "item_id": item_id,
                                     "week_start": wk, "previous_qty": previous, "new_qty": qty,
                                     "amount": (previous - qty) * prices[item_id]})
                    buckets.append({"publication_id": pub_id, "relationship_id": rid, "item_id": item_id,
                                    "week_start": wk, "quantity": qty, "zone": zone_for(w, 4, 8)})
            if v == versions and rid in measured:
                commits_for.append(pub_id)
    _bulk(conn, ForecastBucket, buckets)
    _bulk(conn, ForecastCut, cuts)
    n_cuts: dict[int, int] = {}
    for cut in cuts:
        n_cuts[cut["publication_id"]] = n_cuts.get(cut["publication_id"], 0) + 1
    if n_cuts:
        conn.execute(text("UPDATE forecast_publication SET firm_cuts = :n WHERE id = :id"),
                     [{"n": n, "id": pid} for pid, n in n_cuts.items()])
    commits = []
    placeholders = ", ".join(str(int(pid)) for pid in commits_for)
    for bid, pid, rid, item_id, wk, qty in conn.execute(text(
            "SELECT id, publication_id, relationship_id, item_id, week_start, quantity FROM forecast_bucket "
            f"WHERE publication_id IN ({placeholders}) AND zone IN ('firm', 'material')")):
        if rng.random() >= COMMIT_SHARE:
            continue
        qty = Decimal(str(qty))
        below = rng.random() < BELOW_SHARE
        commits.append({"bucket_id": bid, "publication_id": pid, "relationship_id": rid, "item_id": item_id,
                        "week_start": wk if not isinstance(wk, str) else datetime.fromisoformat(wk).date(),
                        "quantity": (qty * Decimal("0.7")).quantize(Decimal(1)) if below else qty,
                        "reason_code": rng.choice(REASON_CODES) if below else None,
                        "comment": "Bench: short" if below else "",
                        "committed_by_id": users[("supplier", "production")],
                        "committed_at": now - timedelta(minutes=30)})
    _bulk(conn, ForecastCommit, commits)
    return {"publications": len(pubs), "buckets": len(buckets), "cuts": len(cuts), "commits": len(commits)}


def _orders(conn, rng: random.Random, now, week, pairs, rel_ids, by_rel: dict[int, list[int]],
            prices: dict[int, Decimal], users: dict) -> dict:
    """POS_PER_REL POs of LINES_PER_PO lines per relationship, due from 4 weeks back to 12 weeks ahead: most
    acknowledged (the past ones shipped), some issued and not acknowledged (a third of them past po_ack_days),
    some with an open change proposal, a few drafts and closed ones."""
    from cogrow.orders.models import ChangeProposal, PurchaseOrder, PurchaseOrderLine

    states = ["acknowledged"] * 12 + ["issued"] * 3 + ["change_proposed"] * 2 + ["draft", "closed", "partially_shipped"]
    pos = []
    for rid, (prime_id, _supplier_id) in zip(rel_ids, pairs):
        for k in range(POS_PER_REL):
            status = rng.choice(states)
            issued = None if status == "draft" else now - timedelta(hours=rng.randint(1, 24 * (6 if status == "issued"
                                                                                              else 60)))
            pos.append({"relationship_id": rid, "prime_id": prime_id, "number": f"PO-{rid}-{k:04d}", "status": status,
                        "currency": "KRW", "note": "", "created_by_id": None, "created_at": now - timedelta(days=61),
                        "issued_at": issued,
                        "acknowledged_at": issued + timedelta(hours=5) if status not in ("draft", "issued") else None,
                        "closed_at": now if status == "closed" else None, "status_reason": None, "version": 1})
    _bulk(conn, PurchaseOrder, pos)
    po_rows = conn.execute(text("SELECT id, relationship_id, status FROM purchase_order ORDER BY id")).all()
    today = week + timedelta(days=rng.randint(0, 4))
    lines = []
    for po_id, rid, status in po_rows:
        items = rng.sample(by_rel[rid], LINES_PER_PO)
        for n, item_id in enumerate(items, start=1):
            due = today + timedelta(days=rng.randint(-28, 84))
            qty = Decimal(rng.choice((100, 200, 500, 1000)))
            shipped = qty if due < week and status in ("acknowledged", "closed") else (
                qty / 2 if status == "partially_shipped" else Decimal(0))
            lines.append({"purchase_order_id": po_id, "relationship_id": rid, "line_no": n, "item_id": item_id,
                          "quantity": qty, "due_date": due, "unit_price": prices[item_id], "shipped_qty": shipped,
                          "received_qty": shipped})
    _bulk(conn, PurchaseOrderLine, lines)
    proposals = []
    first_lines = conn.execute(text(
        "SELECT l.purchase_order_id, l.id, l.quantity, l.due_date, p.status FROM purchase_order_line l "
        "JOIN purchase_order p ON p.id = l.purchase_order_id WHERE l.line_no = 1 "
        "AND p.status IN ('change_proposed', 'acknowledged')")).all()
    for po_id, line_id, qty, due, status in first_lines:
        if status == "acknowledged" and rng.random() > 0.1:
            continue
        decided = status == "acknowledged"  # an earlier round, decided
        proposals.append({"purchase_order_id": po_id, "line_id": line_id,
                          "proposed_quantity": (Decimal(str(qty)) * Decimal("0.8")).quantize(Decimal(1)),
                          "proposed_due_date": None, "reason": "Bench: capacity",
                          "status": rng.choice(("accepted", "rejected")) if decided else "open",
                          "proposed_by_id": None, "decided_by_id": None, "decision_note": None,
                          "created_at": now - timedelta(hours=rng.randint(1, 24 * 5)),
                          "decided_at": now if decided else None})
    _bulk(conn, ChangeProposal, proposals)
    return {"pos": len(pos), "po_lines": len(lines), "proposals": len(proposals)}


# Measurements -----------------------------------------------------------------------------------------------

def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure(app, user_id: int, organisation_id: int, gets: int) -> dict:
    from cogrow.accounts.models import User
    from cogrow.accounts.services import open_session
    from cogrow.extensions import db

    client = app.test_client()
    with app.app_context():
        key = db.session.get(User, user_id).get_id()
        sid = open_session(user_id, organisation_id)
        db.session.commit()
    with client.session_transaction() as session:
        now = time.time()
        session.update({"_user_id": key, "_fresh": True, "login_at": now, "seen": now,
                        "org_id": organisation_id, "sid": sid})
    for _ in range(3):  # warm caches: compiled statements, templates
        response = client.get("/home")
        assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:500])
    server, cpu = [], []
    for _ in range(gets):
        start, start_cpu = time.perf_counter(), time.thread_time()
        response = client.get("/home")
        server.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        assert response.status_code == 200, response.status_code

    captured: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine

    def listener(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    # The request runs in its own app context (outside ours), so its session ends with it as in production.
    event.listen(engine, "before_cursor_execute", listener)
    try:
        client.get("/home")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    if True:
        raw = engine.raw_connection()
        try:
            floor, floor_cpu = [], []
            for _ in range(gets):
                cursor = raw.cursor()
                start, start_cpu = time.perf_counter(), time.thread_time()
                for statement, parameters in captured:
                    cursor.execute(statement, parameters)
                    if cursor.description is not None:
                        cursor.fetchall()
                floor.append(time.perf_counter() - start)
                floor_cpu.append(time.thread_time() - start_cpu)
                cursor.close()
                raw.rollback()  # the page's few writes (the session's last-seen time) are not kept
        finally:
            raw.close()
    return {"p50": statistics.median(server), "p95": _percentile(server, 95),
            "floor_p50": statistics.median(floor), "floor_p95": _percentile(floor, 95), "statements": len(captured),
            "cpu_p50": statistics.median(cpu), "floor_cpu_p50": statistics.median(floor_cpu)}


def run(backend: str, gets: int, others: int, workdir: Path, explained: bool = False) -> list[tuple[str, dict]]:
    if backend == "postgresql":
        url = reset_postgres()
    else:
        path = workdir / "home.sqlite"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    app = build_app(url, workdir)
    start = time.perf_counter()
    built = generate(app, others)
    print(f"{backend}: built {built['counts']} in {time.perf_counter() - start:.1f} s", flush=True)
    results = []
    for kind, role in ROLES:
        org_id = built[kind]
        results.append((f"{kind} {role}", measure(app, built["users"][(kind, role)], org_id, gets)))
        if explained:
            print(f"-- {kind} {role}: statements of one GET, bare, slowest first")
            explain(app, built["users"][(kind, role)], org_id)
    with app.app_context():
        from cogrow.extensions import db

        db.engine.dispose()
    if backend == "postgresql":
        drop_postgres()
    return results


def report(backend: str, results: list[tuple[str, dict]]) -> None:
    print(f"\n{backend}: GET /home, server time in-process over the GETs, floor = the page's SQL run bare")
    print("(cpu = this thread's CPU time: what the page costs when the machine is shared; SQLite's work is in-thread,"
          " PostgreSQL's is in the server and not counted)")
    print(f"{'role':22s} {'stmts':>5s} {'p50 ms':>8s} {'p95 ms':>8s} {'floor p50':>10s} {'floor p95':>10s} "
          f"{'p95/floor95':>11s} {'cpu p50':>8s} {'floor cpu':>9s}  goal p95 < 100 ms")
    for name, r in results:
        ratio = r["p95"] / r["floor_p95"] if r["floor_p95"] else float("inf")
        print(f"{name:22s} {r['statements']:5d} {r['p50'] * 1000:8.1f} {r['p95'] * 1000:8.1f} "
              f"{r['floor_p50'] * 1000:10.1f} {r['floor_p95'] * 1000:10.1f} {ratio:11.1f} "
              f"{r['cpu_p50'] * 1000:8.1f} {r['floor_cpu_p50'] * 1000:9.1f}  {'ok' if r['p95'] < 0.1 else 'OVER'}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


# --explain prints the plan of each SELECT at least this slow (seconds, bare).
PLAN_FROM = 0.002


def explain(app, user_id: int, organisation_id: int) -> None:
    """Each statement of one GET with its bare time (ms), slowest first: where a page's time goes; the plan of each
    SELECT of PLAN_FROM or more (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL)."""
    from cogrow.accounts.models import User
    from cogrow.accounts.services import open_session
    from cogrow.extensions import db

    client = app.test_client()
    with app.app_context():
        key = db.session.get(User, user_id).get_id()
        sid = open_session(user_id, organisation_id)
        db.session.commit()
        engine = db.engine
    with client.session_transaction() as session:
        now = time.time()
        session.update({"_user_id": key, "_fresh": True, "login_at": now, "seen": now, "org_id": organisation_id,
                        "sid": sid})
    captured = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    client.get("/home")
    event.remove(engine, "before_cursor_execute", listener)
    raw = engine.raw_connection()
    rows = []
    for statement, parameters in captured:
        cursor = raw.cursor()
        repeat = 1 if statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")) else 5
        best = min(_time_one(cursor, statement, parameters) for _ in range(repeat))
        rows.append((best, statement, parameters))
    plans = {}
    for best, statement, parameters in rows:
        if best >= PLAN_FROM and statement.lstrip().upper().startswith("SELECT"):
            cursor = raw.cursor()
            sqlite = engine.dialect.name == "sqlite"
            cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) ") + statement, parameters)
            plans[statement] = [row[-1] if sqlite else row[0] for row in cursor.fetchall()]
    raw.rollback()
    raw.close()
    for best, statement, _ in sorted(rows, key=lambda row: row[0], reverse=True):
        print(f"{best * 1000:7.2f} ms  {' '.join(statement.split())[:400]}")
        for line in plans.get(statement, ()):
            print(f"             | {line}")


def _time_one(cursor, statement, parameters) -> float:
    start = time.perf_counter()
    cursor.execute(statement, parameters)
    if cursor.description is not None:
        cursor.fetchall()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--gets", type=int, default=50)
    parser.add_argument("--others", type=int, default=4, help="other primes of the same size (background rows)")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--explain", action="store_true",
                        help="also list each page's statements by bare time, with the plans of the slow ones")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="cogrow-bench-home-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for backend in ("sqlite", "postgresql") if args.postgres else ("sqlite",):
        report(backend, run(backend, args.gets, args.others, workdir, args.explain))


if __name__ == "__main__":
    main()

