"""Field parsing for HTML forms and the JSON API: `Fields` collects per-field errors, the parse_* helpers return a
value or the reason it is not one. What a valid value is lives in `cogrow.core.fields`, which the importers'
cells use too; this module keeps the names every domain imports."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Mapping

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BaseConverter

from cogrow.core import fields
from cogrow.core.errors import ValidationFailed
from cogrow.core.fields import FieldError

# Zero-width, filler and other invisible characters that make two part numbers look equal but differ (one list,
# shared with the importers).
_INVISIBLE = fields.INVISIBLE
_MAX_DECIMAL = fields.MAX_DECIMAL
_MISSING = object()

# The largest id a row can have: most keys are INTEGER, 32 bits on PostgreSQL (SQLite's hold 64). The busiest tables
# (events, deliveries, buckets, readings) have BIGINT keys; ids of those are read up to MAX_BIG_ID.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1
# What a number may be written with: ASCII or full-width digits, a sign and a decimal point. Everything else that
# Python calls a digit (superscripts, Arabic-Indic, circled, ...) is refused rather than guessed at.
_NUMBER_CHARS = frozenset("0123456789+-.") | frozenset("\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff0b\uff0d\uff0e")


def clean_text(value: str) -> str:
    """NFKC-normalise (full-width to ASCII) and trim; invisible characters are refused, not dropped."""
    return unicodedata.normalize("NFKC", value).strip()


def has_control_chars(value: str) -> bool:
    """Control characters (line breaks included) or invisible ones (see cogrow.core.fields)."""
    return fields.has_control(value) or fields.has_invisible(value)


class Fields:
    """Collects parsed values and per-field errors; `done()` raises one ValidationFailed naming them all.

    `data` is a JSON object or a form. With `partial=True` absent fields are skipped (PATCH). Numbers in a form
    may carry the locale's grouping separator (1,280), as the pages display them; in JSON they may not.
    """

    def __init__(self, data: Mapping[str, Any], *, partial: bool = False, allowed_extra: tuple[str, ...] = (),
                 form: bool | None = None) -> None:
        self.data = data
        # A JSON object is a plain dict; a form is a werkzeug MultiDict (which is also a dict subclass). `form=True`
        # reads a dict gathered from a page's fields as a form.
        self.is_json = type(data) is dict if form is None else not form
        self.partial = partial
        self.values: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self._known: set[str] = set(allowed_extra)

    def _raw(self, name: str, required: bool) -> Any:
        """The raw value, or _MISSING once absence has been dealt with (an error, a None, or nothing)."""
        self._known.add(name)
        value = self.data.get(name, _MISSING)
        if isinstance(value, str) and not value.strip() and not self.is_json:
            value = None  # an empty form field means "no value"
        if value is _MISSING:
            if self.partial:
                return _MISSING  # PATCH: the field is left as it is
            value = None
        if value is None:
            if required:
                self.errors[name] = str(_l("This field is required."))
            else:
                self.values[name] = None
            return _MISSING
        return value

    def _parse(self, name: str, required: bool, parse) -> None:
        value = self._raw(name, required)
        if value is _MISSING:
            return
        try:
            self.values[name] = parse(value)
        except FieldError as exc:
            self.errors[name] = exc.message

    def text(self, name: str, *, required: bool = False, max_length: int = 200, choices: tuple[str, ...] | None = None,
             code: bool = False, upper: bool = False) -> None:
        """A string; `code=True` for identifiers such as part numbers (no spaces inside, no invisibles)."""
        value = self._raw(name, required)
        if value is _MISSING:
            return
        try:
            if code:
                value = fields.part_number(value, max_length=max_length, upper=upper)
            else:
                value = fields.text(value, max_length=max_length)
                if upper:
                    value = value.upper()
        except FieldError as exc:
            self.errors[name] = exc.message
            return
        if required and not value:
            self.errors[name] = str(_l("This field is required."))
            return
        if choices is not None and value not in choices:
            self.errors[name] = str(_l("Must be one of: %(choices)s.", choices=", ".join(choices)))
            return
        self.values[name] = value if value or required else None

    def part_number(self, name: str, *, required: bool = False, max_length: int = 64) -> None:
        """A part number (upper-cased code)."""
        self.text(name, required=required, max_length=max_length, code=True, upper=True)

    def email(self, name: str, *, required: bool = True) -> None:
        value = self._raw(name, required)
        if value is _MISSING:
            return
        if not isinstance(value, str):
            self.errors[name] = str(_l("Must be text."))
            return
        try:
            self.values[name] = validate_email(value.strip(), check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            self.errors[name] = str(_l("Not a valid e-mail address."))

    def decimal(self, name: str, *, required: bool = False, minimum: Decimal | int | None = 0,
                maximum: Decimal | int | None = None, scale: int = 4, whole: bool = False) -> None:
        """A Decimal from a JSON number or a numeric string: no floats, NaN, infinities or booleans."""
        grouping = not self.is_json
        self._parse(name, required, lambda v: fields.decimal(v, minimum=minimum, maximum=maximum, scale=scale,
                                                             whole=whole, grouping=grouping))

    def integer(self, name: str, *, required: bool = False, minimum: int = 0, maximum: int = 10**6) -> None:
        before = len(self.errors)
        self.decimal(name, required=required, minimum=minimum, maximum=maximum, whole=True)
        if len(self.errors) == before and self.values.get(name) is not None:
            self.values[name] = int(self.values[name])

    def date(self, name: str, *, required: bool = False) -> None:
        """A calendar date written year first (2026-03-04)."""
        self._parse(name, required, fields.date_value)

    def week(self, name: str, *, required: bool = False) -> None:
        """An ISO week (2026-W49) or a date in it; the value is its Monday."""
        self._parse(name, required, fields.iso_week)

    def boolean(self, name: str, *, required: bool = False) -> None:
        self._parse(name, required, fields.boolean)

    def done(self, *, strict: bool = True) -> dict[str, Any]:
        if strict and self.is_json:
            for key in self.data:
                if key not in self._known:
                    self.errors[key] = str(_l("Unknown field."))
        if self.errors:
            raise ValidationFailed(str(_l("Some fields are not valid.")), fields=self.errors)
        return self.values


def number_text(value: str) -> str | None:
    """The ASCII form of a number written in ASCII or full-width characters; None if any other character is in it."""
    text = value.strip()
    if not text or any(c not in _NUMBER_CHARS for c in text):
        return None
    return unicodedata.normalize("NFKC", text)


def parse_decimal(value: Any, *, scale: int = 4, whole: bool = False, grouping: bool = False) -> Decimal | str:
    """Return a Decimal, or the reason (a message) that the value is not one.

    Text holds decimal digits with an optional sign and point: no exponent, no NaN or infinities; with
    `grouping` (a form field) also the locale's grouping separator between groups of three digits.
    """
    try:
        return fields.decimal(value, minimum=None, scale=scale, whole=whole, grouping=grouping)
    except FieldError as exc:
        return exc.message


def parse_int(value: Any, *, minimum: int | None = 0, maximum: int | None = MAX_ID, signed: bool = False) -> int | str:
    """Return an int from a JSON integer or digit text, or the reason (a message) that the value is not one."""
    try:
        return fields.integer(value, minimum=minimum, maximum=maximum, signed=signed)
    except FieldError as exc:
        return exc.message


def parse_part_number(value: Any, *, max_length: int = 64) -> str | None:
    """A part number as the catalog stores it, or None if the value cannot be one."""
    try:
        text = fields.part_number(value, max_length=max_length)
    except FieldError:
        return None
    return text or None


def parse_week(value: Any) -> date | str:
    """The Monday of an ISO week (or of the week of a date), or the reason the value is not one."""
    try:
        return fields.iso_week(value)
    except FieldError as exc:
        return exc.message


def parse_date(value: Any) -> date | str:
    try:
        return fields.date_value(value)
    except FieldError as exc:
        return exc.message


def parse_moment(value: Any, tz: str | None = None) -> datetime | str:
    """A UTC datetime from ISO 8601 text (naive times in the business time zone), or the reason it is not one."""
    try:
        return fields.moment(value, tz)
    except FieldError as exc:
        return exc.message


def parse_id(value: Any, maximum: int = MAX_ID) -> int | None:
    """A row id (1 to MAX_ID) from a JSON integer or digit text; None for anything else, which names no row."""
    parsed = parse_int(value, minimum=1, maximum=maximum)
    return None if isinstance(parsed, str) else parsed


def form_version(raw: Any, field: str = "version") -> int:
    """The version a page form was rendered with: -1 (always stale) when absent, a 422 naming the field when garbled."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return -1
    parsed = parse_int(raw, minimum=0, maximum=MAX_ID)
    if isinstance(parsed, str):
        raise ValidationFailed(str(_l("Some fields are not valid.")), fields={field: parsed})
    return parsed


def _digits_at_most(bound: int) -> str:
    """A regex for ASCII digit text whose value is at most `bound` and that has no more digits than it."""
    digits = str(bound)
    options = [f"[0-9]{{1,{len(digits) - 1}}}"]
    options += [f"{digits[:i]}[0-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}" for i, d in enumerate(digits) if d != "0"]
    return "(?:" + "|".join([*options, digits]) + ")"


class IdConverter(BaseConverter):
    """`<int:...>` in every URL: ASCII digits up to MAX_ID (`<int(max=MAX_BIG_ID):...>` for a BIGINT key), so an id
    no row can have is a 404, never a crash.

    The bound is in the pattern itself: a value refused after matching would make werkzeug answer 405
    whenever another method's rule has the same path.
    """

    regex = _digits_at_most(MAX_ID)
    weight = 50

    def __init__(self, map: Any, max: int = MAX_ID) -> None:  # noqa: A002 (werkzeug's name for the argument)
        super().__init__(map)
        self.maximum = min(max, MAX_BIG_ID)
        self.regex = _digits_at_most(self.maximum)

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))
