"""What the forecasts API accepts and answers: a publication's buckets, commits and authorization grants.

Fields are read with the parsers of cogrow.core.fields (through cogrow.core.schema). An entry names its item by
`item_id` (a JSON number) or `part_number` (the prime's), and its week by `week` (2026-W50, or a date in it) or
`week_start` (the Monday itself). Whether the item belongs to the relationship, and the publication's rules
(no past weeks, no week twice, the horizon), are checked while the body is read, so one answer names every bad
entry, parse errors and rule errors alike.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from flask import g, request
from flask_babel import lazy_gettext as _l
from pydantic import (AfterValidator, Field, PlainValidator, PrivateAttr, ValidationError, ValidationInfo,
                      WithJsonSchema, WrapValidator, model_validator)
from pydantic_core import InitErrorDetails, PydanticCustomError

from cogrow.core.schema import (MAX_ID, Body, Date, Id, Moment, Page, PageQuery, PartNumber, Quantity, Resource,
                                Week, choice_type, text_type)
from cogrow.core.weeks import current_week
from cogrow.forecasts import services
from cogrow.forecasts.models import AUTHORIZATION_KINDS
from cogrow.forecasts.services import REASON_CODES
from cogrow.relationships import services as relationships

MAX_ENTRIES = 200_000


def _reason(message: Any) -> PydanticCustomError:
    return PydanticCustomError("cogrow", "{reason}", {"reason": str(message)})


def _fail_at(errors: list[tuple[tuple[str | int, ...], str, str]]) -> ValidationError:
    """One validation error naming each place (relative to what is being validated): (loc, type, message)."""
    return ValidationError.from_exception_data("body", [
        InitErrorDetails(type=PydanticCustomError(kind, "{reason}", {"reason": str(message)}), loc=loc, input=None)
        for loc, kind, message in errors])


def _json_id(value: Any) -> int:
    # An item or bucket is named by its id as a JSON number: "5" is text, true is not an id.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise _reason(_l("Give item_id (a number) or part_number."))
    return value


def _monday(value: date) -> date:
    if value.weekday() != 0:
        raise _reason(_l("Must be a Monday: a week starts on Monday."))
    return value


ItemNumber = Annotated[int, PlainValidator(_json_id), WithJsonSchema({"type": "integer", "minimum": 1,
                                                                     "maximum": MAX_ID})]
Monday = Annotated[Date, AfterValidator(_monday),
                   WithJsonSchema({"type": "string", "format": "date", "description": "A Monday."})]
ReasonCode = choice_type(*REASON_CODES, upper=True, name="ReasonCode")
Kind = choice_type(*AUTHORIZATION_KINDS, upper=True, name="AuthorizationKind")
Text = text_type(max_length=500, multiline=True)


def _scope() -> tuple[dict[str, int], set[int]]:
    """The part numbers and item ids of the relationship in the URL, read once a request. A relationship the
    caller cannot see answers 404 here, before anything about the body's items is said."""
    relationship_id = (request.view_args or {})["relationship_id"]
    cached = g.get("forecast_scope")
    if cached is None or cached[0] != relationship_id:
        relationships.get_relationship(g.actor, relationship_id)
        cached = g.forecast_scope = (relationship_id, services.part_numbers_of(relationship_id),
                                     services.item_ids_of(relationship_id))
    return cached[1], cached[2]


class _Entry(Body):
    """An entry naming one item of the relationship, by `item_id` or `part_number`."""

    item_id: ItemNumber | None = None
    part_number: PartNumber | None = None
    _item: int | None = PrivateAttr(default=None)

    def _item_errors(self) -> list[tuple[tuple[str | int, ...], str, str]]:
        if self.item_id is not None and self.part_number is not None:
            return [(("item_id",), "cogrow", str(_l("Give item_id or part_number, not both.")))]
        parts, item_ids = _scope()
        if self.part_number is not None:
            self._item = parts.get(self.part_number)
            if self._item is None:
                return [(("part_number",), "cogrow", str(_l("No such part number in this relationship.")))]
        elif self.item_id is None:
            return [(("item_id",), "cogrow", str(_l("Give item_id (a number) or part_number.")))]
        elif self.item_id not in item_ids:
            return [(("item_id",), "cogrow", str(_l("No such item in this relationship.")))]
        else:
            self._item = self.item_id
        return []

    @property
    def item(self) -> int:
        """The item the entry names (set once the body is valid)."""
        assert self._item is not None
        return self._item


