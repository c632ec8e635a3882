"""Monthly partitions of the production feeds on PostgreSQL: made ahead of time, dropped past the retention.

Migration 0013 partitions `production_report` by `as_of` and `machine_reading` by `read_at`, one partition per
UTC calendar month named `<table>_pYYYYMM`, plus `<table>_default` for any month that has none (an insert never
fails for want of a partition). This module keeps that shape going, once a day from the beat:

- **ahead**: the current month and the next MONTHS_AHEAD months get their partition before the first row arrives.
  A month whose rows already sit in the default partition (the job did not run for months, or a far-future
  timestamp) is left there: PostgreSQL refuses a partition whose rows the default holds, and moving them would
  delete production_report rows under item_position's foreign key. Those rows stay readable; the job logs it.
- **retention** (PRODUCTION_RETENTION_MONTHS, 0 = keep everything, the default): a month ends up dropped, whole,
  once it ended more than that many months before the current month began, *and only when no ledger figure
  needs it*. The coverage ledger reads an item's position (a copy of its latest report by `as_of`), that
  report's planned output, and the machine readings taken after the position's `as_of` (all of them when the
  item has no position). So:
    - a production_report month is dropped only when no item's position points into it. item_position's foreign
      key (report_id, as_of) -> production_report makes PostgreSQL refuse the detach otherwise, even against a
      report that arrived a moment ago; the plans of the dropped reports (which are nobody's position) go too;
    - a machine_reading month is dropped only when none of its readings is later than its item's position, and
      none belongs to an item without one. That is checked with the month detached, under the detach's lock, so
      no reading can slip in between the check and the drop; when the check fails the detach is rolled back.
  A month held back is retried every day; it goes once its items report again. The default partition is never
  dropped. A reading that arrives later for a month already dropped is counted against the readings that remain
  (its neighbour before it is gone), like the first reading of a line.

Every step is its own short transaction with a lock timeout, so a busy table makes a step wait for the next day
(three months of margin) instead of stalling ingest; each step is idempotent, and the day's (job, period) row in
periodic_run lets only one of two beats run it. On SQLite (the embedded default) there is nothing to do.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from cogrow.core.types import utcnow
from cogrow.coverage.models import PeriodicRun
from cogrow.extensions import db

logger = logging.getLogger("cogrow.production")

PARTITIONED = {"production_report": "as_of", "machine_reading": "read_at"}  # table -> partition key
MONTHS_AHEAD = 3
JOB = "production.partitions"
LOCK_TIMEOUT = "5s"  # a step that cannot get its lock in this time waits for the next run


@dataclass
class Outcome:
    """What one run did: partitions created and dropped, and the months held back with the reason."""

    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)


def month_start(moment: datetime, months: int = 0) -> datetime:
    """The first instant (UTC) of the month holding `moment`, moved by `months` months."""
    moment = moment.astimezone(timezone.utc)
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=timezone.utc)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y%m}"


def _month_of(table: str, name: str) -> datetime | None:
    found = re.fullmatch(re.escape(table) + r"_p(\d{4})(\d{2})", name)
    return datetime(int(found[1]), int(found[2]), 1, tzinfo=timezone.utc) if found else None


def on_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def partitions(table: str) -> dict[datetime, str]:
    """{month start: partition name} of the table's monthly partitions (the default one excluded)."""
    names = db.session.scalars(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:table AS regclass)"), {"table": table})
    return {month: name for name in names if (month := _month_of(table, name)) is not None}


def _expired(table: str) -> list[str]:
    """Months of `table` detached for the retention (renamed `<name>_expired` in the detach's transaction) that a
    run which stopped before its drop left behind."""
    names = db.session.scalars(text(
        "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' AND NOT c.relispartition "
        "AND c.relnamespace = CAST(current_schema() AS regnamespace) AND c.relname LIKE :pattern"),
        {"pattern": f"{table}\\_p%\\_expired"})
    return sorted(name for name in names if _month_of(table, name.removesuffix("_expired")) is not None)


def _step(sql: str, params: dict | None = None) -> None:
    db.session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    db.session.execute(text(sql), params or {})


