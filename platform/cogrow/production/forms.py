"""The production pages' forms (WTForms through cogrow.core.forms): one item's report, the grid of every item's
report, and the production lines.

A report's fields parse with the shared parsers of cogrow.core.fields, numbers grouped as the pages show them
("1,280"). The forms are pre-filled with the item's last report; `report_values` then reads what the user changed:
- a blank WIP, finished goods, raw material or planned week is unchanged (services.fill_unchanged keeps it), and
  so is a cell still holding the value the page pre-filled it with (the report in the hidden `base` field);
  clearing a planned week takes an explicit 0;
- good and scrap are what was made since the last report: blank is 0;
- an item without a report has nothing to keep: WIP and finished goods are required.

The grid has one subform per item (`FormField`, separator "-"), so its cells keep the names `r<item id>-wip_qty`,
`r<item id>-plan_2026-W49`; the single-item form has the same fields at the top level (`wip_qty`, ...).
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable

from flask_babel import lazy_gettext as _l
from wtforms import Form, FormField
from wtforms.widgets import DateTimeLocalInput

from cogrow.core import fields as parse
from cogrow.core.fields import FieldError
from cogrow.core.forms import (BaseForm, BooleanField, HiddenField, IntegerField, QuantityField, SelectField,
                               TextField, choices, record_id)
from cogrow.core.weeks import parse_iso_label
from cogrow.production import schemas

QUANTITIES = ("good_qty", "scrap_qty", "wip_qty", "fg_on_hand", "raw_on_hand")
CARRIED = ("wip_qty", "fg_on_hand", "raw_on_hand")   # blank (or as shown) = unchanged
MADE = ("good_qty", "scrap_qty")                      # blank = 0
REQUIRED = _l("This field is required.")
NUMBER_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}


class QtyField(QuantityField):
    """A quantity cell: type="text" inputmode="decimal"; a pre-filled value is shown grouped ("1,280")."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", dict(NUMBER_ATTRS))
        super().__init__(label, validators, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return parse.grouped_text(self.data) if isinstance(self.data, (Decimal, int)) else (self.data or "")


class AsOfField(TextField):
    """When the report was true (<input type=datetime-local>); without an offset it is read in Asia/Seoul. A time in
    the future or before 2000 is refused (schemas.check_moment)."""

    widget = DateTimeLocalInput()

    def parse(self, text: str) -> datetime:
        checked = schemas.check_moment(parse.moment(text), datetime.now(timezone.utc))
        if isinstance(checked, str):
            raise FieldError(checked)
        return checked


def _report_fields(weeks: Iterable[str]) -> dict[str, Any]:
    """The unbound fields of one report: the quantities, the note, a cell per planned week and the base report."""
    attrs: dict[str, Any] = {
        "base": HiddenField(),
        "good_qty": QtyField(_l("Good since last report")),
        "scrap_qty": QtyField(_l("Scrap since last report")),
        "wip_qty": QtyField(_l("WIP")),
        "fg_on_hand": QtyField(_l("Finished goods on hand")),
        "raw_on_hand": QtyField(_l("Raw material on hand")),
        "note": TextField(_l("Note"), max_length=500, render_kw={"maxlength": 500}),
    }
    for week in weeks:
        attrs[f"plan_{week}"] = QtyField(_l("Planned output"))
    return attrs


def prefill(position: Any, plan: dict[Any, Any], weeks: Iterable[str]) -> dict[str, Any]:
    """The data a report form starts from: the last report's WIP, finished goods, raw material and plan."""
    if position is None:
        return {}
    data: dict[str, Any] = {name: getattr(position, name) for name in CARRIED}
    data["base"] = str(position.report_id)
    for week in weeks:
        data[f"plan_{week}"] = plan.get(parse_iso_label(week))
    return data


def _filled(field) -> bool:
    return bool(field.raw_data and field.raw_data[0] and str(field.raw_data[0]).strip())


def report_fields_used(fields_of, weeks: Iterable[str]) -> bool:
    """Whether any cell of the report (quantities, note, planned weeks) was filled in."""
    names = [*QUANTITIES, "note", *(f"plan_{w}" for w in weeks)]
    return any(_filled(fields_of[name]) for name in names)


def report_values(fields_of, weeks: list[str], *, as_of: datetime, base: dict[str, Any] | None,
                  has_report: bool, skip_unchanged: bool = False) -> dict[str, Any] | None:
    """The report the fields say (services' values), or None: when any field is refused (its error is on it), or,
    with `skip_unchanged` (the grid), when every cell is as the page showed it."""
    shown_plan = (base or {}).get("plan") or {}

    def changed(field, shown) -> bool:
        return field.data is not None and not (shown is not None and field.data == shown)

    values: dict[str, Any] = {"as_of": as_of, "note": ""}
    touched = False
    for name in QUANTITIES:
        field = fields_of[name]
        if name in CARRIED and changed(field, (base or {}).get(name)):
            values[name], touched = field.data, True
        elif name in MADE and field.data is not None:
            values[name], touched = field.data, True
        else:
            values[name] = Decimal(0) if name in MADE else None
    if fields_of["note"].data:
        values["note"], touched = fields_of["note"].data, True
    plan = []
    for week in weeks:
        field = fields_of[f"plan_{week}"]
        monday = parse_iso_label(week)
        if changed(field, shown_plan.get(monday)):
            plan.append((week, monday, field.data))
    touched = touched or bool(plan)
    ok = not any(fields_of[name].errors for name in (*QUANTITIES, "note", *(f"plan_{w}" for w in weeks)))
    if ok and skip_unchanged and not touched:
        return None
    if not has_report:
        for name in ("wip_qty", "fg_on_hand"):
            field = fields_of[name]
            if values.get(name) is None and not field.errors:
                field.errors = [*field.errors, str(REQUIRED)]
                ok = False
    for index, message in schemas.check_plan([(monday, qty) for _w, monday, qty in plan], as_of).items():
        field = fields_of[f"plan_{plan[index][0]}"]
        field.errors = [*field.errors, message]
        ok = False
    if not ok:
        return None
    values["plan"] = [(monday, qty) for _w, monday, qty in plan]
    return values


def field_errors(fields_of) -> dict[str, str]:
    """{posted name: first message} of a form's or subform's refused fields."""
    return {field.name: str(field.errors[0]) for field in fields_of if isinstance(field.errors, list) and field.errors}


# --- one item ----------------------------------------------------------------------------------------------

class _ItemReport(BaseForm):
    as_of = AsOfField(_l("As of (blank = now)"), description=_l("Asia/Seoul time."), render_kw={"step": 60})


def item_report_form(weeks: list[str], **kwargs) -> BaseForm:
    """The single-item report form with a cell per planned week (`plan_2026-W49`)."""
    cls = type("ItemReportForm", (_ItemReport,), _report_fields(weeks))
    return cls(**kwargs)


# --- the grid ----------------------------------------------------------------------------------------------

class _GridHeader(BaseForm):
    as_of = AsOfField(_l("As of (Asia/Seoul unless you give an offset; blank = now)"), render_kw={"step": 60})


def grid_form(item_ids: Iterable[int], weeks: list[str], **kwargs) -> BaseForm:
    """The grid: `as_of`, and a report subform per item (`r17`), its cells posted as `r17-wip_qty`. `kwargs` may
    give each row's data as `r17={...}` (the pre-filled last report)."""
    row = type("GridRow", (Form,), _report_fields(weeks))
    attrs = {f"r{item_id}": FormField(row, separator="-") for item_id in item_ids}
    cls = type("GridForm", (_GridHeader,), attrs)
    return cls(**kwargs)


# --- production lines --------------------------------------------------------------------------------------

class LineCodeField(TextField):
    """A line's code: a part-number-like identifier (upper-cased), with at least one letter (a line is addressed by
    its code or its id in one URL segment)."""

    def parse(self, text: str) -> str:
        code = parse.part_number(text, max_length=64, upper=True)
        if code.isdigit():
            raise FieldError(str(_l("Must contain a letter.")))
        return code


class OptionalSelectField(SelectField):
    """A select that may be left out of a post (then None: unchanged); what is posted must be one of the options."""

    def pre_validate(self, form) -> None:
        if not _filled(self):
            self.data = None
            return
        super().pre_validate(form)


class LineForm(BaseForm):
    """Add a production line (every line counts for one item)."""

    code = LineCodeField(_l("Code"), required=True, description=_l("Letters and digits, e.g. PRESS-1."))
    name = TextField(_l("Name"), max_length=200)
    item_id = SelectField(_l("Item"), coerce=record_id, required=True)
    counter_max = IntegerField(_l("Counter maximum"), minimum=1, maximum=schemas.COUNTER_LIMIT,
                               render_kw={"inputmode": "numeric", "autocomplete": "off"},
                               description=_l("Largest value before the counter wraps to 0 (e.g. 65535); "
                                              "blank if it only resets."))

    def __init__(self, items, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.item_id.choices = choices((item.id, item.prime_part_number) for item in items)

    def values(self) -> dict[str, Any]:
        return {"code": self.code.data, "name": self.name.data or "", "item_id": self.item_id.data,
                "counter_max": self.counter_max.data, "active": True}


class LineEditForm(BaseForm):
    """Edit a line in its row of the table: a blank code, name or item is unchanged; a blank maximum clears it; the
    version the row was rendered with is checked (412 when stale)."""

    version = HiddenField()
    code = LineCodeField(_l("Code"))
    name = TextField(_l("Name"), max_length=200)
    item_id = OptionalSelectField(_l("Item"), coerce=record_id)
    counter_max = IntegerField(_l("Counter maximum"), minimum=1, maximum=schemas.COUNTER_LIMIT,
                               render_kw={"inputmode": "numeric", "autocomplete": "off"})
    active = BooleanField(_l("Active"))

    def __init__(self, items, *args, line_id: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.item_id.choices = choices((item.id, item.prime_part_number) for item in items)
        if line_id is not None:  # ids unique on the page (one form per line); the names stay as posted
            for field in self:
                field.id = f"line{line_id}-{field.name}"

    @classmethod
    def for_line(cls, items, line) -> "LineEditForm":
        return cls(items, formdata=None, line_id=line.id, version=str(line.version), code=line.code, name=line.name,
                   item_id=line.item_id, counter_max=line.counter_max, active=line.active)

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {name: self[name].data for name in ("code", "name", "item_id")
                                  if self[name].data not in (None, "")}
        values["counter_max"] = self.counter_max.data  # blank: the counter only ever resets
        values["active"] = bool(self.active.data)
        return values
