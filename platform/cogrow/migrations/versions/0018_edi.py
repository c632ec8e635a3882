"""placeholder for 0018_edi (filled by the work that owns it)

Revision ID: 0018_edi
Revises: 0017_liability
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0018_edi"
down_revision = "0017_liability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
