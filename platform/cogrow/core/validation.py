"""Field parsing shared by HTML forms and the JSON API: one place decides what a valid value is."""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any, Mapping

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BaseConverter

from cogrow.core.errors import ValidationFailed

# Zero-width and other invisible characters that make two part numbers look equal but differ.
_INVISIBLE = re.compile("[\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_MAX_DECIMAL = Decimal("1e14")
_MISSING = object()

# The largest id a row can have: most keys are INTEGER, 32 bits on PostgreSQL (SQLite's hold 64). The busiest tables
# (events, deliveries, buckets, readings) have BIGINT keys; ids of those are read up to MAX_BIG_ID.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1
# What a number may be written with: ASCII or full-width digits, a sign and a decimal point. Everything else that
# Python calls a digit (superscripts, Arabic-Indic, circled, ...) is refused rather than guessed at.
_NUMBER_CHARS = frozenset("0123456789+-.") | frozenset("\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff0b\uff0d\uff0e")
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_MAX_INTEGER_DIGITS = 30  # far past any id, and short enough that int() never meets Python's digit limit


def clean_text(value: str) -> str:
    """NFKC-normalise (full-width to ASCII) and trim; invisible characters are refused, not dropped."""
    return unicodedata.normalize("NFKC", value).strip()


def has_control_chars(value: str) -> bool:
    return bool(_INVISIBLE.search(value)) or any(unicodedata.category(c) == "Cc" for c in value)


class Fields:
    """Collects parsed values and per-field errors; `done()` raises one ValidationFailed naming them all.

    `data` is a JSON object or a form. With `partial=True` absent fields are skipped (PATCH).
    """

    def __init__(self, data: Mapping[str, Any], *, partial: bool = False, allowed_extra: tuple[str, ...] = ()) -> None:
        self.data = data
        # A JSON object is a plain dict; a form is a werkzeug MultiDict (which is also a dict subclass).
        self.is_json = type(data) is dict
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

    def text(self, name: str, *, required: bool = False, max_length: int = 200, choices: tuple[str, ...] | None = None,
             code: bool = False, upper: bool = False) -> None:
        """A string; `code=True` for identifiers such as part numbers (no spaces inside, no invisibles)."""
        value = self._raw(name, required)
        if value is _MISSING:
            return
        if not isinstance(value, str):
            self.errors[name] = str(_l("Must be text."))
            return
        if has_control_chars(value):
            self.errors[name] = str(_l("Contains invisible or control characters."))
            return
        value = clean_text(value)
        if upper:
            value = value.upper()
        if required and not value:
            self.errors[name] = str(_l("This field is required."))
            return
        if len(value) > max_length:
            self.errors[name] = str(_l("At most %(n)s characters.", n=max_length))
            return
        if code and re.search(r"\s", value):
            self.errors[name] = str(_l("Must not contain spaces."))
            return
        if choices is not None and value not in choices:
            self.errors[name] = str(_l("Must be one of: %(choices)s.", choices=", ".join(choices)))
            return
        self.values[name] = value if value or required else None

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
        value = self._raw(name, required)
        if value is _MISSING:
            return
        parsed = parse_decimal(value, scale=scale, whole=whole)
        if isinstance(parsed, str):
            self.errors[name] = parsed
            return
        if minimum is not None and parsed < minimum:
            self.errors[name] = str(_l("Must be at least %(n)s.", n=minimum))
            return
        if maximum is not None and parsed > maximum:
            self.errors[name] = str(_l("Must be at most %(n)s.", n=maximum))
            return
        self.values[name] = parsed

    def integer(self, name: str, *, required: bool = False, minimum: int = 0, maximum: int = 10**6) -> None:
        before = len(self.errors)
        self.decimal(name, required=required, minimum=minimum, maximum=maximum, whole=True)
        if len(self.errors) == before and self.values.get(name) is not None:
            self.values[name] = int(self.values[name])

    def boolean(self, name: str, *, required: bool = False) -> None:
        value = self._raw(name, required)
        if value is _MISSING:
            return
        if isinstance(value, bool):
            self.values[name] = value
        elif isinstance(value, str) and value.lower() in {"true", "on", "1", "yes", "false", "off", "0", "no"}:
            self.values[name] = value.lower() in {"true", "on", "1", "yes"}
        else:
            self.errors[name] = str(_l("Must be true or false."))

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


def parse_decimal(value: Any, *, scale: int = 4, whole: bool = False) -> Decimal | str:
    """Return a Decimal, or the reason (a message) that the value is not one.

    Text holds decimal digits with an optional sign and point: no exponent, no NaN or infinities.
    """
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        return str(_l("Must be a number."))
    if isinstance(value, str):
        if "," in value or "\uff0c" in value:
            return str(_l("Use '.' for decimals and no thousands separators."))
        text = number_text(value)
        if text is None or not _DECIMAL_TEXT.fullmatch(text):
            return str(_l("Must be a number."))
        if len(text) > 60:
            return str(_l("Number out of range."))
        value = Decimal(text)
    number = Decimal(value)
    if not number.is_finite() or abs(number) >= _MAX_DECIMAL:
        return str(_l("Number out of range."))
    if whole and number != number.to_integral_value():
        return str(_l("Must be a whole number."))
    if number.as_tuple().exponent < -scale:  # type: ignore[operator]
        return str(_l("At most %(n)s decimal places.", n=scale))
    return number


def parse_int(value: Any, *, minimum: int | None = 0, maximum: int | None = MAX_ID, signed: bool = False) -> int | str:
    """Return an int from a JSON integer or digit text, or the reason (a message) that the value is not one."""
    if isinstance(value, bool):
        return str(_l("Must be a whole number."))
    if isinstance(value, str):
        text = number_text(value)
        if text is None or not _INTEGER_TEXT.fullmatch(text) or (not signed and text[0] in "+-"):
            return str(_l("Must be a whole number."))
        if len(text.lstrip("+-").lstrip("0")) > _MAX_INTEGER_DIGITS:
            return str(_l("Number out of range."))
        value = int(text)
    if not isinstance(value, int):
        return str(_l("Must be a whole number."))
    if minimum is not None and value < minimum:
        return str(_l("Must be at least %(n)s.", n=minimum))
    if maximum is not None and value > maximum:
        return str(_l("Must be at most %(n)s.", n=maximum))
    return value


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
