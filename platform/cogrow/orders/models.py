"""Purchase orders (X12 850 / ORDERS), their lines, and the supplier's change proposals (855 / ORDRSP)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (CheckConstraint, Date, ForeignKey, Index, PrimaryKeyConstraint, String, Text, UniqueConstraint,
                        event, select)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cogrow.catalog.models import Item
from cogrow.core.types import Money, Quantity, UTCDateTime, utcnow
from cogrow.extensions import db
from cogrow.relationships.models import SupplyRelationship

PO_STATES = ("draft", "issued", "acknowledged", "change_proposed", "rejected", "partially_shipped", "closed",
             "cancelled")
# States in which a PO line is a binding purchase commitment that counts as open demand.
BINDING_STATES = ("issued", "acknowledged", "change_proposed", "partially_shipped")
PROPOSAL_STATES = ("open", "accepted", "rejected", "withdrawn")
# Lines of POs in these states can still be revised, cancelled or answered by the supplier.
OPEN_STATES = ("draft", "issued", "acknowledged", "change_proposed", "rejected")

# The state machine that moves a PO between these states is the table in orders.states.


class DocumentCounter(db.Model):
    """The last number an organisation issued in a series ("PO-2026-" for a prime's POs, "ASN-" for a supplier's ASNs).

    Numbers are taken by one UPDATE ... RETURNING of this row, which holds its lock until the transaction ends:
    two people creating documents at once queue on the row and get consecutive numbers, never the same one.
    """

    __tablename__ = "document_counter"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    series: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)


class PurchaseOrder(db.Model):
    __tablename__ = "purchase_order"
    __table_args__ = (
        # A PO number is issued by the prime: unique across all of the prime's suppliers.
        UniqueConstraint("prime_id", "number"),
        CheckConstraint("status IN ('draft', 'issued', 'acknowledged', 'change_proposed', 'rejected', "
                        "'partially_shipped', 'closed', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"),
                                                 index=True)
    # The issuing prime, denormalised from the relationship (filled on insert) so that the number is unique per prime.
    prime_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    number: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(default=1)

    supply_relationship: Mapped[SupplyRelationship] = relationship()
    lines: Mapped[list[PurchaseOrderLine]] = relationship(back_populates="purchase_order",
                                                          order_by="PurchaseOrderLine.line_no")

    __mapper_args__ = {"version_id_col": version}


def issuer_of(connection, target, relationship_attr: str, column: str) -> int:
    """The relationship's organisation on the issuing side, from the loaded relationship or one query."""
    rel = target.__dict__.get(relationship_attr)
    if rel is not None and getattr(rel, column) is not None:
        return getattr(rel, column)
    return connection.scalar(select(getattr(SupplyRelationship, column))
                             .where(SupplyRelationship.id == target.relationship_id))


@event.listens_for(PurchaseOrder, "before_insert")
def _fill_prime(mapper, connection, target: PurchaseOrder) -> None:
    target.prime_id = issuer_of(connection, target, "supply_relationship", "prime_id")


class PurchaseOrderLine(db.Model):
    __tablename__ = "purchase_order_line"
    __table_args__ = (
        UniqueConstraint("purchase_order_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
        CheckConstraint("shipped_qty >= 0", name="shipped"),
        CheckConstraint("received_qty >= 0", name="received"),
        Index("ix_purchase_order_line_rel_item_due", "relationship_id", "item_id", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_order.id", ondelete="CASCADE"), index=True)
    # Denormalised from the PO so that tenancy checks and the ledger need no extra join.
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"))
    line_no: Mapped[int] = mapped_column()
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    due_date: Mapped[date] = mapped_column(Date)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    # Counters moved by shipments through orders.fulfilment, always atomically (shipped_qty = shipped_qty + :q).
    shipped_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"), server_default="0")
    received_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"), server_default="0")

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    item: Mapped[Item] = relationship()


class ChangeProposal(db.Model):
    """The supplier's proposal to change a line's quantity or due date, with a reason; the prime decides."""

    __tablename__ = "po_change_proposal"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'accepted', 'rejected', 'withdrawn')", name="status"),
        CheckConstraint("proposed_quantity IS NULL OR proposed_quantity > 0", name="quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_order.id", ondelete="CASCADE"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("purchase_order_line.id", ondelete="CASCADE"))
    proposed_quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    proposed_due_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    line: Mapped[PurchaseOrderLine] = relationship()


class PoCancelDraft(db.Model):
    """PO lines a planner marked for cancellation without cancelling them yet: the what-if (coverage.whatif)
    reads the PO without them. One draft per PO; cancelling for real or discarding deletes it."""

    __tablename__ = "po_cancel_draft"
    __table_args__ = (UniqueConstraint("purchase_order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("supply_relationship.id", ondelete="RESTRICT"),
                                                 index=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_order.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PoCancelDraftLine(db.Model):
    __tablename__ = "po_cancel_draft_line"
    __table_args__ = (PrimaryKeyConstraint("draft_id", "line_id"),)

    draft_id: Mapped[int] = mapped_column(ForeignKey("po_cancel_draft.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(ForeignKey("purchase_order_line.id", ondelete="CASCADE"))
