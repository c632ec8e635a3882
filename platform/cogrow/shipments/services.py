"""Shipment (ASN) use cases: a supplier ships against PO lines, the prime confirms receipt, the supplier cancels.

Shipments never write the orders' tables: what an ASN, its cancellation or its receipt does to PO lines and to
the PO's status is orders.fulfilment's (`record_shipment`, `release_shipment`, `record_receipt`), through the
orders' state machine and audit. That module also holds the concurrency rules: an ASN locks its POs in id order
before it touches a line (so ASNs on one PO queue there), and the line counters move by conditional UPDATEs, so two
ASNs that together would over-ship cannot both pass. A shipment's own status moves by one conditional UPDATE too.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload

from cogrow.accounts.models import Organisation
from cogrow.catalog.models import Item
from cogrow.core import audit, outbox
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from cogrow.core.types import utcnow
from cogrow.extensions import db
from cogrow.orders import fulfilment, numbers
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship
from cogrow.shipments.models import SHIPMENT_STATES, Shipment, ShipmentLine

logger = logging.getLogger("cogrow.shipments")

SCALE = Decimal("0.0001")
NUMBER_ATTEMPTS = 20


def _q(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(SCALE)


# --- reading ---------------------------------------------------------------------------------------------------

def _visible_shipments(actor: Actor):
    return (select(Shipment).join(SupplyRelationship, SupplyRelationship.id == Shipment.relationship_id)
            .where(relationships._visible_to(actor)))


def list_shipments(actor: Actor, relationship_id: int | None = None, status: str | None = None,
                   limit: int = 100, offset: int = 0) -> list[Shipment]:
    """Shipments the actor's organisation is a side of, newest first; one query, whatever the page size."""
    query = _visible_shipments(actor).options(
        joinedload(Shipment.supply_relationship).joinedload(SupplyRelationship.prime),
        joinedload(Shipment.supply_relationship).joinedload(SupplyRelationship.supplier))
    if relationship_id is not None:
        relationships.get_relationship(actor, relationship_id)
        query = query.where(Shipment.relationship_id == relationship_id)
    if status is not None:
        query = query.where(Shipment.status == status)
    return list(db.session.scalars(query.order_by(Shipment.ship_date.desc(), Shipment.id.desc())
                                   .limit(limit).offset(offset)).unique())


def totals(shipment_ids: list[int]) -> dict[int, tuple[Decimal, Decimal | None, int]]:
    """Per shipment: quantity shipped, quantity received (None before receipt) and line count, in one query."""
    if not shipment_ids:
        return {}
    rows = db.session.execute(
        select(ShipmentLine.shipment_id, func.sum(ShipmentLine.quantity_shipped),
               func.sum(ShipmentLine.quantity_received), func.count())
        .where(ShipmentLine.shipment_id.in_(shipment_ids)).group_by(ShipmentLine.shipment_id))
    return {sid: (_q(shipped), None if received is None else _q(received), count)
            for sid, shipped, received, count in rows}


def export_rows(actor: Actor, relationship_id: int | None = None, status: str | None = None,
                limit: int = 50_000) -> Iterator[tuple]:
    """One row per shipment line for the CSV/XLSX export, streamed in one bounded query."""
    prime, supplier = aliased(Organisation), aliased(Organisation)
    query = (select(Shipment.number, Shipment.status, Shipment.ship_date, Shipment.expected_date, Shipment.carrier,
                    Shipment.tracking, prime.name, supplier.name, PurchaseOrder.number, PurchaseOrderLine.line_no,
                    Item.prime_part_number, Item.supplier_part_number, ShipmentLine.quantity_shipped,
                    ShipmentLine.quantity_received)
             .select_from(ShipmentLine)
             .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
             .join(SupplyRelationship, SupplyRelationship.id == Shipment.relationship_id)
             .join(prime, prime.id == SupplyRelationship.prime_id)
             .join(supplier, supplier.id == SupplyRelationship.supplier_id)
             .join(PurchaseOrderLine, PurchaseOrderLine.id == ShipmentLine.po_line_id)
             .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
             .join(Item, Item.id == ShipmentLine.item_id)
             .where(relationships._visible_to(actor)))
    if relationship_id is not None:
        relationships.get_relationship(actor, relationship_id)
        query = query.where(Shipment.relationship_id == relationship_id)
    if status is not None:
        query = query.where(Shipment.status == status)
    query = query.order_by(Shipment.ship_date.desc(), Shipment.id.desc(), ShipmentLine.id).limit(limit)
    # Checked above, before the caller starts reading: the rows themselves stream.
    return (tuple(row) for row in db.session.execute(query))


