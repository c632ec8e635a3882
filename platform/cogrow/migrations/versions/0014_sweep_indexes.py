"""sweep indexes (placeholder, filled by the sweep work)

Revision ID: 0014_sweep_indexes
Revises: 0013_partitions
"""
from __future__ import annotations

revision = "0014_sweep_indexes"
down_revision = "0013_partitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
