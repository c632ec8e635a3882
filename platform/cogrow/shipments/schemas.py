"""What the JSON API accepts and answers for ASNs and receipts, and the date rules the page form shares.

Fields parse with the shared parsers (`cogrow.core.schema`); the rules between fields (dates against each other and
today, a PO line once per ASN) are checked by `shipment_values` / `receipt_values`, which name the field.
`parse_shipment` does both in one step for code that holds a plain dict (the demo data, tests).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

from cogrow.core.errors import BadRequest, ValidationFailed
from cogrow.core.schema import (
    Body,
    Date,
    Id,
    Moment,
    PageQuery,
    Quantity,
    Resource,
    text_type,
)
from cogrow.core.weeks import local_today
from cogrow.core.schema import code_type, field_errors
from cogrow.orders.schemas import PositiveQuantity, validated

MAX_LINES = 500
# A ship date far from today is a typo (or a year of 0026), not a plan.
SHIP_DATE_WINDOW = timedelta(days=366)


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _refuse(message: Any) -> PydanticCustomError:
    return PydanticCustomError("cogrow", "{reason}", {"reason": str(message)})


def _between_one_and_max(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    if not value:
        raise _refuse(_l("Give at least one line."))
    if len(value) > MAX_LINES:
        raise _refuse(_l("At most %(n)s lines.", n=MAX_LINES))
    return value


AsnNumber = code_type(max_length=32)
Tracking = code_type(max_length=100, upper=False)
Carrier = text_type(max_length=100)


# --- bodies --------------------------------------------------------------------------------------------------

class ShipmentLineInput(Body):
    po_line_id: Id
    quantity: PositiveQuantity


class ReceiptLineInput(Body):
    po_line_id: Id
    quantity_received: Quantity


class ShipmentCreate(Body):
    """A new ASN: the quantities shipped per PO line, the ship date (within a year of today) and, if known, the
    expected arrival (not before the ship date). The number is generated when left out."""

    number: AsnNumber | None = None
    carrier: Carrier | None = None
    tracking: Tracking | None = None
    ship_date: Date
    expected_date: Annotated[Date | None, BeforeValidator(_blank_is_none)] = None
    lines: Annotated[list[ShipmentLineInput], BeforeValidator(_between_one_and_max),
                     Field(json_schema_extra={"minItems": 1, "maxItems": MAX_LINES})]


class ShipmentReceipt(Body):
    """What arrived, per PO line of the ASN (every line, once). Without `lines`, everything arrived as shipped."""

    lines: Annotated[list[ReceiptLineInput], BeforeValidator(_between_one_and_max)] = Field(
        default=None, json_schema_extra={"minItems": 1, "maxItems": MAX_LINES})


class ShipmentQuery(PageQuery):
    """Paging and an optional status filter; an unknown status is a 422."""

    status: Annotated[str | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, description="shipped, received or cancelled.")


# --- cross-field rules ---------------------------------------------------------------------------------------

def check_dates(ship_date: date | None, expected: date | None, today: date) -> dict[str, str]:
    """The rules between an ASN's dates (for the API and the page form alike)."""
    errors: dict[str, str] = {}
    if ship_date is not None and abs(ship_date - today) > SHIP_DATE_WINDOW:
        errors["ship_date"] = str(_l("Must be within a year of today."))
    if ship_date is not None and expected is not None and expected < ship_date:
        errors["expected_date"] = str(_l("Cannot be before the ship date."))
    return errors


def _line_pairs(lines: list[Any], qty_field: str, errors: dict[str, str]) -> list[tuple[int, Decimal]]:
    pairs: list[tuple[int, Decimal]] = []
    seen: dict[int, int] = {}
    for index, line in enumerate(lines):
        if line.po_line_id in seen:
            errors[f"lines[{index}].po_line_id"] = str(_l("The same PO line is already on line %(n)s.",
                                                           n=seen[line.po_line_id]))
            continue
        seen[line.po_line_id] = index
        pairs.append((line.po_line_id, getattr(line, qty_field)))
    return pairs


def shipment_values(body: ShipmentCreate, today: date | None = None) -> dict[str, Any]:
    """What `create_shipment` takes: the header fields and lines [(po_line_id, quantity)]."""
    errors = check_dates(body.ship_date, body.expected_date, today or local_today())
    lines = _line_pairs(body.lines, "quantity", errors)
    if errors:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields=errors)
    return {"number": body.number or None, "carrier": body.carrier or None, "tracking": body.tracking or None,
            "ship_date": body.ship_date, "expected_date": body.expected_date, "lines": lines}


def receipt_values(body: ShipmentReceipt) -> list[tuple[int, Decimal]] | None:
    """The received quantity per PO line, or None when `lines` was left out (everything arrived as shipped)."""
    if body.lines is None:
        return None
    errors: dict[str, str] = {}
    lines = _line_pairs(body.lines, "quantity_received", errors)
    if errors:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields=errors)
    return lines


def parse_shipment(data: Mapping[str, Any], today: date | None = None) -> dict[str, Any]:
    """An ASN body as a dict, read like the API's."""
    return shipment_values(validated(ShipmentCreate, data), today)


def paging(args: Mapping[str, Any]) -> tuple[int, int]:
    """`limit` and `offset` of a list page's query string, read like the API's; bad ones are a 400 naming them."""
    try:
        given = {name: args[name] for name in ("limit", "offset") if name in args}
        page = PageQuery.model_validate(given, context={"request": True})
    except ValidationError as exc:
        raise BadRequest(str(_l("Bad query parameters.")), fields=field_errors(exc)) from None
    return page.limit, page.offset  # type: ignore[attr-defined]


# --- answers -------------------------------------------------------------------------------------------------

class ShipmentLine(Resource):
    id: int
    po_line_id: int
    po_number: str
    line_no: int
    item_id: int
    prime_part_number: str
    quantity_shipped: Quantity
    quantity_received: Quantity | None = Field(description="Empty until the prime confirms the receipt.")


class ShipmentHeader(Resource):
    id: int
    relationship_id: int
    supplier_id: int = Field(description="The issuer: an ASN number is unique per supplier.")
    number: str
    status: str = Field(description="shipped, received or cancelled.")
    ship_date: Date | None
    expected_date: Date | None
    carrier: str | None
    tracking: str | None
    created_at: Moment | None
    received_at: Moment | None
    version: int


class Shipment(ShipmentHeader):
    """One ASN with its lines; the version is in the ETag."""

    lines: list[ShipmentLine]


class ShipmentSummary(ShipmentHeader):
    """An ASN as the list shows it: its totals instead of its lines."""

    quantity_shipped: Quantity | None = None
    quantity_received: Quantity | None = Field(default=None, description="Empty until the receipt.")
    line_count: int | None = None
