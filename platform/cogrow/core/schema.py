"""The field types the API declares its bodies, queries and answers with (pydantic v2).

Each type reads a value with the same parser the forms and the importers use (`cogrow.core.fields`), writes it
out the way the API promises (decimals as strings, times in UTC with a `Z`), and states both in JSON Schema, which
`cogrow.core.api` assembles into the OpenAPI document. A value that does not parse fails with the parser's own
message, and the API's error envelope names the field.

    class ReportIn(Body):
        item_id: Id | None = None
        good_qty: Quantity
        as_of: Moment

    class Report(Resource):
        id: int
        good_qty: Quantity
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Any, Callable, Generic, TypeVar

import re

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator, ValidationError, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from cogrow.core import fields
from cogrow.core.fields import FieldError, decimal_text
from cogrow.core.weeks import iso_label

MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1


class Body(BaseModel):
    """A request body: unknown keys are refused, so a misspelt field is never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """Query-string parameters. Unknown parameters are ignored, as HTTP caches and proxies may add their own."""

    model_config = ConfigDict(extra="ignore")


class Resource(BaseModel):
    """An answer. Built from keyword arguments, a dict or (with `model_validate`) an ORM object's attributes."""

    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(Resource, Generic[T]):
    """One page of a list, in a stable order; the `Link` header carries the next page's address."""

    data: list[T]
    limit: int
    offset: int


class PageQuery(Query):
    limit: Annotated[int, PlainValidator(lambda v: _read(fields.integer, v, minimum=1, maximum=500)),
                     WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 500, "default": 100})] = 100
    offset: Annotated[int, PlainValidator(lambda v: _read(fields.integer, v, minimum=0, maximum=10**9)),
                      WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0})] = 0


def refuse(message: Any) -> PydanticCustomError:
    """The error a custom validator raises: the API names the field and gives `message`."""
    return PydanticCustomError("cogrow", "{reason}", {"reason": str(message)})


def field_errors(exc: ValidationError, where: str = "body") -> dict[str, str]:
    """A pydantic error as the API names fields (`lines[0].quantity`), with the parsers' own messages."""
    from flask_babel import gettext as _

    out: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        name = ""
        for part in error["loc"]:
            if isinstance(part, int):
                name += f"[{part}]"
            elif "[" in str(part) or "function-" in str(part):  # pydantic's label for a union member: not a field
                continue
            else:
                name += f".{part}" if name else str(part)
        kind = error["type"]
        if kind == "cogrow":
            message = str(error["ctx"]["reason"])
        elif kind == "missing":
            message = _("This field is required.")
        elif kind == "extra_forbidden":
            message = _("Unknown field.")
        else:
            message = error["msg"]
        out.setdefault(name or where, message)
    return out


def _read(parse: Callable[..., Any], value: Any, **options: Any) -> Any:
    try:
        return parse(value, **options)
    except FieldError as exc:
        raise refuse(exc.message) from None


def _reader(parse: Callable[..., Any], python_type: type, **options: Any) -> PlainValidator:
    """Parse what a client sent (validated with the context {"request": True}); let the code's own values through
    when an answer is built from them (a Decimal read from the database is not re-checked against input rules)."""
    def validate(value: Any, info: ValidationInfo) -> Any:
        if (isinstance(value, python_type) and not isinstance(value, bool)
                and not (info.context and info.context.get("request"))):
            return value
        return _read(parse, value, **options)
    return PlainValidator(validate)


_DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def decimal_type(*, minimum: Decimal | int | None = 0, maximum: Decimal | int | None = None, scale: int = 4,
                 whole: bool = False) -> Any:
    """A Decimal read from digit text or a JSON integer (never a float, NaN or infinity) and written as text."""
    sign = "-?" if minimum is None or minimum < 0 else ""
    places = rf"(\.[0-9]{{1,{scale}}})?" if scale and not whole else ""
    number: dict[str, Any] = {"type": "string", "pattern": rf"^{sign}[0-9]+{places}$"}
    accepted = {"anyOf": [number, {"type": "integer", **({"minimum": int(minimum)} if minimum is not None else {}),
                                   **({"maximum": int(maximum)} if maximum is not None else {})}],
                "description": f"A decimal as text (or a JSON integer), at most {scale} places."
                               + (f" At least {minimum}." if minimum is not None else "")}
    return Annotated[Decimal,
                     _reader(fields.decimal, Decimal, minimum=minimum, maximum=maximum, scale=scale, whole=whole),
                     PlainSerializer(decimal_text, return_type=str, when_used="json"),
                     WithJsonSchema(accepted, mode="validation"),
                     WithJsonSchema({**number, "pattern": _DECIMAL_PATTERN, "description": "A decimal as text."},
                                    mode="serialization")]


