"""partitions (placeholder, filled by the partitioning work)

Revision ID: 0013_partitions
Revises: 0012_money_currency
"""
from __future__ import annotations

revision = "0013_partitions"
down_revision = "0012_money_currency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
