"""orders: document numbers unique per issuing organisation

A PO number is issued by the prime, so it is unique per prime (not per relationship); an ASN number is issued by the
supplier, so it is unique per supplier. Both tables gain the issuer's id (denormalised from the relationship) and a
unique constraint on (issuer, number); numbers are allocated from `document_counter`, one row per issuer and series.

Existing duplicates (the same number in two relationships of one issuer, e.g. PO-2026-0001 once per supplier) keep
the oldest document's number; each later one is renamed "<number>-2", "-3", ... and the renaming is written to the
audit log with both numbers, so a number printed on paper can still be traced.

Revision ID: 0011_document_numbers
Revises: 0010_forecast_cuts
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from cogrow.core.types import UTCDateTime

revision = "0011_document_numbers"
down_revision = "0010_forecast_cuts"
branch_labels = None
depends_on = None

NUMBER_LENGTH = 32
# table -> (issuer column, the relationship's column it copies, audit object type, audit action)
DOCUMENTS = {
    "purchase_order": ("prime_id", "prime_id", "purchase_order", "po.renumbered"),
    "shipment": ("supplier_id", "supplier_id", "shipment", "asn.renumbered"),
}


@contextmanager
def _without_foreign_keys():
    """SQLite rebuilds a table to change its constraints; with foreign keys on, dropping the old copy would
    cascade-delete the PO lines (and refuse on the shipment lines). The pragma only takes effect outside a
    transaction, so the migration's transaction is committed (every earlier revision is complete at that point),
    the rebuild runs in a transaction of its own with the keys off, and the keys are checked before it commits."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys = OFF")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"0011: foreign keys broken by the table rebuild: {broken[:5]}")
        bind.exec_driver_sql("COMMIT")
    except BaseException:
        bind.exec_driver_sql("ROLLBACK")
        bind.exec_driver_sql("PRAGMA foreign_keys = ON")
        bind.exec_driver_sql("BEGIN IMMEDIATE")  # the caller's transaction, which alembic rolls back
        raise
    bind.exec_driver_sql("PRAGMA foreign_keys = ON")
    bind.exec_driver_sql("BEGIN IMMEDIATE")  # the caller's transaction, which alembic commits


def _renamed(number: str, k: int, taken: set[str]) -> str:
    while True:
        suffix = f"-{k}"
        candidate = number[:NUMBER_LENGTH - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        k += 1


def _renumber_duplicates(table_name: str) -> None:
    issuer, _, object_type, action = DOCUMENTS[table_name]
    bind = op.get_bind()
    docs = sa.table(table_name, sa.column("id", sa.Integer), sa.column(issuer, sa.Integer),
                    sa.column("number", sa.String), sa.column("relationship_id", sa.Integer))
    audit = sa.table("audit_log", sa.column("at", UTCDateTime()), sa.column("organisation_id", sa.Integer),
                     sa.column("action", sa.String), sa.column("outcome", sa.String),
                     sa.column("object_type", sa.String), sa.column("object_id", sa.String),
                     sa.column("detail", sa.JSON))
    duplicated = (sa.select(docs.c[issuer], docs.c.number).group_by(docs.c[issuer], docs.c.number)
                  .having(sa.func.count() > 1))
    groups = bind.execute(duplicated).all()
    if not groups:
        return
    now = datetime.now(timezone.utc)
    for issuer_id, number in groups:
        taken = set(bind.scalars(sa.select(docs.c.number).where(docs.c[issuer] == issuer_id)))
        rows = bind.execute(sa.select(docs.c.id, docs.c.relationship_id)
                            .where(docs.c[issuer] == issuer_id, docs.c.number == number).order_by(docs.c.id)).all()
        for k, (doc_id, relationship_id) in enumerate(rows[1:], start=2):
            new_number = _renamed(number, k, taken)
            taken.add(new_number)
            bind.execute(docs.update().where(docs.c.id == doc_id).values(number=new_number))
            bind.execute(audit.insert().values(
                at=now, organisation_id=issuer_id, action=action, outcome="ok", object_type=object_type,
                object_id=str(doc_id), detail={"from": number, "to": new_number, "relationship_id": relationship_id,
                                               "why": "numbers are unique per issuing organisation"}))


def upgrade() -> None:
    op.create_table(
        "document_counter",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=32), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_document_counter_organisation_id_organisation"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organisation_id", "series", name=op.f("pk_document_counter")),
    )
    for table_name, (issuer, rel_column, _, _) in DOCUMENTS.items():
        op.add_column(table_name, sa.Column(issuer, sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table_name} SET {issuer} = (SELECT supply_relationship.{rel_column} "
                   f"FROM supply_relationship WHERE supply_relationship.id = {table_name}.relationship_id)")
        _renumber_duplicates(table_name)
    with _without_foreign_keys():
        for table_name, (issuer, _, _, _) in DOCUMENTS.items():
            with op.batch_alter_table(table_name, schema=None) as batch_op:
                batch_op.alter_column(issuer, existing_type=sa.Integer(), nullable=False)
                batch_op.create_foreign_key(op.f(f"fk_{table_name}_{issuer}_organisation"), "organisation",
                                            [issuer], ["id"], ondelete="RESTRICT")
                batch_op.drop_constraint(op.f(f"uq_{table_name}_relationship_id_number"), type_="unique")
                batch_op.create_unique_constraint(op.f(f"uq_{table_name}_{issuer}_number"), [issuer, "number"])


def downgrade() -> None:
    with _without_foreign_keys():
        for table_name, (issuer, _, _, _) in DOCUMENTS.items():
            with op.batch_alter_table(table_name, schema=None) as batch_op:
                batch_op.drop_constraint(op.f(f"uq_{table_name}_{issuer}_number"), type_="unique")
                batch_op.create_unique_constraint(op.f(f"uq_{table_name}_relationship_id_number"),
                                                  ["relationship_id", "number"])
                batch_op.drop_constraint(op.f(f"fk_{table_name}_{issuer}_organisation"), type_="foreignkey")
                batch_op.drop_column(issuer)
    op.drop_table("document_counter")
