"""Shipments (ASNs, X12 856 / DESADV) against PO lines, and the prime's receipts."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cogrow.core.types import Quantity, UTCDateTime, utcnow
from cogrow.extensions import db
from cogrow.orders.models import PurchaseOrderLine, issuer_of
from cogrow.relationships.models import SupplyRelationship

SHIPMENT_STATES = ("shipped", "received", "cancelled")


class Shipment(db.Model):
    __tablename__ = "shipment"
    __table_args__ = (
        # An ASN number is issued by the supplier: unique across all of the supplier's customers.
        UniqueConstraint("supplier_id", "number"),
        CheckConstraint("status IN ('shipped', 'received', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"),
                                                 index=True)
    # The issuing supplier, denormalised from the relationship (filled on insert) so that the number is unique per supplier.
    supplier_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    number: Mapped[str] = mapped_column(String(32))
    ship_date: Mapped[date] = mapped_column(Date)
    expected_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="shipped")
    carrier: Mapped[str] = mapped_column(String(100), default="")
    tracking: Mapped[str] = mapped_column(String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)

    supply_relationship: Mapped[SupplyRelationship] = relationship()
    lines: Mapped[list[ShipmentLine]] = relationship(back_populates="shipment", order_by="ShipmentLine.id")

    __mapper_args__ = {"version_id_col": version}


@event.listens_for(Shipment, "before_insert")
def _fill_supplier(mapper, connection, target: Shipment) -> None:
    target.supplier_id = issuer_of(connection, target, "supply_relationship", "supplier_id")


class ShipmentLine(db.Model):
    __tablename__ = "shipment_line"
    __table_args__ = (
        UniqueConstraint("shipment_id", "po_line_id"),
        CheckConstraint("quantity_shipped > 0", name="shipped"),
        CheckConstraint("quantity_received IS NULL OR quantity_received >= 0", name="received"),
        Index("ix_shipment_line_rel_item", "relationship_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id", ondelete="CASCADE"))
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    po_line_id: Mapped[int] = mapped_column(ForeignKey("purchase_order_line.id", ondelete="RESTRICT"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="RESTRICT"))
    # Denormalised from the shipment, so that cumulative shipped quantities need no join.
    ship_date: Mapped[date] = mapped_column(Date)
    quantity_shipped: Mapped[Decimal] = mapped_column(Quantity)
    quantity_received: Mapped[Decimal | None] = mapped_column(Quantity)

    shipment: Mapped[Shipment] = relationship(back_populates="lines")
    po_line: Mapped[PurchaseOrderLine] = relationship()
