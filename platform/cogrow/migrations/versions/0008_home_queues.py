"""home-prime: exposure snapshots for the 13-week trend

Revision ID: 0008_home_queues
Revises: 0007_imports_pending
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_home_queues"
down_revision = "0007_imports_pending"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