def get_shipment(actor: Actor, relationship_id: int, shipment_id: int) -> Shipment:
    relationships.get_relationship(actor, relationship_id)
    shipment = db.session.scalar(
        select(Shipment).where(Shipment.id == shipment_id, Shipment.relationship_id == relationship_id)
        .options(selectinload(Shipment.lines).joinedload(ShipmentLine.po_line).joinedload(PurchaseOrderLine.purchase_order),
                 selectinload(Shipment.lines).joinedload(ShipmentLine.po_line).joinedload(PurchaseOrderLine.item)))
    if shipment is None:
        raise NotFound("No such shipment in this relationship.")
    return shipment


def open_po_lines(actor: Actor, relationship_id: int, limit: int = 500) -> list[PurchaseOrderLine]:
    """Lines of shippable POs that still have something to ship, earliest due first (the new-ASN form)."""
    relationships.get_relationship(actor, relationship_id)
    return list(db.session.scalars(
        select(PurchaseOrderLine).join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrderLine.relationship_id == relationship_id, PurchaseOrder.status.in_(fulfilment.shippable_states()),
               PurchaseOrderLine.shipped_qty < PurchaseOrderLine.quantity)
        .options(joinedload(PurchaseOrderLine.purchase_order), joinedload(PurchaseOrderLine.item))
        .order_by(PurchaseOrderLine.due_date, PurchaseOrder.number, PurchaseOrderLine.line_no).limit(limit)))


def cum_shipped(relationship_id: int, item_id: int, since: date) -> Decimal:
    """Quantity shipped of an item on non-cancelled shipments dated `since` or later."""
    total = db.session.scalar(
        select(func.sum(ShipmentLine.quantity_shipped)).join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(ShipmentLine.relationship_id == relationship_id, ShipmentLine.item_id == item_id,
               ShipmentLine.ship_date >= since, Shipment.status != "cancelled"))
    return _q(total)


def list_item_shipment_lines(actor: Actor, relationship_id: int, item_id: int, limit: int = 100) -> list[ShipmentLine]:
    """An item's shipment lines, newest first, with their shipment and PO loaded (the item history page)."""
    relationships.get_relationship(actor, relationship_id)
    if db.session.scalar(select(Item.id).where(Item.id == item_id, Item.relationship_id == relationship_id)) is None:
        raise NotFound("No such item in this relationship.")
    return list(db.session.scalars(
        select(ShipmentLine).where(ShipmentLine.relationship_id == relationship_id, ShipmentLine.item_id == item_id)
        .options(joinedload(ShipmentLine.shipment),
                 joinedload(ShipmentLine.po_line).joinedload(PurchaseOrderLine.purchase_order))
        .order_by(ShipmentLine.ship_date.desc(), ShipmentLine.id.desc()).limit(limit)))


# --- creating an ASN -------------------------------------------------------------------------------------------

def _supplier_side(actor: Actor, rel: SupplyRelationship) -> None:
    if actor.organisation_id != rel.supplier_id:
        raise Forbidden(_("Only the supplier ships against its purchase orders."))


ASN_SERIES = "ASN-"


def _next_number(rel: SupplyRelationship) -> str:
    """ASN-<seq>: the supplier's next number, across all of its customers."""
    def seed() -> int:
        return numbers.highest_suffix(select(Shipment.number).where(Shipment.supplier_id == rel.supplier_id),
                                      Shipment.number, ASN_SERIES)

    return numbers.next_number(rel.supplier_id, ASN_SERIES, seed, 6)


def _number_taken(rel: SupplyRelationship, number: str) -> bool:
    return bool(db.session.scalar(select(exists().where(Shipment.supplier_id == rel.supplier_id,
                                                        Shipment.number == number))))


