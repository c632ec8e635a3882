"""What shipments do to purchase orders: shipped and received quantities, and the status moves they cause.

Shipments own ASNs and receipts; everything they change on a PO happens here, through the state machine of
orders.states (the SYSTEM rows `ship` and `release`) and with an audit entry on the PO, so that no other domain
writes the orders' tables.

Concurrency (ASVS 2.3.4). The POs an ASN touches are locked first, in id order, with SELECT ... FOR UPDATE, so that
ASNs on one PO queue on it and two ASNs never wait on each other in a cycle. The line counters then move by single
conditional UPDATE statements (shipped_qty = shipped_qty + :q where the cap still holds): under PostgreSQL's READ
COMMITTED a second UPDATE waits for the first's row lock and re-checks its WHERE clause on the committed row, so two
ASNs that together would over-ship cannot both pass. The status a PO moves to is decided while it is locked, so the
check that closes a fully shipped PO sees every other ASN on it. A status move bumps the PO's version (an editor
holding the old one gets 412); a shipment that leaves the status as it is does not. SQLite has one writer at a time.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import exists, func, literal, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, NotFound, PreconditionFailed
from cogrow.core.fields import decimal_text
from cogrow.core.types import Quantity, utcnow
from cogrow.extensions import db
from cogrow.orders import states
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.orders")

ZERO = Decimal("0")
SCALE = Decimal("0.0001")


def shippable_states() -> tuple[str, ...]:
    """The states in which a PO takes an ASN (from the state machine's `ship` rows)."""
    return states.states_for("ship")


@dataclass
class Fulfilment:
    """What an ASN (or its cancellation) did to the POs it touched."""

    po_lines: dict[int, PurchaseOrderLine] = field(default_factory=dict)  # the PO lines, by id
    moves: dict[int, tuple[str, str]] = field(default_factory=dict)  # PO id -> (from, to), for POs whose status moved
    item_ids: set[int] = field(default_factory=set)  # items whose open demand changed

    @property
    def closed(self) -> list[int]:
        return sorted(po_id for po_id, (_before, after) in self.moves.items() if after == "closed")


def _slack() -> Decimal:
    """SQLite keeps numerics as floats: allow half of the smallest quantity step there; PostgreSQL is exact."""
    return Decimal("0.00005") if db.session.get_bind().dialect.name == "sqlite" else ZERO


def _q(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(SCALE)


def _plain(value: Decimal) -> str:
    return decimal_text(value) or "0"


def _lock(po_ids: Sequence[int]) -> dict[int, PurchaseOrder]:
    """Lock the POs in id order (FOR UPDATE on PostgreSQL), reading them afresh: the state seen is the committed one."""
    return {po.id: po for po in db.session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.id.in_(sorted(po_ids))).order_by(PurchaseOrder.id)
        .with_for_update().execution_options(populate_existing=True))}


def _open_line(po_id: int):
    slack = literal(_slack(), Quantity)
    return exists().where(PurchaseOrderLine.purchase_order_id == po_id,
                          PurchaseOrderLine.shipped_qty + slack < PurchaseOrderLine.quantity)


def _anything_shipped(po_id: int) -> bool:
    slack = literal(_slack(), Quantity)
    return bool(db.session.scalar(select(exists().where(PurchaseOrderLine.purchase_order_id == po_id,
                                                        PurchaseOrderLine.shipped_qty > slack))))


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError:  # cannot happen under the lock; kept so that a bug shows as 412, never as a lost update
        db.session.rollback()
        raise PreconditionFailed(_("The purchase order changed since you read it. Reload it and try again.")) from None


def _move(actor: Actor, po: PurchaseOrder, action: str, to_state: str, lines: dict[str, str], result: Fulfilment,
          reference: dict[str, str]) -> None:
    """Move a locked PO by a SYSTEM action of the state machine and audit it on the PO."""
    before = po.status
    states.move(po, action, to_state)
    if to_state == "closed":
        po.closed_at = utcnow()
    if before != to_state:
        result.moves[po.id] = (before, to_state)
        # A PO that closes or reopens changes the open demand of every item on it, not only the shipped ones.
        result.item_ids |= set(db.session.scalars(select(PurchaseOrderLine.item_id)
                                                  .where(PurchaseOrderLine.purchase_order_id == po.id)))
    audit.record(actor, f"po.{action}", po, detail={"from": before, "to": to_state, "lines": lines, **reference})
    logger.info("PO %s: %s %s -> %s by %s", po.number, action, before, to_state, actor)


