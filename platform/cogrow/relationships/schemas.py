"""What valid relationship terms are, for forms and the API alike."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from cogrow.core.validation import Fields

CURRENCIES = ("KRW", "USD", "EUR", "JPY", "CNY")


def terms_fields(data: Mapping[str, Any], fields: Fields | None = None, *, partial: bool = False) -> Fields:
    f = fields or Fields(data, partial=partial)
    f.integer("firm_fence_weeks", required=not partial, minimum=0, maximum=52)
    f.integer("material_fence_weeks", required=not partial, minimum=0, maximum=104)
    f.text("currency", max_length=3, choices=CURRENCIES, upper=True)
    f.decimal("material_share", minimum=0, maximum=1, scale=4)
    f.decimal("threshold_units", minimum=0)
    f.decimal("threshold_amount", minimum=0, scale=2)  # in the relationship's currency
    f.decimal("threshold_pct", minimum=0, maximum=Decimal("10"), scale=4)
    f.decimal("over_delivery_pct", minimum=0, maximum=1, scale=4)
    f.integer("po_ack_days", minimum=0, maximum=365)
    return f


def parse_terms(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    return terms_fields(data, partial=partial).done()


def parse_invite(data: Mapping[str, Any]) -> dict[str, Any]:
    f = Fields(data)
    f.text("supplier_name", required=True, max_length=200)
    f.email("contact_email", required=True)
    terms_fields(data, f)
    return f.done()
