"""alerts: each side's own view of an alert; numbers at each change

Revision ID: 0009_alert_sides
Revises: 0008_home_queues
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0009_alert_sides"
down_revision = "0008_home_queues"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
