"""What the tenant-isolation walk needs to know about orders: a PO and a proposal of a tenant, and its rows."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from cogrow.orders.models import ChangeProposal, PoCancelDraft, PoCancelDraftLine, PurchaseOrder, PurchaseOrderLine

WALK_NUMBER = "WALK-PO-1"


def _walk_po(tenant, db) -> PurchaseOrder:
    """An issued PO with an open change proposal (so every PO page and action has something to act on)."""
    rel = tenant.relationship
    po = db.session.scalar(select(PurchaseOrder).where(PurchaseOrder.relationship_id == rel.id,
                                                       PurchaseOrder.number == WALK_NUMBER))
    if po is not None:
        return po
    po = PurchaseOrder(relationship_id=rel.id, number=WALK_NUMBER, status="change_proposed", currency=rel.currency)
    db.session.add(po)
    db.session.flush()
    line = PurchaseOrderLine(purchase_order_id=po.id, relationship_id=rel.id, line_no=1, item_id=tenant.item.id,
                             quantity=Decimal("100"), due_date=date(2030, 1, 7), unit_price=Decimal("1500"))
    db.session.add(line)
    db.session.flush()
    db.session.add(ChangeProposal(purchase_order_id=po.id, line_id=line.id, proposed_quantity=Decimal("80"),
                                  reason="walk", status="open"))
    # Its line marked for cancellation as a draft, so that the what-if pages have a draft to show.
    draft = PoCancelDraft(relationship_id=rel.id, purchase_order_id=po.id)
    db.session.add(draft)
    db.session.flush()
    db.session.add(PoCancelDraftLine(draft_id=draft.id, line_id=line.id))
    db.session.commit()
    return po


def _po_id(tenant, org, db) -> int:
    return _walk_po(tenant, db).id


def _proposal_id(tenant, org, db) -> int:
    po = _walk_po(tenant, db)
    return db.session.scalar(select(ChangeProposal.id).where(ChangeProposal.purchase_order_id == po.id).limit(1))


WALK_VALUES = {"po_id": _po_id, "proposal_id": _proposal_id}


def snapshot(db, tenant):
    """Tenant's POs, lines and proposals as a denied request must leave them."""
    # The walk takes its "before" snapshot before it fills any URL: create the walk's PO now, so that
    # creating it later does not look like a change made by a denied request.
    _walk_po(tenant, db)
    rel_id = tenant.relationship.id
    return (
        db.session.execute(select(PurchaseOrder.id, PurchaseOrder.status, PurchaseOrder.version, PurchaseOrder.note)
                           .where(PurchaseOrder.relationship_id == rel_id).order_by(PurchaseOrder.id)).all(),
        db.session.execute(select(PurchaseOrderLine.id, PurchaseOrderLine.item_id, PurchaseOrderLine.quantity,
                                  PurchaseOrderLine.due_date, PurchaseOrderLine.unit_price)
                           .where(PurchaseOrderLine.relationship_id == rel_id).order_by(PurchaseOrderLine.id)).all(),
        db.session.execute(select(ChangeProposal.id, ChangeProposal.status)
                           .join(PurchaseOrder, PurchaseOrder.id == ChangeProposal.purchase_order_id)
                           .where(PurchaseOrder.relationship_id == rel_id).order_by(ChangeProposal.id)).all(),
    )
