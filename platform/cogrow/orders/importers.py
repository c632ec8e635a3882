"""Import kinds of orders, registered with cogrow.imports.registry.

- `po_lines` (the prime's planners): PO number, line, prime part number, quantity, due date, unit price.
  A new PO number drafts a PO; an existing draft gets the file's lines added or changed by line number
  (lines not in the file stay). Any other PO is refused with the row named: issue, revise and cancel
  happen on the PO's page or through the API, where the supplier's side is visible.
- `po_responses` (the supplier's production users): PO number, line, action (acknowledge, reject, propose),
  quantity, due date, reason: the supplier's answers to many POs at once.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cogrow.catalog.models import Item
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict
from cogrow.core.fields import decimal_text
from cogrow.extensions import db
from cogrow.imports.cells import choice_cell, code_cell, date_cell, decimal_cell, text_cell
from cogrow.imports.registry import Column, ImportKind, ParsedRow, RowError, register
from cogrow.orders import services, states
from cogrow.orders.models import ChangeProposal, PurchaseOrder, PurchaseOrderLine
from cogrow.relationships.models import SupplyRelationship

CHUNK = 500  # ids per IN (...) query: well under every database's parameter limit
PREVIEW_LINES = 2000


def _positive(parse: Callable[[str | None], Decimal | None]) -> Callable[[str | None], Decimal | None]:
    def wrapped(value: str | None) -> Decimal | None:
        number = parse(value)
        if number is not None and number <= 0:
            raise ValueError(_("Must be more than 0."))
        return number

    return wrapped


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _orders_by_number(rel: SupplyRelationship, numbers: set[str]) -> dict[str, PurchaseOrder]:
    found: dict[str, PurchaseOrder] = {}
    for chunk in _chunks(numbers):
        for po in db.session.scalars(select(PurchaseOrder).where(PurchaseOrder.relationship_id == rel.id,
                                                                 PurchaseOrder.number.in_(chunk))
                                     .options(selectinload(PurchaseOrder.lines))):
            found[po.number] = po
    return found


def _numbers_of_other_suppliers(rel: SupplyRelationship, numbers: set[str]) -> set[str]:
    """Numbers the prime has already given to POs of its other suppliers (a PO number is unique per prime)."""
    taken: set[str] = set()
    for chunk in _chunks(numbers):
        taken.update(db.session.scalars(select(PurchaseOrder.number).where(
            PurchaseOrder.prime_id == rel.prime_id, PurchaseOrder.relationship_id != rel.id,
            PurchaseOrder.number.in_(chunk))))
    return taken


def _relationship_error(rel: SupplyRelationship) -> list[RowError]:
    if rel.status != "active":
        return [RowError(1, None, _("The relationship is %(state)s: its purchase orders cannot change.",
                                    state=rel.status))]
    return []


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------- po_lines

PO_LINE_COLUMNS = (
    Column("po_number", ("PO number", "PO", "PO no", "Purchase order", "발주번호", "발주 번호"), code_cell(32, required=True),
           example="PO-2026-0001"),
    Column("line", ("Line", "Line no", "Line number", "라인", "행번호", "항번"),
           decimal_cell(minimum=1, whole=True, maximum=9999), required=False, example="1"),
    Column("prime_part_number", ("Prime part number", "Part number", "Prime's part number", "품번", "고객 품번"),
           code_cell(64, required=True), example="BRK-1001"),
    Column("quantity", ("Quantity", "Qty", "수량"), _positive(decimal_cell(minimum=0, required=True)), example="100"),
    Column("due_date", ("Due date", "Due", "납기", "납기일"), date_cell(required=True), example="2026-03-30"),
    Column("unit_price", ("Unit price", "Price", "단가"), decimal_cell(minimum=0), required=False, example="1500"),
)


@dataclass
class PlannedPO:
    number: str
    po_id: int | None
    version: int | None
    lines: list[dict[str, Any]] = field(default_factory=list)


def validate_po_lines(actor: Actor, rel: SupplyRelationship, rows: list[ParsedRow]) -> tuple[list[PlannedPO], list[RowError]]:
    """Check part numbers against the catalog, the POs' states and duplicates; plan each PO's lines."""
    errors = _relationship_error(rel)
    parts = {r.values["prime_part_number"] for r in rows if r.values.get("prime_part_number")}
    items: dict[str, Item] = {}
    for chunk in _chunks(parts):
        for item in db.session.scalars(select(Item).where(Item.relationship_id == rel.id,
                                                          Item.prime_part_number.in_(chunk))):
            items[item.prime_part_number] = item
    numbers = {r.values["po_number"] for r in rows if r.values.get("po_number")}
    orders = _orders_by_number(rel, numbers)
    elsewhere = _numbers_of_other_suppliers(rel, numbers - set(orders))
    plans: dict[str, PlannedPO] = {}
    seen: dict[tuple[str, int], int] = {}
    for r in rows:
        v = r.values
        number, part = v.get("po_number"), v.get("prime_part_number")
        if not number or not part or v.get("quantity") is None or v.get("due_date") is None:
            continue  # a cell of this row is already reported as bad
        po = orders.get(number)
        row_ok = True
        if number in elsewhere:
            errors.append(RowError(r.row, "PO number", _("PO number %(number)s is already used for another supplier.",
                                                         number=number)))
            row_ok = False
        if po is not None and po.status != "draft":
            if po.status in ("cancelled", "closed"):
                message = _("PO %(number)s is %(state)s: no lines can be added or changed.", number=number,
                            state=po.status)
            else:
                message = _("PO %(number)s is %(state)s: only draft POs are changed by import; revise it on its page.",
                            number=number, state=po.status)
            errors.append(RowError(r.row, "PO number", message))
            row_ok = False
        item = items.get(part)
        if item is None:
            errors.append(RowError(r.row, "Prime part number",
                                   _("No such part number in this relationship's catalog: %(part)s.", part=part)))
            row_ok = False
        elif not item.active:
            errors.append(RowError(r.row, "Prime part number", _("This item is inactive.")))
            row_ok = False
        line_no = int(v["line"]) if v.get("line") is not None else None
        if line_no is not None:
            first = seen.get((number, line_no))
            if first is not None:
                errors.append(RowError(r.row, "Line", _("Line %(n)s of %(number)s is already on row %(row)s.",
                                                        n=line_no, number=number, row=first)))
                row_ok = False
            seen[(number, line_no)] = r.row
        if not row_ok:
            continue
        plan = plans.setdefault(number, PlannedPO(number, po.id if po else None, po.version if po else None))
        plan.lines.append({"row": r.row, "line_no": line_no, "item_id": item.id, "part": part,
                           "quantity": v["quantity"], "due_date": v["due_date"], "unit_price": v.get("unit_price")})
    if errors:
        return [], errors
    # Blank line numbers follow the highest one already on the PO or in the file.
    for plan in plans.values():
        po = orders.get(plan.number)
        taken = {line.line_no for line in po.lines} if po else set()
        next_no = max([*taken, *(ln["line_no"] for ln in plan.lines if ln["line_no"])], default=0) + 1
        existing = {line.line_no: line for line in po.lines} if po else {}
        for ln in plan.lines:
            if ln["line_no"] is None:
                ln["line_no"], next_no = next_no, next_no + 1
            old = existing.get(ln["line_no"])
            if old is None:
                ln["change"] = "new"
            else:
                price = ln["unit_price"] if ln["unit_price"] is not None else old.unit_price
                same = (old.item_id, old.quantity, old.due_date, old.unit_price) == \
                    (ln["item_id"], ln["quantity"], ln["due_date"], price)
                ln["change"] = "unchanged" if same and (ln["unit_price"] is not None or old.item_id == ln["item_id"]) \
                    else "changed"
    return list(plans.values()), []


def preview_po_lines(actor: Actor, rel: SupplyRelationship, plans: list[PlannedPO]) -> dict[str, Any]:
    counts = defaultdict(int)
    lines = []
    for plan in plans:
        counts["new_pos" if plan.po_id is None else "changed_pos"] += 1
        for ln in plan.lines:
            counts[f"{ln['change']}_lines"] += 1
            if len(lines) < PREVIEW_LINES:
                lines.append([plan.number, ln["line_no"], ln["part"], _text(ln["quantity"]), _text(ln["due_date"]),
                              _text(ln["unit_price"]) or _("catalog price"),
                              {"new": _("new"), "changed": _("changed"), "unchanged": _("unchanged")}[ln["change"]]])
    summary = {key: counts[key] for key in ("new_pos", "changed_pos", "new_lines", "changed_lines", "unchanged_lines")}
    return {"summary": summary, "headers": [_("PO number"), _("Line"), _("Prime part number"), _("Quantity"),
                                            _("Due date"), _("Unit price"), _("Change")], "lines": lines}


def _line_inputs(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"index": i, "line_no": ln["line_no"], "item_id": ln["item_id"], "quantity": ln["quantity"],
             "due_date": ln["due_date"], "unit_price": ln["unit_price"]} for i, ln in enumerate(lines)]


def apply_po_lines(actor: Actor, rel: SupplyRelationship, plans: list[PlannedPO], batch: Any,
                   progress: Callable[[int, int], None]) -> dict[str, Any]:
    """Draft the new POs and change the draft ones, in the caller's transaction."""
    total = sum(len(plan.lines) for plan in plans)
    done = created = revised = 0
    orders = _orders_by_number(rel, {plan.number for plan in plans if plan.po_id is not None})
    for plan in plans:
        if plan.po_id is None:
            services.new_po(actor, rel, plan.number, "", _line_inputs(plan.lines))
            created += 1
        else:
            po = orders.get(plan.number)
            if po is None or po.id != plan.po_id or po.version != plan.version or po.status != "draft":
                raise Conflict(_("PO %(number)s changed since the preview. Upload the file again.", number=plan.number),
                               state=po.status if po else "missing")
            if any(ln["change"] != "unchanged" for ln in plan.lines):
                services.revise_lines(actor, po, _line_inputs(plan.lines), None, replace=False)
                revised += 1
        done += len(plan.lines)
        progress(done, total)
    return {"created_pos": created, "revised_pos": revised, "lines": total}


