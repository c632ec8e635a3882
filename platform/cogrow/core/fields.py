"""The field parsers: what a part number, a quantity, an integer, a date, an ISO week, a time or a boolean is,
wherever it comes from.

HTML forms read their fields through `cogrow.core.forms`, the JSON API through the types of `cogrow.core.schema`
and the importers through `cogrow.imports.cells`; all call the functions here, so "PN\u3164 1" or "1,28" means the
same thing on a page, in a JSON body and in a spreadsheet cell.

Every parser takes text (or, for the JSON API, a JSON value) and returns the value or raises FieldError with a
message translated at the moment it is raised (in the user's language).

One rule for characters:
- control characters (C0, DEL, C1) are refused everywhere; free text may keep tab and line breaks;
- invisible characters (zero-width spaces and joiners, bidi controls, BOM, soft hyphen, variation selectors,
  the Hangul fillers U+3164/U+115F/U+1160/U+FFA0, ...) are refused, never silently dropped: two part numbers that
  look equal must be equal;
- other spaces (NBSP, ideographic space, ...) are spaces: NFKC folds them to ' ', so they are trimmed at the ends
  and refused inside a code.

Numbers: digits 0-9 (full-width ones are folded to ASCII), an optional sign and '.' for decimals. Superscripts
and other scripts' digits are refused; no exponent, NaN or infinity. With `grouping=True` (forms and spreadsheet
cells, not strict JSON) the locale's grouping separator is accepted between groups of three digits: "1,280" and
"12,345.5". English and Korean both write ',' for groups and '.' for decimals; anything that could be read two
ways ("1,28", "1.280,5", "1 280") is refused rather than guessed at.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from cogrow.core.weeks import business_timezone, parse_iso_label, week_start

__all__ = ["FieldError", "INVISIBLE", "has_invisible", "has_control", "check_characters", "normalise",
           "part_number", "text", "decimal", "decimal_text", "grouped_text", "integer", "quantity", "date_value", "iso_week", "moment", "boolean",
           "GROUP_SYMBOL", "DECIMAL_SYMBOL", "MAX_DECIMAL", "TRUE_WORDS", "FALSE_WORDS"]


class FieldError(ValueError):
    """A value a field cannot hold; `message` is already translated."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


# Zero-width, bidi, filler and other invisible characters that make two strings look equal but differ.
INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e"
                       "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LAYOUT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s")

GROUP_SYMBOL = ","      # en and ko: 1,280.5
DECIMAL_SYMBOL = "."
MAX_DECIMAL = Decimal("1e14")
_MAX_NUMBER_TEXT = 60   # far past the range; Decimal need not read a megabyte of digits to say so

_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_GROUPED_NUMBER = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?", re.ASCII)
_EXPONENT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+", re.ASCII)
_SEPARATED = re.compile(r"[+-]?[0-9., ]+", re.ASCII)
# A character no number is written with: anything but ASCII, the full-width forms of ASCII (０-９, ．, ＋, －, ，),
# which NFKC folds to their ASCII twins, and spaces.
_NOT_NUMBER_CHAR = re.compile(r"[^\x00-\x7f\uff01-\uff5e\s]")
_NON_FINITE = {"NAN", "INF", "INFINITY", "∞", "#NUM!", "#DIV/0!"}
TRUE_WORDS = frozenset({"TRUE", "YES", "Y", "ON", "1", "참", "예"})
FALSE_WORDS = frozenset({"FALSE", "NO", "N", "OFF", "0", "거짓", "아니오"})
_BOOLEAN_WORDS = (TRUE_WORDS | FALSE_WORDS) - {"1", "0"}

_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", re.ASCII)
_ISO_DATE_MIDNIGHT = re.compile(r"(\d{4}-\d{2}-\d{2})[T ]00:00(?::00(?:\.0+)?)?", re.ASCII)
_SERIAL = re.compile(r"\d{1,6}(?:\.\d+)?", re.ASCII)
_DAY_MONTH = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}", re.ASCII)
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", re.ASCII)


