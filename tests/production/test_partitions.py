"""Monthly partitions of production reports and machine readings (PostgreSQL), and their daily upkeep.

The retention drops whole months, and never one the coverage ledger still reads: the month of an item's current
report (its position), or readings later than the item's position. The ledger's figures are the same before and
after a drop. On SQLite (the embedded default) nothing is partitioned and the upkeep does nothing.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text

from cogrow.core.weeks import local_today, week_start
from cogrow.coverage import services as coverage
from cogrow.coverage.models import CoverageLedger, CoverageWeek, PeriodicRun
from cogrow.extensions import db as _db
from cogrow.production import partitions
from cogrow.production.models import ItemPosition, MachineReading, PlannedOutput, ProductionLine, ProductionReport
from tests import factories as f
from tests.conftest import on_postgres

postgres = pytest.mark.postgres_only
D = Decimal


def _now() -> datetime:
    return datetime.now(timezone.utc)  # the run's frozen instant


def _where(table: str, row_id: int) -> str:
    """The partition holding the row."""
    return _db.session.scalar(text(f"SELECT tableoid::regclass::text FROM {table} WHERE id = :id"), {"id": row_id})


def _report(db, item, as_of: datetime, fg: str = "100", plan: dict[date, str] | None = None,
            current: bool = False) -> ProductionReport:
    report = f.ProductionReportFactory(item=item, as_of=as_of, fg_on_hand=D(fg), wip_qty=D("10"))
    db.session.flush()
    for week, qty in (plan or {}).items():
        db.session.add(PlannedOutput(report_id=report.id, week_start=week, quantity=D(qty)))
    if current:  # what the ingest's upsert writes: a copy of the item's latest report
        db.session.merge(ItemPosition(item_id=item.id, relationship_id=item.relationship_id, report_id=report.id,
                                      as_of=as_of, good_qty=D(0), scrap_qty=D(0), wip_qty=report.wip_qty,
                                      fg_on_hand=report.fg_on_hand, raw_on_hand=None))
    db.session.commit()
    return report


def _line(db, item, code: str) -> ProductionLine:
    line = ProductionLine(relationship_id=item.relationship_id, code=code, item_id=item.id)
    db.session.add(line)
    db.session.commit()
    return line


def _reading(db, line, read_at: datetime, counter: int, produced: int) -> MachineReading:
    reading = MachineReading(line_id=line.id, relationship_id=line.relationship_id, item_id=line.item_id,
                             read_at=read_at, counter=counter, produced=D(produced))
    db.session.add(reading)
    db.session.commit()
    return reading


@pytest.mark.sqlite_only
def test_the_embedded_default_has_nothing_to_partition(db, tenant_a):
    report = _report(db, tenant_a.item, _now() - timedelta(days=900), current=True)
    assert partitions.maintain(_now(), retention_months=1).created == []
    assert partitions.locked_maintain(1, _now()) == partitions.Outcome()
    assert db.session.scalar(select(PeriodicRun).where(PeriodicRun.job == partitions.JOB)) is None
    assert db.session.get(ProductionReport, report.id) is not None  # kept whatever the retention


def test_the_upkeep_runs_daily_from_the_beat_and_keeps_everything_by_default(app):
    from workers.schedule import beat_schedule

    entry = beat_schedule(app.config)["production-partitions"]
    assert entry["task"] == "cogrow.production.maintain_partitions"
    assert app.config["PRODUCTION_RETENTION_MONTHS"] == 0


@postgres
def test_a_month_without_its_partition_lands_in_the_default_one(db, tenant_a):
    old = _report(db, tenant_a.item, datetime(2019, 3, 5, tzinfo=timezone.utc), plan={date(2019, 3, 4): "5"})
    new = _report(db, tenant_a.item, _now() - timedelta(hours=1), current=True)
    assert _where("production_report", old.id) == "production_report_default"
    assert _where("production_report", new.id) == partitions.partition_name("production_report",
                                                                           partitions.month_start(_now()))
    db.session.expire_all()
    read = db.session.get(ProductionReport, old.id)  # through the ORM, keyed by id alone
    assert read.as_of == datetime(2019, 3, 5, tzinfo=timezone.utc) and [p.quantity for p in read.plan] == [D(5)]
    line = _line(db, tenant_a.item, "PRESS-OLD")
    reading = _reading(db, line, datetime(2019, 3, 5, tzinfo=timezone.utc), 10, 10)
    assert _where("machine_reading", reading.id) == "machine_reading_default"


@postgres
def test_the_upkeep_makes_the_coming_months_once(db):
    later = partitions.month_start(_now(), 7)  # past the three months the migration made
    first = partitions.maintain(later)
    months = [partitions.month_start(later, n) for n in range(partitions.MONTHS_AHEAD + 1)]
    assert sorted(first.created) == sorted(partitions.partition_name(t, m) for t in partitions.PARTITIONED
                                           for m in months)
    assert set(months) <= set(partitions.partitions("machine_reading"))
    assert partitions.maintain(later).created == []  # idempotent


@postgres
def test_a_month_whose_rows_wait_in_the_default_partition_is_left_there(db, tenant_a):
    later = partitions.month_start(_now(), 6)
    report = _report(db, tenant_a.item, later + timedelta(days=2))
    outcome = partitions.maintain(later)
    name = partitions.partition_name("production_report", later)
    assert name not in outcome.created and "default partition" in outcome.held[name]
    assert _where("production_report", report.id) == "production_report_default"
    assert partitions.partition_name("machine_reading", later) in outcome.created


def _ledger(relationship_id: int) -> tuple:
    coverage.reconcile(relationship_id, None, _now())
    ledgers = db_rows(select(CoverageLedger.item_id, CoverageLedger.fg_on_hand, CoverageLedger.wip,
                             CoverageLedger.produced_since_report, CoverageLedger.position_as_of,
                             CoverageLedger.supply, CoverageLedger.excess).order_by(CoverageLedger.item_id))
    weeks = db_rows(select(CoverageWeek.item_id, CoverageWeek.week_start, CoverageWeek.planned_output,
                           CoverageWeek.projected).order_by(CoverageWeek.item_id, CoverageWeek.week_start))
    return ledgers, weeks


def db_rows(query) -> list[tuple]:
    return [tuple(row) for row in _db.session.execute(query)]


@postgres
def test_retention_drops_only_the_months_the_ledger_no_longer_reads(db, tenant_a):
    now = _now()
    this = partitions.month_start(now)
    old, older = partitions.month_start(now, -14), partitions.month_start(now, -15)
    for table in partitions.PARTITIONED:
        for month in (older, old):
            partitions.create_partition(table, month)
    rel = tenant_a.relationship
    kept_item, stale_item, quiet_item = tenant_a.item, f.ItemFactory(supply_relationship=rel), \
        f.ItemFactory(supply_relationship=rel)
    this_week = week_start(local_today())
    # kept_item: history 15 and 14 months back, its current report this month (with plan) -> history can go.
    history = [_report(db, kept_item, older + timedelta(days=3)).id,
               _report(db, kept_item, old + timedelta(days=3), plan={this_week - timedelta(weeks=60): "7"}).id]
    _report(db, kept_item, now - timedelta(hours=2), fg="300", plan={this_week + timedelta(weeks=2): "40"},
            current=True)
    # stale_item: its current report is 15 months old -> that month stays, with its plan.
    stale = _report(db, stale_item, older + timedelta(days=10), fg="55", plan={this_week + timedelta(weeks=1): "9"},
                    current=True).id
    # Readings: kept_item's old ones precede its position (not counted); stale_item's 14 months back follow its
    # 15-month-old position (counted); quiet_item has no position, so all its readings count.
    kept_line, stale_line, quiet_line = (_line(db, kept_item, "L-KEPT"), _line(db, stale_item, "L-STALE"),
                                         _line(db, quiet_item, "L-QUIET"))
    gone = [_reading(db, kept_line, older + timedelta(days=1), 10, 10).id,
            _reading(db, kept_line, old + timedelta(days=1), 20, 10).id]
    _reading(db, kept_line, now - timedelta(hours=1), 30, 10)
    counted = _reading(db, stale_line, old + timedelta(days=20), 40, 40).id
    quiet = _reading(db, quiet_line, older + timedelta(days=20), 8, 8).id
    before = _ledger(rel.id)
    assert before[0][0][3] == D(10) and before[0][1][3] == D(40) and before[0][2][3] == D(8)  # produced since

    assert partitions.maintain(now, retention_months=0).dropped == []  # 0 keeps everything
    outcome = partitions.maintain(now, retention_months=13)

    name = partitions.partition_name
    assert outcome.dropped == [name("production_report", old)]
    assert "current report of 1 item" in outcome.held[name("production_report", older)]
    assert "ledger still counts" in outcome.held[name("machine_reading", older)]  # quiet_item's reading
    assert "ledger still counts" in outcome.held[name("machine_reading", old)]  # stale_item's reading
    db.session.expire_all()
    assert db.session.get(ProductionReport, history[1]) is None
    assert db.session.scalar(select(PlannedOutput).where(PlannedOutput.report_id == history[1])) is None
    assert db.session.get(ProductionReport, history[0]) is not None
    assert db.session.get(ProductionReport, stale).plan[0].quantity == D(9)
    assert db.session.get(MachineReading, counted) and db.session.get(MachineReading, quiet)
    assert _ledger(rel.id) == before
    assert partitions.partitions("production_report").get(this)  # the current month is never a candidate

    # Once stale_item and quiet_item report again, nothing holds those months any more.
    _report(db, stale_item, now - timedelta(hours=3), current=True)
    _report(db, quiet_item, now - timedelta(hours=3), current=True)
    before = _ledger(rel.id)
    outcome = partitions.maintain(now, retention_months=13)
    assert sorted(outcome.dropped) == sorted([name("production_report", older), name("machine_reading", older),
                                              name("machine_reading", old)])
    db.session.expire_all()
    assert all(db.session.get(MachineReading, r) is None for r in (*gone, counted, quiet))
    assert db.session.get(ProductionReport, history[0]) is None and db.session.get(ProductionReport, stale) is None
    assert _ledger(rel.id) == before


@postgres
def test_a_report_that_becomes_current_keeps_its_month_even_against_a_late_check(db, tenant_a, monkeypatch):
    """The position's key (report_id, as_of) makes PostgreSQL refuse the detach, whatever the check saw."""
    now = _now()
    old = partitions.month_start(now, -14)
    partitions.create_partition("production_report", old)
    report = _report(db, tenant_a.item, old + timedelta(days=2), current=True)
    real_scalar = _db.session.scalar

    def blind(statement, *args, **kwargs):  # the count of positions in the month misses the one just written
        return 0 if "FROM item_position WHERE as_of" in str(statement) else real_scalar(statement, *args, **kwargs)

    monkeypatch.setattr(_db.session, "scalar", blind)
    outcome = partitions.maintain(now, retention_months=12)
    monkeypatch.undo()
    held = outcome.held[partitions.partition_name("production_report", old)]
    assert held.startswith("not detached") and "ForeignKeyViolation" in held
    db.session.expire_all()
    assert db.session.get(ProductionReport, report.id) is not None
    assert old in partitions.partitions("production_report")


