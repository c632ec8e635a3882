"""Cell parsers for import columns: each factory returns `parse(str | None) -> value` raising ValueError(message).

The reader hands every cell over as a string (XLSX numbers and dates are turned into canonical text first),
or None when the cell is empty. Messages are translated at the moment they are raised, so they come out
in the uploader's language. These run once per cell of files with hundreds of thousands of cells, so the
common case (plain ASCII) takes a fast path before any Unicode normalisation.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from cogrow.core.weeks import business_timezone, parse_iso_label, week_start

__all__ = ["code_cell", "text_cell", "decimal_cell", "date_cell", "week_cell", "datetime_cell", "choice_cell",
           "FORMULA_PREFIXES", "looks_like_formula"]

# What a spreadsheet would run as a formula when the cell is opened (OWASP CSV injection list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Zero-width, bidi and other invisible characters that make two part numbers look equal but differ.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e"
                        "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LAYOUT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s")
# Digits are ASCII 0-9 only (full-width ones become ASCII through NFKC first): "²" and "١٢" are not numbers.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EXPONENT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+")
_PLAIN_DIGITS = re.compile(r"[0-9]{1,15}")
# A character no number is written with: anything but ASCII, the full-width forms of ASCII (０-９, ．, ＋, －),
# which NFKC folds to their ASCII twins, and spaces.
_NOT_NUMBER_CHAR = re.compile(r"[^\x00-\x7f\uff01-\uff5e\s]")
_MAX_DECIMAL = Decimal("1e14")
_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", re.ASCII)
_ISO_DATE_MIDNIGHT = re.compile(r"(\d{4}-\d{2}-\d{2})[T ]00:00(?::00(?:\.0+)?)?", re.ASCII)
_SERIAL = re.compile(r"\d{1,6}(?:\.\d+)?", re.ASCII)
_DAY_MONTH = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}", re.ASCII)
_BOOLEANS = {"TRUE", "FALSE", "YES", "NO", "Y", "N", "참", "거짓", "ON", "OFF"}


def looks_like_formula(value: str) -> bool:
    """True when a spreadsheet could treat the text as a formula (so it must be escaped on export)."""
    return bool(value) and value[0] in FORMULA_PREFIXES


_MEMO_SIZE = 10_000


def _memoised(parse: Callable[[str | None], Any]) -> Callable[[str | None], Any]:
    """Remember the values of the texts a file repeats (a few thousand part numbers and quantities across
    200,000 rows): the rows then share one object per value instead of holding a copy each. Only values are
    remembered, never errors, and at most _MEMO_SIZE of them; every value here is immutable."""
    memo: dict[str, Any] = {}

    def cached(value: str | None) -> Any:
        hit = memo.get(value)  # type: ignore[arg-type]
        if hit is not None:
            return hit
        result = parse(value)
        if result is not None and len(memo) < _MEMO_SIZE:
            memo[value] = result  # type: ignore[index]
        return result

    return cached


def _normalise(value: str) -> str:
    """NFKC (full-width digits and letters to ASCII) and trim; ASCII skips the costly normalisation."""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    return value.strip()


def _refuse_invisible(value: str, *, allow_layout: bool = False) -> None:
    pattern = _CONTROL_BUT_LAYOUT if allow_layout else _CONTROL
    if pattern.search(value):
        if "\x00" in value:
            raise ValueError(_("Contains a NUL character."))
        raise ValueError(_("Contains control characters."))
    if not value.isascii() and _INVISIBLE.search(value):
        raise ValueError(_("Contains invisible (zero-width) characters."))


def code_cell(max_length: int = 64, *, required: bool = False) -> Callable[[str | None], str | None]:
    """Part and PO numbers: NFKC, trimmed, upper-cased; spaces inside, invisible and control characters refused."""

    def parse(value: str | None) -> str | None:
        if value is None or value == "":
            if required:
                raise ValueError(_("This cell is required."))
            return None
        if value.isascii() and value.isprintable():  # the common case: no control characters, nothing to fold
            value = value.strip().upper()
            if value and len(value) <= max_length and " " not in value:
                return value
        elif not value.isascii() or _CONTROL.search(value):
            _refuse_invisible(value.strip())
            value = unicodedata.normalize("NFKC", value)
        value = value.strip().upper()
        if not value:
            if required:
                raise ValueError(_("This cell is required."))
            return None
        if len(value) > max_length:
            raise ValueError(_("At most %(n)s characters.", n=max_length))
        if _SPACE.search(value):
            raise ValueError(_("Must not contain spaces."))
        return value

    return _memoised(parse)


def text_cell(max_length: int = 500, required: bool = False) -> Callable[[str | None], str | None]:
    """Free text (notes, names): trimmed and NFC-normalised; line breaks allowed, NUL and invisibles refused.

    Text that starts like a formula is kept as it is: it is only ever stored and shown, and escaped on export.
    """

    def parse(value: str | None) -> str | None:
        if value is None or not value.strip():
            if required:
                raise ValueError(_("This cell is required."))
            return None
        _refuse_invisible(value, allow_layout=True)
        if not value.isascii():
            value = unicodedata.normalize("NFC", value)
        value = value.strip(" \u3000")
        if len(value) > max_length:
            raise ValueError(_("At most %(n)s characters.", n=max_length))
        return value

    return parse


def decimal_cell(minimum: Decimal | int | None = 0, whole: bool = False, *, maximum: Decimal | int | None = None,
                 scale: int = 4, required: bool = False) -> Callable[[str | None], Decimal | None]:
    """A quantity or price: digits 0-9 (full-width ones folded by NFKC) with an optional sign and '.'; no
    separators, no exponent, finite, within range."""
    low = Decimal(minimum) if minimum is not None else None
    high = Decimal(maximum) if maximum is not None else None

    def parse(value: str | None) -> Decimal | None:
        if value is None or value == "":
            if required:
                raise ValueError(_("This cell is required."))
            return None
        # Fast path: a short run of ASCII digits is by far the most common quantity, and cannot be
        # negative, fractional, out of range or over-precise.
        if value.isdigit() and value.isascii() and len(value) < 15:
            number = Decimal(value)
            if (high is not None and number > high) or (low is not None and number < low):
                pass  # fall through to the full checks for the message
            else:
                return number
        text = value.strip()
        if _PLAIN_DIGITS.fullmatch(text):
            number = Decimal(text)
        else:
            if not text.isascii() and _NOT_NUMBER_CHAR.search(text):
                # "²" or "١٢": Python calls them digits and NFKC would even turn "²" into 2, but no
                # spreadsheet writes a quantity that way; only full-width forms are folded to ASCII.
                raise ValueError(_("Must be a number written with the digits 0-9."))
            text = _normalise(value)
            if not text:
                if required:
                    raise ValueError(_("This cell is required."))
                return None
            number = _parse_number(text)
        if abs(number) >= _MAX_DECIMAL:
            raise ValueError(_("Number out of range."))
        if whole and number != number.to_integral_value():
            raise ValueError(_("Must be a whole number."))
        if number.as_tuple().exponent < -scale:  # type: ignore[operator]
            raise ValueError(_("At most %(n)s decimal places.", n=scale))
        if low is not None and number < low:
            raise ValueError(_("Must be at least %(n)s.", n=low))
        if high is not None and number > high:
            raise ValueError(_("Must be at most %(n)s.", n=high))
        if number == 0:
            number = Decimal(0)  # no "-0"
        return number

    return _memoised(parse)


def _parse_number(text: str) -> Decimal:
    if _PLAIN_NUMBER.fullmatch(text):
        if len(text) > 60:  # far past the range; Decimal need not read a megabyte of digits to say so
            raise ValueError(_("Number out of range."))
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(_("Must be a number.")) from None
        return number
    if _EXPONENT.fullmatch(text):
        # Text "1e3" is not a quantity (a real numeric XLSX cell arrives as plain digits from the reader).
        raise ValueError(_("Write the number in plain digits, without an exponent (e.g. 1000, not 1e3)."))
    upper = text.upper()
    if upper.lstrip("+-") in {"NAN", "INF", "INFINITY", "∞", "#NUM!", "#DIV/0!"}:
        raise ValueError(_("Must be a finite number."))
    if upper in _BOOLEANS:
        raise ValueError(_("A true/false value is not a number."))
    if "," in text or (" " in text and re.fullmatch(r"[+-]?[0-9 .,]+", text)):
        # 1,500 could be one and a half (decimal comma) or fifteen hundred (thousands): refuse to guess.
        raise ValueError(_("Use '.' for decimals and no thousands separators."))
    raise ValueError(_("Must be a number."))


def _parse_date(value: str) -> date:
    text = _normalise(value)
    match = _ISO_DATE.fullmatch(text) or None
    if match is None:
        midnight = _ISO_DATE_MIDNIGHT.fullmatch(text)
        if midnight:
            match = _ISO_DATE.fullmatch(midnight.group(1))
    if match is not None:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            raise ValueError(_("There is no such date: %(value)s.", value=text)) from None
    if _SERIAL.fullmatch(text):
        raise ValueError(_("A number is not a date (Excel serial number?). Write the date as YYYY-MM-DD."))
    if _DAY_MONTH.fullmatch(text):
        raise ValueError(_("Day and month are ambiguous in %(value)s. Write the date as YYYY-MM-DD.", value=text))
    raise ValueError(_("Not a date. Write it as YYYY-MM-DD."))


def date_cell(*, required: bool = False) -> Callable[[str | None], date | None]:
    """A calendar date written year first (2026-03-04); XLSX date cells arrive in that form from the reader."""

    def parse(value: str | None) -> date | None:
        if value is None or not value.strip():
            if required:
                raise ValueError(_("This cell is required."))
            return None
        return _parse_date(value)

    return parse


def week_cell(*, required: bool = False) -> Callable[[str | None], date | None]:
    """An ISO week (2026-W48) or any date in it; the value is that week's Monday."""
    cache: dict[str, date] = {}  # a file repeats the same few dozen weeks on every row

    def parse(value: str | None) -> date | None:
        if value is None or not value.strip():
            if required:
                raise ValueError(_("This cell is required."))
            return None
        hit = cache.get(value)
        if hit is not None:
            return hit
        text = _normalise(value)
        if "W" in text.upper():
            try:
                monday = parse_iso_label(text)
            except ValueError:
                raise ValueError(_("Not a week. Write it as 2026-W48 or as a date YYYY-MM-DD.")) from None
        else:
            monday = week_start(_parse_date(text))
        if len(cache) < 10_000:
            cache[value] = monday
        return monday

    return parse


