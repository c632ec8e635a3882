"""The orders and shipments page forms, as WTForms classes whose fields parse with the shared field parsers.

Every typed field reads its text through cogrow.core.fields, with the locale's grouping separator accepted in
numbers ("1,280"), exactly like the JSON API and the importers (minus the grouping, which JSON does not need).
A field that cannot be parsed keeps what the user typed and carries the parser's message, in the user's language.

The version of the document a form acts on stays a plain hidden input read by `form_version` (the 412/428 rule is
the same for pages, htmx and the API); CSRF comes with FlaskForm.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, SubmitField
from wtforms.widgets import HiddenInput

from cogrow.core import fields
from cogrow.core.forms import (BaseForm, BooleanField, DateField, DecimalField, IntegerField, PartNumberField,
                               SelectField, TextField)
from cogrow.core.validation import MAX_ID
from cogrow.orders.schemas import MAX_LINES

REQUIRED = _l("This field is required.")
NEW_PO_ROWS = 3  # a new PO starts with this many blank rows; "Add a line" adds one more


class NumberField(DecimalField):
    """A decimal typed the way the pages show numbers ("1,280.5" is 1280.5); `positive` also refuses 0."""

    def __init__(self, label=None, validators=None, *, positive: bool = False, **kwargs):
        self.positive = positive
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def parse(self, text: str) -> Decimal:
        value = super().parse(text)
        if self.positive and value <= 0:
            raise fields.FieldError(str(_l("Must be more than 0.")))
        return value


def filled(field) -> bool:
    """Whether the user typed anything into the field."""
    return bool(field.raw_data and field.raw_data[0] and str(field.raw_data[0]).strip())


def require(*names: str):
    """Mark fields of a (sub)form as required when the form or row is used at all."""
    def check(form: Form) -> bool:
        ok = True
        for name in names:
            field = form[name]
            if field.data is None and not field.errors:
                field.errors = [*field.errors, str(REQUIRED)]
                ok = False
        return ok
    return check


# --- purchase orders -----------------------------------------------------------------------------------------

class LineRow(Form):
    """One PO line row: blank rows are ignored; a row that is used needs a part number, a quantity and a due date."""

    line_no = IntegerField(widget=HiddenInput(), minimum=1, maximum=9999)
    prime_part_number = PartNumberField(_l("Prime's part number"), max_length=64)
    quantity = NumberField(_l("Quantity"), positive=True)
    due_date = DateField(_l("Due date"))
    unit_price = NumberField(_l("Unit price"))
    remove = BooleanField(_l("Remove"))

    @property
    def blank(self) -> bool:
        return not any(filled(self[name]) for name in ("prime_part_number", "quantity", "due_date", "unit_price"))

    @property
    def existing(self) -> bool:
        return self.line_no.data is not None


class _LinesForm(BaseForm):
    lines = FieldList(FormField(LineRow), min_entries=1, max_entries=MAX_LINES)
    add_line = SubmitField(_l("Add a line"))

    def used_lines(self) -> list[dict[str, Any]] | None:
        """The service's line values of the rows in use (None if any row has an error, now shown on the row).

        A removed line, and a blank new row, are left out; a blanked existing line is an error, not a removal.
        """
        out: list[dict[str, Any]] = []
        ok = True
        for index, entry in enumerate(self.lines):
            row: LineRow = entry.form
            if row.remove.data and row.existing:
                continue
            if row.blank and not row.existing:
                if any(row[name].errors for name in row._fields):
                    ok = False
                continue
            if not require("prime_part_number", "quantity", "due_date")(row) or \
                    any(row[name].errors for name in row._fields):
                ok = False
                continue
            out.append({"index": index, "line_no": row.line_no.data, "prime_part_number": row.prime_part_number.data,
                        "quantity": row.quantity.data, "due_date": row.due_date.data,
                        "unit_price": row.unit_price.data})
        return out if ok else None

    def line_field(self, key: str):
        """The field an error key names: "lines[3].quantity" is the quantity of row 3."""
        if not key.startswith("lines[") or "]." not in key:
            return None
        index, _, name = key[len("lines["):].partition("].")
        if not index.isdigit() or int(index) >= len(self.lines.entries):
            return None
        row = self.lines.entries[int(index)].form
        if name == "item_id":
            name = "prime_part_number"
        return row._fields.get(name)


class NewPOForm(_LinesForm):
    number = PartNumberField(_l("PO number"), max_length=32,
                       description=_l("Leave empty to number it PO-year-sequence."))
    note = TextField(_l("Note"), max_length=1000)


class ReviseForm(_LinesForm):
    note = TextField(_l("Note"), max_length=1000)


class ProposeForm(BaseForm):
    line_id = SelectField(_l("Line"), coerce=int, required=True)
    quantity = NumberField(_l("New quantity"), positive=True)
    due_date = DateField(_l("New due date"))
    reason = TextField(_l("Reason"), max_length=500, required=True)

    def values(self) -> dict[str, Any] | None:
        ok = require("reason")(self) and not any(self[name].errors for name in ("line_id", "quantity", "due_date"))
        if self.quantity.data is None and self.due_date.data is None and not self.quantity.errors \
                and not self.due_date.errors:
            self.quantity.errors = [*self.quantity.errors, str(_l("Propose a new quantity, a new due date, or both."))]
            ok = False
        if not ok:
            return None
        return {"line_id": self.line_id.data, "quantity": self.quantity.data, "due_date": self.due_date.data,
                "reason": self.reason.data}


class ReasonForm(BaseForm):
    """Reject, cancel or close a PO: an optional (for reject, required) reason."""

    reason = TextField(_l("Reason"), max_length=500)


class RejectForm(BaseForm):
    """The supplier refuses a PO: the reason is required."""

    reason = TextField(_l("Reason"), max_length=500, required=True)


class DecisionForm(BaseForm):
    """Accept or reject a change proposal, with an optional note."""

    note = TextField(_l("Note (optional)"), max_length=500)


# --- shipments -----------------------------------------------------------------------------------------------

def _with_lines(base: type[FlaskForm], prefix: str, line_ids, field_factory) -> type[FlaskForm]:
    """A form class with one field per PO line, named <prefix><po_line_id> (stable whatever the order or count)."""
    attrs = {f"{prefix}{line_id}": field_factory() for line_id in line_ids}
    return type(base.__name__, (base,), attrs)


class ShipmentHeader(BaseForm):
    number = PartNumberField(_l("ASN number"), max_length=32,
                             description=_l("Leave empty to number it automatically."))
    ship_date = DateField(_l("Ship date"), required=True)
    expected_date = DateField(_l("Expected arrival"))
    carrier = TextField(_l("Carrier"), max_length=100)
    tracking = PartNumberField(_l("Tracking number"), max_length=100)


def shipment_form(prefix: str, line_ids, **kwargs) -> FlaskForm:
    """The new-ASN form: the header, and a quantity to ship per open PO line (blank: not on this ASN)."""
    cls = _with_lines(ShipmentHeader, prefix, line_ids, lambda: NumberField(_l("Quantity to ship"), positive=True))
    return cls(**kwargs)


def receipt_form(prefix: str, line_ids, **kwargs) -> FlaskForm:
    """The receipt form: the quantity received per line of the ASN (0 when nothing of it arrived)."""
    cls = _with_lines(BaseForm, prefix, line_ids, lambda: NumberField(_l("Quantity received")))
    return cls(**kwargs)


def posted_line_ids(formdata, prefix: str) -> list[int]:
    """The PO line ids a posted form names in <prefix><id> fields (garbled ones are left out), at most MAX_LINES."""
    ids: list[int] = []
    for key in formdata:
        if key.startswith(prefix):
            try:
                ids.append(fields.integer(key[len(prefix):], minimum=1, maximum=MAX_ID))
            except fields.FieldError:
                continue
            if len(ids) >= MAX_LINES:
                break
    return ids