@postgres
def test_one_run_a_day_whatever_the_number_of_beats(db):
    now = _now()
    assert partitions.locked_maintain(0, now) is not None
    assert partitions.locked_maintain(0, now + timedelta(hours=2)) is None
    run = db.session.scalar(select(PeriodicRun).where(PeriodicRun.job == partitions.JOB))
    assert run.finished_at is not None
    assert partitions.locked_maintain(0, now + timedelta(days=1)) is not None


@postgres
def test_the_models_match_the_schema_but_for_the_partitioning_itself(app):
    """The models keep the plain shape (SQLite's); on PostgreSQL only the partitioning differs from them."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), _db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), _db.metadata)
    kinds = {entry[0] for entry in differences}
    assert {"remove_table", "add_fk", "remove_fk"} <= kinds
    assert partitions.unplanned_differences(differences) == []
    other = ("add_column", None, "item_position", sa.Column("extra", sa.Integer()))
    assert partitions.unplanned_differences([*differences, other]) == [other]


def test_the_task_reports_what_it_did(db):
    from cogrow.production.tasks import maintain_partitions

    result = maintain_partitions()
    assert set(result) == {"created", "dropped", "held"} and result["dropped"] == []
    if on_postgres():
        assert maintain_partitions() is None  # the day is taken
