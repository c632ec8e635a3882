"""What the JSON API accepts and answers for purchase orders, their lines and change proposals.

The bodies parse their fields with the shared parsers (`cogrow.core.schema` on `cogrow.core.fields`), as the page
forms in orders/forms.py do. Rules between fields (a line names its item by id or part number, a line number
appears once, a proposal changes something) are checked by `po_values` / `proposal_values`, which name the field,
and give the services the values they take. `parse_po` and `parse_proposal` do both in one step for code that holds
a plain dict (the demo data, tests).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    WithJsonSchema,
)

from cogrow.alerts.schemas import id_list_type
from cogrow.core.errors import ValidationFailed
from cogrow.core.schema import (
    Body,
    code_type,
    field_errors,
    Date,
    Id,
    Moment,
    PageQuery,
    PartNumber,
    Quantity,
    Resource,
    int_type,
    text_type,
)
from cogrow.core.schema import refuse as _refuse
from cogrow.core.validation import parse_int

MAX_LINES = 1000
FORM_NEW_ROWS = 10


# --- field types ---------------------------------------------------------------------------------------------

def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _plausible(day: date) -> date:
    if not 2000 <= day.year <= 2100:
        raise _refuse(_l("Must be a date between the years 2000 and 2100."))
    return day


def _more_than_zero(value: Decimal) -> Decimal:
    if value <= 0:
        raise _refuse(_l("Must be more than 0."))
    return value


def _given(value: str) -> str:
    if not value:
        raise _refuse(_l("This field is required."))
    return value


DueDate = Annotated[Date, AfterValidator(_plausible)]
OptionalDueDate = Annotated[DueDate | None, BeforeValidator(_blank_is_none)]
PositiveQuantity = Annotated[Quantity, AfterValidator(_more_than_zero)]
PoNumber = code_type(max_length=32)
LineNo = int_type(minimum=1, maximum=9999)
PoNote = text_type(max_length=1000)
Reason = text_type(max_length=500)
RequiredReason = Annotated[Reason, AfterValidator(_given)]


def _not_too_many(value: Any) -> Any:
    if isinstance(value, list) and len(value) > MAX_LINES:
        raise _refuse(_l("At most %(n)s lines.", n=MAX_LINES))
    return value


def _some_lines(value: list) -> list:
    if not value:
        raise _refuse(_l("A PO needs at least one line."))
    return value


# --- bodies --------------------------------------------------------------------------------------------------

class PurchaseOrderLineInput(Body):
    """One line: the item by id or by the prime's part number (both may be given if they agree), a quantity of
    more than 0 and a due date. Without `unit_price` a new item takes the catalog price and an unchanged one keeps
    its agreed price. Without `line_no` a line follows the highest number given."""

    line_no: LineNo | None = None
    item_id: Id | None = None
    prime_part_number: PartNumber | None = None
    quantity: PositiveQuantity
    due_date: DueDate
    unit_price: Quantity | None = None


Lines = Annotated[list[PurchaseOrderLineInput], BeforeValidator(_not_too_many), AfterValidator(_some_lines),
                  Field(json_schema_extra={"minItems": 1, "maxItems": MAX_LINES})]


class PurchaseOrderChange(Body):
    """A revision: the note and/or the lines. Lines given replace the PO's lines, matched by `line_no`."""

    note: PoNote | None = None
    lines: Lines = Field(default=None)


class PurchaseOrderCreate(PurchaseOrderChange):
    """A new draft PO: its number (generated when left out) and note, and at least one line."""

    number: PoNumber | None = None
    lines: Lines


class PurchaseOrderActionReason(Body):
    """An optional reason that goes with the action (the body may also be left out)."""

    reason: Reason | None = None


class PurchaseOrderRejection(Body):
    """Why the supplier rejects the PO."""

    reason: RequiredReason


class ProposalDecision(Body):
    """An optional note to the supplier about the decision (the body may also be left out)."""

    note: Reason | None = None


class ChangeProposalCreate(Body):
    """The supplier's proposal for one line: a new quantity, a new due date or both, and why."""

    line_id: Id
    quantity: PositiveQuantity | None = None
    due_date: OptionalDueDate = None
    reason: RequiredReason


class PurchaseOrderQuery(PageQuery):
    """Paging and an optional status filter ("open" is every binding state); an unknown status is a 422."""

    status: Annotated[str | None, BeforeValidator(_blank_is_none),
                      WithJsonSchema({"type": "string",
                                      "description": 'A PO status, or "open" for every binding one.'})] = None


# --- cross-field rules ---------------------------------------------------------------------------------------

