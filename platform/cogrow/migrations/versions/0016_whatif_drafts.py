"""placeholder for 0016_whatif_drafts (filled by the work that owns it)

Revision ID: 0016_whatif_drafts
Revises: 0015_scorecards
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0016_whatif_drafts"
down_revision = "0015_scorecards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
