"""alerts and notifications

Revision ID: 0004_alerts
Revises: 0003_coverage
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import cogrow.core.types  # noqa: F401

revision = "0004_alerts"
down_revision = "0003_coverage"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
