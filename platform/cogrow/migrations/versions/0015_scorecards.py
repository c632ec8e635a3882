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
    # A plain ADD COLUMN on both databases: SQLite's batch mode would copy supply_relationship and drop the old
    # table, which every foreign key into it forbids while rows exist. SQLite cannot add a CHECK to an existing
    # table, so there the 0..30 range is held by the form and the API (the model declares it for new schemas).
    op.add_column("supply_relationship",
                  sa.Column("due_date_tolerance_days", sa.Integer(), server_default="0", nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint(op.f("ck_supply_relationship_due_date_tolerance"), "supply_relationship",
                                   "due_date_tolerance_days >= 0 AND due_date_tolerance_days <= 30")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_supply_relationship_due_date_tolerance"), "supply_relationship", type_="check")
    op.drop_column("supply_relationship", "due_date_tolerance_days")