def create_partition(table: str, month: datetime) -> str:
    """Create (and commit) the partition of `table` for the month starting at `month`; its name.

    Made as a table of its own and then attached: ATTACH takes only a SHARE UPDATE EXCLUSIVE lock on the parent,
    which inserts and reads do not wait for (CREATE TABLE … PARTITION OF would take ACCESS EXCLUSIVE). PostgreSQL
    adds the parent's key, indexes and foreign keys to the empty table as it attaches it.
    """
    name = partition_name(table, month)
    _step(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    db.session.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} "
                            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{month_start(month, 1).isoformat()}')"))
    db.session.commit()
    return name


def create_ahead(now: datetime, months_ahead: int = MONTHS_AHEAD, outcome: Outcome | None = None) -> Outcome:
    """Make sure the current month and the `months_ahead` next ones have their partitions."""
    outcome = outcome or Outcome()
    for table, key in PARTITIONED.items():
        have = partitions(table)
        for ahead in range(months_ahead + 1):
            start, end = month_start(now, ahead), month_start(now, ahead + 1)
            if start in have:
                continue
            name = partition_name(table, start)
            in_default = db.session.scalar(text(
                f"SELECT 1 FROM {table}_default WHERE {key} >= :lo AND {key} < :hi LIMIT 1"), {"lo": start, "hi": end})
            if in_default:
                logger.warning("%s: rows of %s are in the default partition; the month keeps them there",
                               table, f"{start:%Y-%m}")
                outcome.held[name] = "rows of this month are in the default partition"
                continue
            try:
                create_partition(table, start)
            except DBAPIError as exc:  # a lock timeout, or another run made it first
                db.session.rollback()
                outcome.held[name] = f"not created: {exc.orig.__class__.__name__}"
                continue
            outcome.created.append(name)
            logger.info("created partition %s", name)
    return outcome


# A reading the ledger still counts: later than its item's position, or of an item without one. Both are
# index probes on (relationship_id, item_id, read_at), one per stale position or position-less item.
_READINGS_COUNTED = (
    "SELECT 1 FROM item_position p WHERE p.as_of < :hi AND EXISTS (SELECT 1 FROM {part} r "
    "WHERE r.relationship_id = p.relationship_id AND r.item_id = p.item_id AND r.read_at > p.as_of) "
    "UNION ALL "
    "SELECT 1 FROM item i WHERE NOT EXISTS (SELECT 1 FROM item_position p WHERE p.item_id = i.id) "
    "AND EXISTS (SELECT 1 FROM {part} r WHERE r.relationship_id = i.relationship_id AND r.item_id = i.id) "
    "LIMIT 1")


def _drop_reports(name: str, start: datetime, end: datetime, outcome: Outcome) -> None:
    positions = db.session.scalar(text("SELECT count(*) FROM item_position WHERE as_of >= :lo AND as_of < :hi"),
                                  {"lo": start, "hi": end})
    if positions:
        outcome.held[name] = f"holds the current report of {positions} item(s)"
        return
    try:
        # item_position's key makes the detach fail if a position points into the month by now.
        _step(f"ALTER TABLE production_report DETACH PARTITION {name}")
        db.session.execute(text(f"ALTER TABLE {name} RENAME TO {name}_expired"))
        db.session.commit()
    except DBAPIError as exc:
        db.session.rollback()
        outcome.held[name] = f"not detached: {exc.orig.__class__.__name__}"
        return
    _finish_reports(f"{name}_expired")
    outcome.dropped.append(name)


def _finish_reports(expired: str) -> None:
    """Delete the plans of a detached month's reports (what ON DELETE CASCADE did), then the month itself.
    Outside the detach's transaction: the parent's lock is not held while the plans go."""
    db.session.execute(text(f"DELETE FROM planned_output WHERE report_id IN (SELECT id FROM {expired})"))
    db.session.execute(text(f"DROP TABLE {expired}"))
    db.session.commit()
    logger.info("dropped partition %s", expired.removesuffix("_expired"))