# --- characters ----------------------------------------------------------------------------------------------

def has_invisible(value: str) -> bool:
    return not value.isascii() and INVISIBLE.search(value) is not None


def has_control(value: str, *, allow_layout: bool = False) -> bool:
    return (_CONTROL_BUT_LAYOUT if allow_layout else _CONTROL).search(value) is not None


def check_characters(value: str, *, allow_layout: bool = False) -> None:
    """Refuse control characters (tab and line breaks allowed with `allow_layout`) and invisible ones."""
    if has_control(value, allow_layout=allow_layout):
        if "\x00" in value:
            raise FieldError(_("Contains a NUL character."))
        raise FieldError(_("Contains control characters."))
    if has_invisible(value):
        raise FieldError(_("Contains invisible (zero-width) characters."))


def normalise(value: str) -> str:
    """NFKC (full-width digits and letters to ASCII, NBSP and ideographic spaces to ' ') and trim."""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    return value.strip()


# --- text ----------------------------------------------------------------------------------------------------

def part_number(value: Any, *, max_length: int = 64, upper: bool = True) -> str:
    """A part, PO or line number: NFKC, trimmed, upper-cased; spaces inside, invisible and control characters
    refused. Returns "" for blank text (the caller decides whether the field is required)."""
    if not isinstance(value, str):
        raise FieldError(_("Must be text."))
    if value.isascii() and value.isprintable():  # the common case: nothing to fold, no control characters
        text = value.strip()
    else:
        text = value.strip()  # a tab or line break around a cell is layout, not part of the number
        check_characters(text)
        text = normalise(text)
    if upper:
        text = text.upper()
    if len(text) > max_length:
        raise FieldError(_("At most %(n)s characters.", n=max_length))
    if _SPACE.search(text):
        raise FieldError(_("Must not contain spaces."))
    return text


def text(value: Any, *, max_length: int = 500, multiline: bool = False) -> str:
    """Free text (names, notes): invisible and control characters refused (line breaks kept with `multiline`),
    NFKC when `multiline` is False (single-line fields fold full-width forms), NFC otherwise; trimmed."""
    if not isinstance(value, str):
        raise FieldError(_("Must be text."))
    check_characters(value, allow_layout=multiline)
    if multiline:
        result = (unicodedata.normalize("NFC", value) if not value.isascii() else value).strip(" \u3000")
    else:
        result = normalise(value)
    if len(result) > max_length:
        raise FieldError(_("At most %(n)s characters.", n=max_length))
    return result


# --- numbers -------------------------------------------------------------------------------------------------

def _number_from_text(value: str, grouping: bool) -> Decimal:
    raw = value.strip()
    if not raw.isascii() and _NOT_NUMBER_CHAR.search(raw):
        # "²" or "١٢": Python calls them digits and NFKC would even turn "²" into 2, but no one writes a
        # quantity that way; only full-width forms are folded to ASCII.
        raise FieldError(_("Must be a number written with the digits 0-9."))
    text_ = normalise(raw)
    if not text_:
        raise FieldError(_("Must be a number."))
    if len(text_) > _MAX_NUMBER_TEXT:
        raise FieldError(_("Number out of range."))
    if _PLAIN_NUMBER.fullmatch(text_):
        pass
    elif grouping and _GROUPED_NUMBER.fullmatch(text_):
        text_ = text_.replace(GROUP_SYMBOL, "")
    elif _EXPONENT.fullmatch(text_):
        raise FieldError(_("Write the number in plain digits, without an exponent (e.g. 1000, not 1e3)."))
    else:
        upper = text_.upper()
        if upper.lstrip("+-") in _NON_FINITE:
            raise FieldError(_("Must be a finite number."))
        if upper in _BOOLEAN_WORDS:
            raise FieldError(_("A true/false value is not a number."))
        if _SEPARATED.fullmatch(text_) and re.search("[0-9]", text_) and re.search("[,. ]", text_):
            if grouping:
                # "1,28" (a decimal comma?), "1.280,5" (European grouping?), "1 280": refuse to guess.
                raise FieldError(_("Ambiguous number %(value)s: use '.' for decimals and ',' only between "
                                   "groups of three digits (1,280.5).", value=text_))
            raise FieldError(_("Use '.' for decimals and no thousands separators."))
        raise FieldError(_("Must be a number."))
    try:
        return Decimal(text_)
    except InvalidOperation:
        raise FieldError(_("Must be a number.")) from None