def example_po_lines(actor: Actor, rel: SupplyRelationship) -> list[Sequence[Any]]:
    items = list(db.session.scalars(select(Item).where(Item.relationship_id == rel.id, Item.active)
                                    .order_by(Item.prime_part_number).limit(3)))
    return [["PO-NEW-0001", i + 1, item.prime_part_number, "100", "2026-03-30", ""] for i, item in enumerate(items)]


# ---------------------------------------------------------------- po_responses

RESPONSE_ACTIONS = {"acknowledge": "acknowledge", "ack": "acknowledge", "accept": "acknowledge", "확인": "acknowledge",
                    "승인": "acknowledge", "reject": "reject", "거절": "reject", "propose": "propose",
                    "change": "propose", "변경": "propose", "변경제안": "propose"}

PO_RESPONSE_COLUMNS = (
    Column("po_number", ("PO number", "PO", "PO no", "Purchase order", "발주번호", "발주 번호"), code_cell(32, required=True),
           example="PO-2026-0001"),
    Column("line", ("Line", "Line no", "Line number", "라인", "행번호", "항번"),
           decimal_cell(minimum=1, whole=True, maximum=9999), required=False, example="1"),
    Column("action", ("Action", "Response", "응답", "처리"), choice_cell(RESPONSE_ACTIONS, required=True),
           example="acknowledge"),
    Column("quantity", ("Quantity", "Qty", "Proposed quantity", "수량", "제안 수량"), _positive(decimal_cell(minimum=0)),
           required=False, example=""),
    Column("due_date", ("Due date", "Due", "Proposed due date", "납기", "제안 납기"), date_cell(), required=False, example=""),
    Column("reason", ("Reason", "Comment", "사유", "비고"), text_cell(500), required=False, example=""),
)


