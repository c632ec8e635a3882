"""signed-in sessions are kept on the server so they can be ended; tokens of removed creators end

Revision ID: 0006_sessions_on_the_server
Revises: 0005_outbox_done
"""
from alembic import op
import sqlalchemy as sa

import cogrow.core.types

revision = "0006_sessions_on_the_server"
down_revision = "0005_outbox_done"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_user_session_organisation_id_organisation"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_user_session_user_id_user_account"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("sid_hash", name=op.f("uq_user_session_sid_hash")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index("ix_user_session_user_open", ["user_id", "revoked_at"], unique=False)
    # Tokens now end with the member who created them: those whose creator already left are revoked.
    op.execute(
        "UPDATE api_token SET revoked_at = CURRENT_TIMESTAMP WHERE revoked_at IS NULL AND created_by_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM membership m WHERE m.user_id = api_token.created_by_id "
        "AND m.organisation_id = api_token.organisation_id)"
    )


def downgrade():
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index("ix_user_session_user_open")
    op.drop_table("user_session")
