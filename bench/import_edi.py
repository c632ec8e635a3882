"""Benchmark: an X12 830 of 2,000 items x 26 weeks through the EDI import, against the CSV import of the same data.

Both go through the real import pipeline (upload -> preview -> confirm -> forecasts.services.publish), each into
its own relationship with the same items, so the work after reading is the same. The floor is the CSV import:
the plainest format the same pipeline reads. The EDI side adds the tokenizer, the envelope checks, the mapping
tables and the log of the interchange and its 997. The two alternate which goes first. Prints seconds for
each (median), rows/s and the ratio.

    flock /tmp/cogrow-bench.lock .venv/bin/python bench/import_edi.py [--items 2000] [--weeks 26] [--repeat 3]
        [--postgres]
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "platform"))

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cogrow_bench_edi"


# The same database reset and app (synchronous apply, read in process) as the CSV import's bench; bench/ is on
# sys.path when this runs as a script.
from import_forecast import _build_app, _reset_pg


def _tenant(label: str, n_items: int):
    """A prime, a supplier, an active relationship, n items and X12 partner settings."""
    from sqlalchemy import insert

    from cogrow.accounts.models import Organisation
    from cogrow.catalog.models import Item
    from cogrow.core.auth import Actor
    from cogrow.edi.models import PartnerSettings
    from cogrow.extensions import db
    from cogrow.relationships.models import SupplyRelationship

    prime = Organisation(name=f"Bench Prime {label}", kind="prime")
    supplier = Organisation(name=f"Bench Supplier {label}", kind="supplier")
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
    db.session.add(PartnerSettings(relationship_id=rel.id, standard="x12", version="004010", prime_qualifier="ZZ",
                                   prime_edi_id=f"PRIME{label}", prime_group_id="", supplier_qualifier="ZZ",
                                   supplier_edi_id=f"SUPP{label}", supplier_group_id="", element_separator="*",
                                   component_separator=">", segment_terminator="~", repetition_separator="^",
                                   uom_codes={}, test_mode=False))
    db.session.commit()
    return Actor(organisation_id=prime.id, org_kind="prime", role="planner"), rel.id, parts


def _quantities(parts: list[str], weeks: int, salt: int) -> list[tuple[str, int, int]]:
    return [(p, w, 100 + (i + w + salt) % 50) for i, p in enumerate(parts) for w in range(weeks)]


def _csv(rows) -> bytes:
    from cogrow.core.weeks import current_week, iso_label

    base = current_week()
    out = io.StringIO()
    out.write("Part number,Week,Quantity\r\n")
    for p, w, q in rows:
        out.write(f"{p},{iso_label(base + timedelta(weeks=w))},{q}\r\n")
    return out.getvalue().encode()


def _x12(rel_id: int, rows, weeks: int, control: int) -> bytes:
    from cogrow.core.weeks import current_week, local_today
    from cogrow.edi import services, x12
    from cogrow.edi.documents import Bucket, ForecastDoc, ForecastItem

    base = current_week()
    items: dict[str, list[Bucket]] = {}
    for p, w, q in rows:
        items.setdefault(p, []).append(Bucket(base + timedelta(weeks=w), Decimal(q), "firm" if w < 4 else "planning"))
    doc = ForecastDoc("BENCH", base, base + timedelta(weeks=weeks), tuple(
        ForecastItem(p, "EA", tuple(b)) for p, b in items.items()))
    partner = services.partner_of(rel_id)
    from datetime import datetime

    from cogrow.edi.documents import Envelope

    envelope = Envelope(partner.prime_edi_id, "ZZ", partner.supplier_edi_id, "ZZ", str(control).zfill(9),
                        local_today(), datetime.now().time().replace(second=0, microsecond=0), "x12", "004010",
                        group_control_number=str(control), message_type="830")
    return x12.write([doc], envelope, partner).encode()


def _timed(app, fn) -> float:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        started = time.perf_counter()
        batch = fn()
        elapsed = time.perf_counter() - started
    if batch.status != "applied":
        raise SystemExit(f"import is {batch.status}: {(batch.errors or [])[:3]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    if args.postgres:
        _reset_pg(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='cogrow-bench-edi-')}/bench.sqlite"
    app = _build_app(url)
    from cogrow.edi import services as edi
    from cogrow.imports import services as imports

    with app.app_context():
        csv_actor, csv_rel, parts = _tenant("C", args.items)
        edi_actor, edi_rel, _parts = _tenant("E", args.items)
    rows_n = args.items * args.weeks
    csv_times, edi_times, sizes = [], [], (0, 0)
    for run in range(args.repeat):
        rows = _quantities(parts, args.weeks, run)
        with app.app_context():
            csv_data, edi_data = _csv(rows), _x12(edi_rel, rows, args.weeks, 1000 + run)
        sizes = (len(csv_data), len(edi_data))

        def by_csv():
            batch = imports.upload(csv_actor, csv_rel, "forecast", f"bench-{run}.csv", csv_data)
            return imports.confirm(csv_actor, csv_rel, batch.id, reason="bench")

        def by_edi():
            batch, _rejection = edi.receive(edi_actor, edi_rel, f"bench-{run}.x12", edi_data)
            return imports.confirm(edi_actor, edi_rel, batch.id, reason="bench")

        if run % 2:  # alternate which goes first, so neither always meets a warm (or a cold) database
            edi_times.append(_timed(app, by_edi))
            csv_times.append(_timed(app, by_csv))
        else:
            csv_times.append(_timed(app, by_csv))
            edi_times.append(_timed(app, by_edi))
    csv_s, edi_s = statistics.median(csv_times), statistics.median(edi_times)
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; {args.items} items x {args.weeks} weeks = "
          f"{rows_n:,} buckets; median of {args.repeat} (upload + preview + confirm each)")
    print(f"floor  CSV import : {csv_s:7.2f} s  {rows_n / csv_s:10,.0f} buckets/s  ({sizes[0]:,} bytes)")
    print(f"EDI    830 import : {edi_s:7.2f} s  {rows_n / edi_s:10,.0f} buckets/s  ({sizes[1]:,} bytes)")
    print(f"ratio EDI / CSV   : {edi_s / csv_s:.2f}")


if __name__ == "__main__":
    main()
