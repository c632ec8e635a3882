"""Forecast publications (X12 830 / DELFOR) with zoned weekly buckets, authorizations and supplier commits."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cogrow.catalog.models import Item
from cogrow.core.types import Money, Quantity, UTCDateTime, utcnow
from cogrow.extensions import db
from cogrow.relationships.models import SupplyRelationship

ZONES = ("firm", "material", "planning")
AUTHORIZATION_KINDS = ("FAB", "RAW")
MIN_HORIZON_WEEKS = 26
BigId = BigInteger().with_variant(Integer, "sqlite")


class ForecastPublication(db.Model):
    """Version N of a relationship's forecast. Immutable once written: a revision is version N+1."""

    __tablename__ = "forecast_publication"
    __table_args__ = (
        UniqueConstraint("relationship_id", "version_no"),
        CheckConstraint("firm_fence_weeks >= 0 AND material_fence_weeks >= firm_fence_weeks", name="fences"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"),
                                                 index=True)
    version_no: Mapped[int] = mapped_column()
    # The week the zones were counted from, and the fences they were counted with.
    base_week: Mapped[date] = mapped_column(Date)
    firm_fence_weeks: Mapped[int] = mapped_column()
    material_fence_weeks: Mapped[int] = mapped_column()
    # The prime's internal note: shown to the prime's side only (pages and API).
    note: Mapped[str] = mapped_column(String(500), default="")
    # Why firm-zone quantities were cut (required when this version cuts any): shown to both sides.
    cut_reason: Mapped[str | None] = mapped_column(String(500))
    firm_cuts: Mapped[int] = mapped_column(default=0)  # how many firm-zone cells this version cut
    bucket_count: Mapped[int] = mapped_column(default=0)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    supply_relationship: Mapped[SupplyRelationship] = relationship()


class ForecastBucket(db.Model):
    __tablename__ = "forecast_bucket"
    __table_args__ = (
        UniqueConstraint("publication_id", "item_id", "week_start"),
        CheckConstraint("quantity >= 0", name="quantity"),
        CheckConstraint("zone IN ('firm', 'material', 'planning')", name="zone"),
        Index("ix_forecast_bucket_rel_item_week", "relationship_id", "item_id", "week_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("forecast_publication.id", ondelete="CASCADE"))
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="RESTRICT"))
    week_start: Mapped[date] = mapped_column(Date)  # the Monday of the ISO week
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    zone: Mapped[str] = mapped_column(String(8))

    item: Mapped[Item] = relationship()


class Authorization(db.Model):
    """A cumulative FAB or RAW authorization from a cumulative start date. Rows are appended; the
    authorized maximum of a (item, kind, start) period is the highest quantity ever granted in it."""

    __tablename__ = "forecast_authorization"
    __table_args__ = (
        CheckConstraint("kind IN ('FAB', 'RAW')", name="kind"),
        CheckConstraint("quantity >= 0", name="quantity"),
        Index("ix_forecast_authorization_rel_item", "relationship_id", "item_id", "kind", "cum_start_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(3))
    cum_start_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()


class ForecastCommit(db.Model):
    """The supplier's answer to one bucket: a quantity, with a reason code when below the forecast."""

    __tablename__ = "forecast_commit"
    __table_args__ = (
        UniqueConstraint("bucket_id"),
        CheckConstraint("quantity >= 0", name="quantity"),
        Index("ix_forecast_commit_pub", "publication_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bucket_id: Mapped[int] = mapped_column(ForeignKey("forecast_bucket.id", ondelete="CASCADE"))
    publication_id: Mapped[int] = mapped_column(ForeignKey("forecast_publication.id", ondelete="CASCADE"))
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="RESTRICT"))
    week_start: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(String(500), default="")
    committed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ForecastCut(db.Model):
    """A firm-zone cell that a publication lowered against the version before it (a missing cell counts as 0):
    written with the publication, so notices, the preview and the home pages read it without recomputing."""

    __tablename__ = "forecast_cut"
    __table_args__ = (
        UniqueConstraint("publication_id", "item_id", "week_start"),
        Index("ix_forecast_cut_rel", "relationship_id", "publication_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("forecast_publication.id", ondelete="CASCADE"))
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="RESTRICT"))
    week_start: Mapped[date] = mapped_column(Date)
    previous_qty: Mapped[Decimal] = mapped_column(Quantity)
    new_qty: Mapped[Decimal] = mapped_column(Quantity)
    # The cut units times the item's unit price when published: what the prime no longer guarantees.
    amount: Mapped[Decimal] = mapped_column(Money)


NOTICE_KINDS = ("firm_cut", "commit_below")


class ForecastNotice(db.Model):
    """A forecast event told to one user: firm-zone cuts (to the supplier), commits below forecast (to the
    planner). It shows in the user's forecast pages until read, and is e-mailed once through the mail backend."""

    __tablename__ = "forecast_notice"
    __table_args__ = (
        CheckConstraint("kind IN ('firm_cut', 'commit_below')", name="kind"),
        CheckConstraint("email_status IN ('pending', 'sent', 'failed', 'dead', 'none')", name="email_status"),
        Index("ix_forecast_notice_user", "user_id", "read_at"),
        Index("ix_forecast_notice_email", "email_status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    publication_id: Mapped[int] = mapped_column(ForeignKey("forecast_publication.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # [{"part", "week", "from", "to", "amount"?, "reason_code"?}, ...] (at most NOTICE_CELLS) and totals.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_status: Mapped[str] = mapped_column(String(8), default="pending")
    email_attempts: Mapped[int] = mapped_column(default=0)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))


class ForecastDraft(db.Model):
    """An unpublished forecast version: what a planner is weighing, for the what-if (coverage.whatif) before
    publishing. Its buckets stand in for the latest version's; publishing it is the normal publish path, and a
    published or discarded draft is deleted. A draft made from an import's checked rows names the import."""

    __tablename__ = "forecast_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"),
                                                 index=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"))
    # The latest version when the draft was made (shown beside it; the what-if always compares with the latest).
    base_version_no: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(String(500), default="")
    bucket_count: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    supply_relationship: Mapped[SupplyRelationship] = relationship()


class ForecastDraftBucket(db.Model):
    """A bucket of a draft, zoned as publishing it now would zone it."""

    __tablename__ = "forecast_draft_bucket"
    __table_args__ = (
        UniqueConstraint("draft_id", "relationship_id", "item_id", "week_start"),
        CheckConstraint("quantity >= 0", name="quantity"),
        CheckConstraint("zone IN ('firm', 'material', 'planning')", name="zone"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("forecast_draft.id", ondelete="CASCADE"))
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="RESTRICT"))
    week_start: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    zone: Mapped[str] = mapped_column(String(8))
