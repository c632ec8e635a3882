"""Cell parsers for import columns: each factory returns `parse(str | None) -> value` raising ValueError(message).

The reader hands every cell over as a string (XLSX numbers and dates are turned into canonical text first),
or None when the cell is empty. What a valid part number, quantity, date, week or time is lives in
`cogrow.core.fields`, shared with the forms and the JSON API; this module adds what is particular to files:
blank cells, "required", and speed. Messages are translated at the moment they are raised, so they come out
in the uploader's language. These run once per cell of files with hundreds of thousands of cells, so the
common case (plain ASCII) takes a fast path that gives the same answer as the shared parser, and repeated
texts are memoised.

Numbers in cells may carry the locale's grouping separator ("1,280"), as a spreadsheet shows them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from cogrow.core import fields
from cogrow.core.fields import FieldError

__all__ = ["code_cell", "text_cell", "decimal_cell", "date_cell", "week_cell", "datetime_cell", "choice_cell",
           "boolean_cell", "FORMULA_PREFIXES", "looks_like_formula"]

# What a spreadsheet would run as a formula when the cell is opened (OWASP CSV injection list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# One list of invisible characters for forms, API and files (kept here under its old name).
_INVISIBLE = fields.INVISIBLE
_MAX_DECIMAL = fields.MAX_DECIMAL


def looks_like_formula(value: str) -> bool:
    """True when a spreadsheet could treat the text as a formula (so it must be escaped on export)."""
    return bool(value) and value[0] in FORMULA_PREFIXES


_MEMO_SIZE = 10_000
# Only short texts are remembered: they are the ones a file repeats, and a remembered text is taken by
# imports.services.parse_rows without its cell-length check.
_MEMO_TEXT = 256


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
        if result is not None and len(memo) < _MEMO_SIZE and len(value) <= _MEMO_TEXT:  # type: ignore[arg-type]
            memo[value] = result  # type: ignore[index]
        return result

    cached.memo = memo  # type: ignore[attr-defined]  # parse_rows looks values up here without the call
    return cached


def _normalise(value: str) -> str:
    return fields.normalise(value)


def _blank(required: bool) -> None:
    if required:
        raise ValueError(_("This cell is required."))
    return None


def code_cell(max_length: int = 64, *, required: bool = False) -> Callable[[str | None], str | None]:
    """Part and PO numbers (cogrow.core.fields.part_number): NFKC, trimmed, upper-cased; spaces inside, invisible
    and control characters refused."""

    def parse(value: str | None) -> str | None:
        if value is None or value == "":
            return _blank(required)
        if value.isascii() and value.isprintable():  # the common case: no control characters, nothing to fold
            text = value.strip().upper()
            if text and len(text) <= max_length and " " not in text:
                return text
        try:
            text = fields.part_number(value, max_length=max_length)
        except FieldError as exc:
            raise ValueError(exc.message) from None
        return text or _blank(required)

    return _memoised(parse)


def text_cell(max_length: int = 500, required: bool = False) -> Callable[[str | None], str | None]:
    """Free text (notes, names): trimmed and NFC-normalised; line breaks allowed, NUL and invisibles refused.

    Text that starts like a formula is kept as it is: it is only ever stored and shown, and escaped on export.
    """

    def parse(value: str | None) -> str | None:
        if value is None or not value.strip():
            return _blank(required)
        try:
            return fields.text(value, max_length=max_length, multiline=True)
        except FieldError as exc:
            raise ValueError(exc.message) from None

    return parse


def decimal_cell(minimum: Decimal | int | None = 0, whole: bool = False, *, maximum: Decimal | int | None = None,
                 scale: int = 4, required: bool = False, grouping: bool = True) -> Callable[[str | None], Decimal | None]:
    """A quantity or price (cogrow.core.fields.decimal): digits 0-9 (full-width ones folded by NFKC) with an optional
    sign and '.', and groups of three separated by ','; no exponent, finite, within range."""
    low = Decimal(minimum) if minimum is not None else None
    high = Decimal(maximum) if maximum is not None else None

    def parse(value: str | None) -> Decimal | None:
        if value is None or value == "":
            return _blank(required)
        # Fast path: a short run of ASCII digits is by far the most common quantity, and cannot be
        # negative, fractional, out of range or over-precise.
        if value.isdigit() and value.isascii() and len(value) < 15:
            number = Decimal(value)
            if not ((high is not None and number > high) or (low is not None and number < low)):
                return number
        elif not value.strip():
            return _blank(required)
        try:
            return fields.decimal(value, minimum=low, maximum=high, scale=scale, whole=whole, grouping=grouping)
        except FieldError as exc:
            raise ValueError(exc.message) from None

    return _memoised(parse)


def date_cell(*, required: bool = False) -> Callable[[str | None], date | None]:
    """A calendar date written year first (2026-03-04); XLSX date cells arrive in that form from the reader."""

    def parse(value: str | None) -> date | None:
        if value is None or not value.strip():
            return _blank(required)
        try:
            return fields.date_value(value)
        except FieldError as exc:
            raise ValueError(exc.message) from None

    return parse


def week_cell(*, required: bool = False) -> Callable[[str | None], date | None]:
    """An ISO week (2026-W48) or any date in it; the value is that week's Monday (a file repeats the same few
    dozen weeks on every row: memoised)."""

    def parse(value: str | None) -> date | None:
        if value is None or not value.strip():
            return _blank(required)
        try:
            return fields.iso_week(value)
        except FieldError as exc:
            raise ValueError(exc.message) from None

    return _memoised(parse)


def datetime_cell(tz: str | None = None, *, required: bool = False) -> Callable[[str | None], datetime | None]:
    """An ISO 8601 time; with an offset (+09:00, Z) it is taken as written, without one it is read in `tz`."""
    def parse(value: str | None) -> datetime | None:
        if value is None or not value.strip():
            return _blank(required)
        try:
            return fields.moment(value, tz)
        except FieldError as exc:
            raise ValueError(exc.message) from None

    return parse


def boolean_cell(*, required: bool = False) -> Callable[[str | None], bool | None]:
    """True or false (TRUE/FALSE, yes/no, Y/N, 1/0, 참/거짓)."""
    def parse(value: str | None) -> bool | None:
        if value is None or not value.strip():
            return _blank(required)
        try:
            return fields.boolean(value)
        except FieldError as exc:
            raise ValueError(exc.message) from None

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