@dataclass
class PlannedResponse:
    number: str
    po_id: int
    version: int
    action: str
    reason: str | None = None
    proposals: list[dict[str, Any]] = field(default_factory=list)


def validate_po_responses(actor: Actor, rel: SupplyRelationship, rows: list[ParsedRow]) -> tuple[list[PlannedResponse], list[RowError]]:
    """Check each answer against the PO's state and lines; one kind of answer per PO."""
    errors = _relationship_error(rel)
    orders = _orders_by_number(rel, {r.values["po_number"] for r in rows if r.values.get("po_number")})
    open_lines: set[int] = set()
    ids = [po.id for po in orders.values()]
    for chunk in _chunks(ids):
        open_lines.update(db.session.scalars(select(ChangeProposal.line_id).where(
            ChangeProposal.purchase_order_id.in_(chunk), ChangeProposal.status == "open")))
    plans: dict[str, PlannedResponse] = {}
    first_row: dict[str, int] = {}
    proposed_lines: dict[tuple[str, int], int] = {}
    for r in rows:
        v = r.values
        number, action = v.get("po_number"), v.get("action")
        if not number or not action:
            continue  # a cell of this row is already reported as bad
        po = orders.get(number)
        if po is None or po.status == "draft":  # a draft is the prime's own: to the supplier it does not exist
            errors.append(RowError(r.row, "PO number", _("No such purchase order: %(number)s.", number=number)))
            continue
        if not states.can_act(action, po.status):
            errors.append(RowError(r.row, "Action", _("PO %(number)s is %(state)s: it cannot be answered with %(action)s.",
                                                      number=number, state=po.status, action=action)))
            continue
        plan = plans.get(number)
        if plan is not None and (plan.action != action or action != "propose"):
            errors.append(RowError(r.row, "Action", _("PO %(number)s already has an answer on row %(row)s.",
                                                      number=number, row=first_row[number])))
            continue
        if action == "reject" and not v.get("reason"):
            errors.append(RowError(r.row, "Reason", _("Say why the PO is rejected.")))
            continue
        proposal = None
        if action == "propose":
            proposal = _check_proposal_row(r, po, open_lines, proposed_lines, errors)
            if proposal is None:
                continue
        if plan is None:
            plan = plans[number] = PlannedResponse(number, po.id, po.version, action, v.get("reason"))
            first_row[number] = r.row
        if proposal is not None:
            plan.proposals.append(proposal)
    if errors:
        return [], errors
    return list(plans.values()), []


