"""edi: partner settings per relationship, control-number counters and the interchange log

Revision ID: 0018_edi
Revises: 0017_liability
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cogrow.core.types

revision = "0018_edi"
down_revision = "0017_liability"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "edi_partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("standard", sa.String(length=8), nullable=False),
        sa.Column("version", sa.String(length=12), nullable=False),
        sa.Column("prime_qualifier", sa.String(length=4), nullable=False),
        sa.Column("prime_edi_id", sa.String(length=35), nullable=False),
        sa.Column("prime_group_id", sa.String(length=15), nullable=False),
        sa.Column("supplier_qualifier", sa.String(length=4), nullable=False),
        sa.Column("supplier_edi_id", sa.String(length=35), nullable=False),
        sa.Column("supplier_group_id", sa.String(length=15), nullable=False),
        sa.Column("element_separator", sa.String(length=1), nullable=False),
        sa.Column("component_separator", sa.String(length=1), nullable=False),
        sa.Column("segment_terminator", sa.String(length=1), nullable=False),
        sa.Column("repetition_separator", sa.String(length=1), nullable=False),
        sa.Column("uom_codes", sa.JSON(), nullable=False),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("auto_send", sa.Boolean(), nullable=False),
        sa.Column("updated_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("standard IN ('x12', 'edifact')", name=op.f("ck_edi_partner_standard")),
        _fk("edi_partner", "relationship_id", "supply_relationship", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edi_partner")),
        sa.UniqueConstraint("relationship_id", name=op.f("uq_edi_partner_relationship_id")),
    )
    op.create_table(
        "edi_control_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_edi_control_counter_direction")),
        _fk("edi_control_counter", "partner_id", "edi_partner", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edi_control_counter")),
        sa.UniqueConstraint("partner_id", "direction", name=op.f("uq_edi_control_counter_partner_id_direction")),
    )
    op.create_table(
        "edi_interchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("standard", sa.String(length=8), nullable=False),
        sa.Column("message_type", sa.String(length=8), nullable=False),
        sa.Column("control_number", sa.String(length=14), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_edi_interchange_direction")),
        _fk("edi_interchange", "partner_id", "edi_partner", "CASCADE"),
        _fk("edi_interchange", "relationship_id", "supply_relationship", "CASCADE"),
        _fk("edi_interchange", "import_id", "import_batch", "SET NULL"),
        _fk("edi_interchange", "acknowledged_by_id", "edi_interchange", "SET NULL"),
        _fk("edi_interchange", "created_by_id", "user_account", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edi_interchange")),
        sa.UniqueConstraint("partner_id", "direction", "control_number",
                            name=op.f("uq_edi_interchange_partner_id_direction_control_number")),
    )
    with op.batch_alter_table("edi_interchange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_edi_interchange_partner_id"), ["partner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_edi_interchange_relationship_id"), ["relationship_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("edi_interchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_edi_interchange_relationship_id"))
        batch_op.drop_index(batch_op.f("ix_edi_interchange_partner_id"))
    op.drop_table("edi_interchange")
    op.drop_table("edi_control_counter")
    op.drop_table("edi_partner")
