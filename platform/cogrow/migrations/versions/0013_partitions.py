"""production reports and machine readings partitioned by month on PostgreSQL

Revision ID: 0013_partitions
Revises: 0012_money_currency

The two feeds that grow by ~100 million rows a year (domain.md, the national network) become declarative RANGE
partitioned tables on PostgreSQL: `production_report` by `as_of` (the moment the report speaks for, which every
ledger query and the position ride on), `machine_reading` by `read_at`. One partition per calendar month in UTC,
named `<table>_pYYYYMM`, from the oldest month that holds data to three months ahead, plus `<table>_default`
so that an insert for a month without its partition never fails. `cogrow.production.partitions` makes the
coming months ahead of time and applies the retention setting.

PostgreSQL wants the partition key in every primary key and unique constraint, so the primary keys become
(id, as_of) and (id, read_at); ids still come from the same sequences and stay unique (the ORM keeps `id`
alone as its key). What points into production_report changes with it:
- item_position.report_id now references (report_id, as_of) -> production_report (id, as_of): the position
  copies its report's `as_of`, so the pair is the same row, and the key keeps a month that holds an item's
  current report from ever being detached (retention relies on it);
- planned_output.report_id loses its foreign key (nothing unique on `id` alone exists to reference). Plans are
  written with their report in one transaction, and the retention drop deletes the plans of the reports it
  drops, which is what ON DELETE CASCADE did.
machine_reading is referenced by nothing. On SQLite (the embedded default) nothing changes.

The rows are carried over: a partitioned twin is created and filled, the old table dropped and the twin renamed,
then the key, indexes and foreign keys are built on the filled table (faster than maintaining them row by row).
Downgrade does the same the other way, back to plain tables with their single-column keys.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import NamedTuple

from alembic import op
from sqlalchemy import text

revision = "0013_partitions"
down_revision = "0012_money_currency"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 3  # the same margin cogrow.production.partitions keeps


class _Table(NamedTuple):
    # (A NamedTuple: Alembic loads this file without registering it as a module, which dataclasses need.)
    name: str
    key: str
    indexes: tuple[str, ...]  # CREATE INDEX / ADD CONSTRAINT statements after the swap (key and fk excluded)
    foreign_keys: tuple[str, ...]  # outgoing: "name|columns|target(columns)|on delete"


_TABLES = (
    _Table(
        "production_report", "as_of",
        ("CREATE INDEX ix_production_report_item_as_of ON production_report (relationship_id, item_id, as_of)",),
        ("fk_production_report_item_id_item|item_id|item (id)|RESTRICT",
         "fk_production_report_relationship_id_supply_relationship|relationship_id|supply_relationship (id)|RESTRICT",
         "fk_production_report_reported_by_id_user_account|reported_by_id|user_account (id)|SET NULL",
         "fk_production_report_token_id_api_token|token_id|api_token (id)|SET NULL"),
    ),
    _Table(
        "machine_reading", "read_at",
        ("CREATE INDEX ix_machine_reading_item_read_at ON machine_reading (relationship_id, item_id, read_at)",
         "ALTER TABLE machine_reading ADD CONSTRAINT uq_machine_reading_line_id_read_at UNIQUE (line_id, read_at)"),
        ("fk_machine_reading_item_id_item|item_id|item (id)|RESTRICT",
         "fk_machine_reading_line_id_production_line|line_id|production_line (id)|CASCADE",
         "fk_machine_reading_relationship_id_supply_relationship|relationship_id|supply_relationship (id)|RESTRICT"),
    ),
)
_POSITION_FK = "fk_item_position_report_id_production_report"
_PLAN_FK = "fk_planned_output_report_id_production_report"


def _months(first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
    """[start, next start) of every UTC month from the one holding `first` to the one holding `last`."""
    year, month = first.year, first.month
    out = []
    while (year, month) <= (last.year, last.month):
        nxt = (year + month // 12, month % 12 + 1)
        out.append((datetime(year, month, 1, tzinfo=timezone.utc), datetime(*nxt, 1, tzinfo=timezone.utc)))
        year, month = nxt
    return out


def _ahead(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=timezone.utc)


def _finish(table: _Table, key_columns: str) -> None:
    """The key, indexes, the sequence's owner and the outgoing foreign keys, on the renamed filled table."""
    name = table.name
    op.execute(f"ALTER SEQUENCE {name}_id_seq OWNED BY {name}.id")
    op.execute(f"ALTER TABLE {name} ADD CONSTRAINT pk_{name} PRIMARY KEY ({key_columns})")
    for statement in table.indexes:
        op.execute(statement)
    for spec in table.foreign_keys:
        fk, columns, target, on_delete = spec.split("|")
        op.execute(f"ALTER TABLE {name} ADD CONSTRAINT {fk} FOREIGN KEY ({columns}) REFERENCES {target} "
                   f"ON DELETE {on_delete}")


