"""imports gain the 'pending' state: a large file stored, waiting for the worker to read it

Revision ID: 0007_imports_pending
Revises: 0006_sessions_on_the_server
"""
from alembic import op

revision = "0007_imports_pending"
down_revision = "0006_sessions_on_the_server"
branch_labels = None
depends_on = None

NEW = "status IN ('pending', 'preview', 'invalid', 'queued', 'running', 'applied', 'failed', 'discarded')"
OLD = "status IN ('preview', 'invalid', 'queued', 'running', 'applied', 'failed', 'discarded')"


def _replace(condition: str) -> None:
    with op.batch_alter_table("import_batch", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint(op.f("ck_import_batch_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_import_batch_status"), condition)


def upgrade():
    _replace(NEW)


def downgrade():
    # A file still waiting for the worker cannot be kept in the old states: it is discarded.
    op.execute("UPDATE import_batch SET status = 'discarded', content = NULL WHERE status = 'pending'")
    _replace(OLD)
