"""outbox rows remember when their task finished

Revision ID: 0005_outbox_done
Revises: 0004_alerts
"""
from alembic import op
import sqlalchemy as sa

import cogrow.core.types

revision = "0005_outbox_done"
down_revision = "0004_alerts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("done_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_outbox_event_inflight", ["done_at", "published_at"], unique=False)
    # Rows published before this column existed are taken as done.
    op.execute("UPDATE outbox_event SET done_at = published_at WHERE published_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_event_inflight")
        batch_op.drop_column("done_at")