def decimal(value: Any, *, minimum: Decimal | int | None = 0, maximum: Decimal | int | None = None, scale: int = 4,
            whole: bool = False, grouping: bool = False) -> Decimal:
    """A Decimal from digit text, or from a JSON integer; never a float, NaN, infinity or boolean."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise FieldError(_("Must be a number."))
    number = _number_from_text(value, grouping) if isinstance(value, str) else Decimal(value)
    if not number.is_finite() or abs(number) >= MAX_DECIMAL:
        raise FieldError(_("Number out of range."))
    if whole and number != number.to_integral_value():
        raise FieldError(_("Must be a whole number."))
    if number.as_tuple().exponent < -scale:  # type: ignore[operator]
        raise FieldError(_("At most %(n)s decimal places.", n=scale))
    if minimum is not None and number < minimum:
        raise FieldError(_("Must be at least %(n)s.", n=minimum))
    if maximum is not None and number > maximum:
        raise FieldError(_("Must be at most %(n)s.", n=maximum))
    if number == 0:
        number = Decimal(0)  # no "-0"
    return number


def decimal_text(value: Decimal | None) -> str | None:
    """A decimal as the API and the exports write it: plain digits, no exponent, no trailing zeros (0.4000 -> 0.4).
    The API sends decimals as text so that no client reads them as floats."""
    if value is None:
        return None
    if value == value.to_integral():
        return format(value.normalize(), "f")
    return format(value, "f").rstrip("0").rstrip(".")


def grouped_text(value: Decimal | int | None) -> str:
    """A number as people read it on the pages and type it back into their forms: the grouping separator between
    groups of three digits, at most four places, no trailing zeros (1234.5000 -> 1,234.5); "" for None.
    `quantity(..., grouping=True)` reads it back. Machines (API, CSV, XLSX) get `decimal_text`, never this."""
    if value is None:
        return ""
    text_ = f"{value:,.4f}"
    return text_.rstrip("0").rstrip(".") if "." in text_ else text_


def quantity(value: Any, *, grouping: bool = False, scale: int = 4) -> Decimal:
    """A quantity: a decimal of at least 0."""
    return decimal(value, minimum=0, scale=scale, grouping=grouping)


_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_MAX_INTEGER_DIGITS = 30  # far past any id, and short enough that int() never meets Python's digit limit


def integer(value: Any, *, minimum: int | None = 0, maximum: int | None = None, signed: bool = False,
            grouping: bool = False) -> int:
    """An int from a JSON integer or digit text (a sign only when `signed`; groups only with `grouping`)."""
    if isinstance(value, bool):
        raise FieldError(_("Must be a whole number."))
    if isinstance(value, str):
        raw = value.strip()
        if not raw or (not raw.isascii() and _NOT_NUMBER_CHAR.search(raw)):
            raise FieldError(_("Must be a whole number."))
        text_ = normalise(raw)
        if grouping and _GROUPED_NUMBER.fullmatch(text_) and "." not in text_:
            text_ = text_.replace(GROUP_SYMBOL, "")
        if not _INTEGER_TEXT.fullmatch(text_) or (not signed and text_[0] in "+-"):
            raise FieldError(_("Must be a whole number."))
        if len(text_.lstrip("+-").lstrip("0")) > _MAX_INTEGER_DIGITS:
            raise FieldError(_("Number out of range."))
        value = int(text_)
    if not isinstance(value, int):
        raise FieldError(_("Must be a whole number."))
    if minimum is not None and value < minimum:
        raise FieldError(_("Must be at least %(n)s.", n=minimum))
    if maximum is not None and value > maximum:
        raise FieldError(_("Must be at most %(n)s.", n=maximum))
    return value


# --- dates, weeks and times ----------------------------------------------------------------------------------

def date_value(value: Any) -> date:
    """A calendar date written year first (2026-03-04, 2026/3/4, 2026.03.04; a midnight time is allowed)."""
    if not isinstance(value, str):
        raise FieldError(_("Not a date. Write it as YYYY-MM-DD."))
    text_ = normalise(value)
    match = _ISO_DATE.fullmatch(text_)
    if match is None:
        midnight = _ISO_DATE_MIDNIGHT.fullmatch(text_)
        if midnight:
            match = _ISO_DATE.fullmatch(midnight.group(1))
    if match is not None:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            raise FieldError(_("There is no such date: %(value)s.", value=text_)) from None
    if _SERIAL.fullmatch(text_):
        raise FieldError(_("A number is not a date (Excel serial number?). Write the date as YYYY-MM-DD."))
    if _DAY_MONTH.fullmatch(text_):
        raise FieldError(_("Day and month are ambiguous in %(value)s. Write the date as YYYY-MM-DD.", value=text_))
    raise FieldError(_("Not a date. Write it as YYYY-MM-DD."))


def iso_week(value: Any) -> date:
    """An ISO week (2026-W48, 2026W48) or any date in it; the value is that week's Monday."""
    if not isinstance(value, str):
        raise FieldError(_("Not a week. Write it as 2026-W48 or as a date YYYY-MM-DD."))
    text_ = normalise(value)
    if "W" in text_.upper():
        try:
            return parse_iso_label(text_)
        except ValueError:
            raise FieldError(_("Not a week. Write it as 2026-W48 or as a date YYYY-MM-DD.")) from None
    try:
        return week_start(date_value(text_))
    except FieldError as exc:
        if _ISO_DATE.fullmatch(text_):
            raise  # "There is no such date"
        raise FieldError(_("Not a week. Write it as 2026-W48 or as a date YYYY-MM-DD.")) from exc


