"""JSON API for shipments (ASNs) of a relationship, and the prime's receipts."""
from __future__ import annotations

from flask import g, jsonify, request

from cogrow.core.api import bp, decimal_str, etag, json_body, page_args, required_version
from cogrow.core.auth import requires
from cogrow.core.idempotency import idempotent
from cogrow.relationships import services as relationships
from cogrow.shipments import schemas, services
from cogrow.shipments.models import Shipment


def _date(value) -> str | None:
    return value.isoformat() if value else None


def shipment_json(shipment: Shipment, *, lines: bool = True, total: tuple | None = None) -> dict:
    body = {
        "id": shipment.id,
        "relationship_id": shipment.relationship_id,
        "supplier_id": shipment.supplier_id,  # the issuer: an ASN number is unique per supplier
        "number": shipment.number,
        "status": shipment.status,
        "ship_date": _date(shipment.ship_date),
        "expected_date": _date(shipment.expected_date),
        "carrier": shipment.carrier,
        "tracking": shipment.tracking,
        "created_at": _date(shipment.created_at),
        "received_at": _date(shipment.received_at),
        "version": shipment.version,
    }
    if lines:
        body["lines"] = [{
            "id": line.id,
            "po_line_id": line.po_line_id,
            "po_number": line.po_line.purchase_order.number,
            "line_no": line.po_line.line_no,
            "item_id": line.item_id,
            "prime_part_number": line.po_line.item.prime_part_number,
            "quantity_shipped": decimal_str(line.quantity_shipped),
            "quantity_received": decimal_str(line.quantity_received),
        } for line in shipment.lines]
    if total is not None:
        body["quantity_shipped"] = decimal_str(total[0])
        body["quantity_received"] = decimal_str(total[1])
        body["line_count"] = total[2]
    return body


def _one(shipment: Shipment, status: int = 200):
    response = jsonify(shipment_json(shipment))
    response.status_code = status
    response.headers["ETag"] = etag(shipment.version)
    return response


@bp.get("/relationships/<int:relationship_id>/shipments")
@requires(api=True)
def shipments_index(relationship_id: int):
    limit, offset = page_args()
    status = services.valid_status(request.args.get("status"))
    shipments = services.list_shipments(g.actor, relationship_id, status=status, limit=limit, offset=offset)
    totals = services.totals([s.id for s in shipments])
    return jsonify({"data": [shipment_json(s, lines=False, total=totals.get(s.id)) for s in shipments],
                    "limit": limit, "offset": offset})


@bp.post("/relationships/<int:relationship_id>/shipments")
@requires("admin", "production", kind="supplier", api=True)
@idempotent
def shipments_create(relationship_id: int):
    relationships.get_relationship(g.actor, relationship_id)  # a foreign relationship is 404 before any 422
    values = schemas.parse_shipment(json_body())
    return _one(services.create_shipment(g.actor, relationship_id, values), 201)


@bp.get("/relationships/<int:relationship_id>/shipments/<int:shipment_id>")
@requires(api=True)
def shipments_show(relationship_id: int, shipment_id: int):
    return _one(services.get_shipment(g.actor, relationship_id, shipment_id))


@bp.post("/relationships/<int:relationship_id>/shipments/<int:shipment_id>/receive")
@requires("admin", "planner", "procurement", kind="prime", api=True)
def shipments_receive(relationship_id: int, shipment_id: int):
    services.get_shipment(g.actor, relationship_id, shipment_id)
    version = required_version()
    received = schemas.parse_receipt(json_body())
    return _one(services.receive_shipment(g.actor, relationship_id, shipment_id, received, version))


@bp.post("/relationships/<int:relationship_id>/shipments/<int:shipment_id>/cancel")
@requires("admin", "production", kind="supplier", api=True)
def shipments_cancel(relationship_id: int, shipment_id: int):
    services.get_shipment(g.actor, relationship_id, shipment_id)
    version = required_version()
    return _one(services.cancel_shipment(g.actor, relationship_id, shipment_id, version))
