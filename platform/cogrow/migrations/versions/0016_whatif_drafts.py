"""what-if drafts: unpublished forecast versions and PO lines marked for cancellation

Revision ID: 0016_whatif_drafts
Revises: 0015_scorecards

Separate tables rather than a draft status on forecast_publication / purchase_order: every "latest version" and
"open PO" query reads the published tables and need not learn to skip drafts.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cogrow.core.types

revision = "0016_whatif_drafts"
down_revision = "0015_scorecards"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "forecast_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("base_version_no", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("bucket_count", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        _fk("forecast_draft", "relationship_id", "supply_relationship", "RESTRICT"),
        _fk("forecast_draft", "import_id", "import_batch", "CASCADE"),
        _fk("forecast_draft", "created_by_id", "user_account", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_draft")),
    )
    with op.batch_alter_table("forecast_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forecast_draft_relationship_id"), ["relationship_id"], unique=False)

    op.create_table(
        "forecast_draft_bucket",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("zone", sa.String(length=8), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_forecast_draft_bucket_quantity")),
        sa.CheckConstraint("zone IN ('firm', 'material', 'planning')", name=op.f("ck_forecast_draft_bucket_zone")),
        _fk("forecast_draft_bucket", "draft_id", "forecast_draft", "CASCADE"),
        _fk("forecast_draft_bucket", "relationship_id", "supply_relationship", "RESTRICT"),
        _fk("forecast_draft_bucket", "item_id", "item", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_draft_bucket")),
        sa.UniqueConstraint("draft_id", "relationship_id", "item_id", "week_start",
                            name=op.f("uq_forecast_draft_bucket_draft_id_relationship_id_item_id_week_start")),
    )

    op.create_table(
        "po_cancel_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("purchase_order_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        _fk("po_cancel_draft", "relationship_id", "supply_relationship", "RESTRICT"),
        _fk("po_cancel_draft", "purchase_order_id", "purchase_order", "CASCADE"),
        _fk("po_cancel_draft", "created_by_id", "user_account", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_cancel_draft")),
        sa.UniqueConstraint("purchase_order_id", name=op.f("uq_po_cancel_draft_purchase_order_id")),
    )
    with op.batch_alter_table("po_cancel_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_po_cancel_draft_relationship_id"), ["relationship_id"], unique=False)

    op.create_table(
        "po_cancel_draft_line",
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        _fk("po_cancel_draft_line", "draft_id", "po_cancel_draft", "CASCADE"),
        _fk("po_cancel_draft_line", "line_id", "purchase_order_line", "CASCADE"),
        sa.PrimaryKeyConstraint("draft_id", "line_id", name=op.f("pk_po_cancel_draft_line")),
    )


def downgrade() -> None:
    op.drop_table("po_cancel_draft_line")
    with op.batch_alter_table("po_cancel_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_po_cancel_draft_relationship_id"))
    op.drop_table("po_cancel_draft")
    op.drop_table("forecast_draft_bucket")
    with op.batch_alter_table("forecast_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forecast_draft_relationship_id"))
    op.drop_table("forecast_draft")
