"""JSON API for purchase orders: routes attach to the shared /api/v1 blueprint.

Every change of a PO (revise and each action) needs If-Match with the ETag last read: the PO's version.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import g, request

from cogrow.core.api import bp, etag, guard_path, operation, page_of
from cogrow.core.auth import requires
from cogrow.coverage.schemas import WhatIfResult, whatif_result
from cogrow.orders import drafts, models, services
from cogrow.orders.schemas import (
    ChangeProposal,
    ChangeProposalCreate,
    PoCancelDraft,
    PoCancelDraftCreate,
    ProposalDecision,
    PurchaseOrder,
    PurchaseOrderActionReason,
    PurchaseOrderChange,
    PurchaseOrderCreate,
    PurchaseOrderDetail,
    PurchaseOrderLine,
    PurchaseOrderQuery,
    PurchaseOrderRejection,
    po_values,
    proposal_values,
)

BASE = "/relationships/<int:relationship_id>/orders"
PRIME = ("admin", "planner")
SUPPLIER = ("admin", "production")


def _po_of_this_relationship(actor: Any, po_id: int) -> None:
    """The owner guard of <po_id>: a bad body for a PO the caller cannot see is a 404, never a 422."""
    relationship_id = (request.view_args or {}).get("relationship_id")
    if relationship_id is not None:
        services.get_po(actor, relationship_id, po_id)


guard_path("po_id", _po_of_this_relationship)


def _line(line: models.PurchaseOrderLine) -> PurchaseOrderLine:
    return PurchaseOrderLine(
        id=line.id, line_no=line.line_no, item_id=line.item_id, prime_part_number=line.item.prime_part_number,
        supplier_part_number=line.item.supplier_part_number, quantity=line.quantity, due_date=line.due_date,
        unit_price=line.unit_price, shipped_qty=line.shipped_qty, received_qty=line.received_qty,
        open_qty=max(line.quantity - line.shipped_qty, Decimal(0)))


def _proposal(proposal: models.ChangeProposal) -> ChangeProposal:
    return ChangeProposal(
        id=proposal.id, line_id=proposal.line_id, line_no=proposal.line.line_no,
        proposed_quantity=proposal.proposed_quantity, proposed_due_date=proposal.proposed_due_date,
        reason=proposal.reason, status=proposal.status, decision_note=proposal.decision_note,
        created_at=proposal.created_at, decided_at=proposal.decided_at)


def _header(po: models.PurchaseOrder) -> dict[str, Any]:
    return {name: getattr(po, name) for name in PurchaseOrder.model_fields if name != "lines"} | {
        "lines": [_line(line) for line in po.lines]}


def _one(po: models.PurchaseOrder) -> tuple[PurchaseOrderDetail, dict[str, str]]:
    proposals = services.list_proposals(po)
    detail = PurchaseOrderDetail(**_header(po), proposals=[_proposal(p) for p in proposals],
                                 allowed_actions=services.allowed_actions(g.actor, po, proposals))
    return detail, {"ETag": etag(po.version)}


# "Get after create": the answer's id is the PO to read, and the issue that usually follows (with the answer's ETag
# as its If-Match); a new PO is a draft, so the supplier's acknowledgement links from issuePurchaseOrder instead.
_PO = {"relationship_id": "$request.path.relationship_id", "po_id": "$response.body#/id"}
_PO_LINKS = {
    "GetPurchaseOrder": {"operationId": "getPurchaseOrder", "parameters": _PO},
    "IssuePurchaseOrder": {"operationId": "issuePurchaseOrder",
                           "parameters": {**_PO, "header.If-Match": "$response.header.ETag"}},
}


@bp.get(BASE)
@requires(api=True)
@operation("listPurchaseOrders", tag="orders", query=PurchaseOrderQuery, response=page_of(PurchaseOrder))
def orders_index(relationship_id: int, query: PurchaseOrderQuery):
    """The relationship's POs, newest first, with their lines (the supplier never sees drafts)."""
    summaries = services.list_orders(g.actor, relationship_id, query.status, limit=query.limit, offset=query.offset,
                                     with_lines=True)
    return page_of(PurchaseOrder)(data=[PurchaseOrder(**_header(s.po)) for s in summaries],
                                  limit=query.limit, offset=query.offset)


@bp.post(BASE)
@requires(*PRIME, kind="prime", api=True)
@operation("createPurchaseOrder", tag="orders", body=PurchaseOrderCreate, response=PurchaseOrderDetail, status=201,
           etag=True, links=_PO_LINKS)