def _check_proposal_row(r: ParsedRow, po: PurchaseOrder, open_lines: set[int], proposed: dict[tuple[str, int], int],
                        errors: list[RowError]) -> dict[str, Any] | None:
    v = r.values
    if v.get("line") is None:
        errors.append(RowError(r.row, "Line", _("Name the line the change is for.")))
        return None
    line_no = int(v["line"])
    line: PurchaseOrderLine | None = next((ln for ln in po.lines if ln.line_no == line_no), None)
    if line is None:
        errors.append(RowError(r.row, "Line", _("PO %(number)s has no line %(n)s.", number=po.number, n=line_no)))
        return None
    if not v.get("reason"):
        errors.append(RowError(r.row, "Reason", _("Give a reason for the change.")))
        return None
    quantity, due = v.get("quantity"), v.get("due_date")
    if (quantity is None or quantity == line.quantity) and (due is None or due == line.due_date):
        errors.append(RowError(r.row, "Quantity", _("Propose a quantity or due date different from the line's.")))
        return None
    if line.id in open_lines:
        errors.append(RowError(r.row, "Line", _("This line already has an open proposal.")))
        return None
    if (po.number, line_no) in proposed:
        errors.append(RowError(r.row, "Line", _("Line %(n)s of %(number)s is already on row %(row)s.", n=line_no,
                                                number=po.number, row=proposed[(po.number, line_no)])))
        return None
    proposed[(po.number, line_no)] = r.row
    return {"row": r.row, "line_no": line_no, "line_id": line.id, "quantity": quantity, "due_date": due,
            "reason": v["reason"]}


def preview_po_responses(actor: Actor, rel: SupplyRelationship, plans: list[PlannedResponse]) -> dict[str, Any]:
    counts = defaultdict(int)
    labels = {"acknowledge": _("acknowledge"), "reject": _("reject"), "propose": _("propose a change")}
    lines = []
    for plan in plans:
        counts[plan.action] += 1
        if plan.action == "propose":
            for p in plan.proposals:
                lines.append([plan.number, p["line_no"], labels["propose"], _text(p["quantity"]), _text(p["due_date"]),
                              p["reason"]])
        else:
            lines.append([plan.number, "", labels[plan.action], "", "", plan.reason or ""])
    return {"summary": {"acknowledged": counts["acknowledge"], "rejected": counts["reject"],
                        "proposals": sum(len(p.proposals) for p in plans)},
            "headers": [_("PO number"), _("Line"), _("Action"), _("Quantity"), _("Due date"), _("Reason")],
            "lines": lines[:PREVIEW_LINES]}


def apply_po_responses(actor: Actor, rel: SupplyRelationship, plans: list[PlannedResponse], batch: Any,
                       progress: Callable[[int, int], None]) -> dict[str, Any]:
    """Acknowledge, reject or propose on each PO, in the caller's transaction; a PO changed since the preview stops it."""
    orders = _orders_by_number(rel, {plan.number for plan in plans})
    for done, plan in enumerate(plans, start=1):
        po = orders.get(plan.number)
        if po is None or po.id != plan.po_id or po.version != plan.version:
            raise Conflict(_("PO %(number)s changed since the preview. Upload the file again.", number=plan.number),
                           state=po.status if po else "missing")
        services.check_action(actor, po, plan.action, None)
        if plan.action == "propose":
            for p in plan.proposals:
                services.add_proposal(actor, po, {"line_id": p["line_id"], "quantity": p["quantity"],
                                                  "due_date": p["due_date"], "reason": p["reason"]})
        else:
            services.transition(actor, po, plan.action, plan.reason)
        progress(done, len(plans))
    return {"acknowledged": sum(p.action == "acknowledge" for p in plans),
            "rejected": sum(p.action == "reject" for p in plans),
            "proposals": sum(len(p.proposals) for p in plans)}


def example_po_responses(actor: Actor, rel: SupplyRelationship) -> list[Sequence[Any]]:
    return [["PO-2026-0001", "", "acknowledge", "", "", ""],
            ["PO-2026-0002", 1, "propose", "80", "2026-04-06", "Material arrives a week late"]]


register(ImportKind(
    name="po_lines", label=lambda: _("Purchase order lines"), org_kind="prime", roles=("admin", "planner"),
    columns=PO_LINE_COLUMNS, validate=validate_po_lines, preview=preview_po_lines, apply=apply_po_lines,
    example_rows=example_po_lines))

register(ImportKind(
    name="po_responses", label=lambda: _("Answers to purchase orders"), org_kind="supplier",
    roles=("admin", "production"), columns=PO_RESPONSE_COLUMNS, validate=validate_po_responses,
    preview=preview_po_responses, apply=apply_po_responses, example_rows=example_po_responses))
