"""alerts: each side's own view of an alert; numbers at each change

Revision ID: 0009_alert_sides
Revises: 0008_home_queues

- alert_side: each side's (prime, supplier) own acknowledgement and snooze of an alert; no row means open.
  Acknowledged and snoozed alerts move there (the side of whoever did it last) and the alert becomes "open";
  from now on alert.status is "open" or "resolved" and alert.snoozed_until / acknowledged_* are not written.
- alert.recheck: a manual resolution that the next reconcile checks (it reopens the alert if its condition holds).
- alert_event.qty / amount: the alert's figures at each change; reason: why it resolved or reopened; side: whose
  view an action changed. A new event kind, "reopened".
"""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

import cogrow.core.types

revision = "0009_alert_sides"
down_revision = "0008_home_queues"
branch_labels = None
depends_on = None

OLD_KINDS = "('raised', 'updated', 'escalated', 'acknowledged', 'commented', 'snoozed', 'resolved')"
NEW_KINDS = "('raised', 'updated', 'escalated', 'acknowledged', 'commented', 'snoozed', 'resolved', 'reopened')"


def _at(name, nullable=True):
    return sa.Column(name, cogrow.core.types.UTCDateTime(timezone=True), nullable=nullable)


@contextmanager
def _without_foreign_keys():
    """SQLite rebuilds alert_event to change its CHECK constraint; with foreign keys on, dropping the old copy would
    cascade-delete every inbox entry, e-mail and webhook delivery of every event. As in 0011: the pragma only takes
    effect outside a transaction, so the migration's transaction is committed, the rebuild runs in a transaction of
    its own with the keys off, and the keys are checked before it commits."""
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
            raise RuntimeError(f"0009: foreign keys broken by the table rebuild: {broken[:5]}")
        bind.exec_driver_sql("COMMIT")
    except BaseException:
        bind.exec_driver_sql("ROLLBACK")
        bind.exec_driver_sql("PRAGMA foreign_keys = ON")
        bind.exec_driver_sql("BEGIN IMMEDIATE")  # the caller's transaction, which alembic rolls back
        raise
    bind.exec_driver_sql("PRAGMA foreign_keys = ON")
    bind.exec_driver_sql("BEGIN IMMEDIATE")  # the caller's transaction, which alembic commits


def upgrade() -> None:
    op.create_table(
        "alert_side",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _at("snoozed_until"),
        _at("acknowledged_at"),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        _at("updated_at", False),
        sa.CheckConstraint("side IN ('prime', 'supplier')", name=op.f("ck_alert_side_side")),
        sa.CheckConstraint("status IN ('open', 'acknowledged', 'snoozed')", name=op.f("ck_alert_side_status")),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], name=op.f("fk_alert_side_alert_id_alert"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["acknowledged_by_id"], ["user_account.id"],
                                name=op.f("fk_alert_side_acknowledged_by_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("alert_id", "side", name=op.f("pk_alert_side")),
    )
    # Plain ADD COLUMNs: no table is rebuilt (a rebuild of alert would cascade-delete its events on SQLite).
    op.add_column("alert", sa.Column("recheck", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    op.add_column("alert_event", sa.Column("qty", sa.Numeric(precision=18, scale=4), nullable=True))
    op.add_column("alert_event", sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=True))
    op.add_column("alert_event", sa.Column("reason", sa.String(length=32), nullable=True))
    op.add_column("alert_event", sa.Column("side", sa.String(length=8), nullable=True))

    # Acknowledged and snoozed alerts: the view of the side that acted last (the prime's when nobody is known).
    op.execute("""
        INSERT INTO alert_side (alert_id, side, status, snoozed_until, acknowledged_at, acknowledged_by_id, updated_at)
        SELECT a.id,
               CASE WHEN (SELECT e.organisation_id FROM alert_event e
                          WHERE e.alert_id = a.id AND e.kind IN ('acknowledged', 'snoozed')
                          ORDER BY e.id DESC LIMIT 1) = r.supplier_id THEN 'supplier' ELSE 'prime' END,
               a.status,
               CASE WHEN a.status = 'snoozed' THEN a.snoozed_until END,
               a.acknowledged_at, a.acknowledged_by_id, a.updated_at
        FROM alert a JOIN supply_relationship r ON r.id = a.relationship_id
        WHERE a.status IN ('acknowledged', 'snoozed')
    """)
    op.execute("UPDATE alert SET status = 'open' WHERE status IN ('acknowledged', 'snoozed')")

    # A new event kind: SQLite changes a CHECK constraint by rebuilding the table.
    with _without_foreign_keys():
        with op.batch_alter_table("alert_event", schema=None) as batch_op:
            batch_op.drop_constraint(op.f("ck_alert_event_kind"), type_="check")
            batch_op.create_check_constraint(op.f("ck_alert_event_kind"), f"kind IN {NEW_KINDS}")


def downgrade() -> None:
    # The prime's view becomes the alert's status again (a supplier's acknowledgement is lost).
    op.execute("""
        UPDATE alert SET status = (SELECT s.status FROM alert_side s WHERE s.alert_id = alert.id AND s.side = 'prime')
        WHERE status = 'open' AND EXISTS (SELECT 1 FROM alert_side s WHERE s.alert_id = alert.id
                                          AND s.side = 'prime' AND s.status <> 'open')
    """)
    op.execute("DELETE FROM alert_event WHERE kind = 'reopened'")
    with _without_foreign_keys():
        with op.batch_alter_table("alert_event", schema=None) as batch_op:
            batch_op.drop_constraint(op.f("ck_alert_event_kind"), type_="check")
            batch_op.create_check_constraint(op.f("ck_alert_event_kind"), f"kind IN {OLD_KINDS}")
            batch_op.drop_column("side")
            batch_op.drop_column("reason")
            batch_op.drop_column("amount")
            batch_op.drop_column("qty")
        with op.batch_alter_table("alert", schema=None) as batch_op:
            batch_op.drop_column("recheck")
    op.drop_table("alert_side")
