"""placeholder for 0015_scorecards (filled by the work that owns it)

Revision ID: 0015_scorecards
Revises: 0014_reliability
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0015_scorecards"
down_revision = "0014_reliability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
