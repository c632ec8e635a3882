"""Migration 0012 on a database that holds money already: values stay, amounts gain their relationship's currency,
alert numbers lose the exposure_krw key, and the way back restores the old names with the same values."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from tests.migrations import database_at

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
D = Decimal


def _row(conn, table: str, **values) -> None:
    """Insert a row giving only the columns that matter; every other NOT NULL column gets a plain value."""
    t = sa.Table(table, sa.MetaData(), autoload_with=conn)
    row = dict(values)
    for col in t.columns:
        if col.name in row or col.nullable or (col.name == "id" and col.primary_key):
            continue
        kind = col.type
        if isinstance(kind, sa.Boolean):
            row[col.name] = False
        elif isinstance(kind, (sa.Integer, sa.Numeric)):
            row[col.name] = 0
        elif isinstance(kind, sa.DateTime):
            row[col.name] = NOW
        elif isinstance(kind, sa.Date):
            row[col.name] = date(2026, 11, 2)
        elif isinstance(kind, sa.JSON):
            row[col.name] = {}
        else:
            row[col.name] = "x"
    conn.execute(t.insert().values(**row))


def _fill(conn) -> None:
    _row(conn, "organisation", id=1, name="Prime", kind="prime")
    _row(conn, "organisation", id=2, name="Supplier", kind="supplier")
    _row(conn, "organisation", id=3, name="Other", kind="supplier")
    _row(conn, "supply_relationship", id=1, prime_id=1, supplier_id=2, status="active", firm_fence_weeks=4,
         material_fence_weeks=8, currency="USD", material_share=0.5, threshold_krw=700, version=1)
    _row(conn, "supply_relationship", id=2, prime_id=1, supplier_id=3, status="active", firm_fence_weeks=4,
         material_fence_weeks=8, currency="KRW", material_share=0.5, threshold_krw=1000000, version=1)
    _row(conn, "item", id=1, relationship_id=1, prime_part_number="P-USD", description="", uom="EA", unit_price=2.5,
         currency="USD", lead_time_days=7, active=True, version=1)
    _row(conn, "item", id=2, relationship_id=2, prime_part_number="P-KRW", description="", uom="EA", unit_price=3500,
         currency="KRW", lead_time_days=7, active=True, version=1)
    for item_id, rel_id, exposure in ((1, 1, "1250.5"), (2, 2, "3500000")):
        _row(conn, "coverage_ledger", item_id=item_id, relationship_id=rel_id, exposure_krw=exposure, excess=500)
        _row(conn, "exposure_snapshot", item_id=item_id, relationship_id=rel_id, week_start=date(2026, 10, 26),
             exposure_krw=exposure, excess_qty=500, shortage_qty=0)
        _row(conn, "exposure_week", relationship_id=rel_id, week_start=date(2026, 10, 26), exposure_krw=exposure,
             excess_qty=500, shortage_qty=0, items_exposed=1)
    numbers = {"excess": "500", "exposure_krw": "1250.5", "unit_price": "2.5"}
    _row(conn, "alert", id=1, type="excess_inventory", relationship_id=1, item_id=1, status="open", severity="warning",
         exposure=1250.5, numbers=numbers, context={}, version=1)
    _row(conn, "alert", id=2, type="po_unacknowledged", relationship_id=2, item_id=2, status="open", severity="info",
         exposure=10, numbers={"qty": "1", "value": "10"}, context={}, version=1)
    _row(conn, "alert_event", id=1, uuid="e-1", alert_id=1, kind="raised", severity="warning", status="open",
         numbers=numbers)
    _row(conn, "alert_event", id=2, uuid="e-2", alert_id=2, kind="raised", severity="info", status="open",
         numbers={"qty": "1", "value": "10"})


@pytest.fixture
def old_database(tmp_path, monkeypatch):
    with database_at(tmp_path, monkeypatch, "0011_document_numbers", _fill, name="money_migration") as found:
        yield found


def _numbers(conn, table: str) -> dict:
    return {i: json.loads(n) if isinstance(n, str) else n
            for i, n in conn.execute(text(f"SELECT id, numbers FROM {table} ORDER BY id")).all()}


def test_upgrade_keeps_the_values_and_labels_them_with_the_relationships_currency(old_database):
    app, engine = old_database
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        upgrade(revision="0012_money_currency")
    with engine.connect() as conn:
        assert [(i, D(str(t))) for i, t in conn.execute(text(
            "SELECT id, threshold_amount FROM supply_relationship ORDER BY id")).all()] == [(1, D(700)), (2, D(1000000))]
        for table in ("coverage_ledger", "exposure_snapshot"):
            rows = conn.execute(text(f"SELECT item_id, exposure_amount, currency FROM {table} ORDER BY item_id")).all()
            assert [(i, D(str(a)), c) for i, a, c in rows] == [(1, D("1250.5"), "USD"), (2, D(3500000), "KRW")]
        rows = conn.execute(text("SELECT relationship_id, exposure_amount, currency FROM exposure_week "
                                 "ORDER BY relationship_id")).all()
        assert [(i, D(str(a)), c) for i, a, c in rows] == [(1, D("1250.5"), "USD"), (2, D(3500000), "KRW")]
        alerts = _numbers(conn, "alert")
        assert alerts[1] == {"excess": "500", "exposure_amount": "1250.5", "unit_price": "2.5", "currency": "USD"}
        assert alerts[2] == {"qty": "1", "value": "10", "currency": "KRW"}
        events = _numbers(conn, "alert_event")
        assert events[1]["exposure_amount"] == "1250.5" and events[1]["currency"] == "USD"
        assert "exposure_krw" not in events[1]
        assert events[2] == {"qty": "1", "value": "10"}  # history without an exposure is left as it was
        assert conn.execute(text("SELECT count(*) FROM fx_rate")).scalar() == 0
    with app.app_context():
        downgrade(revision="0011_document_numbers")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT item_id, exposure_krw FROM coverage_ledger ORDER BY item_id")).all()
        assert [(i, D(str(a))) for i, a in rows] == [(1, D("1250.5")), (2, D(3500000))]
        assert D(str(conn.execute(text("SELECT threshold_krw FROM supply_relationship WHERE id = 1")).scalar())) == 700
        assert "exposure_krw" in _numbers(conn, "alert")[1]
    with app.app_context():
        upgrade()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT currency FROM coverage_ledger WHERE item_id = 1")).scalar() == "USD"
