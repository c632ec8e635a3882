"""scorecards: the relationship's due-date tolerance, which OTIF counts a line on time within

Revision ID: 0015_scorecards
Revises: 0014_reliability
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_scorecards"
down_revision = "0014_reliability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("supply_relationship", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_date_tolerance_days", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint(op.f("ck_supply_relationship_due_date_tolerance"),
                                         "due_date_tolerance_days >= 0 AND due_date_tolerance_days <= 30")


def downgrade() -> None:
    with op.batch_alter_table("supply_relationship", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_supply_relationship_due_date_tolerance"), type_="check")
        batch_op.drop_column("due_date_tolerance_days")
