"""What the API accepts and answers for supply relationships (the pages' WTForms in relationships/forms.py read the
same terms, with the same bounds, through the same parsers)."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from pydantic import Field, PlainValidator, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from cogrow.core.schema import Body, Moment, PageQuery, Resource, choice_type, decimal_type, int_type, text_type
from cogrow.relationships.models import STATUSES

CURRENCIES = ("KRW", "USD", "EUR", "JPY", "CNY")

Currency = choice_type(*CURRENCIES, upper=True, name="Currency")
FirmFence = int_type(minimum=0, maximum=52)
MaterialFence = int_type(minimum=0, maximum=104)
Share = decimal_type(minimum=0, maximum=1, scale=4)  # material share, over-delivery tolerance
Units = decimal_type(minimum=0)
ThresholdAmount = decimal_type(minimum=0, scale=2)  # in the relationship's currency
ThresholdPct = decimal_type(minimum=0, maximum=Decimal("10"), scale=4)
AckDays = int_type(minimum=0, maximum=365)
ToleranceDays = int_type(minimum=0, maximum=30)
SupplierName = text_type(max_length=200)


def _email(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("cogrow", "{reason}", {"reason": str(_l("Must be text."))})
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise PydanticCustomError("cogrow", "{reason}", {"reason": str(_l("Not a valid e-mail address."))}) from None


Email = Annotated[str, PlainValidator(_email), WithJsonSchema({"type": "string", "format": "email", "maxLength": 254})]


class _Terms(Body):
    """The terms both bodies share; a term left out keeps its value (or its default, for a new relationship)."""

    currency: Currency | None = None
    material_share: Share | None = None
    threshold_units: Units | None = None
    threshold_amount: ThresholdAmount | None = None
    threshold_pct: ThresholdPct | None = None
    over_delivery_pct: Share | None = None
    po_ack_days: AckDays | None = None
    due_date_tolerance_days: ToleranceDays | None = None


class RelationshipTermsChange(_Terms):
    """The terms to change; absent ones stay as they are. The fences may not be null; the material fence is never
    before the firm fence. The currency changes only while the relationship has no items."""

    firm_fence_weeks: FirmFence = Field(default=None)
    material_fence_weeks: MaterialFence = Field(default=None)


class RelationshipInvite(_Terms):
    """A prime invites a supplier, known by its admin's e-mail (a supplier new to Cogrow is created); terms left out
    take their defaults."""

    supplier_name: SupplierName
    contact_email: Email
    firm_fence_weeks: FirmFence
    material_fence_weeks: MaterialFence

    @field_validator("supplier_name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value:
            raise PydanticCustomError("cogrow", "{reason}", {"reason": str(_l("This field is required."))})
        return value


class RelationshipQuery(PageQuery):
    # Checked by the view (a 422 naming it, as before the declared layer); declared here for the document.
    status: Annotated[str | None, WithJsonSchema({"type": "string", "enum": list(STATUSES)}),
                      Field(json_schema_extra=lambda schema: schema.pop("default", None))] = None


class RelationshipSide(Resource):
    id: int
    name: str


class Relationship(Resource):
    id: int
    prime: RelationshipSide
    supplier: RelationshipSide
    status: str
    firm_fence_weeks: int
    material_fence_weeks: int
    currency: str
    material_share: Share
    threshold_units: Units | None
    threshold_amount: ThresholdAmount | None = Field(description="In `currency`.")
    threshold_pct: ThresholdPct | None
    over_delivery_pct: Share
    po_ack_days: int
    due_date_tolerance_days: int = Field(description="Days after the due date that a complete shipment still counts "
                                                     "as on time in OTIF.")
    version: int
    created_at: Moment
    accepted_at: Moment | None


class RelationshipInvited(Relationship):
    """The new relationship; for a supplier new to Cogrow, the admin invitation token to send them (shown once)."""

    supplier_admin_invitation_token: str = Field(default=None, exclude_if=lambda value: value is None)
