"""coverage ledger

Revision ID: 0003_coverage
Revises: 0002_demand_and_supply
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import cogrow.core.types  # noqa: F401

revision = "0003_coverage"
down_revision = "0002_demand_and_supply"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
