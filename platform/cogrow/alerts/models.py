"""Alerts, their history, and the notifications they cause (inbox, e-mail, webhooks)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cogrow.catalog.models import Item
from cogrow.core.types import Money, UTCDateTime, utcnow
from cogrow.extensions import db
from cogrow.relationships.models import SupplyRelationship

ALERT_TYPES = ("excess_inventory", "projected_excess", "shortage_risk", "po_unacknowledged", "asn_overdue")
ALERT_STATUSES = ("open", "acknowledged", "snoozed", "resolved")
SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
EVENT_KINDS = ("raised", "updated", "escalated", "acknowledged", "commented", "snoozed", "resolved", "reopened")
# Events that reach people outside the page: the inbox, e-mail and webhooks.
NOTIFIED_KINDS = ("raised", "escalated", "resolved", "reopened")
# The two sides of a relationship. Each side has its own view of an alert (acknowledged, snoozed: AlertSide);
# the alert itself is open or resolved, and only the side that owns its type may resolve it by hand.
SIDES = ("prime", "supplier")
SIDE_STATUSES = ("open", "acknowledged", "snoozed")
OWNER_SIDE = {
    "excess_inventory": "prime",  # procurement firms up demand or asks the supplier to slow down
    "projected_excess": "supplier",  # the supplier's own plan: it slows down
    "shortage_risk": "prime",  # procurement's supply is at risk
    "po_unacknowledged": "prime",  # the prime waits for the acknowledgement
    "asn_overdue": "prime",  # the prime waits for the shipment
}
EMAIL_MODES = ("each", "digest", "off")
EMAIL_STATUSES = ("pending", "failed", "sent", "dead", "digest", "digested")
WEBHOOK_STATUSES = ("pending", "failed", "delivered", "dead")

# The partial index is the natural key of reliability.md: one live alert per (type, relationship, item).
_LIVE = text("status <> 'resolved'")


class Alert(db.Model):
    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'acknowledged', 'snoozed', 'resolved')", name="status"),
        CheckConstraint("severity IN ('info', 'warning', 'critical')", name="severity"),
        Index("ux_alert_live", "type", "relationship_id", "item_id", unique=True,
              sqlite_where=_LIVE, postgresql_where=_LIVE),
        Index("ix_alert_rel_item", "relationship_id", "item_id"),
        Index("ix_alert_status_updated", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    severity: Mapped[str] = mapped_column(String(16), default="info")
    # What the alert is worth in money, kept as a column so that lists sort by it. Its measure depends on the type
    # (explain.MEASURE_LABELS): exposure for the excess types, revenue at risk (units short x price) for a shortage,
    # the open value for the PO types. Only the excess types' amounts are exposure.
    exposure: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # The numbers the explanation is built from (decimals as strings), and the objects behind them.
    numbers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # Resolved by hand and not yet checked by a reconcile: the next sync reopens it if its condition still holds.
    recheck: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    version: Mapped[int] = mapped_column(default=1)

    supply_relationship: Mapped[SupplyRelationship] = relationship()
    item: Mapped[Item] = relationship()

    __mapper_args__ = {"version_id_col": version}

    # Since 0009 the status is "open" or "resolved" and the columns snoozed_until, acknowledged_at and
    # acknowledged_by_id are no longer written: each side's acknowledgement and snooze live in AlertSide.
    # `view` is not a column: services attach the reader's side view (services.View) to the alerts they return.
    view = None

    @property
    def live(self) -> bool:
        return self.status != "resolved"

    @property
    def owner_side(self) -> str:
        return OWNER_SIDE.get(self.type, "prime")


class AlertSide(db.Model):
    """One side's own view of an alert: acknowledged or snoozed by that side. No row means open."""

    __tablename__ = "alert_side"
    __table_args__ = (
        CheckConstraint("side IN ('prime', 'supplier')", name="side"),
        CheckConstraint("status IN ('open', 'acknowledged', 'snoozed')", name="status"),
    )

    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True)
    side: Mapped[str] = mapped_column(String(8), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertEvent(db.Model):
    """One step of an alert's history; `uuid` is the stable event id that notifications are keyed on."""

    __tablename__ = "alert_event"
    __table_args__ = (
        CheckConstraint("kind IN ('raised', 'updated', 'escalated', 'acknowledged', 'commented', 'snoozed', "
                        "'resolved', 'reopened')", name="kind"),
        Index("ix_alert_event_alert", "alert_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who did it; both empty means the system did (an automatic raise, update or resolution).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    numbers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The alert's headline figures when this happened: its quantity (units in excess, short, open) and its amount
    # (in the relationship's currency, the measure of the alert's type).
    qty: Mapped[Decimal | None] = mapped_column(Money)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    # Why it was resolved or reopened (services.REASONS), and the side whose own view an action changed.
    reason: Mapped[str | None] = mapped_column(String(32))
    side: Mapped[str | None] = mapped_column(String(8))

    alert: Mapped[Alert] = relationship()

    @property
    def automatic(self) -> bool:
        return self.user_id is None and self.token_id is None


class InboxEntry(db.Model):
    __tablename__ = "inbox_entry"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        Index("ix_inbox_entry_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_event.id", ondelete="CASCADE"))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[AlertEvent] = relationship()
    alert: Mapped[Alert] = relationship()


class NotificationPreference(db.Model):
    """How a user wants alert e-mail: one message per alert event, a daily digest, or none."""

    __tablename__ = "notification_preference"
    __table_args__ = (CheckConstraint("email_mode IN ('each', 'digest', 'off')", name="email_mode"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    email_mode: Mapped[str] = mapped_column(String(8), default="each")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailDelivery(db.Model):
    """One e-mail to one user: about one event (event_id), or a digest of several (digest_key)."""

    __tablename__ = "email_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        UniqueConstraint("digest_key", "user_id"),
        CheckConstraint("status IN ('pending', 'failed', 'sent', 'dead', 'digest', 'digested')", name="status"),
        Index("ix_email_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("alert_event.id", ondelete="CASCADE"))
    digest_key: Mapped[str | None] = mapped_column(String(32))
    # An event row collected into a digest points at the digest row that carried it.
    digest_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("email_delivery.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEndpoint(db.Model):
    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    # "whsec_" + base64 of at least 24 random bytes (Standard Webhooks); shown once, when created.
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        CheckConstraint("status IN ('pending', 'failed', 'delivered', 'dead')", name="status"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_event.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[AlertEvent] = relationship()
    endpoint: Mapped[WebhookEndpoint] = relationship()
