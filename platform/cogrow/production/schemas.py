"""What a valid production report, production line and machine reading are, for forms, files and the API:
the rules the forms and the importer share (check_moment, check_plan), and the API's bodies and answers.

Times: ISO 8601. A time with an offset (`+09:00`, `Z`) is taken as written; a naive time is read in
Asia/Seoul, the business time zone of every relationship today. A time more than `FUTURE_SKEW` ahead
of the server's clock is refused (a gateway with a wrong clock must not set a position no later
report can replace), and so is one before 2000.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Callable
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from pydantic import (AfterValidator, Field, PlainValidator, ValidationError, ValidationInfo, WithJsonSchema,
                      model_validator)
from pydantic_core import InitErrorDetails, PydanticCustomError

from cogrow.core import fields
from cogrow.core.errors import ValidationFailed
from cogrow.core.fields import FieldError
from cogrow.core.schema import (Body, Date, Flag, Id, Moment, Note, PageQuery, PartNumber, Quantity, Resource, Week,
                                int_type, text_type)
from cogrow.core.weeks import business_zone, week_start

FUTURE_SKEW = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_PLAN_WEEKS = 26            # planned output reaches at most this many weeks past the report's week
MAX_BATCH = 1000               # reports per batch request
MAX_READINGS = 1000            # readings per request
COUNTER_LIMIT = 2**63 - 1      # the BIGINT column's ceiling
QUANTITIES = ("good_qty", "scrap_qty", "wip_qty", "fg_on_hand", "raw_on_hand")


def parse_moment(value: Any, now: datetime | None = None, tz: str | None = None) -> datetime | str:
    """A UTC datetime, or the reason (a message) the value is not an acceptable time (cogrow.core.fields.moment)."""
    try:
        moment = fields.moment(value, tz)
    except FieldError as exc:
        return exc.message
    return check_moment(moment, now)


def check_moment(moment: datetime, now: datetime | None = None) -> datetime | str:
    now = now or datetime.now(timezone.utc)
    if moment > now + FUTURE_SKEW:
        return str(_l("Must not be in the future."))
    if moment < EARLIEST:
        return str(_l("Must be after 2000-01-01."))
    return moment


def check_plan(plan: list[tuple[date, Decimal]], as_of: datetime | None, zone: ZoneInfo | None = None) -> dict[int, str]:
    """Errors by index of planned weeks: duplicates, weeks before the report's week, or too far ahead. The report's
    week is in the business time zone (`zone`, read from the app when not given)."""
    errors: dict[int, str] = {}
    seen: set[date] = set()
    first = week_start(as_of.astimezone(zone or business_zone()).date()) if as_of else None
    for index, (week, _qty) in enumerate(plan):
        if week in seen:
            errors[index] = str(_l("This week appears twice."))
        elif first is not None and week < first:
            errors[index] = str(_l("Planned output is for the report's week or later."))
        elif first is not None and week > first + timedelta(weeks=MAX_PLAN_WEEKS):
            errors[index] = str(_l("At most %(n)s weeks ahead.", n=MAX_PLAN_WEEKS))
        seen.add(week)
    return errors


# --- the API's bodies ------------------------------------------------------------------------------------------

def _reason(message: Any) -> PydanticCustomError:
    return PydanticCustomError("cogrow", "{reason}", {"reason": str(message)})


def fail_at(errors: dict[tuple[str | int, ...], str]) -> ValidationError:
    """One validation error naming each place (relative to the field or model being validated) with its message:
    a validator raising it names `plan[1].week` (or `reports[3].plan[1].week` in a batch), not just `plan`."""
    return ValidationError.from_exception_data("body", [
        InitErrorDetails(type=_reason(message), loc=loc, input=None) for loc, message in errors.items()])


def _lean(core_type: Any, parse: Callable[..., Any], **options: Any) -> Any:
    """core.schema's `core_type` read by the same parser of cogrow.core.fields and written and documented the same,
    minus the ValidationInfo pydantic builds for each value a validator asks it for. For the batch's hot path: a
    thousand reports of five quantities, a time and up to 27 planned weeks each."""
    def validate(value: Any) -> Any:
        try:
            return parse(value, **options)
        except FieldError as exc:
            raise _reason(exc.message) from None
    return Annotated[(core_type.__origin__, PlainValidator(validate), *core_type.__metadata__[1:])]  # type: ignore[misc]


def _item_ref(value: Any) -> int:
    # In JSON an item is named by its id as a number: "5" is text, true is not an id.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise _reason(_l("Must be an item id."))
    return value


def _required_code(value: str) -> str:
    if not value:
        raise _reason(_l("This field is required."))
    return value


def _counter(value: Any) -> int:
    if type(value) is int and 0 <= value < fields.MAX_DECIMAL:  # what gateways send: the same int, sans the parser
        return value
    try:
        return int(fields.decimal(value, minimum=0, maximum=COUNTER_LIMIT, whole=True))
    except FieldError as exc:
        raise _reason(exc.message) from None


def _line_code(value: str) -> str:
    if value.isdigit():
        # A line is addressed by its code or its id in one URL segment: an all-digit code would be ambiguous.
        raise _reason(_l("Must contain a letter."))
    return value


# Digit text that fields.decimal(minimum=0, scale=4) would read as Decimal(text) unchanged: no sign, no leading zero,
# at most 14 whole digits (under MAX_DECIMAL) and 4 places. Anything else takes the full parser (and its messages).
_PLAIN_QUANTITY = re.compile(r"(?:0|[1-9][0-9]{0,13})(?:\.[0-9]{1,4})?", re.ASCII)


def _quantity(value: Any, **options: Any) -> Decimal:
    """fields.decimal for a report's quantity, with a shortcut for the plain digit text machines send (a batch reads
    five per report): the same Decimal, a tenth of the time."""
    if type(value) is str and _PLAIN_QUANTITY.fullmatch(value):
        number = Decimal(value)
        return number if number else Decimal(0)  # no "0.00": fields.decimal answers 0 as Decimal(0)
    return fields.decimal(value, **options)


ReportQuantity = _lean(Quantity, _quantity, minimum=0, scale=4)
ReportMoment = _lean(Moment, fields.moment)
ReportWeek = _lean(Week, fields.iso_week)
ItemRef = Annotated[int, PlainValidator(_item_ref), WithJsonSchema({"type": "integer", "minimum": 1,
                                                                   "maximum": 2**31 - 1})]
ReportPart = Annotated[PartNumber, AfterValidator(_required_code)]
Counter = Annotated[int, PlainValidator(_counter),
                    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": COUNTER_LIMIT,
                                    "description": "The machine's counter (a whole number; digit text allowed)."})]
LineCode = Annotated[PartNumber, AfterValidator(_required_code), AfterValidator(_line_code),
                     WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 64,
                                     "description": "The line's code (stored upper-case); not all digits."})]
LineName = text_type(max_length=200)
CounterMax = int_type(minimum=1, maximum=COUNTER_LIMIT)


class PlannedWeekIn(Body):
    week: ReportWeek
    quantity: ReportQuantity


class ProductionReportCreate(Body):
    """One report of an item: give `item_id` or `part_number` (the prime's or the supplier's).

    What a report leaves out is unchanged: `raw_on_hand` absent or null keeps the earlier report's raw material,
    `plan` absent (or naming only some weeks) keeps the other planned weeks (an explicit 0 clears a week)."""

    item_id: ItemRef | None = None
    part_number: ReportPart | None = None
    as_of: ReportMoment
    good_qty: ReportQuantity
    scrap_qty: ReportQuantity
    wip_qty: ReportQuantity
    fg_on_hand: ReportQuantity
    raw_on_hand: ReportQuantity | None = None
    note: Note | None = None
    plan: list[PlannedWeekIn] | None = Field(default=None, max_length=MAX_PLAN_WEEKS + 1)

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> ProductionReportCreate:
        """One item; a time neither in the future nor before 2000; planned weeks once each, from the report's
        week to MAX_PLAN_WEEKS after it. (One validator per report: the batch's hot path.)"""
        errors: dict[tuple[str | int, ...], str] = {}
        if self.item_id is None and self.part_number is None:
            errors[("item_id",)] = str(_l("Give item_id or part_number."))
        elif self.item_id is not None and self.part_number is not None:
            errors[("item_id",)] = str(_l("Give item_id or part_number, not both."))
        context = info.context if info.context is not None else {}
        if context.get("now") is None:
            context["now"] = datetime.now(timezone.utc)  # one clock reading for a whole batch
        checked = check_moment(self.as_of, context["now"])
        if isinstance(checked, str):
            errors[("as_of",)] = checked
        if self.plan:
            if context.get("zone") is None:
                context["zone"] = business_zone()  # and one reading of the app's time zone
            for index, message in check_plan([(p.week, p.quantity) for p in self.plan], self.as_of,
                                             context["zone"]).items():
                errors[("plan", index, "week")] = message
        if errors:
            raise fail_at(errors)
        return self


class ProductionReportBatchCreate(Body):
    """1 to MAX_BATCH reports, all saved or none; every bad entry is named (reports[17].wip_qty)."""

    reports: list[ProductionReportCreate] = Field(min_length=1, max_length=MAX_BATCH)


class ProductionReportQuery(PageQuery):
    item_id: Id | None = None


def report_values(report: ProductionReportCreate) -> dict[str, Any]:
    """What services.record_report(s) take: the item (id or part number), the time, the quantities, the note and
    the planned weeks as (week, quantity), None when the report names none."""
    values: dict[str, Any] = {
        "as_of": report.as_of, "good_qty": report.good_qty, "scrap_qty": report.scrap_qty, "wip_qty": report.wip_qty,
        "fg_on_hand": report.fg_on_hand, "raw_on_hand": report.raw_on_hand, "note": report.note or "",
        "plan": None if report.plan is None else [(p.week, p.quantity) for p in report.plan]}
    if report.item_id is not None:
        values["item_id"] = report.item_id
    else:
        values["part_number"] = report.part_number
    return values


def _field_errors(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        name = ""
        for part in error["loc"]:
            name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
        out.setdefault(name, str(error["ctx"]["reason"]) if error["type"] == "cogrow" else error["msg"])
    return out


def parse_report(data: Any, now: datetime | None = None) -> dict[str, Any]:
    """One report from a JSON-like dict, as the API reads it (for code that records reports without a request:
    the demo, tests, benchmarks). Raises ValidationFailed naming each bad field."""
    try:
        report = ProductionReportCreate.model_validate(data, context={"request": True, "now": now})
    except ValidationError as exc:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields=_field_errors(exc)) from None
    return report_values(report)


class ProductionLineChange(Body):
    """The fields to change; absent ones stay as they are."""

    code: LineCode | None = None
    name: LineName | None = None
    item_id: Id | None = None
    counter_max: CounterMax | None = None
    active: Flag | None = None


class ProductionLineCreate(ProductionLineChange):
    """A production line making one item; `counter_max` is where its counter wraps to 0 (none: it only resets)."""

    code: LineCode
    item_id: Id


class MachineReadingIn(Body):
    read_at: ReportMoment
    counter: Counter

    @model_validator(mode="after")
    def _in_range(self, info: ValidationInfo) -> MachineReadingIn:
        context = info.context if info.context is not None else {}
        if context.get("now") is None:
            context["now"] = datetime.now(timezone.utc)
        checked = check_moment(self.read_at, context["now"])
        if isinstance(checked, str):
            raise fail_at({("read_at",): checked})
        return self


class MachineReadingBatch(Body):
    """1 to MAX_READINGS counter readings of one line; every bad entry is named (readings[3].counter)."""

    readings: list[MachineReadingIn] = Field(min_length=1, max_length=MAX_READINGS)


# --- the API's answers -----------------------------------------------------------------------------------------

class PlannedWeek(Resource):
    week: Week
    week_start: Date
    quantity: Quantity

    @classmethod
    def of(cls, row: Any) -> PlannedWeek:
        return cls(week=row.week_start, week_start=row.week_start, quantity=row.quantity)


class ProductionReport(Resource):
    id: int
    relationship_id: int
    item_id: int
    as_of: Moment
    good_qty: Quantity
    scrap_qty: Quantity
    wip_qty: Quantity
    fg_on_hand: Quantity
    raw_on_hand: Quantity | None
    plan: list[PlannedWeek]
    source: str
    note: str | None
    received_at: Moment | None


class ProductionReportsCreated(Resource):
    created: int
    ids: list[int]


class ProductionPosition(Resource):
    """An item's current position (all null before its first report), its planned output, and the units its
    lines counted since that report."""

    item_id: int
    relationship_id: int
    report_id: int | None
    as_of: Moment | None
    good_qty: Quantity | None
    scrap_qty: Quantity | None
    wip_qty: Quantity | None
    fg_on_hand: Quantity | None
    raw_on_hand: Quantity | None
    plan: list[PlannedWeek]
    machine_produced_since_report: Quantity
    supply: Quantity


class ProductionLine(Resource):
    id: int
    relationship_id: int
    code: str
    name: str | None
    item_id: int | None
    counter_max: int | None
    active: bool
    version: int


class ProductionLineList(Resource):
    data: list[ProductionLine]


class MachineReading(Resource):
    id: int
    line_id: int
    item_id: int | None
    read_at: Moment
    counter: int
    produced: Quantity
    new_run: bool


class MachineReadingsRecorded(Resource):
    line_id: int
    accepted: int
    duplicates: int
    recomputed: int
    produced: Quantity
