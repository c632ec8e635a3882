"""What a valid production report, production line and machine reading are, for forms, files and the API.

Times: ISO 8601. A time with an offset (`+09:00`, `Z`) is taken as written; a naive time is read in
Asia/Seoul, the business time zone of every relationship today. A time more than `FUTURE_SKEW` ahead
of the server's clock is refused (a gateway with a wrong clock must not set a position no later
report can replace), and so is one before 2000.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from cogrow.core import fields
from cogrow.core.errors import ValidationFailed
from cogrow.core.fields import FieldError
from cogrow.core.validation import Fields
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


def parse_week(value: Any) -> date | str:
    """A week as '2026-W49' or as any date in it (YYYY-MM-DD); the value is the week's Monday."""
    try:
        return fields.iso_week(value)
    except FieldError as exc:
        return exc.message


def check_plan(plan: list[tuple[date, Decimal]], as_of: datetime | None) -> dict[int, str]:
    """Errors by index of planned weeks: duplicates, weeks before the report's week, or too far ahead."""
    errors: dict[int, str] = {}
    seen: set[date] = set()
    first = week_start(as_of.astimezone(business_zone()).date()) if as_of else None
    for index, (week, _qty) in enumerate(plan):
        if week in seen:
            errors[index] = str(_l("This week appears twice."))
        elif first is not None and week < first:
            errors[index] = str(_l("Planned output is for the report's week or later."))
        elif first is not None and week > first + timedelta(weeks=MAX_PLAN_WEEKS):
            errors[index] = str(_l("At most %(n)s weeks ahead.", n=MAX_PLAN_WEEKS))
        seen.add(week)
    return errors


def parse_report(data: Any, now: datetime | None = None, *, item_required: bool = True,
                 form: bool = False) -> dict[str, Any]:
    """One report from a JSON object. Raises ValidationFailed naming each bad field (plan[2].quantity, ...).

    What a report leaves out is unchanged (services.fill_unchanged): `raw_on_hand` absent or null keeps the
    earlier report's raw material, `plan` absent (or naming only some weeks) keeps the other planned weeks.
    In JSON, good, scrap, WIP and finished goods are required and numbers are digits without grouping.
    `form=True` (a page's fields, gathered into a dict): numbers may be grouped (1,280) as the page shows them,
    and a blank WIP or finished goods is unchanged too (None here).
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields={"": str(_l("Must be an object."))})
    f = Fields(data, allowed_extra=("item_id", "part_number", "as_of", "plan"), form=form)
    f.decimal("good_qty", required=True)
    f.decimal("scrap_qty", required=True)
    f.decimal("wip_qty", required=not form)
    f.decimal("fg_on_hand", required=not form)
    f.decimal("raw_on_hand")
    f.text("note", max_length=500)
    errors = f.errors
    values = f.values
    if item_required:
        item_id, part = data.get("item_id"), data.get("part_number")
        if item_id is None and part is None:
            errors["item_id"] = str(_l("Give item_id or part_number."))
        elif item_id is not None and part is not None:
            errors["item_id"] = str(_l("Give item_id or part_number, not both."))
        elif item_id is not None:
            if isinstance(item_id, bool) or not isinstance(item_id, int) or not 0 < item_id < 2**31:
                errors["item_id"] = str(_l("Must be an item id."))
            else:
                values["item_id"] = item_id
        else:
            f.part_number("part_number", required=True)
    as_of = parse_moment(data.get("as_of"), now) if data.get("as_of") is not None else str(_l("This field is required."))
    if isinstance(as_of, str):
        errors["as_of"] = as_of
    else:
        values["as_of"] = as_of
    values["plan"] = _parse_plan(data.get("plan"), values.get("as_of"), errors, form=form)
    f.done()
    if values.get("note") is None:
        values["note"] = ""
    return values


def _parse_plan(raw: Any, as_of: datetime | None, errors: dict[str, str],
                form: bool = False) -> list[tuple[date, Decimal]] | None:
    """The weeks the report names; None when it names none (every planned week is unchanged)."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        errors["plan"] = str(_l("Must be a list of {week, quantity}."))
        return []
    if len(raw) > MAX_PLAN_WEEKS + 1:
        errors["plan"] = str(_l("At most %(n)s weeks.", n=MAX_PLAN_WEEKS + 1))
        return []
    plan = []
    for index, entry in enumerate(raw):
        prefix = f"plan[{index}]"
        if not isinstance(entry, Mapping):
            errors[prefix] = str(_l("Must be an object with week and quantity."))
            continue
        g = Fields(entry, form=form)
        g.decimal("quantity", required=True)
        g._known.add("week")
        week = parse_week(entry.get("week")) if entry.get("week") is not None else str(_l("This field is required."))
        for key in entry:
            if key not in ("week", "quantity"):
                errors[f"{prefix}.{key}"] = str(_l("Unknown field."))
        for key, message in g.errors.items():
            errors[f"{prefix}.{key}"] = message
        if isinstance(week, str):
            errors[f"{prefix}.week"] = week
        elif "quantity" in g.values:
            plan.append((index, week, g.values["quantity"]))
    for position, message in check_plan([(w, q) for _i, w, q in plan], as_of).items():
        errors[f"plan[{plan[position][0]}].week"] = message
    return [(w, q) for _i, w, q in plan]