def _drop_readings(name: str, start: datetime, end: datetime, outcome: Outcome) -> None:
    counted = _READINGS_COUNTED.format(part=name)
    if db.session.scalar(text(counted), {"hi": end}):  # cheap answer first, without taking a lock
        outcome.held[name] = "holds readings the ledger still counts"
        return
    try:
        _step(f"ALTER TABLE machine_reading DETACH PARTITION {name}")
        # Detached under our lock: nothing can be added to it before the drop, so the check is final.
        if db.session.scalar(text(counted), {"hi": end}):
            db.session.rollback()  # re-attached as it was
            outcome.held[name] = "holds readings the ledger still counts"
            return
        db.session.execute(text(f"DROP TABLE {name}"))
        db.session.commit()
    except DBAPIError as exc:
        db.session.rollback()
        outcome.held[name] = f"not dropped: {exc.orig.__class__.__name__}"
        return
    outcome.dropped.append(name)
    logger.info("dropped partition %s", name)


def drop_expired(now: datetime, retention_months: int, outcome: Outcome | None = None) -> Outcome:
    """Drop the months that ended `retention_months` months or more before the current month began, when safe."""
    outcome = outcome or Outcome()
    for expired in _expired("production_report"):  # a run that stopped between detach and drop: finish it
        _finish_reports(expired)
        outcome.dropped.append(expired.removesuffix("_expired"))
    if retention_months <= 0:
        return outcome
    cutoff = month_start(now, -retention_months)
    for table, drop in (("production_report", _drop_reports), ("machine_reading", _drop_readings)):
        for start, name in sorted(partitions(table).items()):
            end = month_start(start, 1)
            if end <= cutoff:
                drop(name, start, end, outcome)
    return outcome


def maintain(now: datetime | None = None, retention_months: int = 0, months_ahead: int = MONTHS_AHEAD) -> Outcome:
    """One pass: the coming months' partitions, then the retention. Nothing to do on SQLite."""
    outcome = Outcome()
    if not on_postgres():
        return outcome
    now = now or utcnow()
    create_ahead(now, months_ahead, outcome)
    drop_expired(now, retention_months, outcome)
    for name, reason in outcome.held.items():
        logger.info("partition %s kept: %s", name, reason)
    return outcome


def locked_maintain(retention_months: int, now: datetime | None = None) -> Outcome | None:
    """`maintain` once per UTC day, whatever the number of beats: the (job, day) row is the lock. None when taken."""
    now = now or utcnow()
    if not on_postgres():
        return Outcome()
    day = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    db.session.add(PeriodicRun(job=JOB, period_start=day, started_at=utcnow()))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        logger.info("partition maintenance of %s already taken", day.date().isoformat())
        return None
    try:
        outcome = maintain(now, retention_months)
    except Exception:
        db.session.rollback()  # free the day so that a retry can take it
        db.session.execute(delete(PeriodicRun.__table__).where(PeriodicRun.job == JOB, PeriodicRun.period_start == day))
        db.session.commit()
        raise
    db.session.execute(update(PeriodicRun.__table__).where(PeriodicRun.job == JOB, PeriodicRun.period_start == day)
                       .values(finished_at=utcnow(), items=len(outcome.created) + len(outcome.dropped)))
    db.session.commit()
    return outcome


def _partition_table(name: str) -> bool:
    return any(name == f"{table}_default" or _month_of(table, name) is not None for table in PARTITIONED)


def _partition_difference(entry: tuple) -> bool:
    """Whether one entry of Alembic's compare_metadata is the partitioning itself (see unplanned_differences)."""
    kind, subject = entry[0], entry[1]
    if kind == "remove_table":
        return _partition_table(subject.name)
    if kind == "remove_index":
        return _partition_table(subject.table.name)
    if kind in ("add_fk", "remove_fk") and subject.table.name in ("item_position", "planned_output"):
        targets = {element.target_fullname.rsplit(".", 1)[0] for element in subject.elements}
        return all(name == "production_report" or _partition_table(name) for name in targets)
    return False


def unplanned_differences(differences: list) -> list:
    """Alembic's compare_metadata between the models and a PostgreSQL schema, without what partitioning changes
    on purpose: the month and default partitions (tables the models do not declare) and their indexes,
    item_position's key on (report_id, as_of) instead of report_id, planned_output's key to production_report
    (gone). The models keep the plain shape, which is also SQLite's."""
    return [entry for entry in differences if not (isinstance(entry, tuple) and _partition_difference(entry))]
