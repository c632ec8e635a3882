"""Production reports (appended, never edited), the item's current position, and machine feeds."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cogrow.catalog.models import Item
from cogrow.core.types import Quantity, UTCDateTime, utcnow
from cogrow.extensions import db

BigId = BigInteger().with_variant(Integer, "sqlite")
SOURCES = ("form", "grid", "file", "api", "machine")


class ProductionReport(db.Model):
    """What the supplier reported for one item as of a time. A correction is a new report."""

    __tablename__ = "production_report"
    __table_args__ = (
        CheckConstraint("good_qty >= 0 AND scrap_qty >= 0 AND wip_qty >= 0 AND fg_on_hand >= 0", name="quantities"),
        CheckConstraint("raw_on_hand IS NULL OR raw_on_hand >= 0", name="raw"),
        Index("ix_production_report_item_as_of", "relationship_id", "item_id", "as_of"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="RESTRICT"))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    good_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    scrap_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    wip_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    fg_on_hand: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    raw_on_hand: Mapped[Decimal | None] = mapped_column(Quantity)
    source: Mapped[str] = mapped_column(String(16), default="api")
    note: Mapped[str] = mapped_column(String(500), default="")
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()
    plan: Mapped[list[PlannedOutput]] = relationship(order_by="PlannedOutput.week_start",
                                                     cascade="all, delete-orphan")


class PlannedOutput(db.Model):
    """A report's planned output for one coming week."""

    __tablename__ = "planned_output"
    __table_args__ = (
        UniqueConstraint("report_id", "week_start"),
        CheckConstraint("quantity >= 0", name="quantity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("production_report.id", ondelete="CASCADE"))
    week_start: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Quantity)


class ItemPosition(db.Model):
    """The item's current position: a copy of its latest report by `as_of`, whatever order reports arrive in.

    Written with one conditional upsert (… ON CONFLICT DO UPDATE … WHERE excluded.as_of > as_of), so
    concurrent reports never lose the latest one.
    """

    __tablename__ = "item_position"

    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"),
                                                 index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("production_report.id", ondelete="CASCADE"))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    good_qty: Mapped[Decimal] = mapped_column(Quantity)
    scrap_qty: Mapped[Decimal] = mapped_column(Quantity)
    wip_qty: Mapped[Decimal] = mapped_column(Quantity)
    fg_on_hand: Mapped[Decimal] = mapped_column(Quantity)
    raw_on_hand: Mapped[Decimal | None] = mapped_column(Quantity)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProductionLine(db.Model):
    """A supplier's production line whose cumulative counter is mapped to one item."""

    __tablename__ = "production_line"
    __table_args__ = (
        UniqueConstraint("relationship_id", "code"),
        CheckConstraint("counter_max IS NULL OR counter_max > 0", name="counter_max"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"),
                                                 index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="RESTRICT"))
    # The counter's largest value before it wraps to 0 (e.g. 65535); unset when it only ever resets.
    counter_max: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()

    __mapper_args__ = {"version_id_col": version}


class MachineReading(db.Model):
    """One counter reading of a line. `produced` is what it adds over the reading before it in time."""

    __tablename__ = "machine_reading"
    __table_args__ = (
        UniqueConstraint("line_id", "read_at"),
        CheckConstraint("counter >= 0", name="counter"),
        CheckConstraint("produced >= 0", name="produced"),
        Index("ix_machine_reading_item_read_at", "relationship_id", "item_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("production_line.id", ondelete="CASCADE"))
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="RESTRICT"))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)
    counter: Mapped[int] = mapped_column(BigInteger)
    produced: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    new_run: Mapped[bool] = mapped_column(default=False)  # the counter went backwards before this reading
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
