"""Shipment (ASN) use cases: a supplier ships against PO lines, the prime confirms receipt, the supplier cancels.

The PO line counters are only ever moved by single conditional UPDATE statements, so two ASNs that
together would over-ship cannot both pass (ASVS 2.3.4): under PostgreSQL's READ COMMITTED the second
UPDATE waits for the first's row lock and re-checks its WHERE clause on the committed row; SQLite has
one writer at a time. An ASN also locks its POs (in id order) before anything else, so the check that
closes a fully shipped PO sees every other ASN on it.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload

from cogrow.accounts.models import Organisation
from cogrow.catalog.models import Item
from cogrow.core import audit, outbox
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from cogrow.core.types import Quantity, utcnow
from cogrow.extensions import db
from cogrow.orders import numbers
from cogrow.orders.models import TRANSITIONS, PurchaseOrder, PurchaseOrderLine, can_move
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship
from cogrow.shipments.models import SHIPMENT_STATES, Shipment, ShipmentLine

logger = logging.getLogger("cogrow.shipments")

# A PO can take an ASN in the states from which the state machine reaches partially_shipped, and in that state.
SHIPPABLE_STATES = tuple(s for s in TRANSITIONS if s == "partially_shipped" or can_move(s, "partially_shipped"))
ZERO = Decimal("0")
SCALE = Decimal("0.0001")
NUMBER_ATTEMPTS = 20


def _slack() -> Decimal:
    """SQLite keeps numerics as floats: allow half of the smallest quantity step there; PostgreSQL is exact."""
    return Decimal("0.00005") if db.session.get_bind().dialect.name == "sqlite" else ZERO


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
        .where(PurchaseOrderLine.relationship_id == relationship_id, PurchaseOrder.status.in_(SHIPPABLE_STATES),
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
    index = {line_id: i for i, (line_id, _qty) in enumerate(lines)}
    found = {pl.id: pl for pl in db.session.scalars(
        select(PurchaseOrderLine).where(PurchaseOrderLine.id.in_(list(index)),
                                        PurchaseOrderLine.relationship_id == rel.id)
        .options(joinedload(PurchaseOrderLine.purchase_order)))}
    missing = {f"lines[{i}].po_line_id": _("No such PO line in this relationship.")
               for line_id, i in index.items() if line_id not in found}
    if missing:
        raise NotFound(_("A PO line of this ASN is not in this relationship."), fields=missing)
    for line_id, i in index.items():
        status = found[line_id].purchase_order.status
        if status not in SHIPPABLE_STATES:
            raise Conflict(_("PO %(number)s is %(state)s: it takes no shipments.",
                             number=found[line_id].purchase_order.number, state=status),
                           fields={f"lines[{i}].po_line_id": _("The PO of this line is %(state)s.", state=status)},
                           state=status)

    po_ids = sorted({found[line_id].purchase_order_id for line_id in index})
    try:
        # The POs first: that locks them, so ASNs on one PO queue here and never race for the same ASN number.
        _lock_shippable(actor, rel, po_ids, found, index)
        shipment = _insert_header(actor, rel, values)
        _reserve(rel, lines, index)
        for line_id, quantity in lines:
            db.session.add(ShipmentLine(shipment_id=shipment.id, relationship_id=rel.id, po_line_id=line_id,
                                        item_id=found[line_id].item_id, ship_date=shipment.ship_date,
                                        quantity_shipped=quantity))
        closed = _close_fully_shipped(actor, po_ids)
        item_ids = {found[line_id].item_id for line_id in index}
        if closed:  # a closed PO stops counting as open demand for every item on it, not only the shipped ones
            item_ids |= set(db.session.scalars(select(PurchaseOrderLine.item_id)
                                               .where(PurchaseOrderLine.purchase_order_id.in_(closed))))
        audit.record(actor, "shipment.created", shipment, detail={
            "number": shipment.number, "lines": [[line_id, str(q)] for line_id, q in lines], "closed_pos": closed})
        outbox.enqueue_reconcile(rel.id, sorted(item_ids), "shipment.created")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.expire_all()
    logger.info("shipment %s (%s) created by %s with %s lines", shipment.id, shipment.number, actor, len(lines))
    return get_shipment(actor, rel.id, shipment.id)


def _lock_shippable(actor: Actor, rel: SupplyRelationship, po_ids: list[int], found: dict[int, PurchaseOrderLine],
                    index: dict[int, int]) -> None:
    """Lock each PO, moving it to partially_shipped on its first ASN, with conditional UPDATEs; or refuse the ASN."""
    first_states = tuple(s for s in SHIPPABLE_STATES if s != "partially_shipped")
    for po_id in po_ids:  # always in id order, so two ASNs never wait on each other in a cycle
        moved = db.session.execute(
            update(PurchaseOrder)
            .where(PurchaseOrder.id == po_id, PurchaseOrder.relationship_id == rel.id,
                   PurchaseOrder.status.in_(first_states))
            .values(status="partially_shipped", version=PurchaseOrder.version + 1)
            .execution_options(synchronize_session=False))
        if moved.rowcount == 1:
            audit.record(actor, "purchase_order.partially_shipped", object_type="purchase_order", object_id=po_id)
            continue
        # Not a first ASN: the PO must be partially shipped already, and stays locked until this ASN commits.
        state = db.session.scalar(select(PurchaseOrder.status).where(PurchaseOrder.id == po_id).with_for_update())
        if state != "partially_shipped":
            db.session.rollback()
            line_id = next(lid for lid in index if found[lid].purchase_order_id == po_id)
            raise Conflict(_("The PO of line %(line)s is %(state)s: it takes no shipments.", line=line_id, state=state),
                           fields={f"lines[{index[line_id]}].po_line_id": _("The PO of this line is %(state)s.", state=state)},
                           state=state)


def _reserve(rel: SupplyRelationship, lines: list[tuple[int, Decimal]], index: dict[int, int]) -> None:
    """Add each quantity to its PO line under the line's cap, in one conditional UPDATE per line, or refuse all."""
    tolerance = literal(rel.over_delivery_pct, Quantity)
    slack = literal(_slack(), Quantity)
    for line_id, quantity in sorted(lines):
        qty = literal(quantity, Quantity)
        result = db.session.execute(
            update(PurchaseOrderLine)
            .where(PurchaseOrderLine.id == line_id, PurchaseOrderLine.relationship_id == rel.id,
                   PurchaseOrderLine.shipped_qty + qty <= PurchaseOrderLine.quantity * (1 + tolerance) + slack)
            .values(shipped_qty=PurchaseOrderLine.shipped_qty + qty)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            _refuse_over_shipment(rel, line_id, index[line_id], quantity)


def _refuse_over_shipment(rel: SupplyRelationship, line_id: int, i: int, quantity: Decimal):
    """Undo the whole ASN, then say how much the line can still take (read after the fact, for the message only)."""
    db.session.rollback()
    ordered, shipped = db.session.execute(select(PurchaseOrderLine.quantity, PurchaseOrderLine.shipped_qty)
                                          .where(PurchaseOrderLine.id == line_id)).one()
    ordered, shipped = _q(ordered), _q(shipped)
    open_qty = max(ordered - shipped, ZERO)
    allowed = max((ordered * (1 + rel.over_delivery_pct)).quantize(SCALE) - shipped, ZERO)
    raise Conflict(_("PO line %(line)s can ship at most %(allowed)s more (open quantity %(open)s); %(qty)s is too much.",
                     line=line_id, allowed=_plain(allowed), open=_plain(open_qty), qty=_plain(quantity)),
                   fields={f"lines[{i}].quantity": _("At most %(allowed)s can still ship (open quantity %(open)s).",
                                                     allowed=_plain(allowed), open=_plain(open_qty))},
                   po_line_id=line_id, open_quantity=_plain(open_qty), max_quantity=_plain(allowed))


STATUS_TEXT = {"shipped": _l("shipped"), "received": _l("received"), "cancelled": _l("cancelled")}


def status_text(status: str) -> str:
    return str(STATUS_TEXT.get(status, status))


def _plain(value: Decimal) -> str:
    from cogrow.core.api import decimal_str

    return decimal_str(value) or "0"


def _close_fully_shipped(actor: Actor, po_ids: list[int]) -> list[int]:
    """Close the POs (already locked by this transaction) whose every line has shipped in full."""
    slack = literal(_slack(), Quantity)
    closed = []
    for po_id in po_ids:
        open_line = exists().where(PurchaseOrderLine.purchase_order_id == po_id,
                                   PurchaseOrderLine.shipped_qty + slack < PurchaseOrderLine.quantity)
        result = db.session.execute(
            update(PurchaseOrder)
            .where(PurchaseOrder.id == po_id, PurchaseOrder.status == "partially_shipped", ~open_line)
            .values(status="closed", closed_at=utcnow(), version=PurchaseOrder.version + 1)
            .execution_options(synchronize_session=False))
        if result.rowcount:
            closed.append(po_id)
            audit.record(actor, "purchase_order.closed", object_type="purchase_order", object_id=po_id,
                         detail={"reason": "fully shipped"})
    return closed


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
            db.session.execute(
                update(PurchaseOrderLine)
                .where(PurchaseOrderLine.id == po_line_id, PurchaseOrderLine.relationship_id == rel.id)
                .values(received_qty=PurchaseOrderLine.received_qty + literal(quantities[po_line_id], Quantity))
                .execution_options(synchronize_session=False))
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

    A PO that the ASN moved to partially_shipped stays there (the state machine has no way back; its open
    quantity is right again). A closed PO is final, so an ASN on one cannot be cancelled: the prime records
    the quantity that really arrived through the receipt instead.
    """
    shipment = get_shipment(actor, relationship_id, shipment_id)
    rel = shipment.supply_relationship
    _supplier_side(actor, rel)
    po_ids = sorted({line.po_line.purchase_order_id for line in shipment.lines})
    try:
        _move(shipment, expected_version, "cancelled")
        # Lock the POs as an ASN does, so that a concurrent ASN cannot close one while quantities go back.
        states = dict(db.session.execute(select(PurchaseOrder.id, PurchaseOrder.status)
                                         .where(PurchaseOrder.id.in_(po_ids)).order_by(PurchaseOrder.id)
                                         .with_for_update()).all())
        final = sorted(po_id for po_id, state in states.items() if state in ("closed", "cancelled"))
        if final:
            number = db.session.scalar(select(PurchaseOrder.number).where(PurchaseOrder.id == final[0]))
            raise Conflict(_("PO %(number)s is %(state)s: its shipments can no longer be cancelled; "
                             "the prime records what arrived instead.", number=number, state=states[final[0]]),
                           state=states[final[0]])
        slack = literal(_slack(), Quantity)
        for line in sorted(shipment.lines, key=lambda ln: ln.po_line_id):
            qty = literal(line.quantity_shipped, Quantity)
            remaining = PurchaseOrderLine.shipped_qty - qty
            if slack.value:  # SQLite's float arithmetic may leave -1e-16 where 0 is meant
                remaining = func.max(remaining, 0)
            result = db.session.execute(
                update(PurchaseOrderLine)
                .where(PurchaseOrderLine.id == line.po_line_id, PurchaseOrderLine.relationship_id == rel.id,
                       PurchaseOrderLine.shipped_qty + slack >= qty)
                .values(shipped_qty=remaining)
                .execution_options(synchronize_session=False))
            if result.rowcount != 1:  # the counter no longer holds this ASN: refuse rather than go negative
                raise Conflict(_("PO line %(line)s does not hold this shipment's quantity.", line=line.po_line_id))
        audit.record(actor, "shipment.cancelled", shipment, detail={"number": shipment.number})
        outbox.enqueue_reconcile(rel.id, sorted({line.item_id for line in shipment.lines}), "shipment.cancelled")
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

