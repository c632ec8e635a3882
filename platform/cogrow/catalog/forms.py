"""The item pages' forms (WTForms through cogrow.core.forms): the prime's item form and the supplier's part number.

The fields parse as `catalog.schemas.parse_item` does for the JSON API (the same parsers of cogrow.core.fields),
with the grouping the pages show accepted in numbers ("15,000.5"). The version the edit form was rendered with is a
hidden field read by `form_version` (412 when stale, as everywhere).
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from cogrow.catalog.schemas import UOMS
from cogrow.core.forms import (BaseForm, DecimalField, HiddenField, IntegerField, PartNumberField, SelectField,
                               TextField, choices)


class ItemForm(BaseForm):
    """The prime's item: added on the list page, edited on the item's page."""

    version = HiddenField()
    prime_part_number = PartNumberField(_l("Prime's part number"), max_length=64, required=True)
    supplier_part_number = PartNumberField(_l("Supplier's part number"), max_length=64)
    description = TextField(_l("Description"), max_length=500)
    uom = SelectField(_l("Unit"), default="EA", choices=choices((u, u) for u in UOMS))
    unit_price = DecimalField(_l("Unit price"), minimum=0, scale=4)
    lead_time_days = IntegerField(_l("Lead time (days)"), minimum=0, maximum=3650)

    def values(self) -> dict[str, Any]:
        """What the service takes: a blank optional field is None (left as it is, or the default; a blank
        supplier's part number clears it)."""
        values = {name: self[name].data for name in ("prime_part_number", "supplier_part_number", "description",
                                                      "unit_price", "lead_time_days")}
        values["uom"] = self.uom.data if self.uom.raw_data else None  # not posted: the default, or unchanged
        return values

    @classmethod
    def for_item(cls, item) -> "ItemForm":
        return cls(formdata=None, version=str(item.version), prime_part_number=item.prime_part_number,
                   supplier_part_number=item.supplier_part_number, description=item.description, uom=item.uom,
                   unit_price=item.unit_price, lead_time_days=item.lead_time_days)


class SupplierItemForm(BaseForm):
    """The supplier's own part number for the prime's item."""

    version = HiddenField()
    supplier_part_number = PartNumberField(_l("Your part number"), max_length=64)

    def values(self) -> dict[str, Any]:
        return {"supplier_part_number": self.supplier_part_number.data}