# --- an ASN ------------------------------------------------------------------------------------------------------

def record_shipment(actor: Actor, rel: SupplyRelationship, lines: Sequence[tuple[int, Decimal]], *,
                    reference: dict[str, str] | None = None, field_prefix: str = "lines") -> Fulfilment:
    """Ship `lines` ([(po_line_id, quantity)], in the request's order) against the relationship's PO lines.

    In the caller's transaction (no commit): locks the POs, adds each quantity to its line under the line's cap,
    and moves each PO by `ship` (to partially_shipped, or closed when every line has shipped in full). A foreign
    line is 404, a PO that takes no shipments or a quantity over the cap is 409 naming the field; the session is
    rolled back before any refusal that follows a write, so nothing of the ASN remains.
    """
    index = {line_id: i for i, (line_id, _qty) in enumerate(lines)}
    found = {pl.id: pl for pl in db.session.scalars(
        select(PurchaseOrderLine).where(PurchaseOrderLine.id.in_(list(index)),
                                        PurchaseOrderLine.relationship_id == rel.id)
        .options(joinedload(PurchaseOrderLine.purchase_order)))}
    missing = {f"{field_prefix}[{i}].po_line_id": _("No such PO line in this relationship.")
               for line_id, i in index.items() if line_id not in found}
    if missing:
        raise NotFound(_("A PO line of this ASN is not in this relationship."), fields=missing)
    for line_id, i in index.items():  # before anything is locked: the plain case gets its answer at once
        po = found[line_id].purchase_order
        if not states.can_act("ship", po.status):
            raise Conflict(_("PO %(number)s is %(state)s: it takes no shipments.", number=po.number, state=po.status),
                           fields={f"{field_prefix}[{i}].po_line_id": _("The PO of this line is %(state)s.",
                                                                        state=po.status)},
                           state=po.status)

    po_ids = sorted({found[line_id].purchase_order_id for line_id in index})
    locked = _lock(po_ids)
    for po_id in po_ids:  # again under the lock: another ASN or the prime may have moved it meanwhile
        state = locked[po_id].status
        if not states.can_act("ship", state):
            db.session.rollback()
            line_id = next(lid for lid in index if found[lid].purchase_order_id == po_id)
            raise Conflict(_("The PO of line %(line)s is %(state)s: it takes no shipments.", line=line_id, state=state),
                           fields={f"{field_prefix}[{index[line_id]}].po_line_id":
                                   _("The PO of this line is %(state)s.", state=state)},
                           state=state)
    _reserve(rel, lines, index, field_prefix)

    result = Fulfilment(po_lines=found, item_ids={found[line_id].item_id for line_id in index})
    for po_id in po_ids:
        po = locked[po_id]
        still_open = db.session.scalar(select(_open_line(po_id)))
        shipped = {str(found[line_id].line_no): _plain(qty) for line_id, qty in lines
                   if found[line_id].purchase_order_id == po_id}
        _move(actor, po, "ship", "partially_shipped" if still_open else "closed", shipped, result, reference or {})
    _flush()
    return result


def _reserve(rel: SupplyRelationship, lines: Sequence[tuple[int, Decimal]], index: dict[int, int],
             field_prefix: str) -> None:
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
            _refuse_over_shipment(rel, line_id, f"{field_prefix}[{index[line_id]}].quantity", quantity)


def _refuse_over_shipment(rel: SupplyRelationship, line_id: int, field_name: str, quantity: Decimal):
    """Undo the whole ASN, then say how much the line can still take (read after the fact, for the message only)."""
    db.session.rollback()
    ordered, shipped = db.session.execute(select(PurchaseOrderLine.quantity, PurchaseOrderLine.shipped_qty)
                                          .where(PurchaseOrderLine.id == line_id)).one()
    ordered, shipped = _q(ordered), _q(shipped)
    open_qty = max(ordered - shipped, ZERO)
    allowed = max((ordered * (1 + rel.over_delivery_pct)).quantize(SCALE) - shipped, ZERO)
    raise Conflict(_("PO line %(line)s can ship at most %(allowed)s more (open quantity %(open)s); %(qty)s is too much.",
                     line=line_id, allowed=_plain(allowed), open=_plain(open_qty), qty=_plain(quantity)),
                   fields={field_name: _("At most %(allowed)s can still ship (open quantity %(open)s).",
                                         allowed=_plain(allowed), open=_plain(open_qty))},
                   po_line_id=line_id, open_quantity=_plain(open_qty), max_quantity=_plain(allowed))


