"""Tables of the reliability domain: the finished weeks' forecast and demand, stored once, and how far each
relationship has been computed."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from cogrow.core.types import Quantity, UTCDateTime, utcnow
from cogrow.extensions import db

MAX_LAG = 12


class ReliabilityWeek(db.Model):
    """F_L(w) and A(w) of one finished target week, item and lag (see reliability.services for the definitions).

    Written once when the week has ended and never updated: the versions it reads are immutable, and A(w) is the
    demand the week ended with. The key makes a second computation of the same week insert nothing.
    """

    __tablename__ = "reliability_week"
    __table_args__ = (
        CheckConstraint("lag >= 1 AND lag <= 12", name="lag"),
        Index("ix_reliability_week_rel_week", "relationship_id", "week_start"),
    )

    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="CASCADE"),
                                                 primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)  # the target week w (its Monday)
    lag: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    forecast_qty: Mapped[Decimal] = mapped_column(Quantity)  # F_L(w); 0 when the version had no bucket for it
    actual_qty: Mapped[Decimal] = mapped_column(Quantity)  # A(w)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReliabilityProgress(db.Model):
    """The first target week of a relationship not yet computed: every week before it is stored (or had nothing)."""

    __tablename__ = "reliability_progress"

    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="CASCADE"),
                                                 primary_key=True)
    next_week: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
