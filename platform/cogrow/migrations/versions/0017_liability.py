"""liability statements: the table of issued statements

Revision ID: 0017_liability
Revises: 0016_whatif_drafts
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cogrow.core.types

revision = "0017_liability"
down_revision = "0016_whatif_drafts"
branch_labels = None
depends_on = None


def _fk(column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_liability_issue_{column}_{target}"),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "liability_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("as_of", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("total_amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("format IN ('print', 'xlsx', 'pdf')", name=op.f("ck_liability_issue_format")),
        _fk("relationship_id", "supply_relationship", "RESTRICT"),
        _fk("organisation_id", "organisation", "CASCADE"),
        _fk("issued_by_id", "user_account", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_liability_issue")),
    )
    with op.batch_alter_table("liability_issue", schema=None) as batch_op:
        batch_op.create_index("ix_liability_issue_rel", ["relationship_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("liability_issue", schema=None) as batch_op:
        batch_op.drop_index("ix_liability_issue_rel")
    op.drop_table("liability_issue")
