"""Coverage tables: the ledger per item, its weekly projection, and the lock rows of periodic jobs."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cogrow.core.types import Money, Quantity, Ratio, UTCDateTime, utcnow
from cogrow.extensions import db


class CoverageLedger(db.Model):
    """The coverage ledger of one item as of `computed_at` (formulas in coverage.services)."""

    __tablename__ = "coverage_ledger"
    __table_args__ = (Index("ix_coverage_ledger_rel_exposure", "relationship_id", "exposure_amount"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="CASCADE"))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The week the ledger was computed for (the current week then), and the inputs the explanation cites.
    current_week: Mapped[date] = mapped_column(Date)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    material_share: Mapped[Decimal] = mapped_column(Ratio)
    open_po: Mapped[Decimal] = mapped_column(Quantity)
    firm_forecast: Mapped[Decimal] = mapped_column(Quantity)
    firm_uncovered: Mapped[Decimal] = mapped_column(Quantity)
    fab_authorized: Mapped[Decimal] = mapped_column(Quantity)
    raw_authorized: Mapped[Decimal] = mapped_column(Quantity)
    cum_start_date: Mapped[date | None] = mapped_column(Date)
    cum_shipped: Mapped[Decimal] = mapped_column(Quantity)
    guaranteed: Mapped[Decimal] = mapped_column(Quantity)
    fg_on_hand: Mapped[Decimal] = mapped_column(Quantity)
    wip: Mapped[Decimal] = mapped_column(Quantity)
    produced_since_report: Mapped[Decimal] = mapped_column(Quantity)
    position_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supply: Mapped[Decimal] = mapped_column(Quantity)
    excess: Mapped[Decimal] = mapped_column(Quantity)
    material_forecast: Mapped[Decimal] = mapped_column(Quantity)
    material_cover: Mapped[Decimal] = mapped_column(Quantity)
    # In `currency`: the item's price currency (its relationship's), never converted.
    exposure_amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="KRW", server_default="KRW")
    projected_excess_qty: Mapped[Decimal] = mapped_column(Quantity)
    projected_excess_week: Mapped[date | None] = mapped_column(Date)
    shortage_qty: Mapped[Decimal] = mapped_column(Quantity)
    shortage_week: Mapped[date | None] = mapped_column(Date)


class CoverageWeek(db.Model):
    """One week of an item's projection: a row for every coming week in which something is due or planned.

    Weeks without a row change nothing: their projection is the one of the row before them.
    """

    __tablename__ = "coverage_week"

    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="CASCADE"))
    po_due: Mapped[Decimal] = mapped_column(Quantity)
    firm_forecast: Mapped[Decimal] = mapped_column(Quantity)
    material_forecast: Mapped[Decimal] = mapped_column(Quantity)
    planned_output: Mapped[Decimal] = mapped_column(Quantity)
    guaranteed_due: Mapped[Decimal] = mapped_column(Quantity)
    cum_planned: Mapped[Decimal] = mapped_column(Quantity)
    cum_due: Mapped[Decimal] = mapped_column(Quantity)
    projected: Mapped[Decimal] = mapped_column(Quantity)
    shortage: Mapped[Decimal] = mapped_column(Quantity)
    in_firm_fence: Mapped[bool] = mapped_column()
    in_lead_time: Mapped[bool] = mapped_column()


class ExposureSnapshot(db.Model):
    """An item's ledger figures as they stood in one ISO week (the last recompute of that week wins).

    The ledger holds only the current state; these rows are its history, written by the same statement batch that
    writes the ledger, so that trends ("exposure over 13 weeks", "grew since last week") need no replay.
    """

    __tablename__ = "exposure_snapshot"
    # Covering the trend's read (a prime's relationships × 13 weeks, summed) so it never visits the table.
    __table_args__ = (Index("ix_exposure_snapshot_rel_week", "relationship_id", "week_start", "exposure_amount"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="CASCADE"))
    # In `currency`: the item's price currency (its relationship's), never converted.
    exposure_amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="KRW", server_default="KRW")
    excess_qty: Mapped[Decimal] = mapped_column(Quantity)
    shortage_qty: Mapped[Decimal] = mapped_column(Quantity)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExposureWeek(db.Model):
    """A relationship's exposure in one ISO week: the sum of its items' snapshots of that week.

    Written by the same batch as the snapshots, so that a prime's 13-week trend reads one row per relationship and
    week instead of one per item and week.
    """

    __tablename__ = "exposure_week"

    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="CASCADE"),
                                                 primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    # In `currency`: the item's price currency (its relationship's), never converted.
    exposure_amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="KRW", server_default="KRW")
    excess_qty: Mapped[Decimal] = mapped_column(Quantity)
    shortage_qty: Mapped[Decimal] = mapped_column(Quantity)
    items_exposed: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PeriodicRun(db.Model):
    """One row per (job, period): inserting it is the lock that lets only one beat run a periodic job."""

    __tablename__ = "periodic_run"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    items: Mapped[int | None] = mapped_column()