def datetime_cell(tz: str | None = None, *, required: bool = False) -> Callable[[str | None], datetime | None]:
    """An ISO 8601 time; with an offset (+09:00, Z) it is taken as written, without one it is read in `tz`."""
    def parse(value: str | None) -> datetime | None:
        if value is None or not value.strip():
            if required:
                raise ValueError(_("This cell is required."))
            return None
        text = _normalise(value)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", text):
            if _ISO_DATE.fullmatch(text) or _SERIAL.fullmatch(text) or _DAY_MONTH.fullmatch(text):
                raise ValueError(_("Give a date and a time, e.g. 2026-03-04T08:30+09:00."))
            raise ValueError(_("Not a date and time. Write it as 2026-03-04T08:30+09:00."))
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(_("There is no such date or time: %(value)s.", value=text)) from None
        if moment.tzinfo is None:
            # The zone is read per cell, not at import: columns are built once, the setting belongs to the app.
            moment = moment.replace(tzinfo=ZoneInfo(tz or business_timezone()))
        return moment.astimezone(timezone.utc)

    return parse


def choice_cell(choices: Iterable[str] | Mapping[str, Any], *, required: bool = False) -> Callable[[str | None], Any]:
    """One of a fixed set, case-insensitive. A mapping also accepts other spellings (e.g. Korean labels)."""
    if isinstance(choices, Mapping):
        table = {str(k).strip().casefold(): v for k, v in choices.items()}
        shown = ", ".join(str(k) for k in choices)
    else:
        listed = list(choices)
        table = {c.strip().casefold(): c for c in listed}
        shown = ", ".join(listed)

    def parse(value: str | None) -> Any:
        if value is None or not value.strip():
            if required:
                raise ValueError(_("This cell is required."))
            return None
        key = _normalise(value).casefold()
        if key not in table:
            raise ValueError(_("Must be one of: %(choices)s.", choices=shown))
        return table[key]

    return parse