def line_values(lines: list[PurchaseOrderLineInput]) -> list[dict[str, Any]]:
    """The services' form of the lines (each with its `index` in the body); errors name `lines[i].field`."""
    errors: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for index, line in enumerate(lines):
        values = line.model_dump()
        values["prime_part_number"] = values["prime_part_number"] or None
        prefix = f"lines[{index}]"
        if values["item_id"] is None and values["prime_part_number"] is None:
            errors[f"{prefix}.item_id"] = str(_l("Give the item's id or its prime part number."))
        if values["line_no"] is not None:
            if values["line_no"] in seen:
                errors[f"{prefix}.line_no"] = str(_l("Line %(n)s appears twice.", n=values["line_no"]))
            seen.add(values["line_no"])
        values["index"] = index
        out.append(values)
    if errors:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields=errors)
    return out


def po_values(body: PurchaseOrderChange) -> dict[str, Any]:
    """What `create_po` / `revise_po` take: only what was sent (a null or blank note clears it)."""
    sent = body.model_fields_set
    values: dict[str, Any] = {}
    if isinstance(body, PurchaseOrderCreate):
        values["number"] = body.number or None
    if "note" in sent or isinstance(body, PurchaseOrderCreate):
        values["note"] = body.note or ""
    if "lines" in sent:
        values["lines"] = line_values(body.lines)
    return values


def proposal_values(body: ChangeProposalCreate) -> dict[str, Any]:
    """What `propose_change` takes; a proposal that changes neither quantity nor date is refused on `quantity`."""
    if body.quantity is None and body.due_date is None:
        message = str(_l("Propose a new quantity, a new due date, or both."))
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields={"quantity": message})
    return {"line_id": body.line_id, "quantity": body.quantity, "due_date": body.due_date, "reason": body.reason}


def validated(model: type[Body], data: Mapping[str, Any]) -> Any:
    """`data` read as the API reads a body; a ValidationFailed naming the fields otherwise."""
    try:
        return model.model_validate(dict(data), context={"request": True})
    except ValidationError as exc:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields=field_errors(exc)) from None


def parse_po(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """A PO body as a dict, read like the API's: create, or (partial) a revision."""
    return po_values(validated(PurchaseOrderChange if partial else PurchaseOrderCreate, data))


def parse_proposal(data: Mapping[str, Any]) -> dict[str, Any]:
    """A change proposal body as a dict, read like the API's."""
    return proposal_values(validated(ChangeProposalCreate, data))


# --- answers -------------------------------------------------------------------------------------------------

class PurchaseOrderLine(Resource):
    id: int
    line_no: int
    item_id: int
    prime_part_number: str
    supplier_part_number: str | None
    quantity: Quantity
    due_date: Date
    unit_price: Quantity
    shipped_qty: Quantity
    received_qty: Quantity
    open_qty: Quantity = Field(description="What is left to ship: quantity - shipped_qty, at least 0.")


class ChangeProposal(Resource):
    id: int
    line_id: int
    line_no: int
    proposed_quantity: Quantity | None
    proposed_due_date: Date | None
    reason: str
    status: str = Field(description="open, accepted, rejected or withdrawn.")
    decision_note: str | None
    created_at: Moment | None
    decided_at: Moment | None


class PurchaseOrder(Resource):
    """A PO as lists show it: its header and lines."""

    id: int
    relationship_id: int
    prime_id: int = Field(description="The issuer: a PO number is unique per prime.")
    number: str
    status: str
    currency: str
    note: str
    status_reason: str | None
    version: int
    created_at: Moment | None
    issued_at: Moment | None
    acknowledged_at: Moment | None
    closed_at: Moment | None
    lines: list[PurchaseOrderLine]


class PurchaseOrderDetail(PurchaseOrder):
    """One PO with its change proposals and the actions the caller may take on it now."""

    proposals: list[ChangeProposal]
    allowed_actions: list[str]


# --- page forms ----------------------------------------------------------------------------------------------

def form_row_count(form: Mapping[str, Any]) -> int:
    """How many line rows a posted form carried (bounded, so a forged form cannot make us loop)."""
    count = form.get("rows", "")
    parsed = parse_int(count, minimum=0) if isinstance(count, str) else None
    return min(parsed, MAX_LINES) if isinstance(parsed, int) else FORM_NEW_ROWS


class PoCancelDraftCreate(Body):
    """Lines of the PO to mark for cancellation (a draft: nothing is cancelled until it is applied)."""

    line_ids: id_list_type(_l("A list of 1 to %(max)s line ids of this purchase order.", max=500))


class PoCancelDraft(Resource):
    purchase_order_id: int
    line_ids: list[int]
    created_at: Moment
