"""Migration 0013 on a database that holds reports and readings already: on PostgreSQL the rows move into monthly
partitions and stay readable through the ORM, ids go on from the same sequences, and the way back restores plain
tables with their keys. On SQLite the migration changes nothing."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.migrations import database_at

D = Decimal
SEPT = datetime(2026, 9, 14, 6, tzinfo=timezone.utc)
NOV = datetime(2026, 11, 2, 6, tzinfo=timezone.utc)
OLD = datetime(2024, 1, 31, 23, 59, tzinfo=timezone.utc)


def _row(conn, table: str, **values) -> None:
    """Insert a row naming only what matters; any other NOT NULL column gets a neutral value of its type."""
    t = sa.Table(table, sa.MetaData(), autoload_with=conn)
    row = dict(values)
    for col in t.columns:
        if col.name in row or col.nullable or col.server_default is not None or col.name == "id":
            continue
        kind = col.type
        row[col.name] = (False if isinstance(kind, sa.Boolean) else 0 if isinstance(kind, (sa.Integer, sa.Numeric))
                         else NOV if isinstance(kind, sa.DateTime) else date(2026, 11, 2) if isinstance(kind, sa.Date)
                         else {} if isinstance(kind, sa.JSON) else "x")
    conn.execute(t.insert().values(**row))


def _fill(conn) -> None:
    _row(conn, "organisation", id=1, name="Prime", kind="prime")
    _row(conn, "organisation", id=2, name="Supplier", kind="supplier")
    _row(conn, "supply_relationship", id=1, prime_id=1, supplier_id=2, status="active", firm_fence_weeks=4,
         material_fence_weeks=8, currency="KRW", material_share=0.5, version=1)
    _row(conn, "item", id=1, relationship_id=1, prime_part_number="P-1", description="", uom="EA", unit_price=10,
         currency="KRW", lead_time_days=7, active=True, version=1)
    for report_id, as_of, fg in ((1, OLD, 5), (2, SEPT, 50), (3, NOV, 70)):
        _row(conn, "production_report", id=report_id, relationship_id=1, item_id=1, as_of=as_of, fg_on_hand=fg,
             source="api", note="")
    _row(conn, "planned_output", id=1, report_id=3, week_start=date(2026, 11, 9), quantity=12)
    _row(conn, "item_position", item_id=1, relationship_id=1, report_id=3, as_of=NOV, fg_on_hand=70)
    _row(conn, "production_line", id=1, relationship_id=1, code="PRESS-1", name="", item_id=1, active=True, version=1)
    for reading_id, read_at, counter in ((1, OLD, 3), (2, SEPT, 30), (3, NOV, 70)):
        _row(conn, "machine_reading", id=reading_id, line_id=1, relationship_id=1, item_id=1, read_at=read_at,
             counter=counter, produced=counter, new_run=False)
    if conn.dialect.name == "postgresql":  # ids were given: move the sequences past them, as inserts would have
        for table in ("production_report", "machine_reading", "planned_output"):
            conn.execute(text(f"SELECT setval('{table}_id_seq', 3)"))


@pytest.fixture
def old_database(tmp_path, monkeypatch):
    with database_at(tmp_path, monkeypatch, "0012_money_currency", _fill, name="partitions_migration") as found:
        yield found


def _kinds(conn) -> dict[str, str]:
    if conn.dialect.name != "postgresql":
        return {name: "r" for name in ("production_report", "machine_reading")}
    return dict(conn.execute(text("SELECT relname, relkind FROM pg_class WHERE relname IN "
                                  "('production_report', 'machine_reading')")).all())


def _where(conn, table: str) -> dict[int, str]:
    if conn.dialect.name != "postgresql":
        return {i: table for (i,) in conn.execute(text(f"SELECT id FROM {table} ORDER BY id"))}
    return dict(conn.execute(text(f"SELECT id, tableoid::regclass::text FROM {table} ORDER BY id")).all())


def _primary_key(conn, table: str) -> list[str]:
    return sa.inspect(conn).get_pk_constraint(table)["constrained_columns"]


def test_upgrade_moves_the_rows_into_months_and_downgrade_brings_back_plain_tables(old_database):
    app, engine = old_database
    postgres = engine.dialect.name == "postgresql"
    from flask_migrate import downgrade, upgrade

    from cogrow.extensions import db
    from cogrow.production.models import MachineReading, ProductionReport

    with app.app_context():
        upgrade(revision="0013_partitions")
    with engine.connect() as conn:
        if postgres:
            assert _kinds(conn) == {"production_report": "p", "machine_reading": "p"}
            assert _where(conn, "production_report") == {1: "production_report_p202401", 2: "production_report_p202609",
                                                         3: "production_report_p202611"}
            assert _where(conn, "machine_reading")[2] == "machine_reading_p202609"
            assert _primary_key(conn, "production_report") == ["id", "as_of"]
            assert _primary_key(conn, "machine_reading") == ["id", "read_at"]
            # every month from the oldest row to three months past the migration's day, and the default one
            months = conn.scalar(text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'production_report'::regclass"))
            assert months == 38 + 1  # 2024-01 .. 2027-02 (the run's instant is in 2026-11), and the default
        else:
            assert _kinds(conn) == {"production_report": "r", "machine_reading": "r"}
            assert _primary_key(conn, "production_report") == ["id"]
    with app.app_context():
        report = db.session.get(ProductionReport, 3)
        assert report.as_of == NOV and report.fg_on_hand == D(70) and [p.quantity for p in report.plan] == [D(12)]
        assert db.session.get(MachineReading, 1).read_at == OLD
        added = ProductionReport(relationship_id=1, item_id=1, as_of=datetime(2030, 5, 1, tzinfo=timezone.utc),
                                 fg_on_hand=D(1))
        db.session.add(added)
        db.session.commit()
        assert added.id == 4  # the same sequence goes on
        db.session.remove()
    with engine.connect() as conn:
        if postgres:
            assert _where(conn, "production_report")[4] == "production_report_default"
            with pytest.raises(IntegrityError):  # the position names its report by (id, as_of)
                conn.execute(text("UPDATE item_position SET as_of = :t"), {"t": SEPT})
            conn.rollback()

    with app.app_context():
        downgrade(revision="0012_money_currency")
    with engine.connect() as conn:
        assert _kinds(conn) == {"production_report": "r", "machine_reading": "r"}
        assert _primary_key(conn, "production_report") == ["id"] and _primary_key(conn, "machine_reading") == ["id"]
        assert conn.execute(text("SELECT id, fg_on_hand FROM production_report ORDER BY id")).all() == [
            (1, D(5)), (2, D(50)), (3, D(70)), (4, D(1))]
        assert [r for (r,) in conn.execute(text("SELECT counter FROM machine_reading ORDER BY id"))] == [3, 30, 70]
        assert conn.scalar(text("SELECT report_id FROM item_position")) == 3
        if postgres:
            assert not conn.scalar(text("SELECT count(*) FROM pg_class WHERE relname LIKE 'production\\_report\\_p%'"))
            with pytest.raises(IntegrityError):  # planned_output has its key on production_report again
                conn.execute(text("INSERT INTO planned_output (report_id, week_start, quantity) "
                                  "VALUES (99, '2026-11-09', 1)"))
            conn.rollback()
            conn.execute(text("INSERT INTO production_report (relationship_id, item_id, as_of, good_qty, scrap_qty, "
                              "wip_qty, fg_on_hand, source, note, received_at) "
                              "VALUES (1, 1, now(), 0, 0, 0, 0, 'api', '', now())"))
            assert conn.scalar(text("SELECT max(id) FROM production_report")) == 5
            conn.rollback()
    with app.app_context():
        upgrade()
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM production_report")) == 4
        assert conn.scalar(text("SELECT count(*) FROM planned_output")) == 1
