"""home-prime: exposure snapshots per item and week, and their sums per relationship and week (the trend)

Revision ID: 0008_home_queues
Revises: 0007_imports_pending
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cogrow.core.types

revision = "0008_home_queues"
down_revision = "0007_imports_pending"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exposure_snapshot",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("exposure_krw", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("excess_qty", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("shortage_qty", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("updated_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_exposure_snapshot_item_id_item"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["relationship_id"], ["supply_relationship.id"],
                                name=op.f("fk_exposure_snapshot_relationship_id_supply_relationship"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "week_start", name=op.f("pk_exposure_snapshot")),
    )
    with op.batch_alter_table("exposure_snapshot", schema=None) as batch_op:
        batch_op.create_index("ix_exposure_snapshot_rel_week", ["relationship_id", "week_start", "exposure_krw"],
                              unique=False)


    op.create_table(
        "exposure_week",
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("exposure_krw", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("excess_qty", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("shortage_qty", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("items_exposed", sa.Integer(), nullable=False),
        sa.Column("updated_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["relationship_id"], ["supply_relationship.id"],
                                name=op.f("fk_exposure_week_relationship_id_supply_relationship"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("relationship_id", "week_start", name=op.f("pk_exposure_week")),
    )


def downgrade() -> None:
    op.drop_table("exposure_week")
    with op.batch_alter_table("exposure_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_exposure_snapshot_rel_week")
    op.drop_table("exposure_snapshot")