def parse_batch(data: Mapping[str, Any], now: datetime | None = None) -> list[dict[str, Any]]:
    """`{"reports": [...]}` with 1 to MAX_BATCH reports; every bad entry is named as reports[17].wip_qty."""
    reports = data.get("reports")
    unknown = [k for k in data if k != "reports"]
    if unknown:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields={k: str(_l("Unknown field.")) for k in unknown})
    if not isinstance(reports, list) or not reports:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields={"reports": str(_l("Must be a non-empty list."))})
    if len(reports) > MAX_BATCH:
        raise ValidationFailed(str(_l("Some fields are not valid.")),
                               fields={"reports": str(_l("At most %(n)s reports per request.", n=MAX_BATCH))})
    now = now or datetime.now(timezone.utc)
    parsed, errors = [], {}
    for index, entry in enumerate(reports):
        try:
            parsed.append(parse_report(entry, now))
        except ValidationFailed as exc:
            for key, message in exc.fields.items():
                errors[f"reports[{index}].{key}" if key else f"reports[{index}]"] = message
    if errors:
        raise ValidationFailed(str(_l("Some reports are not valid; nothing was saved.")), fields=errors)
    return parsed


def parse_line(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    f = Fields(data, partial=partial)
    f.text("code", required=not partial, max_length=64, code=True, upper=True)
    f.text("name", max_length=200)
    f.integer("item_id", required=not partial, minimum=1, maximum=2**31 - 1)
    f.integer("counter_max", minimum=1, maximum=COUNTER_LIMIT)
    f.boolean("active")
    values = f.done()
    if values.get("code", "x").isdigit():
        # A line is addressed by its code or its id in one URL segment: an all-digit code would be ambiguous.
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields={"code": str(_l("Must contain a letter."))})
    if "name" in values and values["name"] is None:
        values["name"] = ""
    return values


def parse_readings(data: Mapping[str, Any], counter_max: int | None, now: datetime | None = None) -> list[tuple[datetime, int]]:
    """`{"readings": [{"read_at": ..., "counter": 123}, ...]}`; errors named readings[3].counter."""
    unknown = [k for k in data if k != "readings"]
    readings = data.get("readings")
    fields: dict[str, str] = {k: str(_l("Unknown field.")) for k in unknown}
    if not isinstance(readings, list) or not readings:
        fields["readings"] = str(_l("Must be a non-empty list."))
    elif len(readings) > MAX_READINGS:
        fields["readings"] = str(_l("At most %(n)s readings per request.", n=MAX_READINGS))
    if fields:
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields=fields)
    now = now or datetime.now(timezone.utc)
    ceiling = counter_max if counter_max is not None else COUNTER_LIMIT
    out = []
    for index, entry in enumerate(readings):
        prefix = f"readings[{index}]"
        if not isinstance(entry, Mapping):
            fields[prefix] = str(_l("Must be an object with read_at and counter."))
            continue
        f = Fields(entry, allowed_extra=("read_at",))
        f.decimal("counter", required=True, minimum=0, maximum=ceiling, whole=True)
        read_at = parse_moment(entry.get("read_at"), now) if entry.get("read_at") is not None \
            else str(_l("This field is required."))
        try:
            f.done()
        except ValidationFailed:
            pass
        for key, message in f.errors.items():
            fields[f"{prefix}.{key}"] = message
        if isinstance(read_at, str):
            fields[f"{prefix}.read_at"] = read_at
        elif "counter" in f.values:
            out.append((read_at, int(f.values["counter"])))
    if fields:
        raise ValidationFailed(str(_l("Some readings are not valid; nothing was saved.")), fields=fields)
    return out