def moment(value: Any, tz: str | None = None) -> datetime:
    """An ISO 8601 time in UTC; with an offset (+09:00, Z) it is taken as written, without one it is read in `tz`
    (the business time zone, Asia/Seoul, by default)."""
    if not isinstance(value, str):
        raise FieldError(_("Not a date and time. Write it as 2026-03-04T08:30+09:00."))
    text_ = normalise(value)
    if not _ISO_TIME.fullmatch(text_):
        if _ISO_DATE.fullmatch(text_) or _SERIAL.fullmatch(text_) or _DAY_MONTH.fullmatch(text_):
            raise FieldError(_("Give a date and a time, e.g. 2026-03-04T08:30+09:00."))
        raise FieldError(_("Not a date and time. Write it as 2026-03-04T08:30+09:00."))
    try:
        parsed = datetime.fromisoformat(text_)
    except ValueError:
        raise FieldError(_("There is no such date or time: %(value)s.", value=text_)) from None
    if parsed.tzinfo is None:
        # The zone is read per value, not at import: parsers are built once, the setting belongs to the app.
        parsed = parsed.replace(tzinfo=ZoneInfo(tz or business_timezone()))
    return parsed.astimezone(timezone.utc)


# --- booleans ------------------------------------------------------------------------------------------------

def boolean(value: Any) -> bool:
    """True or false: a JSON boolean, or true/false, yes/no, y/n, on/off, 1/0, 참/거짓 in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = normalise(value).upper()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise FieldError(_("Must be true or false."))