# --- a cancelled ASN ---------------------------------------------------------------------------------------------

def release_shipment(actor: Actor, rel: SupplyRelationship, lines: Sequence[tuple[int, Decimal]], *,
                     reference: dict[str, str] | None = None) -> Fulfilment:
    """Give the quantities of a cancelled ASN ([(po_line_id, quantity)]) back to their PO lines.

    In the caller's transaction (no commit): locks the POs as an ASN does (so that a concurrent ASN cannot close one
    while quantities go back), takes each quantity off its line, and moves each PO by `release`: it stays
    partially_shipped while other ASNs hold quantities on it, else it returns to acknowledged (if the supplier had
    acknowledged it) or issued. A PO the table does not release (closed, cancelled) refuses the whole cancellation
    with a 409 naming its state.
    """
    result = Fulfilment()
    if not lines:
        return result
    by_line = dict(lines)
    found = {pl.id: pl for pl in db.session.scalars(
        select(PurchaseOrderLine).where(PurchaseOrderLine.id.in_(list(by_line)),
                                        PurchaseOrderLine.relationship_id == rel.id))}
    if len(found) != len(by_line):
        raise NotFound(_("A PO line of this shipment is not in this relationship."))
    result.po_lines = found
    result.item_ids = {pl.item_id for pl in found.values()}
    po_ids = sorted({pl.purchase_order_id for pl in found.values()})
    locked = _lock(po_ids)
    for po_id in po_ids:
        po = locked[po_id]
        if not states.can_act("release", po.status):
            raise Conflict(_("PO %(number)s is %(state)s: its shipments can no longer be cancelled; "
                             "the prime records what arrived instead.", number=po.number, state=po.status),
                           state=po.status)
    slack = literal(_slack(), Quantity)
    for line_id in sorted(by_line):
        qty = literal(by_line[line_id], Quantity)
        remaining = PurchaseOrderLine.shipped_qty - qty
        if slack.value:  # SQLite's float arithmetic may leave -1e-16 where 0 is meant
            remaining = func.max(remaining, 0)
        done = db.session.execute(
            update(PurchaseOrderLine)
            .where(PurchaseOrderLine.id == line_id, PurchaseOrderLine.relationship_id == rel.id,
                   PurchaseOrderLine.shipped_qty + slack >= qty)
            .values(shipped_qty=remaining)
            .execution_options(synchronize_session=False))
        if done.rowcount != 1:  # the counter no longer holds this ASN: refuse rather than go negative
            raise Conflict(_("PO line %(line)s does not hold this shipment's quantity.", line=line_id))
    for po_id in po_ids:
        po = locked[po_id]
        if _anything_shipped(po_id):
            target = "partially_shipped"
        else:  # where the first ASN found it: acknowledgement is kept while a PO is shipped, and cleared by a re-issue
            target = "acknowledged" if po.acknowledged_at is not None else "issued"
        released = {str(found[line_id].line_no): _plain(qty) for line_id, qty in lines
                    if found[line_id].purchase_order_id == po_id}
        _move(actor, po, "release", target, released, result, reference or {})
    _flush()
    return result


# --- a receipt ---------------------------------------------------------------------------------------------------

def record_receipt(actor: Actor, rel: SupplyRelationship, quantities: Sequence[tuple[int, Decimal]]) -> None:
    """Add the received quantities ([(po_line_id, quantity)]) to their PO lines, atomically (no commit).

    A receipt moves no status: what is open is what has not shipped (domain.md), whatever arrived.
    """
    for po_line_id, quantity in sorted(quantities):
        db.session.execute(
            update(PurchaseOrderLine)
            .where(PurchaseOrderLine.id == po_line_id, PurchaseOrderLine.relationship_id == rel.id)
            .values(received_qty=PurchaseOrderLine.received_qty + literal(quantity, Quantity))
            .execution_options(synchronize_session=False))
