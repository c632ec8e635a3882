"""Items: the parts a supplier makes for a prime, defined per relationship."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cogrow.core.types import Money, UTCDateTime, utcnow
from cogrow.extensions import db
from cogrow.relationships.models import SupplyRelationship


class Item(db.Model):
    __tablename__ = "item"
    __table_args__ = (
        UniqueConstraint("relationship_id", "prime_part_number"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
        CheckConstraint("lead_time_days >= 0", name="lead_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"), index=True)
    prime_part_number: Mapped[str] = mapped_column(String(64))
    supplier_part_number: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(500), default="")
    uom: Mapped[str] = mapped_column(String(16), default="EA")
    unit_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    lead_time_days: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    supply_relationship: Mapped[SupplyRelationship] = relationship()

    __mapper_args__ = {"version_id_col": version}
