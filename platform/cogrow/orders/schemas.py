"""What a valid purchase order, line and change proposal is, for forms and the API alike."""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

from cogrow.core.errors import ValidationFailed
from cogrow.core.validation import Fields, parse_int

MAX_LINES = 1000
FORM_NEW_ROWS = 10
LINE_FIELDS = ("line_no", "item_id", "prime_part_number", "quantity", "due_date", "unit_price")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MISSING = object()


def parse_date(value: Any) -> date | str:
    """A date written YYYY-MM-DD, or the reason (a message) it is not one."""
    if not isinstance(value, str):
        return str(_l("Must be a date written YYYY-MM-DD."))
    text = value.strip()
    if not _ISO_DATE.fullmatch(text):
        return str(_l("Must be a date written YYYY-MM-DD."))
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return str(_l("There is no such date."))
    if not 2000 <= day.year <= 2100:
        return str(_l("Must be a date between the years 2000 and 2100."))
    return day


def _date_field(data: Mapping[str, Any], name: str, values: dict[str, Any], errors: dict[str, str], *,
                required: bool, partial: bool = False) -> None:
    raw = data.get(name, _MISSING)
    if raw is _MISSING and partial:
        return
    if raw is _MISSING or raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors[name] = str(_l("This field is required."))
        else:
            values[name] = None
        return
    parsed = parse_date(raw)
    if isinstance(parsed, str):
        errors[name] = parsed
    else:
        values[name] = parsed


def _positive(values: dict[str, Any], errors: dict[str, str], name: str) -> None:
    if values.get(name) is not None and values[name] <= 0:
        errors[name] = str(_l("Must be more than 0."))
        values.pop(name)


def _unknown(data: Mapping[str, Any], known: tuple[str, ...], errors: dict[str, str]) -> None:
    if isinstance(data, dict):
        for key in data:
            if key not in known:
                errors[key] = str(_l("Unknown field."))


def parse_line(data: Any, index: int, errors: dict[str, str]) -> dict[str, Any] | None:
    """One line of a PO body; its errors go into `errors` as lines[index].field."""
    prefix = f"lines[{index}]"
    if not isinstance(data, dict):
        errors[prefix] = str(_l("Each line must be an object."))
        return None
    f = Fields(data)
    f.integer("line_no", minimum=1, maximum=9999)
    f.integer("item_id", minimum=1, maximum=2**31 - 1)
    f.text("prime_part_number", max_length=64, code=True, upper=True)
    f.decimal("quantity", required=True, minimum=0, scale=4)
    f.decimal("unit_price", minimum=0, scale=4)
    values, line_errors = dict(f.values), dict(f.errors)
    _positive(values, line_errors, "quantity")
    _date_field(data, "due_date", values, line_errors, required=True)
    _unknown(data, LINE_FIELDS, line_errors)
    if values.get("item_id") is None and values.get("prime_part_number") is None \
            and "item_id" not in line_errors and "prime_part_number" not in line_errors:
        line_errors["item_id"] = str(_l("Give the item's id or its prime part number."))
    errors.update({f"{prefix}.{name}": message for name, message in line_errors.items()})
    if line_errors:
        return None
    values["index"] = index
    return values


def parse_lines(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    """A list of lines; `raw` may hold None for blank form rows, which keep their index but are skipped."""
    if not isinstance(raw, list):
        errors["lines"] = str(_l("Must be a list of lines."))
        return []
    if len(raw) > MAX_LINES:
        errors["lines"] = str(_l("At most %(n)s lines.", n=MAX_LINES))
        return []
    lines = [parse_line(row, i, errors) for i, row in enumerate(raw) if row is not None]
    seen: dict[int, int] = {}
    for line in lines:
        if line is None or line.get("line_no") is None:
            continue
        if line["line_no"] in seen:
            errors[f"lines[{line['index']}].line_no"] = str(_l("Line %(n)s appears twice.", n=line["line_no"]))
        seen[line["line_no"]] = line["index"]
    return [line for line in lines if line is not None]


def parse_po(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """A PO body: optional number and note, and its lines (required on create, optional on PATCH)."""
    f = Fields(data, partial=partial)
    if not partial:
        f.text("number", max_length=32, code=True, upper=True)
    f.text("note", max_length=1000)
    values, errors = dict(f.values), dict(f.errors)
    if values.get("note", "") is None:
        values["note"] = ""
    raw_lines = data.get("lines", _MISSING)
    if raw_lines is not _MISSING:
        values["lines"] = parse_lines(raw_lines, errors)
        if not values["lines"] and "lines" not in errors and not any(k.startswith("lines[") for k in errors):
            errors["lines"] = str(_l("A PO needs at least one line."))
    elif not partial:
        errors["lines"] = str(_l("A PO needs at least one line."))
    _unknown(data, ("number", "note", "lines") if not partial else ("note", "lines"), errors)
    if errors:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields=errors)
    return values


def parse_proposal(data: Mapping[str, Any]) -> dict[str, Any]:
    """The supplier's proposal: a line, a new quantity and/or due date, and a reason."""
    f = Fields(data)
    f.integer("line_id", required=True, minimum=1, maximum=2**31 - 1)
    f.decimal("quantity", minimum=0, scale=4)
    f.text("reason", required=True, max_length=500)
    values, errors = dict(f.values), dict(f.errors)
    _positive(values, errors, "quantity")
    _date_field(data, "due_date", values, errors, required=False)
    _unknown(data, ("line_id", "quantity", "due_date", "reason"), errors)
    if values.get("quantity") is None and values.get("due_date") is None and "quantity" not in errors \
            and "due_date" not in errors:
        errors["quantity"] = str(_l("Propose a new quantity, a new due date, or both."))
    if errors:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields=errors)
    return values


def parse_reason(data: Mapping[str, Any], *, name: str = "reason", required: bool = False,
                 strict: bool = True) -> str | None:
    """An optional reason or note that goes with an action (cancel, reject, decide a proposal).

    Page forms pass strict=False: they also carry the version and the CSRF token.
    """
    f = Fields(data)
    f.text(name, required=required, max_length=500)
    return f.done(strict=strict).get(name)


def form_lines(form: Mapping[str, Any], rows: int) -> list[dict[str, Any] | None]:
    """The line rows of a page form (fields named lines[i].field), blank rows as None, removed rows dropped."""
    out: list[dict[str, Any] | None] = []
    for i in range(rows):
        row = {}
        for name in ("line_no", "prime_part_number", "quantity", "due_date", "unit_price"):
            value = form.get(f"lines[{i}].{name}")
            if isinstance(value, str) and value.strip():
                row[name] = value
        removed = form.get(f"lines[{i}].remove")
        filled = {k for k in row if k != "line_no"}
        # A blanked row of an existing line is an error to show, not a silent removal (that takes the box).
        out.append(row if (filled or "line_no" in row) and not removed else None)
    return out


def form_row_count(form: Mapping[str, Any]) -> int:
    """How many line rows a posted form carried (bounded, so a forged form cannot make us loop)."""
    count = form.get("rows", "")
    parsed = parse_int(count, minimum=0) if isinstance(count, str) else None
    return min(parsed, MAX_LINES) if isinstance(parsed, int) else FORM_NEW_ROWS
