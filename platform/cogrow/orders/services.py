"""Purchase order use cases: the prime creates, issues, revises, cancels and closes; the supplier answers.

The state machine is the table in orders.states: every status change here goes through `states.move`, which
refuses a move the table does not hold. What shipments do to POs is in orders.fulfilment. Rules decided here:
- A draft is the prime's own: the supplier never sees it, and changing it touches no binding demand.
- Every action takes the version the actor last saw (If-Match, or the form's hidden field): stale is 412,
  and every action bumps the version, so two people acting on the same PO cannot both win.
- Revising the lines of a PO the supplier has seen (issued, acknowledged, change_proposed, rejected) sends
  it back to `issued`: open proposals are withdrawn, the acknowledgement is cleared, the issue time restarts
  (the supplier's acknowledgement clock with it). A note-only revision changes no state.
- Proposals: one open proposal per line. When the last open proposal is decided, the PO becomes
  `acknowledged` if every proposal of that round was accepted (the supplier proposed exactly what now
  stands), else `issued` (the supplier must answer the PO as it stands).
- A PO with any shipped quantity can no longer be revised or cancelled; the rest of it can be closed.
- Every change of a PO that is or was visible to the supplier enqueues a reconcile of its items in the same
  transaction (the ledger counts binding lines, and alerts look at acknowledgement).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from cogrow.catalog.models import Item
from cogrow.core import audit, outbox
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.extensions import db
from cogrow.orders import numbers, states
from cogrow.orders.models import BINDING_STATES, PO_STATES, ChangeProposal, PurchaseOrder, PurchaseOrderLine
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.orders")

ROLES_BY_SIDE = {"prime": ("admin", "planner"), "supplier": ("admin", "production")}
STATUS_FILTERS = ("open",) + PO_STATES  # "open" = the binding states
EXPORT_LIMIT = 100_000
NUMBER_ATTEMPTS = 20


# ---------------------------------------------------------------- reading

def _visible_to(actor: Actor):
    """POs of the actor's relationships; the supplier side never sees drafts."""
    return or_(SupplyRelationship.prime_id == actor.organisation_id,
               and_(SupplyRelationship.supplier_id == actor.organisation_id, PurchaseOrder.status != "draft"))


def _status_filter(query, status: str | None):
    if not status:
        return query
    if status == "open":
        return query.where(PurchaseOrder.status.in_(BINDING_STATES))
    if status not in PO_STATES:
        raise ValidationFailed(_("Unknown status."), fields={"status": _("Must be one of: %(choices)s.",
                                                                         choices=", ".join(STATUS_FILTERS))})
    return query.where(PurchaseOrder.status == status)


@dataclass
class OrderSummary:
    po: PurchaseOrder
    line_count: int = 0
    total_quantity: Decimal = Decimal(0)
    total_value: Decimal = Decimal(0)
    next_due: date | None = None


def list_orders(actor: Actor, relationship_id: int | None = None, status: str | None = None, *, limit: int = 100,
                offset: int = 0, with_lines: bool = False) -> list[OrderSummary]:
    """POs the actor can see, newest first, with their line totals; a fixed number of queries whatever the size."""
    if relationship_id is not None:
        relationships.get_relationship(actor, relationship_id)
    query = (select(PurchaseOrder).join(SupplyRelationship, PurchaseOrder.relationship_id == SupplyRelationship.id)
             .where(_visible_to(actor))
             .options(joinedload(PurchaseOrder.supply_relationship).joinedload(SupplyRelationship.prime),
                      joinedload(PurchaseOrder.supply_relationship).joinedload(SupplyRelationship.supplier))
             .order_by(PurchaseOrder.id.desc()).limit(limit).offset(offset))
    if with_lines:
        query = query.options(selectinload(PurchaseOrder.lines).joinedload(PurchaseOrderLine.item))
    if relationship_id is not None:
        query = query.where(PurchaseOrder.relationship_id == relationship_id)
    orders = list(db.session.scalars(_status_filter(query, status)).unique())
    summaries = {po.id: OrderSummary(po) for po in orders}
    if summaries:
        rows = db.session.execute(
            select(PurchaseOrderLine.purchase_order_id, func.count(), func.sum(PurchaseOrderLine.quantity),
                   func.sum(PurchaseOrderLine.quantity * PurchaseOrderLine.unit_price),
                   func.min(PurchaseOrderLine.due_date))
            .where(PurchaseOrderLine.purchase_order_id.in_(list(summaries)))
            .group_by(PurchaseOrderLine.purchase_order_id))
        for po_id, count, qty, value, due in rows:
            summary = summaries[po_id]
            summary.line_count, summary.next_due = count, due
            summary.total_quantity = Decimal(qty or 0).quantize(Decimal("0.0001"))
            summary.total_value = Decimal(value or 0).quantize(Decimal("0.0001"))
    return list(summaries.values())