def orders_create(relationship_id: int, body: PurchaseOrderCreate):
    """Draft a PO with its lines (the prime's admin or planner); it binds nothing until it is issued."""
    return _one(services.create_po(g.actor, relationship_id, po_values(body)))


@bp.get(f"{BASE}/<int:po_id>")
@requires(api=True)
@operation("getPurchaseOrder", tag="orders", response=PurchaseOrderDetail, etag=True)
def orders_show(relationship_id: int, po_id: int):
    """One PO with its proposals and the actions the caller may take, its version in the ETag."""
    return _one(services.get_po(g.actor, relationship_id, po_id))


@bp.patch(f"{BASE}/<int:po_id>")
@requires(*PRIME, kind="prime", api=True)
@operation("revisePurchaseOrder", tag="orders", body=PurchaseOrderChange, response=PurchaseOrderDetail, etag=True,
           if_match=True)
def orders_revise(relationship_id: int, po_id: int, body: PurchaseOrderChange, version: int):
    """Change a PO's note and/or lines (If-Match: its ETag); new lines on a PO the supplier has seen re-issue it."""
    return _one(services.revise_po(g.actor, relationship_id, po_id, po_values(body), version))


@bp.post(f"{BASE}/<int:po_id>/issue")
@requires(*PRIME, kind="prime", api=True)
@operation("issuePurchaseOrder", tag="orders", body=PurchaseOrderActionReason, body_optional=True,
           response=PurchaseOrderDetail, etag=True, if_match=True, links={"AcknowledgePurchaseOrder": {
               "operationId": "acknowledgePurchaseOrder",
               "parameters": {"relationship_id": "$request.path.relationship_id", "po_id": "$request.path.po_id",
                              "header.If-Match": "$response.header.ETag"}}})
def orders_issue(relationship_id: int, po_id: int, body: PurchaseOrderActionReason, version: int):
    """Issue a draft (or a rejected PO, again) to the supplier (If-Match: its ETag)."""
    return _one(services.issue_po(g.actor, relationship_id, po_id, version))


@bp.post(f"{BASE}/<int:po_id>/cancel")
@requires(*PRIME, kind="prime", api=True)
@operation("cancelPurchaseOrder", tag="orders", body=PurchaseOrderActionReason, body_optional=True,
           response=PurchaseOrderDetail, etag=True, if_match=True)
def orders_cancel(relationship_id: int, po_id: int, body: PurchaseOrderActionReason, version: int):
    """Cancel a PO nothing has been shipped against, with an optional reason (If-Match: its ETag)."""
    return _one(services.cancel_po(g.actor, relationship_id, po_id, version, body.reason or None))


@bp.post(f"{BASE}/<int:po_id>/close")
@requires(*PRIME, kind="prime", api=True)
@operation("closePurchaseOrder", tag="orders", body=PurchaseOrderActionReason, body_optional=True,
           response=PurchaseOrderDetail, etag=True, if_match=True)
def orders_close(relationship_id: int, po_id: int, body: PurchaseOrderActionReason, version: int):
    """Close the rest of a partly shipped PO, with an optional reason (If-Match: its ETag)."""
    return _one(services.close_po(g.actor, relationship_id, po_id, version, body.reason or None))


@bp.post(f"{BASE}/<int:po_id>/acknowledge")
@requires(*SUPPLIER, kind="supplier", api=True)
@operation("acknowledgePurchaseOrder", tag="orders", body=PurchaseOrderActionReason, body_optional=True,
           response=PurchaseOrderDetail, etag=True, if_match=True)
def orders_acknowledge(relationship_id: int, po_id: int, body: PurchaseOrderActionReason, version: int):
    """The supplier accepts the PO as it stands (If-Match: its ETag)."""
    return _one(services.acknowledge_po(g.actor, relationship_id, po_id, version))


@bp.post(f"{BASE}/<int:po_id>/reject")
@requires(*SUPPLIER, kind="supplier", api=True)
@operation("rejectPurchaseOrder", tag="orders", body=PurchaseOrderRejection, response=PurchaseOrderDetail, etag=True,
           if_match=True)
def orders_reject(relationship_id: int, po_id: int, body: PurchaseOrderRejection, version: int):
    """The supplier rejects the PO, saying why (If-Match: its ETag)."""
    return _one(services.reject_po(g.actor, relationship_id, po_id, version, body.reason))


@bp.post(f"{BASE}/<int:po_id>/proposals")
@requires(*SUPPLIER, kind="supplier", api=True)
@operation("proposePurchaseOrderChange", tag="orders", body=ChangeProposalCreate, response=ChangeProposal, status=201,
           etag=True, if_match=True)
