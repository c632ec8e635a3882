"""placeholder for 0014_reliability (filled by the work that owns it)

Revision ID: 0014_reliability
Revises: 0013_partitions
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0014_reliability"
down_revision = "0013_partitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
