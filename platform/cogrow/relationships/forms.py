"""The relationship pages' forms: inviting a supplier, and the terms (WTForms through cogrow.core.forms).

The bounds are those of `schemas.terms_fields`, which the JSON API uses; both parse through cogrow.core.fields.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from cogrow.core.forms import (
    BaseForm, DecimalField, EmailField, HiddenField, IntegerField, SelectField, TextField, choices,
)
from cogrow.relationships.schemas import CURRENCIES

TERMS = ("firm_fence_weeks", "material_fence_weeks", "currency", "material_share", "threshold_units",
         "threshold_amount", "threshold_pct", "over_delivery_pct", "po_ack_days", "due_date_tolerance_days")
NEW_TERMS = {"firm_fence_weeks": 4, "material_fence_weeks": 8, "currency": "KRW", "material_share": Decimal("0.5")}


class TermsForm(BaseForm):
    firm_fence_weeks = IntegerField(_l("Firm fence (weeks)"), required=True, minimum=0, maximum=52)
    material_fence_weeks = IntegerField(_l("Material fence (weeks)"), required=True, minimum=0, maximum=104)
    currency = SelectField(_l("Currency"), choices=choices((c, c) for c in CURRENCIES), default="KRW")
    material_share = DecimalField(_l("Material share (0–1)"), minimum=0, maximum=1, scale=4)
    threshold_units = DecimalField(_l("Alert threshold (units)"), minimum=0)
    # In the relationship's currency (the field above): the page labels it with that currency.
    threshold_amount = DecimalField(_l("Alert threshold (amount)"), minimum=0, scale=2)
    threshold_pct = DecimalField(_l("Alert threshold (fraction of guaranteed)"), minimum=0, maximum=Decimal("10"))
    over_delivery_pct = DecimalField(_l("Over-delivery tolerance (fraction of ordered)"), minimum=0, maximum=1)
    po_ack_days = IntegerField(_l("Days to acknowledge a PO"), minimum=0, maximum=365)
    due_date_tolerance_days = IntegerField(_l("Due-date tolerance (days)"), minimum=0, maximum=30)

    def terms(self) -> dict[str, Any]:
        """The parsed terms, as `schemas.parse_terms` returns them (empty optional fields are None)."""
        return {name: self[name].data for name in TERMS}


class EditTermsForm(TermsForm):
    version = HiddenField()


class InviteSupplierForm(TermsForm):
    supplier_name = TextField(_l("Supplier name"), max_length=200, required=True)
    contact_email = EmailField(_l("Supplier admin's e-mail"), required=True)

    def values(self) -> dict[str, Any]:
        return {"supplier_name": self.supplier_name.data, "contact_email": self.contact_email.data, **self.terms()}
