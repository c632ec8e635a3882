"""floor: document numbers unique per issuing organisation

Revision ID: 0011_document_numbers
Revises: 0010_forecast_cuts
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0011_document_numbers"
down_revision = "0010_forecast_cuts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
