"""What the API accepts and answers for alerts, the inbox and webhook endpoints."""
from __future__ import annotations

from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import Field, PlainValidator, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from cogrow.alerts.models import ALERT_TYPES, SEVERITIES, WEBHOOK_STATUSES
from cogrow.alerts.services import SORTS, STATUS_FILTERS
from cogrow.core.fields import FieldError, integer
from cogrow.core.schema import (
    MAX_BIG_ID, MAX_ID, Amount, Body, Flag, Moment, PageQuery, Query, Resource, SignedQuantity, choice_type, int_type,
    text_type,
)


def _refuse(message: Any) -> PydanticCustomError:
    return PydanticCustomError("cogrow", "{reason}", {"reason": str(message)})


def id_list_type(message: Any, *, maximum: int = MAX_ID, min_items: int = 1, max_items: int | None = 500) -> Any:
    """A list of row ids written as JSON integers (never text, booleans or fractions), refused as a whole with
    `message` so that the error names the list, not one of its members."""
    def check(value: Any) -> list[int]:
        if (not isinstance(value, list) or len(value) < min_items
                or (max_items is not None and len(value) > max_items)
                or any(type(i) is not int for i in value)):
            raise _refuse(message)
        try:
            return [integer(i, minimum=1, maximum=maximum) for i in value]
        except FieldError:
            raise _refuse(message) from None
    schema: dict[str, Any] = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": maximum},
                              "minItems": min_items}
    if max_items is not None:
        schema["maxItems"] = max_items
    return Annotated[list[int], PlainValidator(check), WithJsonSchema(schema)]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # absent is not null: the parameter is just not sent


def documented(schema: dict[str, Any]) -> Any:
    """A query parameter the view checks itself (a 422 naming it, as the pages answer), declared for the document."""
    return Annotated[str | None, WithJsonSchema(schema), Field(json_schema_extra=_no_default)]


def _documented(*choices: str) -> Any:
    return documented({"type": "string", "enum": list(choices)})


Comment = text_type(max_length=2000)


def _required(value: str) -> str:
    if not value:
        raise _refuse(_l("This field is required."))
    return value


# --- requests --------------------------------------------------------------------------------------------------

class AlertQuery(PageQuery):
    """Filters of the alert list; `services.parse_filter` checks them, for the inbox page and the API alike."""

    status: Annotated[str, WithJsonSchema({"type": "string", "enum": list(STATUS_FILTERS)})] = "live"
    type: _documented(*ALERT_TYPES) = None
    severity: _documented(*SEVERITIES) = None
    relationship_id: documented({"type": "integer", "minimum": 1, "maximum": MAX_ID}) = None
    sort: Annotated[str, WithJsonSchema({"type": "string", "enum": list(SORTS)})] = "severity"


class AlertComment(Body):
    comment: Comment

    _named = field_validator("comment")(_required)


class AlertSnooze(Body):
    """Snooze the alert for the caller's side until `until` (at most 90 days ahead)."""

    until: Moment


class AlertResolve(Body):
    """An optional note; the body itself may be left out."""

    note: Comment | None = None

    @field_validator("note")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class AlertBulk(Body):
    """Acknowledge or resolve up to 500 alerts; alerts the action does not apply to are skipped and counted."""

    action: choice_type("acknowledge", "resolve", name="AlertBulkAction")
    ids: id_list_type(_l("A list of 1 to 500 alert ids."))


class NotificationQuery(Query):
    unread: Flag = False


class NotificationsRead(Body):
    """Mark these inbox entries read; without `ids` (or with null), every unread one."""

    ids: id_list_type(_l("A list of notification ids."), maximum=MAX_BIG_ID, min_items=0, max_items=None) | None = None


class WebhookEndpointCreate(Body):
    url: text_type(max_length=2000)
    description: text_type(max_length=200) | None = None

    _named = field_validator("url")(_required)


class WebhookDeliveryQuery(Query):
    limit: int_type(minimum=1, maximum=500) = 100
    # Checked by the view (a 422 naming it), declared here for the document.
    status: _documented(*WEBHOOK_STATUSES) = None


# --- answers ---------------------------------------------------------------------------------------------------

class Alert(Resource):
    """An alert as the caller's side sees it: `status`, `snoozed_until` and `acknowledged_*` are that side's own;
    `alert_status` is the alert's. `exposure` and `amount` are in `currency` (the relationship's)."""

    id: int
    type: str
    status: str
    alert_status: str
    side: str | None
    owner_side: str
    may_resolve: bool
    severity: str
    relationship_id: int
    item_id: int
    prime_part_number: str
    exposure: Amount
    measure: str | None
    qty: SignedQuantity | None
    amount: Amount
    currency: str
    numbers: dict[str, Any] | None
    context: dict[str, Any] | None
    explanation: str
    opened_at: Moment
    updated_at: Moment
    resolved_at: Moment | None
    snoozed_until: Moment | None
    acknowledged_at: Moment | None
    acknowledged_by_id: int | None
    resolved_by_id: int | None
    version: int


class AlertEvent(Resource):
    """One entry of an alert's history; `qty` and `amount` are its figures then, `amount` in `currency`."""

    id: str = Field(description="The event's UUID (webhooks send it as the message id).")
    kind: str
    at: Moment
    severity: str
    status: str
    user_id: int | None
    token_id: int | None
    automatic: bool
    comment: str | None
    snoozed_until: Moment | None
    qty: SignedQuantity | None
    amount: SignedQuantity | None
    currency: str
    reason: str | None
    side: str | None
    numbers: dict[str, Any] | None


class AlertEventList(Resource):
    data: list[AlertEvent]


class AlertBulkResult(Resource):
    changed: int
    skipped: int
    skipped_by_reason: dict[str, int]


class Notification(Resource):
    id: int
    alert_id: int
    event: AlertEvent
    created_at: Moment
    read_at: Moment | None


class NotificationList(Resource):
    data: list[Notification]
    unread: int


class NotificationsMarked(Resource):
    marked: int


class WebhookEndpoint(Resource):
    id: int
    url: str
    description: str | None
    active: bool
    disabled_reason: str | None
    created_at: Moment
    version: int


class WebhookEndpointCreated(WebhookEndpoint):
    """The new endpoint with its signing secret, which no other answer shows."""

    secret: str


class WebhookEndpointList(Resource):
    data: list[WebhookEndpoint]


class WebhookDelivery(Resource):
    id: int
    endpoint_id: int
    event_id: str
    alert_id: int
    status: str
    attempts: int
    next_attempt_at: Moment | None
    last_status_code: int | None
    last_error: str | None
    created_at: Moment
    delivered_at: Moment | None


class WebhookDeliveryList(Resource):
    data: list[WebhookDelivery]
