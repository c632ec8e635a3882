"""forecasts: reasons for firm-zone cuts

Revision ID: 0010_forecast_cuts
Revises: 0009_alert_sides
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0010_forecast_cuts"
down_revision = "0009_alert_sides"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
