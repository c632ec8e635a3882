"""Tables of the liability domain."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cogrow.core.types import Money, UTCDateTime, utcnow
from cogrow.extensions import db


class LiabilityIssue(db.Model):
    """A liability statement as it was issued (printed or downloaded): its month, instant, hash and total, so that
    either side can later show which figures it handed over. The audit log holds the same issue as a row."""

    __tablename__ = "liability_issue"
    __table_args__ = (
        CheckConstraint("format IN ('print', 'xlsx', 'pdf')", name="format"),
        Index("ix_liability_issue_rel", "relationship_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    format: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    total_amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