def _insert_header(actor: Actor, rel: SupplyRelationship, values: dict[str, Any]) -> Shipment:
    """Insert the shipment row; a generated number that a hand-typed one holds is skipped, a given one is refused.

    An ASN number is unique per supplier, whatever the customer.
    """
    given = values.get("number")
    for _attempt in range(NUMBER_ATTEMPTS):
        number = given or _next_number(rel)
        shipment = Shipment(relationship_id=rel.id, supplier_id=rel.supplier_id, number=number,
                            ship_date=values["ship_date"], expected_date=values.get("expected_date"),
                            carrier=values.get("carrier") or "", tracking=values.get("tracking") or "",
                            status="shipped", created_by_id=actor.user_id)
        savepoint = db.session.begin_nested()
        db.session.add(shipment)
        try:
            savepoint.commit()
            return shipment
        except IntegrityError:
            savepoint.rollback()
            if not _number_taken(rel, number):
                raise
            if given:
                raise Conflict(_("This ASN number is already used."),
                               fields={"number": _("Already used by another of your ASNs.")}) from None
    raise Conflict(_("Could not pick a free ASN number; give one."), fields={"number": _("Give an ASN number.")})


def create_shipment(actor: Actor, relationship_id: int, values: dict[str, Any]) -> Shipment:
    """The supplier's ASN: every line reserves its quantity on its PO line atomically, or nothing happens.

    `values` is what `schemas.parse_shipment` returns; `values["lines"]` is [(po_line_id, quantity)].
    """
    rel = relationships.get_relationship(actor, relationship_id)
    _supplier_side(actor, rel)
    if rel.status != "active":
        raise Conflict(_("Only an active relationship takes shipments."), state=rel.status)
    lines: list[tuple[int, Decimal]] = values["lines"]
    try:
        shipment = _insert_header(actor, rel, values)
        # The orders' side (their lock, the over-shipment cap, the PO's status and audit); any refusal rolls the
        # whole ASN back, its number included.
        shipped = fulfilment.record_shipment(actor, rel, lines, reference={"shipment": shipment.number})
        for line_id, quantity in lines:
            db.session.add(ShipmentLine(shipment_id=shipment.id, relationship_id=rel.id, po_line_id=line_id,
                                        item_id=shipped.po_lines[line_id].item_id, ship_date=shipment.ship_date,
                                        quantity_shipped=quantity))
        audit.record(actor, "shipment.created", shipment, detail={
            "number": shipment.number, "lines": [[line_id, str(q)] for line_id, q in lines],
            "closed_pos": shipped.closed})
        outbox.enqueue_reconcile(rel.id, sorted(shipped.item_ids), "shipment.created")
        from cogrow.edi import auto as edi_auto  # the supplier's 856 / DESADV by webhook, when EDI sends by itself
        edi_auto.queue("asn", rel.id, shipment.id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.expire_all()
    logger.info("shipment %s (%s) created by %s with %s lines", shipment.id, shipment.number, actor, len(lines))
    return get_shipment(actor, rel.id, shipment.id)


STATUS_TEXT = {"shipped": _l("shipped"), "received": _l("received"), "cancelled": _l("cancelled")}


def status_text(status: str) -> str:
    return str(STATUS_TEXT.get(status, status))


# --- receipt and cancellation ----------------------------------------------------------------------------------

def _move(shipment: Shipment, expected_version: int | None, target: str, **values: Any) -> None:
    """Move a shipment out of `shipped` with one conditional UPDATE: a concurrent receipt or cancel loses."""
    if shipment.status != "shipped":
        raise Conflict(_("The shipment is %(state)s already.", state=status_text(shipment.status)),
                       state=shipment.status)
    if expected_version is not None and shipment.version != expected_version:
        raise PreconditionFailed(_("The shipment changed since you read it. Reload and try again."),
                                 current_version=shipment.version)
    result = db.session.execute(
        update(Shipment).where(Shipment.id == shipment.id, Shipment.status == "shipped",
                               Shipment.version == shipment.version)
        .values(status=target, version=Shipment.version + 1, **values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        current = db.session.execute(select(Shipment.status, Shipment.version).where(Shipment.id == shipment.id)).one()
        if current.status != "shipped":
            raise Conflict(_("The shipment is %(state)s already.", state=status_text(current.status)),
                           state=current.status)
        raise PreconditionFailed(_("The shipment changed since you read it. Reload and try again."),
                                 current_version=current.version)


def receive_shipment(actor: Actor, relationship_id: int, shipment_id: int,
                     received: list[tuple[int, Decimal]] | None, expected_version: int | None = None) -> Shipment:
    """The prime confirms receipt: a quantity per line (may differ from shipped; None = all as shipped)."""
    shipment = get_shipment(actor, relationship_id, shipment_id)
    rel = shipment.supply_relationship
    if actor.organisation_id != rel.prime_id:
        raise Forbidden(_("Only the prime confirms receipt."))
    by_po_line = {line.po_line_id: line for line in shipment.lines}
    if received is None:
        quantities = {line.po_line_id: line.quantity_shipped for line in shipment.lines}
    else:
        quantities = dict(received)
        unknown = {f"lines[{i}].po_line_id": _("Not a line of this shipment.")
                   for i, (po_line_id, _qty) in enumerate(received) if po_line_id not in by_po_line}
        if unknown:
            raise ValidationFailed(_("A line of the receipt is not on this shipment."), fields=unknown)
        missing = [pl for pl in by_po_line if pl not in quantities]
        if missing:
            raise ValidationFailed(_("Give a received quantity for every line of the shipment."),
                                   fields={"lines": _("Missing PO lines: %(ids)s.", ids=", ".join(map(str, missing)))})
    try:
        _move(shipment, expected_version, "received", received_at=utcnow(), received_by_id=actor.user_id)
        for po_line_id in sorted(quantities):
            line = by_po_line[po_line_id]
            db.session.execute(update(ShipmentLine).where(ShipmentLine.id == line.id)
                               .values(quantity_received=quantities[po_line_id])
                               .execution_options(synchronize_session=False))
        fulfilment.record_receipt(actor, rel, sorted(quantities.items()))
        short = {str(pl): str(quantities[pl]) for pl, line in by_po_line.items() if quantities[pl] != line.quantity_shipped}
        audit.record(actor, "shipment.received", shipment, detail={
            "number": shipment.number, "lines": {str(pl): str(q) for pl, q in quantities.items()}, "differs": short})
        outbox.enqueue_reconcile(rel.id, sorted({line.item_id for line in shipment.lines}), "shipment.received")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.expire_all()
    logger.info("shipment %s received by %s", shipment_id, actor)
    return get_shipment(actor, relationship_id, shipment_id)


def cancel_shipment(actor: Actor, relationship_id: int, shipment_id: int, expected_version: int | None = None) -> Shipment:
    """The supplier withdraws an ASN not yet received; its quantities go back to the PO lines.

    orders.fulfilment.release_shipment gives them back and moves each PO by the state machine's `release`: it stays
    partially_shipped while another ASN holds quantities on it, else it returns to acknowledged or issued. A closed
    PO is final, so an ASN on one cannot be cancelled: the prime records what really arrived through the receipt.
    """
    shipment = get_shipment(actor, relationship_id, shipment_id)
    rel = shipment.supply_relationship
    _supplier_side(actor, rel)
    try:
        _move(shipment, expected_version, "cancelled")
        released = fulfilment.release_shipment(
            actor, rel, [(line.po_line_id, line.quantity_shipped) for line in shipment.lines],
            reference={"shipment": shipment.number})
        audit.record(actor, "shipment.cancelled", shipment, detail={"number": shipment.number})
        outbox.enqueue_reconcile(rel.id, sorted(released.item_ids), "shipment.cancelled")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.expire_all()
    logger.info("shipment %s cancelled by %s", shipment_id, actor)
    return get_shipment(actor, relationship_id, shipment_id)


def valid_status(status: str | None) -> str | None:
    if status in (None, ""):
        return None
    if status not in SHIPMENT_STATES:
        raise ValidationFailed("Unknown status.", fields={"status": _("Must be one of: %(choices)s.",
                                                                       choices=", ".join(SHIPMENT_STATES))})
    return status

