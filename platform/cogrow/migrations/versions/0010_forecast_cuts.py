"""forecasts: reasons for firm-zone cuts

Revision ID: 0010_forecast_cuts
Revises: 0009_alert_sides
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cogrow.core.types

revision = "0010_forecast_cuts"
down_revision = "0009_alert_sides"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("forecast_publication", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cut_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("firm_cuts", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("forecast_publication", schema=None) as batch_op:
        batch_op.alter_column("firm_cuts", server_default=None)

    op.create_table(
        "forecast_cut",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("previous_qty", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("new_qty", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_forecast_cut_item_id_item"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["publication_id"], ["forecast_publication.id"],
                                name=op.f("fk_forecast_cut_publication_id_forecast_publication"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["relationship_id"], ["supply_relationship.id"],
                                name=op.f("fk_forecast_cut_relationship_id_supply_relationship"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_cut")),
        sa.UniqueConstraint("publication_id", "item_id", "week_start",
                            name=op.f("uq_forecast_cut_publication_id_item_id_week_start")),
    )
    with op.batch_alter_table("forecast_cut", schema=None) as batch_op:
        batch_op.create_index("ix_forecast_cut_rel", ["relationship_id", "publication_id"], unique=False)

    op.create_table(
        "forecast_notice",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("email_status", sa.String(length=8), nullable=False),
        sa.Column("email_attempts", sa.Integer(), nullable=False),
        sa.Column("emailed_at", cogrow.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.CheckConstraint("kind IN ('firm_cut', 'commit_below')", name=op.f("ck_forecast_notice_kind")),
        sa.CheckConstraint("email_status IN ('pending', 'sent', 'failed', 'dead', 'none')",
                           name=op.f("ck_forecast_notice_email_status")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_forecast_notice_organisation_id_organisation"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["publication_id"], ["forecast_publication.id"],
                                name=op.f("fk_forecast_notice_publication_id_forecast_publication"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["relationship_id"], ["supply_relationship.id"],
                                name=op.f("fk_forecast_notice_relationship_id_supply_relationship"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_forecast_notice_user_id_user_account"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_notice")),
    )
    with op.batch_alter_table("forecast_notice", schema=None) as batch_op:
        batch_op.create_index("ix_forecast_notice_user", ["user_id", "read_at"], unique=False)
        batch_op.create_index("ix_forecast_notice_email", ["email_status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("forecast_notice", schema=None) as batch_op:
        batch_op.drop_index("ix_forecast_notice_email")
        batch_op.drop_index("ix_forecast_notice_user")
    op.drop_table("forecast_notice")
    with op.batch_alter_table("forecast_cut", schema=None) as batch_op:
        batch_op.drop_index("ix_forecast_cut_rel")
    op.drop_table("forecast_cut")
    with op.batch_alter_table("forecast_publication", schema=None) as batch_op:
        batch_op.drop_column("firm_cuts")
        batch_op.drop_column("cut_reason")
