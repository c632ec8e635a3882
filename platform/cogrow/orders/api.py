"""JSON API for purchase orders: routes attach to the shared /api/v1 blueprint.

Every change of a PO (revise and each action) needs If-Match with the ETag last read: the PO's version.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import g, jsonify, request

from cogrow.core.api import bp, decimal_str, etag, json_body, page_args, required_version
from cogrow.core.auth import requires
from cogrow.core.validation import Fields
from cogrow.orders import schemas, services
from cogrow.orders.models import ChangeProposal, PurchaseOrder, PurchaseOrderLine
from cogrow.relationships import services as relationships

BASE = "/relationships/<int:relationship_id>/orders"
PRIME = ("admin", "planner")
SUPPLIER = ("admin", "production")


def _dt(value) -> str | None:
    return value.isoformat() if value is not None else None


def line_json(line: PurchaseOrderLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "line_no": line.line_no,
        "item_id": line.item_id,
        "prime_part_number": line.item.prime_part_number,
        "supplier_part_number": line.item.supplier_part_number,
        "quantity": decimal_str(line.quantity),
        "due_date": line.due_date.isoformat(),
        "unit_price": decimal_str(line.unit_price),
        "shipped_qty": decimal_str(line.shipped_qty),
        "received_qty": decimal_str(line.received_qty),
        "open_qty": decimal_str(max(line.quantity - line.shipped_qty, Decimal(0))),
    }


def proposal_json(proposal: ChangeProposal) -> dict[str, Any]:
    return {
        "id": proposal.id,
        "line_id": proposal.line_id,
        "line_no": proposal.line.line_no,
        "proposed_quantity": decimal_str(proposal.proposed_quantity),
        "proposed_due_date": proposal.proposed_due_date.isoformat() if proposal.proposed_due_date else None,
        "reason": proposal.reason,
        "status": proposal.status,
        "decision_note": proposal.decision_note,
        "created_at": _dt(proposal.created_at),
        "decided_at": _dt(proposal.decided_at),
    }


def po_json(po: PurchaseOrder, *, detail: bool = False) -> dict[str, Any]:
    out = {
        "id": po.id,
        "relationship_id": po.relationship_id,
        "prime_id": po.prime_id,  # the issuer: a PO number is unique per prime
        "number": po.number,
        "status": po.status,
        "currency": po.currency,
        "note": po.note,
        "status_reason": po.status_reason,
        "version": po.version,
        "created_at": _dt(po.created_at),
        "issued_at": _dt(po.issued_at),
        "acknowledged_at": _dt(po.acknowledged_at),
        "closed_at": _dt(po.closed_at),
        "lines": [line_json(line) for line in po.lines],
    }
    if detail:
        proposals = services.list_proposals(po)
        out["proposals"] = [proposal_json(p) for p in proposals]
        out["allowed_actions"] = services.allowed_actions(g.actor, po, proposals)
    return out


def _one(po: PurchaseOrder, status: int = 200):
    response = jsonify(po_json(po, detail=True))
    response.status_code = status
    response.headers["ETag"] = etag(po.version)
    return response


def _optional_body() -> dict[str, Any]:
    """Actions may come with no body at all, or a JSON object (e.g. a reason)."""
    if not request.get_data(cache=True):
        return {}
    return json_body()


def _reason(required: bool = False, name: str = "reason") -> str | None:
    f = Fields(_optional_body())
    f.text(name, required=required, max_length=500)
    return f.done().get(name)


@bp.get(BASE)
@requires(api=True)
def orders_index(relationship_id: int):
    limit, offset = page_args()
    status = request.args.get("status") or None
    summaries = services.list_orders(g.actor, relationship_id, status, limit=limit, offset=offset, with_lines=True)
    return jsonify({"data": [po_json(s.po) for s in summaries], "limit": limit, "offset": offset})


@bp.post(BASE)
@requires(*PRIME, kind="prime", api=True)
def orders_create(relationship_id: int):
    relationships.get_relationship(g.actor, relationship_id)  # a foreign relationship is 404 before any 422
    return _one(services.create_po(g.actor, relationship_id, schemas.parse_po(json_body())), 201)


@bp.get(f"{BASE}/<int:po_id>")
@requires(api=True)
def orders_show(relationship_id: int, po_id: int):
    return _one(services.get_po(g.actor, relationship_id, po_id))


@bp.patch(f"{BASE}/<int:po_id>")
@requires(*PRIME, kind="prime", api=True)
def orders_revise(relationship_id: int, po_id: int):
    services.get_po(g.actor, relationship_id, po_id)
    version = required_version()
    values = schemas.parse_po(json_body(), partial=True)
    return _one(services.revise_po(g.actor, relationship_id, po_id, values, version))


@bp.post(f"{BASE}/<int:po_id>/issue")
@requires(*PRIME, kind="prime", api=True)
def orders_issue(relationship_id: int, po_id: int):
    services.get_po(g.actor, relationship_id, po_id)
    version = required_version()
    _reason()  # no fields, but a body with unknown ones is refused rather than ignored
    return _one(services.issue_po(g.actor, relationship_id, po_id, version))


@bp.post(f"{BASE}/<int:po_id>/cancel")
@requires(*PRIME, kind="prime", api=True)
def orders_cancel(relationship_id: int, po_id: int):
    services.get_po(g.actor, relationship_id, po_id)
    version = required_version()
    return _one(services.cancel_po(g.actor, relationship_id, po_id, version, _reason()))


@bp.post(f"{BASE}/<int:po_id>/close")
@requires(*PRIME, kind="prime", api=True)
def orders_close(relationship_id: int, po_id: int):
    services.get_po(g.actor, relationship_id, po_id)
    version = required_version()
    return _one(services.close_po(g.actor, relationship_id, po_id, version, _reason()))


@bp.post(f"{BASE}/<int:po_id>/acknowledge")
@requires(*SUPPLIER, kind="supplier", api=True)
def orders_acknowledge(relationship_id: int, po_id: int):
    services.get_po(g.actor, relationship_id, po_id)
    version = required_version()
    _reason()
    return _one(services.acknowledge_po(g.actor, relationship_id, po_id, version))


@bp.post(f"{BASE}/<int:po_id>/reject")
@requires(*SUPPLIER, kind="supplier", api=True)
def orders_reject(relationship_id: int, po_id: int):
    services.get_po(g.actor, relationship_id, po_id)
    version = required_version()
    return _one(services.reject_po(g.actor, relationship_id, po_id, version, _reason(required=True)))


@bp.post(f"{BASE}/<int:po_id>/proposals")
@requires(*SUPPLIER, kind="supplier", api=True)
def orders_propose(relationship_id: int, po_id: int):
    services.get_po(g.actor, relationship_id, po_id)
    version = required_version()
    values = schemas.parse_proposal(json_body())
    proposal = services.propose_change(g.actor, relationship_id, po_id, values, version)
    response = jsonify(proposal_json(proposal))
    response.status_code = 201
    response.headers["ETag"] = etag(services.get_po(g.actor, relationship_id, po_id).version)
    return response


def _decide(relationship_id: int, po_id: int, proposal_id: int, accept: bool):
    services.get_po(g.actor, relationship_id, po_id)
    version = required_version()
    note = _reason(name="note")
    decide = services.accept_proposal if accept else services.reject_proposal
    decide(g.actor, relationship_id, po_id, proposal_id, version, note)
    return _one(services.get_po(g.actor, relationship_id, po_id))


@bp.post(f"{BASE}/<int:po_id>/proposals/<int:proposal_id>/accept")
@requires(*PRIME, kind="prime", api=True)
def orders_accept_proposal(relationship_id: int, po_id: int, proposal_id: int):
    return _decide(relationship_id, po_id, proposal_id, True)


@bp.post(f"{BASE}/<int:po_id>/proposals/<int:proposal_id>/reject")
@requires(*PRIME, kind="prime", api=True)
def orders_reject_proposal(relationship_id: int, po_id: int, proposal_id: int):
    return _decide(relationship_id, po_id, proposal_id, False)
