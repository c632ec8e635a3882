"""Supply relationships between one prime and one supplier, and their terms."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cogrow.accounts.models import Organisation
from cogrow.core.types import Money, Quantity, Ratio, UTCDateTime, utcnow
from cogrow.extensions import db

STATUSES = ("invited", "active", "suspended")


class SupplyRelationship(db.Model):
    __tablename__ = "supply_relationship"
    __table_args__ = (
        UniqueConstraint("prime_id", "supplier_id"),
        CheckConstraint("status IN ('invited', 'active', 'suspended')", name="status"),
        CheckConstraint("firm_fence_weeks >= 0 AND material_fence_weeks >= firm_fence_weeks", name="fences"),
        CheckConstraint("material_share >= 0 AND material_share <= 1", name="material_share"),
        CheckConstraint("prime_id <> supplier_id", name="two_sides"),
        CheckConstraint("over_delivery_pct >= 0 AND over_delivery_pct <= 1", name="over_delivery"),
        CheckConstraint("due_date_tolerance_days >= 0 AND due_date_tolerance_days <= 30", name="due_date_tolerance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prime_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="invited")
    firm_fence_weeks: Mapped[int] = mapped_column(default=4)
    material_fence_weeks: Mapped[int] = mapped_column(default=8)
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    material_share: Mapped[Decimal] = mapped_column(Ratio, default=Decimal("0.5"))
    # Alert thresholds; an unset one is not checked. threshold_amount is in the relationship's own currency.
    threshold_units: Mapped[Decimal | None] = mapped_column(Quantity)
    threshold_amount: Mapped[Decimal | None] = mapped_column(Money)
    threshold_pct: Mapped[Decimal | None] = mapped_column(Ratio)
    # A shipment may exceed its PO line's open quantity by at most this fraction of the ordered quantity.
    over_delivery_pct: Mapped[Decimal] = mapped_column(Ratio, default=Decimal("0"), server_default="0")
    # Days after its due date that a PO line shipped complete still counts as on time (the scorecard's OTIF).
    due_date_tolerance_days: Mapped[int] = mapped_column(default=0, server_default="0")
    # Days after issue before an unacknowledged PO raises an alert.
    po_ack_days: Mapped[int] = mapped_column(default=3, server_default="3")
    version: Mapped[int] = mapped_column(default=1)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    prime: Mapped[Organisation] = relationship(foreign_keys=[prime_id])
    supplier: Mapped[Organisation] = relationship(foreign_keys=[supplier_id])

    __mapper_args__ = {"version_id_col": version}

    def side_of(self, organisation_id: int) -> str | None:
        if organisation_id == self.prime_id:
            return "prime"
        if organisation_id == self.supplier_id:
            return "supplier"
        return None

    def counterpart(self, organisation_id: int) -> Organisation:
        return self.supplier if organisation_id == self.prime_id else self.prime
