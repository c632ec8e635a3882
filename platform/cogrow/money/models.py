"""The monthly exchange rates a prime maintains: how many KRW one unit of a currency is worth that month."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cogrow.core.types import UTCDateTime, utcnow
from cogrow.extensions import db

# Rates keep six decimals: 0.009412 KRW per unit is as meaningful as 1,384.25.
Rate = Numeric(18, 6)


class FxRate(db.Model):
    """One prime's rate for one currency in one month (`month` is the month's first day)."""

    __tablename__ = "fx_rate"
    __table_args__ = (
        UniqueConstraint("prime_id", "month", "currency"),
        CheckConstraint("krw_per_unit > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prime_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    month: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    krw_per_unit: Mapped[Decimal] = mapped_column(Rate)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
