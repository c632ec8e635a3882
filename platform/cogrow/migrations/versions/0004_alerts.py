"""alerts and notifications

Revision ID: 0004_alerts
Revises: 0003_coverage
"""
from alembic import op
import sqlalchemy as sa

import cogrow.core.types

revision = "0004_alerts"
down_revision = "0003_coverage"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_LIVE = sa.text("status <> 'resolved'")


def _at(name, nullable=True):
    return sa.Column(name, cogrow.core.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("exposure", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        _at("opened_at", False),
        _at("updated_at", False),
        _at("resolved_at"),
        _at("snoozed_until"),
        _at("acknowledged_at"),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'acknowledged', 'snoozed', 'resolved')", name=op.f("ck_alert_status")),
        sa.CheckConstraint("severity IN ('info', 'warning', 'critical')", name=op.f("ck_alert_severity")),
        sa.ForeignKeyConstraint(["acknowledged_by_id"], ["user_account.id"],
                                name=op.f("fk_alert_acknowledged_by_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_alert_item_id_item"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["relationship_id"], ["supply_relationship.id"],
                                name=op.f("fk_alert_relationship_id_supply_relationship"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["user_account.id"],
                                name=op.f("fk_alert_resolved_by_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index("ux_alert_live", ["type", "relationship_id", "item_id"], unique=True,
                              sqlite_where=_LIVE, postgresql_where=_LIVE)
        batch_op.create_index("ix_alert_rel_item", ["relationship_id", "item_id"], unique=False)
        batch_op.create_index("ix_alert_status_updated", ["status", "updated_at"], unique=False)

    op.create_table(
        "alert_event",
        sa.Column("id", _BIG, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        _at("at", False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _at("snoozed_until"),
        sa.CheckConstraint("kind IN ('raised', 'updated', 'escalated', 'acknowledged', 'commented', 'snoozed', "
                           "'resolved')", name=op.f("ck_alert_event_kind")),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], name=op.f("fk_alert_event_alert_id_alert"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_alert_event_organisation_id_organisation"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["token_id"], ["api_token.id"], name=op.f("fk_alert_event_token_id_api_token"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_alert_event_user_id_user_account"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_event")),
        sa.UniqueConstraint("uuid", name=op.f("uq_alert_event_uuid")),
    )
    with op.batch_alter_table("alert_event", schema=None) as batch_op:
        batch_op.create_index("ix_alert_event_alert", ["alert_id", "id"], unique=False)

    op.create_table(
        "inbox_entry",
        sa.Column("id", _BIG, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("event_id", _BIG, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        _at("created_at", False),
        _at("read_at"),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], name=op.f("fk_inbox_entry_alert_id_alert"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["alert_event.id"], name=op.f("fk_inbox_entry_event_id_alert_event"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_inbox_entry_organisation_id_organisation"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_inbox_entry_user_id_user_account"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_entry")),
        sa.UniqueConstraint("user_id", "event_id", name=op.f("uq_inbox_entry_user_id_event_id")),
    )
    with op.batch_alter_table("inbox_entry", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_entry_user_read", ["user_id", "read_at"], unique=False)

    op.create_table(
        "notification_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email_mode", sa.String(length=8), nullable=False),
        _at("updated_at", False),
        sa.CheckConstraint("email_mode IN ('each', 'digest', 'off')", name=op.f("ck_notification_preference_email_mode")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_notification_preference_user_id_user_account"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preference")),
    )

    op.create_table(
        "email_delivery",
        sa.Column("id", _BIG, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event_id", _BIG, nullable=True),
        sa.Column("digest_key", sa.String(length=32), nullable=True),
        sa.Column("digest_id", _BIG, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at"),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        _at("created_at", False),
        _at("sent_at"),
        sa.CheckConstraint("status IN ('pending', 'failed', 'sent', 'dead', 'digest', 'digested')",
                           name=op.f("ck_email_delivery_status")),
        sa.ForeignKeyConstraint(["digest_id"], ["email_delivery.id"],
                                name=op.f("fk_email_delivery_digest_id_email_delivery"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["event_id"], ["alert_event.id"], name=op.f("fk_email_delivery_event_id_alert_event"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_email_delivery_user_id_user_account"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_delivery")),
        sa.UniqueConstraint("digest_key", "user_id", name=op.f("uq_email_delivery_digest_key_user_id")),
        sa.UniqueConstraint("event_id", "user_id", name=op.f("uq_email_delivery_event_id_user_id")),
    )
    with op.batch_alter_table("email_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_email_delivery_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        _at("created_at", False),
        _at("disabled_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_webhook_endpoint_created_by_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_webhook_endpoint_organisation_id_organisation"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_endpoint_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "webhook_delivery",
        sa.Column("id", _BIG, nullable=False),
        sa.Column("event_id", _BIG, nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at"),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        _at("created_at", False),
        _at("delivered_at"),
        sa.CheckConstraint("status IN ('pending', 'failed', 'delivered', 'dead')", name=op.f("ck_webhook_delivery_status")),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoint.id"],
                                name=op.f("fk_webhook_delivery_endpoint_id_webhook_endpoint"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["alert_event.id"], name=op.f("fk_webhook_delivery_event_id_alert_event"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint("event_id", "endpoint_id", name=op.f("uq_webhook_delivery_event_id_endpoint_id")),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_delivery_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_webhook_delivery_endpoint", ["endpoint_id", "id"], unique=False)


def downgrade():
    for table in ("webhook_delivery", "webhook_endpoint", "email_delivery", "notification_preference",
                  "inbox_entry", "alert_event", "alert"):
        op.drop_table(table)