def _swap(table: _Table, twin: str) -> None:
    """Fill the twin, drop the old table (keeping its sequence) and give the twin its name."""
    name = table.name
    op.execute(f"INSERT INTO {twin} SELECT * FROM {name}")
    op.execute(f"ALTER SEQUENCE {name}_id_seq OWNED BY NONE")
    op.execute(f"DROP TABLE {name}")
    op.execute(f"ALTER TABLE {twin} RENAME TO {name}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    now = datetime.now(timezone.utc)
    op.execute(f"ALTER TABLE item_position DROP CONSTRAINT {_POSITION_FK}")
    op.execute(f"ALTER TABLE planned_output DROP CONSTRAINT {_PLAN_FK}")
    for table in _TABLES:
        name, key, twin = table.name, table.key, f"{table.name}_0013_twin"
        oldest = bind.execute(text(f"SELECT min({key}) FROM {name}")).scalar()
        newest = bind.execute(text(f"SELECT max({key}) FROM {name}")).scalar()
        first = min(oldest, now) if oldest is not None else now
        last = max(newest, _ahead(now, MONTHS_AHEAD)) if newest is not None else _ahead(now, MONTHS_AHEAD)
        op.execute(f"CREATE TABLE {twin} (LIKE {name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
                   f"PARTITION BY RANGE ({key})")
        for start, end in _months(first, last):
            op.execute(f"CREATE TABLE {name}_p{start:%Y%m} PARTITION OF {twin} "
                       f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')")
        op.execute(f"CREATE TABLE {name}_default PARTITION OF {twin} DEFAULT")
        _swap(table, twin)
        _finish(table, f"id, {key}")
    op.execute(f"ALTER TABLE item_position ADD CONSTRAINT {_POSITION_FK} FOREIGN KEY (report_id, as_of) "
               "REFERENCES production_report (id, as_of) ON DELETE CASCADE")
    op.execute("ANALYZE production_report")
    op.execute("ANALYZE machine_reading")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE item_position DROP CONSTRAINT {_POSITION_FK}")
    for table in _TABLES:
        twin = f"{table.name}_0013_twin"
        op.execute(f"CREATE TABLE {twin} (LIKE {table.name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        _swap(table, twin)  # dropping the partitioned table drops its partitions
        _finish(table, "id")
    # Plans whose report a retention drop removed are already gone; any left without a report would block the key.
    op.execute("DELETE FROM planned_output WHERE NOT EXISTS "
               "(SELECT 1 FROM production_report r WHERE r.id = planned_output.report_id)")
    op.execute(f"ALTER TABLE planned_output ADD CONSTRAINT {_PLAN_FK} FOREIGN KEY (report_id) "
               "REFERENCES production_report (id) ON DELETE CASCADE")
    op.execute(f"ALTER TABLE item_position ADD CONSTRAINT {_POSITION_FK} FOREIGN KEY (report_id) "
               "REFERENCES production_report (id) ON DELETE CASCADE")
    op.execute("ANALYZE production_report")
    op.execute("ANALYZE machine_reading")