def int_type(*, minimum: int = 1, maximum: int = MAX_ID) -> Any:
    """A whole number from a JSON integer or digit text, within bounds."""
    return Annotated[int, _reader(fields.integer, int, minimum=minimum, maximum=maximum),
                     WithJsonSchema({"type": "integer", "minimum": minimum, "maximum": maximum})]


def text_type(*, max_length: int = 200, multiline: bool = False) -> Any:
    """Text, NFKC-normalised and trimmed; control and invisible characters are refused."""
    return Annotated[str, _reader(fields.text, str, max_length=max_length, multiline=multiline),
                     WithJsonSchema({"type": "string", "maxLength": max_length})]


def code_type(*, max_length: int, upper: bool = True) -> Any:
    """A document number or other code: no spaces inside, no invisible characters; upper-cased with `upper`.
    Blank text is "" (the caller reads it as "not given")."""
    def read(value: Any) -> str:
        if isinstance(value, str) and not value.strip():
            return ""
        return _read(fields.part_number, value, max_length=max_length, upper=upper)
    return Annotated[str, PlainValidator(read), WithJsonSchema({"type": "string", "maxLength": max_length})]


# Named value lists, listed once in the OpenAPI document's components (a generated client gets one enum type
# per list, not one per field that uses it).
NAMED_SCHEMAS: dict[str, dict[str, Any]] = {}
NAMED_MARK = "x-cogrow-named"


def choice_type(*choices: str, upper: bool = False, name: str | None = None) -> Any:
    """One of `choices`; with `upper`, written in any case (uom "ea" is "EA"); with `name`, a named enum."""
    def pick(value: Any) -> str:
        if isinstance(value, str) and upper:
            value = fields.normalise(value).upper()
        if not isinstance(value, str) or value not in choices:
            raise refuse("Must be one of: " + ", ".join(choices) + ".")
        return value
    schema: dict[str, Any] = {"type": "string", "enum": list(choices)}
    if name is not None:  # the OpenAPI document swaps the marked schema for a $ref (pydantic would resolve one)
        NAMED_SCHEMAS[name] = {**schema, "title": name}
        schema = {**schema, NAMED_MARK: name}
    return Annotated[str, PlainValidator(pick), WithJsonSchema(schema)]


def _time_text(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


Quantity = decimal_type()
SignedQuantity = decimal_type(minimum=None)
Amount = decimal_type()
Id = int_type()
BigId = int_type(maximum=MAX_BIG_ID)
PartNumber = Annotated[str, _reader(fields.part_number, str, max_length=64),
                       WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 64,
                                       "description": "A part number; stored upper-case."})]
Note = text_type(max_length=500)
_ISO_DATE = re.compile(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*", re.ASCII)


def _iso_date(value: Any) -> date:
    # The API takes dates as JSON Schema's `date` (YYYY-MM-DD); forms and spreadsheets are more lenient.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        from flask_babel import gettext as _

        raise FieldError(_("Must be a date written YYYY-MM-DD."))
    return fields.date_value(value)


Date = Annotated[date, _reader(_iso_date, date), PlainSerializer(date.isoformat, return_type=str, when_used="json"),
                 WithJsonSchema({"type": "string", "format": "date"})]
Week = Annotated[date, _reader(fields.iso_week, date), PlainSerializer(iso_label, return_type=str, when_used="json"),
                 WithJsonSchema({"type": "string", "pattern": r"^[0-9]{4}-W[0-9]{2}$",
                                 "description": "An ISO week (2026-W49), or a date in it."}, mode="validation"),
                 WithJsonSchema({"type": "string", "pattern": r"^[0-9]{4}-W[0-9]{2}$",
                                 "description": "An ISO week."}, mode="serialization")]
Moment = Annotated[datetime, _reader(fields.moment, datetime), PlainSerializer(_time_text, return_type=str, when_used="json"),
                   WithJsonSchema({"type": "string", "format": "date-time",
                                   "description": "ISO 8601; without an offset it is read in Seoul time."},
                                  mode="validation"),
                   WithJsonSchema({"type": "string", "format": "date-time", "description": "UTC."},
                                  mode="serialization")]
Flag = Annotated[bool, _reader(fields.boolean, bool), WithJsonSchema({"type": "boolean"})]
