"""Ids, whole numbers and form versions read from URLs, query strings and page forms, and the `<int:...>` URL
converter. What a valid value is lives in `cogrow.core.fields` (one parser for each kind of value: text, part
numbers, decimals, integers, dates, ISO weeks, times, booleans); JSON bodies are read through the pydantic types of
`cogrow.core.schema`, page forms through the fields of `cogrow.core.forms`. The helpers here answer a value or
None/a message instead of raising, for the query arguments a view reads by hand."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from werkzeug.routing import BaseConverter

from cogrow.core import fields
from cogrow.core.errors import ValidationFailed
from cogrow.core.fields import FieldError

# The largest id a row can have: most keys are INTEGER, 32 bits on PostgreSQL (SQLite's hold 64). The busiest tables
# (events, deliveries, buckets, readings) have BIGINT keys; ids of those are read up to MAX_BIG_ID.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1


def parse_int(value: Any, *, minimum: int | None = 0, maximum: int | None = MAX_ID, signed: bool = False) -> int | str:
    """Return an int from a JSON integer or digit text, or the reason (a message) that the value is not one."""
    try:
        return fields.integer(value, minimum=minimum, maximum=maximum, signed=signed)
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