class _WeekEntry(_Entry):
    week: Week | None = None
    week_start: Monday | None = None

    @property
    def week_key(self) -> str:
        """The key the client named the week with (errors about the week name it)."""
        return "week_start" if self.week_start is not None else "week"

    @property
    def monday(self) -> date:
        return self.week_start if self.week_start is not None else self.week  # type: ignore[return-value]

    def _week_errors(self) -> list[tuple[tuple[str | int, ...], str, str]]:
        if self.week is not None and self.week_start is not None:
            return [(("week",), "cogrow", str(_l("Give week or week_start, not both.")))]
        if self.week is None and self.week_start is None:
            return [(("week",), "cogrow", str(_l("Must be an ISO week such as 2026-W50.")))]
        return []


class ForecastBucketIn(_WeekEntry):
    """One forecast quantity: an item, a week and a quantity."""

    quantity: Quantity

    @model_validator(mode="after")
    def _known(self) -> ForecastBucketIn:
        errors = self._item_errors() + self._week_errors()
        if errors:
            raise _fail_at(errors)
        return self


def _checked_buckets(value: Any, handler: Any, info: ValidationInfo) -> list[ForecastBucketIn]:
    """The publication's rules over its entries (services.check_buckets), reported with every entry's own errors."""
    try:
        entries: dict[int, ForecastBucketIn] = dict(enumerate(handler(value)))
        failure: ValidationError | None = None
    except ValidationError as exc:
        if not isinstance(value, list) or any(not e["loc"] or not isinstance(e["loc"][0], int) for e in exc.errors()):
            raise  # not a list, too long or too short: nothing to check entry by entry
        failure = exc
        bad = {e["loc"][0] for e in exc.errors()}
        entries = {}
        for index, raw in enumerate(value):
            if index not in bad:
                entries[index] = ForecastBucketIn.model_validate(raw, context=info.context)
    good = sorted(entries)
    _parts, item_ids = _scope()
    errors: list[tuple[tuple[str | int, ...], str, str]] = []
    for at, field, message in services.check_buckets(
            item_ids, [(entries[i].item, entries[i].monday, entries[i].quantity) for i in good], current_week()):
        index = good[at]
        errors.append(((index, entries[index].week_key if field == "week" else field), "cogrow", message))
    if failure is None and not errors:
        return [entries[i] for i in good]
    if failure is not None:
        errors = [(tuple(e["loc"]), e["type"], e["msg"]) for e in failure.errors(include_url=False)] + errors
    raise _fail_at(sorted(errors, key=lambda e: e[0][0]))


class ForecastPublicationCreate(Body):
    """Version N+1 of the forecast: every item's weeks from the current one to the horizon."""

    note: Text | None = None
    reason: Text | None = Field(default=None, description="Why firm-zone quantities are cut (required if any is).")
    buckets: Annotated[list[ForecastBucketIn], Field(min_length=1, max_length=MAX_ENTRIES),
                       WrapValidator(_checked_buckets)]


class ForecastVersionQuery(PageQuery):
    item_id: Id | None = None


class ForecastCommitIn(_WeekEntry):
    """A commit to one bucket of the latest version: by `bucket_id`, or by item and week."""

    bucket_id: ItemNumber | None = None
    quantity: Quantity
    reason_code: ReasonCode | None = Field(default=None, description="Required when committing below the forecast.")
    comment: Text | None = None

    @model_validator(mode="after")
    def _known(self) -> ForecastCommitIn:
        if self.bucket_id is None:
            errors = self._item_errors() + self._week_errors()
            if errors:
                raise _fail_at(errors)
        return self

    def values(self) -> dict[str, Any]:
        """What services.commit_buckets takes."""
        row: dict[str, Any] = ({"bucket_id": self.bucket_id} if self.bucket_id is not None
                               else {"item_id": self.item, "week_start": self.monday})
        row.update(quantity=self.quantity, reason_code=self.reason_code, comment=self.comment or "")
        return row


