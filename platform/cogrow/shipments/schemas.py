"""What a valid ASN and a valid receipt are, for forms and the API alike."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

from cogrow.core.errors import ValidationFailed
from cogrow.core.validation import Fields, parse_decimal, parse_id
from cogrow.core.weeks import local_today

MAX_LINES = 500
# A ship date far from today is a typo (or a year of 0026), not a plan.
SHIP_DATE_WINDOW = timedelta(days=366)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: Any) -> date | str:
    """An ISO date (YYYY-MM-DD), or the reason it is not one."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        return str(_l("Must be a date written YYYY-MM-DD."))
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return str(_l("Not a real date."))


def _id(value: Any) -> int | str:
    """A positive whole id from a JSON number or a digit string (forms send strings)."""
    if isinstance(value, bool):
        return str(_l("Must be an id."))
    if isinstance(value, str):
        value = parse_id(value)
    if not isinstance(value, int) or value <= 0 or value >= 2**31:
        return str(_l("Must be an id."))
    return value


def _quantity(value: Any, *, positive: bool) -> Decimal | str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return str(_l("This field is required."))
    parsed = parse_decimal(value, scale=4)
    if isinstance(parsed, str):
        return parsed
    if positive and parsed <= 0:
        return str(_l("Must be more than 0."))
    if parsed < 0:
        return str(_l("Must be at least %(n)s.", n=0))
    return parsed


def check_dates(ship_date: date | None, expected: date | None, today: date) -> dict[str, str]:
    """The rules between an ASN's dates (for the API and the page form alike)."""
    errors: dict[str, str] = {}
    if ship_date is not None and abs(ship_date - today) > SHIP_DATE_WINDOW:
        errors["ship_date"] = str(_l("Must be within a year of today."))
    if ship_date is not None and expected is not None and expected < ship_date:
        errors["expected_date"] = str(_l("Cannot be before the ship date."))
    return errors


def parse_shipment(data: Mapping[str, Any], today: date | None = None) -> dict[str, Any]:
    """The header fields and lines [(po_line_id, quantity)] of a new ASN; errors name `lines[i].field`."""
    today = today or local_today()
    f = Fields(data, allowed_extra=("lines", "ship_date", "expected_date"))
    f.text("number", max_length=32, code=True, upper=True)
    f.text("carrier", max_length=100)
    f.text("tracking", max_length=100, code=True)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, required in (("ship_date", True), ("expected_date", False)):
        raw = data.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                errors[name] = str(_l("This field is required."))
            values[name] = None
            continue
        parsed = parse_date(raw)
        if isinstance(parsed, str):
            errors[name] = parsed
        else:
            values[name] = parsed
    errors.update(check_dates(values.get("ship_date"), values.get("expected_date"), today))
    lines, line_errors = _parse_lines(data.get("lines"), "quantity", positive=True)
    errors.update(line_errors)
    try:
        header = f.done()
    except ValidationFailed as exc:
        errors = {**exc.fields, **errors}
        header = {}
    if errors:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields=errors)
    return {**header, **values, "lines": lines}


def parse_receipt(data: Mapping[str, Any]) -> list[tuple[int, Decimal]] | None:
    """The received quantity per PO line, or None when `lines` is absent (everything arrived as shipped)."""
    unknown = {key: str(_l("Unknown field.")) for key in data if key != "lines"}
    if "lines" not in data:
        if unknown:
            raise ValidationFailed(str(_l("Some fields are not valid.")), fields=unknown)
        return None
    lines, errors = _parse_lines(data.get("lines"), "quantity_received", positive=False)
    errors.update(unknown)
    if errors:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields=errors)
    return lines


def _parse_lines(raw: Any, qty_field: str, *, positive: bool) -> tuple[list[tuple[int, Decimal]], dict[str, str]]:
    errors: dict[str, str] = {}
    if not isinstance(raw, list) or not raw:
        return [], {"lines": str(_l("Give at least one line."))}
    if len(raw) > MAX_LINES:
        return [], {"lines": str(_l("At most %(n)s lines.", n=MAX_LINES))}
    lines: list[tuple[int, Decimal]] = []
    seen: dict[int, int] = {}
    for i, line in enumerate(raw):
        prefix = f"lines[{i}]"
        if not isinstance(line, dict):
            errors[prefix] = str(_l("Must be an object with po_line_id and %(field)s.", field=qty_field))
            continue
        for key in line:
            if key not in ("po_line_id", qty_field):
                errors[f"{prefix}.{key}"] = str(_l("Unknown field."))
        line_id = _id(line.get("po_line_id"))
        quantity = _quantity(line.get(qty_field), positive=positive)
        if isinstance(line_id, str):
            errors[f"{prefix}.po_line_id"] = line_id
        elif line_id in seen:
            errors[f"{prefix}.po_line_id"] = str(_l("The same PO line is already on line %(n)s.", n=seen[line_id]))
        else:
            seen[line_id] = i
        if isinstance(quantity, str):
            errors[f"{prefix}.{qty_field}"] = quantity
        if not isinstance(line_id, str) and not isinstance(quantity, str):
            lines.append((line_id, quantity))
    return lines, errors


def form_lines(form: Mapping[str, Any], prefix: str, qty_field: str, *, skip_empty: bool) -> list[dict[str, Any]]:
    """Lines from a page form with one `<prefix><po_line_id>` input per PO line; empty inputs are skipped."""
    lines = []
    for key in form:
        if not key.startswith(prefix):
            continue
        value = form.get(key, "")
        if skip_empty and not str(value).strip():
            continue
        lines.append({"po_line_id": key[len(prefix):], qty_field: value})
    return lines
