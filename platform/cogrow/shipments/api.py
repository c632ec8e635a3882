"""JSON API for shipments (ASNs) of a relationship, and the prime's receipts."""
from __future__ import annotations

from flask import g, request

from cogrow.core.api import bp, etag, guard_path, operation, page_of
from cogrow.core.auth import requires
from cogrow.core.idempotency import idempotent
from cogrow.shipments import models, services
from cogrow.shipments.schemas import (
    Shipment,
    ShipmentCreate,
    ShipmentLine,
    ShipmentQuery,
    ShipmentReceipt,
    ShipmentSummary,
    receipt_values,
    shipment_values,
)

BASE = "/relationships/<int:relationship_id>/shipments"


def _shipment_of_this_relationship(actor, shipment_id: int) -> None:
    """The owner guard of <shipment_id>: a bad body for an ASN the caller cannot see is a 404, never a 422."""
    relationship_id = (request.view_args or {}).get("relationship_id")
    if relationship_id is not None:
        services.get_shipment(actor, relationship_id, shipment_id)


guard_path("shipment_id", _shipment_of_this_relationship)


def _header(shipment: models.Shipment) -> dict:
    return {name: getattr(shipment, name) for name in Shipment.model_fields if name != "lines"}


def _one(shipment: models.Shipment) -> tuple[Shipment, dict[str, str]]:
    lines = [ShipmentLine(id=line.id, po_line_id=line.po_line_id, po_number=line.po_line.purchase_order.number,
                          line_no=line.po_line.line_no, item_id=line.item_id,
                          prime_part_number=line.po_line.item.prime_part_number,
                          quantity_shipped=line.quantity_shipped, quantity_received=line.quantity_received)
             for line in shipment.lines]
    return Shipment(**_header(shipment), lines=lines), {"ETag": etag(shipment.version)}


def _summary(shipment: models.Shipment, total: tuple | None) -> ShipmentSummary:
    if total is None:
        return ShipmentSummary(**_header(shipment))
    return ShipmentSummary(**_header(shipment), quantity_shipped=total[0], quantity_received=total[1],
                           line_count=total[2])


@bp.get(BASE)
@requires(api=True)
@operation("listShipments", tag="shipments", query=ShipmentQuery, response=page_of(ShipmentSummary))
def shipments_index(relationship_id: int, query: ShipmentQuery):
    """The relationship's ASNs, latest ship date first, with their totals."""
    status = services.valid_status(query.status)
    shipments = services.list_shipments(g.actor, relationship_id, status=status, limit=query.limit, offset=query.offset)
    totals = services.totals([s.id for s in shipments])
    return page_of(ShipmentSummary)(data=[_summary(s, totals.get(s.id)) for s in shipments],
                                    limit=query.limit, offset=query.offset)


@bp.post(BASE)
@requires("admin", "production", kind="supplier", api=True)
@idempotent
@operation("createShipment", tag="shipments", body=ShipmentCreate, response=Shipment, status=201, etag=True,
           links={"GetShipment": {"operationId": "getShipment",
                                  "parameters": {"relationship_id": "$request.path.relationship_id",
                                                 "shipment_id": "$response.body#/id"}},
                  "ReceiveShipment": {"operationId": "receiveShipment",
                                      "parameters": {"relationship_id": "$request.path.relationship_id",
                                                     "shipment_id": "$response.body#/id"}}})
def shipments_create(relationship_id: int, body: ShipmentCreate):
    """The supplier announces a shipment against open PO lines (Idempotency-Key makes a retry safe)."""
    return _one(services.create_shipment(g.actor, relationship_id, shipment_values(body)))


@bp.get(f"{BASE}/<int:shipment_id>")
@requires(api=True)
@operation("getShipment", tag="shipments", response=Shipment, etag=True)
def shipments_show(relationship_id: int, shipment_id: int):
    """One ASN with its lines, its version in the ETag."""
    return _one(services.get_shipment(g.actor, relationship_id, shipment_id))


@bp.post(f"{BASE}/<int:shipment_id>/receive")
@requires("admin", "planner", "procurement", kind="prime", api=True)
@operation("receiveShipment", tag="shipments", body=ShipmentReceipt, response=Shipment, etag=True, if_match=True)
def shipments_receive(relationship_id: int, shipment_id: int, body: ShipmentReceipt, version: int):
    """The prime confirms what arrived, per line or all as shipped (If-Match: the ASN's ETag)."""
    received = receipt_values(body)
    return _one(services.receive_shipment(g.actor, relationship_id, shipment_id, received, version))


@bp.post(f"{BASE}/<int:shipment_id>/cancel")
@requires("admin", "production", kind="supplier", api=True)
@operation("cancelShipment", tag="shipments", response=Shipment, etag=True, if_match=True)
def shipments_cancel(relationship_id: int, shipment_id: int, version: int):
    """The supplier withdraws an ASN that has not arrived; its quantities go back to the PO lines (If-Match)."""
    return _one(services.cancel_shipment(g.actor, relationship_id, shipment_id, version))