def orders_propose(relationship_id: int, po_id: int, body: ChangeProposalCreate, version: int):
    """The supplier proposes a new quantity and/or due date for one line (If-Match: the PO's ETag; the answer's
    ETag is the PO's new version)."""
    proposal = services.propose_change(g.actor, relationship_id, po_id, proposal_values(body), version)
    return _proposal(proposal), {"ETag": etag(services.get_po(g.actor, relationship_id, po_id).version)}


def _decide(relationship_id: int, po_id: int, proposal_id: int, accept: bool, note: str | None, version: int):
    decide = services.accept_proposal if accept else services.reject_proposal
    decide(g.actor, relationship_id, po_id, proposal_id, version, note)
    return _one(services.get_po(g.actor, relationship_id, po_id))


@bp.post(f"{BASE}/<int:po_id>/proposals/<int:proposal_id>/accept")
@requires(*PRIME, kind="prime", api=True)
@operation("acceptChangeProposal", tag="orders", body=ProposalDecision, body_optional=True,
           response=PurchaseOrderDetail, etag=True, if_match=True)
def orders_accept_proposal(relationship_id: int, po_id: int, proposal_id: int, body: ProposalDecision, version: int):
    """Accept the supplier's proposal: the line takes the proposed quantity and date (If-Match: the PO's ETag)."""
    return _decide(relationship_id, po_id, proposal_id, True, body.note or None, version)


@bp.post(f"{BASE}/<int:po_id>/proposals/<int:proposal_id>/reject")
@requires(*PRIME, kind="prime", api=True)
@operation("rejectChangeProposal", tag="orders", body=ProposalDecision, body_optional=True,
           response=PurchaseOrderDetail, etag=True, if_match=True)
def orders_reject_proposal(relationship_id: int, po_id: int, proposal_id: int, body: ProposalDecision, version: int):
    """Reject the supplier's proposal; the line stays as it is (If-Match: the PO's ETag)."""
    return _decide(relationship_id, po_id, proposal_id, False, body.note or None, version)


# ---------------------------------------------------------------- lines marked for cancellation (a draft)

def _cancel_draft(po_id: int, draft: models.PoCancelDraft) -> PoCancelDraft:
    return PoCancelDraft(purchase_order_id=po_id, line_ids=sorted(drafts.marked_line_ids(draft)),
                         created_at=draft.created_at)


@bp.put(f"{BASE}/<int:po_id>/cancel-draft")
@requires(*PRIME, kind="prime", api=True)
@operation("markPurchaseOrderLinesForCancellation", tag="orders", body=PoCancelDraftCreate, response=PoCancelDraft)
def orders_cancel_draft_mark(relationship_id: int, po_id: int, body: PoCancelDraftCreate):
    """Mark lines for cancellation as a draft (replacing an earlier mark); nothing is cancelled yet."""
    return _cancel_draft(po_id, drafts.mark_lines(g.actor, relationship_id, po_id, body.line_ids))


@bp.get(f"{BASE}/<int:po_id>/cancel-draft/whatif")
@requires(*PRIME, kind="prime", api=True)
@operation("getPurchaseOrderCancelWhatIf", tag="orders", response=WhatIfResult)
def orders_cancel_draft_whatif(relationship_id: int, po_id: int):
    """What cancelling the marked lines would change, per item (guaranteed, excess, exposure, liability). Writes
    nothing."""
    return whatif_result(drafts.cancel_whatif(g.actor, relationship_id, po_id))


@bp.post(f"{BASE}/<int:po_id>/cancel-draft/apply")
@requires(*PRIME, kind="prime", api=True)
@operation("applyPurchaseOrderCancelDraft", tag="orders", body=PurchaseOrderActionReason, body_optional=True,
           response=PurchaseOrderDetail, etag=True, if_match=True)
def orders_cancel_draft_apply(relationship_id: int, po_id: int, body: PurchaseOrderActionReason, version: int):
    """Cancel the marked lines for real (the PO when all are marked, else a revision without them; If-Match)."""
    return _one(drafts.apply_cancel(g.actor, relationship_id, po_id, version, body.reason or None))


@bp.delete(f"{BASE}/<int:po_id>/cancel-draft")
@requires(*PRIME, kind="prime", api=True)
@operation("discardPurchaseOrderCancelDraft", tag="orders", status=204)
def orders_cancel_draft_discard(relationship_id: int, po_id: int):
    """Forget the lines marked for cancellation."""
    drafts.discard_cancel(g.actor, relationship_id, po_id)