class ForecastCommitBatch(Body):
    commits: list[ForecastCommitIn] = Field(min_length=1, max_length=MAX_ENTRIES)


class AuthorizationGrant(_Entry):
    """A cumulative authorization of an item from `cum_start_date`: FAB (finished goods) or RAW (material)."""

    kind: Kind
    cum_start_date: Date
    quantity: Quantity

    @model_validator(mode="after")
    def _known(self) -> AuthorizationGrant:
        errors = self._item_errors()
        if errors:
            raise _fail_at(errors)
        return self


# --- answers ---------------------------------------------------------------------------------------------------

class ForecastVersion(Resource):
    """A published version. `note` is the prime's internal note: only the prime's side gets it."""

    id: int
    relationship_id: int
    version_no: int
    base_week: Date
    firm_fence_weeks: int
    material_fence_weeks: int
    note: str | None = Field(default=None, exclude_if=lambda note: note is None,
                             description="The prime's internal note: only on the prime's side.")
    bucket_count: int
    published_by_id: int | None
    published_at: Moment
    firm_cuts: int
    cut_reason: str | None


class BucketCommit(Resource):
    quantity: Quantity
    reason_code: str | None
    comment: str


class ForecastBucket(Resource):
    id: int
    item_id: int
    part_number: str
    week: Week
    week_start: Date
    quantity: Quantity
    zone: str
    commit: BucketCommit | None


class ForecastVersionDetail(ForecastVersion):
    """A version with one page of its buckets (by part number, then week)."""

    buckets: list[ForecastBucket]
    limit: int
    offset: int


class ForecastCommit(Resource):
    id: int
    bucket_id: int
    item_id: int
    part_number: str
    week: Week
    week_start: Date
    forecast: Quantity
    quantity: Quantity
    reason_code: str | None
    comment: str
    committed_at: Moment


class ForecastCommitPage(Page[ForecastCommit]):
    """One page of a version's commits, by part number then week."""

    version_no: int


class ForecastCommitResult(Resource):
    version_no: int
    created: int
    updated: int
    unchanged: int


class Authorization(Resource):
    id: int
    item_id: int
    part_number: str
    kind: str
    cum_start_date: Date
    quantity: Quantity
    granted_at: Moment


class AuthorizationMaximum(Resource):
    """The authorized maximum of an (item, kind) in its current period, and how many grants make it."""

    item_id: int
    part_number: str
    kind: str
    cum_start_date: Date
    maximum: Quantity
    grants: int


class AuthorizationPage(Page[Authorization]):
    """Every (item, kind)'s current maximum, and one page of the grants, newest first."""

    current: list[AuthorizationMaximum]


class AuthorizationGranted(Resource):
    id: int
    item_id: int
    kind: str
    cum_start_date: Date
    quantity: Quantity
    maximum: Quantity
    granted_at: Moment


class ForecastDraftCreate(Body):
    """An unpublished version: every item's weeks, as a publication gives them; the what-if compares it with the
    latest version before it is published."""

    note: Text | None = None
    buckets: Annotated[list[ForecastBucketIn], Field(min_length=1, max_length=MAX_ENTRIES),
                       WrapValidator(_checked_buckets)]


class ForecastDraftCells(Body):
    """Cells to set in a draft (a quantity of 0 cuts the cell to nothing)."""

    buckets: Annotated[list[ForecastBucketIn], Field(min_length=1, max_length=5000)]


class ForecastDraftPublish(Body):
    reason: Text | None = Field(default=None, description="Why firm-zone quantities are cut (required if any is).")


class ForecastDraft(Resource):
    """A draft version of the prime's planner (never shown to the supplier)."""

    id: int
    relationship_id: int
    import_id: int | None
    base_version_no: int
    note: str
    bucket_count: int
    created_at: Moment


class ForecastDraftPublished(Resource):
    """The published version, or (for an import's draft) the import it confirmed."""

    version_no: int | None
    firm_cuts: int | None
    import_id: int | None
    import_status: str | None
