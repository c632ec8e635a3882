"""money: amounts carry their currency; the prime's monthly exchange rates

- supply_relationship.threshold_krw -> threshold_amount. The values stay: they were typed as numbers meant in the
  relationship's currency, and that is what the column now says.
- coverage_ledger, exposure_snapshot, exposure_week: exposure_krw -> exposure_amount, plus `currency`, filled with
  the relationship's currency (the amounts were always price x quantity in the item's price currency, which the
  catalog keeps equal to the relationship's).
- alert.numbers and alert_event.numbers (copies of the ledger row): the key exposure_krw becomes exposure_amount;
  every alert's numbers, and the events' that held exposure_krw, gain the relationship's `currency`.
- fx_rate: how many KRW one unit of a currency is worth in a month, per prime.

Columns are renamed with ALTER TABLE ... RENAME COLUMN (PostgreSQL, and SQLite >= 3.25), which keeps the indexes
on them and needs no table rebuild, so no foreign-key dance as in 0009/0011. The new `currency` columns are added
NOT NULL with a server default, which SQLite allows without a rebuild.

Revision ID: 0012_money_currency
Revises: 0011_document_numbers
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cogrow.core.types

revision = "0012_money_currency"
down_revision = "0011_document_numbers"
branch_labels = None
depends_on = None

EXPOSURE_TABLES = ("coverage_ledger", "exposure_snapshot", "exposure_week")
BATCH = 500


def _rename(table: str, old: str, new: str) -> None:
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}")


def _rewrite_numbers(table: str, currency_of_row, only_with_old_key: bool, old: str, new: str) -> None:
    """Rename a key of the `numbers` JSON of `table` and add `currency`; in Python, so both databases agree."""
    bind = op.get_bind()
    t = sa.table(table, sa.column("id", sa.Integer), sa.column("numbers", sa.JSON))
    query = sa.select(t.c.id, t.c.numbers).order_by(t.c.id)
    if only_with_old_key:
        query = query.where(sa.cast(t.c.numbers, sa.Text).like(f"%{old}%"))
    last = 0
    while True:
        rows = bind.execute(query.where(t.c.id > last).limit(BATCH)).all()
        if not rows:
            return
        for row_id, numbers in rows:
            last = row_id
            if not isinstance(numbers, dict):
                continue
            changed = dict(numbers)
            if old in changed:
                changed[new] = changed.pop(old)
            changed.setdefault("currency", currency_of_row(row_id))
            if changed != numbers:
                bind.execute(t.update().where(t.c.id == row_id).values(numbers=changed))


def upgrade() -> None:
    _rename("supply_relationship", "threshold_krw", "threshold_amount")
    for table in EXPOSURE_TABLES:
        _rename(table, "exposure_krw", "exposure_amount")
        op.add_column(table, sa.Column("currency", sa.String(length=3), server_default="KRW", nullable=False))
        op.execute(f"UPDATE {table} SET currency = (SELECT supply_relationship.currency FROM supply_relationship "
                   f"WHERE supply_relationship.id = {table}.relationship_id) "
                   f"WHERE EXISTS (SELECT 1 FROM supply_relationship "
                   f"WHERE supply_relationship.id = {table}.relationship_id AND supply_relationship.currency <> 'KRW')")

    bind = op.get_bind()
    alert_currency = dict(bind.execute(sa.text(
        "SELECT alert.id, supply_relationship.currency FROM alert "
        "JOIN supply_relationship ON supply_relationship.id = alert.relationship_id")).all())
    _rewrite_numbers("alert", lambda i: alert_currency.get(i, "KRW"), False, "exposure_krw", "exposure_amount")
    event_alert = dict(bind.execute(sa.text(
        "SELECT id, alert_id FROM alert_event WHERE CAST(numbers AS TEXT) LIKE '%exposure_krw%'")).all())
    _rewrite_numbers("alert_event", lambda i: alert_currency.get(event_alert.get(i), "KRW"), True,
                     "exposure_krw", "exposure_amount")

    op.create_table(
        "fx_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prime_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("krw_per_unit", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("updated_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("krw_per_unit > 0", name=op.f("ck_fx_rate_positive")),
        sa.ForeignKeyConstraint(["prime_id"], ["organisation.id"], name=op.f("fk_fx_rate_prime_id_organisation"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user_account.id"],
                                name=op.f("fk_fx_rate_updated_by_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_rate")),
        sa.UniqueConstraint("prime_id", "month", "currency", name=op.f("uq_fx_rate_prime_id_month_currency")),
    )
    with op.batch_alter_table("fx_rate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fx_rate_prime_id"), ["prime_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fx_rate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fx_rate_prime_id"))
    op.drop_table("fx_rate")
    bind = op.get_bind()
    for table in ("alert", "alert_event"):
        t = sa.table(table, sa.column("id", sa.Integer), sa.column("numbers", sa.JSON))
        rows = bind.execute(sa.select(t.c.id, t.c.numbers)
                            .where(sa.cast(t.c.numbers, sa.Text).like("%exposure_amount%"))).all()
        for row_id, numbers in rows:
            if isinstance(numbers, dict) and "exposure_amount" in numbers:
                changed = dict(numbers)
                changed["exposure_krw"] = changed.pop("exposure_amount")
                bind.execute(t.update().where(t.c.id == row_id).values(numbers=changed))
    for table in EXPOSURE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("currency")
        _rename(table, "exposure_amount", "exposure_krw")
    _rename("supply_relationship", "threshold_amount", "threshold_krw")
