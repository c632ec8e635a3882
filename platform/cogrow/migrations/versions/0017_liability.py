"""placeholder for 0017_liability (filled by the work that owns it)

Revision ID: 0017_liability
Revises: 0016_whatif_drafts
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0017_liability"
down_revision = "0016_whatif_drafts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
