"""reliability: the finished weeks' forecast F_L(w) and demand A(w) per relationship, item, week and lag, and how far
each relationship has been computed

Revision ID: 0014_reliability
Revises: 0013_partitions
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cogrow.core.types

revision = "0014_reliability"
down_revision = "0013_partitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reliability_week",
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("lag", sa.SmallInteger(), nullable=False),
        sa.Column("forecast_qty", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("actual_qty", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("computed_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("lag >= 1 AND lag <= 12", name=op.f("ck_reliability_week_lag")),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_reliability_week_item_id_item"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["relationship_id"], ["supply_relationship.id"],
                                name=op.f("fk_reliability_week_relationship_id_supply_relationship"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("relationship_id", "item_id", "week_start", "lag", name=op.f("pk_reliability_week")),
    )
    with op.batch_alter_table("reliability_week", schema=None) as batch_op:
        batch_op.create_index("ix_reliability_week_rel_week", ["relationship_id", "week_start"], unique=False)

    op.create_table(
        "reliability_progress",
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("next_week", sa.Date(), nullable=False),
        sa.Column("updated_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["relationship_id"], ["supply_relationship.id"],
                                name=op.f("fk_reliability_progress_relationship_id_supply_relationship"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("relationship_id", name=op.f("pk_reliability_progress")),
    )


def downgrade() -> None:
    op.drop_table("reliability_progress")
    with op.batch_alter_table("reliability_week", schema=None) as batch_op:
        batch_op.drop_index("ix_reliability_week_rel_week")
    op.drop_table("reliability_week")
