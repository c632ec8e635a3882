"""The forecast pages' HTML forms on WTForms (cogrow.core.forms): fields parse through cogrow.core.fields, like the
JSON API and the importers; business rules (a period's maximum never decreases) stay in the services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from cogrow.core.forms import BaseForm, DateField, QuantityField, SelectField
from cogrow.forecasts.models import AUTHORIZATION_KINDS


class GrantForm(BaseForm):
    """One cumulative authorization: item, FAB/RAW, cumulative start date, quantity."""

    item_id = SelectField(_l("Item"), required=True)
    kind = SelectField(_l("Kind"), required=True)
    cum_start_date = DateField(_l("Cumulative start date"), required=True)
    quantity = QuantityField(_l("Cumulative quantity"), required=True)

    @classmethod
    def for_items(cls, items, **defaults) -> "GrantForm":
        form = cls(**defaults)  # the posted form when there is one
        form.item_id.choices = [(str(item.id), item.prime_part_number) for item in items]
        form.kind.choices = [(kind, kind) for kind in AUTHORIZATION_KINDS]
        return form