def export_rows(actor: Actor, relationship_id: int | None = None, status: str | None = None) -> Iterator[Sequence[Any]]:
    """One row per PO line for the CSV/XLSX download of the list (same filters), bounded in size."""
    if relationship_id is not None:
        relationships.get_relationship(actor, relationship_id)
    query = (select(PurchaseOrder, PurchaseOrderLine, Item.prime_part_number, Item.supplier_part_number)
             .join(SupplyRelationship, PurchaseOrder.relationship_id == SupplyRelationship.id)
             .join(PurchaseOrderLine, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
             .join(Item, Item.id == PurchaseOrderLine.item_id)
             .where(_visible_to(actor))
             .options(joinedload(PurchaseOrder.supply_relationship).joinedload(SupplyRelationship.prime),
                      joinedload(PurchaseOrder.supply_relationship).joinedload(SupplyRelationship.supplier))
             .order_by(PurchaseOrder.id.desc(), PurchaseOrderLine.line_no).limit(EXPORT_LIMIT))
    if relationship_id is not None:
        query = query.where(PurchaseOrder.relationship_id == relationship_id)
    for po, line, prime_pn, supplier_pn in db.session.execute(_status_filter(query, status)):
        rel = po.supply_relationship
        yield (rel.prime.name, rel.supplier.name, po.number, po.status, line.line_no, prime_pn, supplier_pn,
               line.quantity, line.due_date, line.unit_price, po.currency, line.shipped_qty, line.received_qty,
               po.note)


def get_po(actor: Actor, relationship_id: int, po_id: int) -> PurchaseOrder:
    """A PO of a relationship the actor is a side of; foreign ones (and drafts, for the supplier) are 404."""
    rel = relationships.get_relationship(actor, relationship_id)
    po = db.session.scalar(select(PurchaseOrder).where(PurchaseOrder.id == po_id, PurchaseOrder.relationship_id == rel.id)
                           .options(selectinload(PurchaseOrder.lines).joinedload(PurchaseOrderLine.item)))
    if po is None or (po.status == "draft" and actor.organisation_id != rel.prime_id):
        raise NotFound(_("No such purchase order."))
    return po


def get_po_line(actor: Actor, relationship_id: int, line_id: int) -> PurchaseOrderLine:
    """A PO line of the relationship (for shipments); 404 when foreign or on a draft the supplier cannot see."""
    rel = relationships.get_relationship(actor, relationship_id)
    line = db.session.scalar(select(PurchaseOrderLine).where(PurchaseOrderLine.id == line_id,
                                                             PurchaseOrderLine.relationship_id == rel.id)
                             .options(joinedload(PurchaseOrderLine.purchase_order)))
    if line is None or (line.purchase_order.status == "draft" and actor.organisation_id != rel.prime_id):
        raise NotFound(_("No such purchase order line."))
    return line


def list_proposals(po: PurchaseOrder) -> list[ChangeProposal]:
    return list(db.session.scalars(select(ChangeProposal).where(ChangeProposal.purchase_order_id == po.id)
                                   .order_by(ChangeProposal.id)))


def allowed_actions(actor: Actor, po: PurchaseOrder, proposals: Sequence[ChangeProposal] | None = None) -> list[str]:
    """The actions this actor may take on this PO now (what the pages offer and the API lists)."""
    rel = po.supply_relationship
    side = rel.side_of(actor.organisation_id)
    if side is None or actor.role not in ROLES_BY_SIDE[side]:
        return []
    shipped = any(line.shipped_qty > 0 for line in po.lines)
    has_open = any(p.status == "open" for p in (proposals if proposals is not None else list_proposals(po)))
    out = []
    for action in states.actions_for(side, po.status):
        if action in ("revise", "cancel") and shipped:
            continue
        if action in ("accept_proposal", "reject_proposal") and not has_open:
            continue
        if rel.status != "active" and action not in ("cancel", "close"):
            continue
        out.append(action)
    return out


# ---------------------------------------------------------------- lines

def _resolve_lines(rel: SupplyRelationship, lines: list[dict[str, Any]], field_prefix: str = "lines") -> list[dict[str, Any]]:
    """Check every item named in the lines against the relationship and fill each line's price and item.

    Ids and part numbers from another relationship are refused exactly like unknown ones: 422 naming the field.
    """
    ids = {line["item_id"] for line in lines if line.get("item_id") is not None}
    parts = {line["prime_part_number"] for line in lines if line.get("prime_part_number") is not None}
    found: dict[Any, Item] = {}
    if ids or parts:
        conditions = []
        if ids:
            conditions.append(Item.id.in_(ids))
        if parts:
            conditions.append(Item.prime_part_number.in_(parts))
        for item in db.session.scalars(select(Item).where(Item.relationship_id == rel.id, or_(*conditions))):
            found[item.id] = item
            found[item.prime_part_number] = item
    errors: dict[str, str] = {}
    out = []
    for line in lines:
        name = f"{field_prefix}[{line['index']}]"
        item = None
        if line.get("item_id") is not None:
            item = found.get(line["item_id"])
            if item is None:
                errors[f"{name}.item_id"] = _("No such item in this relationship.")
                continue
            if line.get("prime_part_number") not in (None, item.prime_part_number):
                errors[f"{name}.prime_part_number"] = _("Does not match the item's part number.")
                continue
        else:
            item = found.get(line["prime_part_number"])
            if item is None:
                errors[f"{name}.prime_part_number"] = _("No such part number in this relationship's catalog.")
                continue
        if not item.active:
            errors[f"{name}.item_id" if line.get("item_id") is not None else f"{name}.prime_part_number"] = \
                _("This item is inactive.")
            continue
        out.append({**line, "item": item})
    if errors:
        raise ValidationFailed(_("Some lines are not valid."), fields=errors)
    return out


def _line_values(resolved: dict[str, Any], existing: PurchaseOrderLine | None) -> dict[str, Any]:
    item = resolved["item"]
    price = resolved.get("unit_price")
    if price is None:  # an unchanged item keeps its agreed price; a new item starts at the catalog price
        price = existing.unit_price if existing is not None and existing.item_id == item.id else item.unit_price
    return {"item_id": item.id, "quantity": resolved["quantity"], "due_date": resolved["due_date"], "unit_price": price}


def _apply_lines(po: PurchaseOrder, resolved: list[dict[str, Any]], *, replace: bool) -> dict[str, Any]:
    """Add and change lines by line number; with `replace`, lines not given are removed. Returns what changed."""
    by_no = {line.line_no: line for line in po.lines}
    next_no = max([*by_no, *(r["line_no"] for r in resolved if r.get("line_no"))], default=0) + 1
    added, changed, item_ids = [], {}, set()
    given = set()
    for r in resolved:
        line_no = r.get("line_no")
        if line_no is None:
            line_no, next_no = next_no, next_no + 1
        given.add(line_no)
        existing = by_no.get(line_no)
        values = _line_values(r, existing)
        if existing is None:
            line = PurchaseOrderLine(relationship_id=po.relationship_id, line_no=line_no, **values)
            po.lines.append(line)
            added.append(line_no)
            item_ids.add(values["item_id"])
            continue
        before_item = existing.item_id
        diff = audit.apply_changes(existing, values)
        if diff:
            changed[str(line_no)] = {k: {kk: str(vv) if isinstance(vv, date) else vv for kk, vv in v.items()}
                                     for k, v in diff.items()}
            item_ids.update({before_item, existing.item_id})
    removed, removed_lines = [], []
    if replace:
        gone = [line for no, line in by_no.items() if no not in given]
        if gone:
            db.session.execute(delete(ChangeProposal).where(ChangeProposal.line_id.in_([line.id for line in gone])))
            for line in sorted(gone, key=lambda line: line.line_no):
                removed.append(line.line_no)
                # What was cut, for the log: the line itself is deleted (scorecards and liability read this).
                removed_lines.append({"line_no": line.line_no, "item_id": line.item_id,
                                      "due_date": line.due_date.isoformat(), "quantity": str(line.quantity)})
                item_ids.add(line.item_id)
                po.lines.remove(line)
                db.session.delete(line)
    return {"added": added, "changed": changed, "removed": removed, "removed_lines": removed_lines,
            "item_ids": item_ids}


# ---------------------------------------------------------------- changing

def _bump(po: PurchaseOrder) -> None:
    """Make the flush update the PO row, so its version moves even when only its lines changed."""
    flag_modified(po, "status")


def _commit() -> None:
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise PreconditionFailed(_("The purchase order changed since you read it. Reload it and try again.")) from None


def _check_version(po: PurchaseOrder, expected_version: int) -> None:
    if po.version != expected_version:
        raise PreconditionFailed(_("The purchase order changed since you read it. Reload it and try again."),
                                 current_version=po.version)


def check_action(actor: Actor, po: PurchaseOrder, action: str, expected_version: int | None) -> SupplyRelationship:
    """Check side, version, state and relationship for `action`; raise the matching 403/412/409."""
    rel = po.supply_relationship
    side = states.who(action)
    if rel.side_of(actor.organisation_id) != side or actor.role not in ROLES_BY_SIDE.get(side, ()):
        raise Forbidden(_("Your side of the relationship cannot do this."))
    if expected_version is not None:
        _check_version(po, expected_version)
    if not states.can_act(action, po.status):
        raise states.refusal(action, po.status)
    if rel.status != "active" and action not in ("cancel", "close"):
        raise Conflict(_("The relationship is %(state)s: its purchase orders cannot change.", state=rel.status),
                       state=po.status, relationship_state=rel.status)
    return rel


def _refuse_if_shipped(po: PurchaseOrder, what: str) -> None:
    if any(line.shipped_qty > 0 for line in po.lines):
        raise Conflict(_("Goods have been shipped against this purchase order: it cannot be %(what)s.", what=what),
                       state=po.status)


def _withdraw_open_proposals(po: PurchaseOrder, actor: Actor, note: str) -> int:
    now = utcnow()
    count = 0
    for proposal in db.session.scalars(select(ChangeProposal).where(ChangeProposal.purchase_order_id == po.id,
                                                                    ChangeProposal.status == "open")):
        proposal.status, proposal.decided_at, proposal.decided_by_id = "withdrawn", now, actor.user_id
        proposal.decision_note = note
        count += 1
    return count


def _reconcile(po: PurchaseOrder, reason: str, extra_item_ids: set[int] | None = None) -> None:
    item_ids = {line.item_id for line in po.lines} | (extra_item_ids or set())
    outbox.enqueue_reconcile(po.relationship_id, item_ids, reason)


def _next_number(rel: SupplyRelationship) -> str:
    """PO-<year>-<seq>: the prime's next number of the year, across all of its suppliers."""
    prefix = f"PO-{local_today().year}-"

    def seed() -> int:
        return numbers.highest_suffix(select(PurchaseOrder.number).where(PurchaseOrder.prime_id == rel.prime_id),
                                      PurchaseOrder.number, prefix)

    return numbers.next_number(rel.prime_id, prefix, seed, 4)


def _number_taken(rel: SupplyRelationship, number: str) -> bool:
    return bool(db.session.scalar(select(exists().where(PurchaseOrder.prime_id == rel.prime_id,
                                                        PurchaseOrder.number == number))))


def _number_used() -> ValidationFailed:
    return ValidationFailed(_("This PO number is already used."),
                            fields={"number": _("Already used by another of your purchase orders.")})


def new_po(actor: Actor, rel: SupplyRelationship, number: str | None, note: str, lines: list[dict[str, Any]],
           field_prefix: str = "lines") -> PurchaseOrder:
    """Add a draft PO with its lines to the session (no commit): shared by the API, the pages and the importer.

    A PO number is unique per prime (whatever the supplier); a generated one comes from the prime's counter, and
    one that a hand-typed number already holds is skipped.
    """
    resolved = _resolve_lines(rel, lines, field_prefix)
    given = number is not None
    if given and _number_taken(rel, number):
        raise _number_used()
    for _attempt in range(NUMBER_ATTEMPTS):
        candidate = number if given else _next_number(rel)
        po = PurchaseOrder(relationship_id=rel.id, prime_id=rel.prime_id, number=candidate, status="draft",
                           currency=rel.currency, note=note or "", created_by_id=actor.user_id)
        po.supply_relationship = rel
        try:
            with db.session.begin_nested():
                db.session.add(po)
                _apply_lines(po, resolved, replace=False)
                db.session.flush()
        except IntegrityError:
            if not _number_taken(rel, candidate):
                raise  # not the number: a bug to see, not a reason to burn numbers
            if given:
                raise _number_used() from None
            continue  # a number typed by hand holds this one: take the next
        break
    else:
        raise Conflict(_("Could not generate a PO number; try again."), state="draft")
    audit.record(actor, "po.created", po, detail={"number": po.number, "lines": len(resolved)})
    logger.info("PO %s created in relationship %s by %s", po.number, rel.id, actor)
    return po


def create_po(actor: Actor, relationship_id: int, values: dict[str, Any]) -> PurchaseOrder:
    """The prime drafts a PO with its lines; it binds nothing until it is issued."""
    rel = relationships.get_relationship(actor, relationship_id)
    if rel.side_of(actor.organisation_id) != "prime" or actor.role not in ROLES_BY_SIDE["prime"]:
        raise Forbidden(_("Only the prime's planners create purchase orders."))
    if rel.status == "suspended":
        raise Conflict(_("The relationship is suspended: no new purchase orders."), state="draft",
                       relationship_state=rel.status)
    po = new_po(actor, rel, values.get("number"), values.get("note") or "", values["lines"])
    db.session.commit()
    return po


def revise_lines(actor: Actor, po: PurchaseOrder, lines: list[dict[str, Any]] | None, note: str | None, *,
                 replace: bool, field_prefix: str = "lines") -> dict[str, Any]:
    """Change a PO's note and lines in the session (no commit); a line change of a seen PO re-issues it."""
    rel = po.supply_relationship
    _refuse_if_shipped(po, _("revised"))
    detail: dict[str, Any] = {}
    if note is not None and note != po.note:
        detail["note"] = {"from": po.note, "to": note}
        po.note = note
    item_ids: set[int] = set()
    if lines is not None:
        before_items = {line.item_id for line in po.lines}
        result = _apply_lines(po, _resolve_lines(rel, lines, field_prefix), replace=replace)
        if result["added"] or result["changed"] or result["removed"]:
            detail["lines"] = {k: result[k] for k in ("added", "changed", "removed")}
            if result["removed_lines"]:
                detail["lines"]["removed_lines"] = result["removed_lines"]
            item_ids = result["item_ids"] | before_items
    if not detail:
        return detail
    before = po.status
    if "lines" in detail and po.status != "draft":
        detail["withdrawn_proposals"] = _withdraw_open_proposals(po, actor, _("Superseded by a revision."))
        states.move(po, "revise")
        po.issued_at, po.acknowledged_at, po.status_reason = utcnow(), None, None
        detail["status"] = {"from": before, "to": po.status}
        _reconcile(po, "po.revised", item_ids)
    _bump(po)
    audit.record(actor, "po.revised", po, detail=detail)
    return detail


def revise_po(actor: Actor, relationship_id: int, po_id: int, values: dict[str, Any], expected_version: int) -> PurchaseOrder:
    """The prime changes the note and/or the lines (the given lines replace the PO's lines, matched by line_no)."""
    po = get_po(actor, relationship_id, po_id)
    check_action(actor, po, "revise", expected_version)
    detail = revise_lines(actor, po, values.get("lines"), values.get("note"), replace=True)
    if detail:
        _commit()
        logger.info("PO %s revised by %s", po.number, actor)
    return po


def transition(actor: Actor, po: PurchaseOrder, action: str, reason: str | None = None) -> None:
    """Move a checked PO by `action` in the session (no commit): timestamps, proposals, audit and outbox."""
    before = po.status
    if action == "cancel":
        _refuse_if_shipped(po, _("cancelled"))
    target = states.move(po, action).to_state
    now = utcnow()
    detail: dict[str, Any] = {"from": before, "to": target}
    if action in ("cancel", "close"):
        po.closed_at = now
    if action == "issue":
        po.issued_at, po.acknowledged_at = now, None
    if action == "acknowledge":
        po.acknowledged_at = now
    if action in ("acknowledge", "reject", "cancel") and before == "change_proposed":
        detail["withdrawn_proposals"] = _withdraw_open_proposals(po, actor, _("Withdrawn when the PO was %(state)s.",
                                                                                state=target))
    if reason is not None or action in ("issue", "acknowledge"):
        po.status_reason = reason
    if reason:
        detail["reason"] = reason
    if not (before == "draft" and target == "cancelled"):  # a cancelled draft never bound anything
        _reconcile(po, f"po.{action}")
    audit.record(actor, f"po.{action}", po, detail=detail)
    from cogrow.edi import auto as edi_auto  # the 850 / 855 by webhook, when the EDI partner sends by itself
    edi_auto.po_changed(po, action)
    logger.info("PO %s: %s -> %s by %s", po.number, before, target, actor)


def _transition(actor: Actor, relationship_id: int, po_id: int, action: str, expected_version: int,
                reason: str | None = None) -> PurchaseOrder:
    po = get_po(actor, relationship_id, po_id)
    check_action(actor, po, action, expected_version)
    transition(actor, po, action, reason)
    _commit()
    return po


def issue_po(actor: Actor, relationship_id: int, po_id: int, expected_version: int) -> PurchaseOrder:
    """The prime issues a draft (or re-issues a rejected PO): its lines become binding."""
    return _transition(actor, relationship_id, po_id, "issue", expected_version)


def cancel_po(actor: Actor, relationship_id: int, po_id: int, expected_version: int, reason: str | None = None) -> PurchaseOrder:
    """The prime cancels a PO that nothing has been shipped against."""
    return _transition(actor, relationship_id, po_id, "cancel", expected_version, reason)


def close_po(actor: Actor, relationship_id: int, po_id: int, expected_version: int, reason: str | None = None) -> PurchaseOrder:
    """The prime closes the rest of a partly shipped PO (no more shipments are expected)."""
    return _transition(actor, relationship_id, po_id, "close", expected_version, reason)


def acknowledge_po(actor: Actor, relationship_id: int, po_id: int, expected_version: int) -> PurchaseOrder:
    """The supplier accepts the PO as it stands (withdrawing any open proposals of its own)."""
    return _transition(actor, relationship_id, po_id, "acknowledge", expected_version)


def reject_po(actor: Actor, relationship_id: int, po_id: int, expected_version: int, reason: str) -> PurchaseOrder:
    """The supplier refuses the PO, saying why."""
    return _transition(actor, relationship_id, po_id, "reject", expected_version, reason)


# ---------------------------------------------------------------- proposals

def _check_proposal(po: PurchaseOrder, values: dict[str, Any]) -> PurchaseOrderLine:
    line = next((line for line in po.lines if line.id == values["line_id"]), None)
    if line is None:
        raise ValidationFailed(_("No such line on this purchase order."),
                               fields={"line_id": _("Not a line of this purchase order.")})
    quantity, due = values.get("quantity"), values.get("due_date")
    if (quantity is None or quantity == line.quantity) and (due is None or due == line.due_date):
        raise ValidationFailed(_("The proposal changes nothing."),
                               fields={"quantity": _("Propose a quantity or due date different from the line's.")})
    if quantity is not None and quantity < line.shipped_qty:
        raise ValidationFailed(_("Less than what has been shipped."),
                               fields={"quantity": _("Must be at least the shipped %(q)s.", q=line.shipped_qty)})
    if db.session.scalar(select(exists().where(ChangeProposal.line_id == line.id, ChangeProposal.status == "open"))):
        raise ValidationFailed(_("This line already has an open proposal."),
                               fields={"line_id": _("Already has an open proposal.")})
    return line


def add_proposal(actor: Actor, po: PurchaseOrder, values: dict[str, Any]) -> ChangeProposal:
    """Add the supplier's proposal in the session (no commit); the PO becomes change_proposed."""
    line = _check_proposal(po, values)
    proposal = ChangeProposal(purchase_order_id=po.id, line_id=line.id, proposed_quantity=values.get("quantity"),
                              proposed_due_date=values.get("due_date"), reason=values["reason"],
                              proposed_by_id=actor.user_id, status="open")
    db.session.add(proposal)
    before = po.status
    states.move(po, "propose")
    _bump(po)
    db.session.flush()
    audit.record(actor, "po.change_proposed", po, detail={
        "proposal_id": proposal.id, "line_no": line.line_no, "from": before,
        "quantity": str(proposal.proposed_quantity) if proposal.proposed_quantity is not None else None,
        "due_date": proposal.proposed_due_date.isoformat() if proposal.proposed_due_date else None,
        "reason": proposal.reason})
    _reconcile(po, "po.propose")
    from cogrow.edi import auto as edi_auto  # the supplier's 855 / ORDRSP by webhook, when EDI sends by itself
    edi_auto.po_changed(po, "propose")
    return proposal


def propose_change(actor: Actor, relationship_id: int, po_id: int, values: dict[str, Any],
                   expected_version: int) -> ChangeProposal:
    """The supplier proposes a new quantity and/or due date for one line, with a reason."""
    po = get_po(actor, relationship_id, po_id)
    check_action(actor, po, "propose", expected_version)
    proposal = add_proposal(actor, po, values)
    _commit()
    logger.info("PO %s: change proposed on line %s by %s", po.number, proposal.line_id, actor)
    return proposal


def _round_start(po: PurchaseOrder):
    moments = [m for m in (po.issued_at, po.acknowledged_at) if m is not None]
    return max(moments) if moments else po.created_at


def _decide(actor: Actor, relationship_id: int, po_id: int, proposal_id: int, expected_version: int, accept: bool,
            note: str | None) -> ChangeProposal:
    po = get_po(actor, relationship_id, po_id)
    action = "accept_proposal" if accept else "reject_proposal"
    # The proposal id comes from the URL: one of another PO (or tenant) is simply not found.
    proposal = db.session.scalar(select(ChangeProposal).where(ChangeProposal.id == proposal_id,
                                                              ChangeProposal.purchase_order_id == po.id))
    if proposal is None:
        raise NotFound(_("No such change proposal."))
    check_action(actor, po, action, expected_version)
    if proposal.status != "open":
        raise Conflict(_("This proposal was already %(state)s.", state=proposal.status), state=po.status,
                       proposal_state=proposal.status)
    now = utcnow()
    line = proposal.line
    detail: dict[str, Any] = {"proposal_id": proposal.id, "line_no": line.line_no}
    if accept:
        if proposal.proposed_quantity is not None and proposal.proposed_quantity < line.shipped_qty:
            raise Conflict(_("More than the proposed quantity has already been shipped."), state=po.status)
        changes = audit.apply_changes(line, {
            "quantity": proposal.proposed_quantity if proposal.proposed_quantity is not None else line.quantity,
            "due_date": proposal.proposed_due_date or line.due_date})
        detail["changes"] = {k: {kk: str(vv) for kk, vv in v.items()} for k, v in changes.items()}
    proposal.status = "accepted" if accept else "rejected"
    proposal.decided_by_id, proposal.decided_at, proposal.decision_note = actor.user_id, now, note
    db.session.flush()
    still_open = db.session.scalar(select(exists().where(ChangeProposal.purchase_order_id == po.id,
                                                         ChangeProposal.status == "open")))
    before = po.status
    if still_open:
        states.move(po, action, "change_proposed")
    else:
        rejected = db.session.scalar(select(exists().where(
            ChangeProposal.purchase_order_id == po.id, ChangeProposal.status == "rejected",
            ChangeProposal.created_at >= _round_start(po))))
        if rejected:
            states.move(po, action, "issued")
            po.issued_at, po.acknowledged_at = now, None
        else:
            states.move(po, action, "acknowledged")
            po.acknowledged_at = now
    detail.update({"from": before, "to": po.status})
    if note:
        detail["note"] = note
    _bump(po)
    audit.record(actor, f"po.{action}", po, detail=detail)
    _reconcile(po, f"po.{action}")
    _commit()
    logger.info("PO %s: proposal %s %s by %s", po.number, proposal.id, proposal.status, actor)
    return proposal


def accept_proposal(actor: Actor, relationship_id: int, po_id: int, proposal_id: int, expected_version: int,
                    note: str | None = None) -> ChangeProposal:
    """The prime accepts the supplier's proposal: the line takes the proposed quantity and/or due date."""
    return _decide(actor, relationship_id, po_id, proposal_id, expected_version, True, note)


def reject_proposal(actor: Actor, relationship_id: int, po_id: int, proposal_id: int, expected_version: int,
                    note: str | None = None) -> ChangeProposal:
    """The prime rejects the supplier's proposal: the line stays as it is."""
    return _decide(actor, relationship_id, po_id, proposal_id, expected_version, False, note)


def prime_relationships(actor: Actor) -> list[SupplyRelationship]:
    """Relationships where the actor may draft POs (for the "new PO" links)."""
    if not actor.is_prime or actor.role not in ROLES_BY_SIDE["prime"]:
        return []
    return [rel for rel in relationships.list_relationships(actor) if rel.status != "suspended"]
