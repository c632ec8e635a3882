"""What a valid item is, for forms and the API alike."""
from __future__ import annotations

from typing import Any, Mapping

from cogrow.core.validation import Fields
from cogrow.relationships.schemas import CURRENCIES

UOMS = ("EA", "SET", "KG", "G", "M", "MM", "L", "BOX", "PACK", "ROLL", "SHEET")
# The prime defines an item; the supplier only adds its own part number.
PRIME_FIELDS = ("prime_part_number", "supplier_part_number", "description", "uom", "unit_price", "currency",
                "lead_time_days", "active")
SUPPLIER_FIELDS = ("supplier_part_number",)


def parse_item(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    f = Fields(data, partial=partial)
    f.text("prime_part_number", required=True, max_length=64, code=True, upper=True)
    f.text("supplier_part_number", max_length=64, code=True, upper=True)
    f.text("description", max_length=500)
    f.text("uom", max_length=16, choices=UOMS, upper=True)
    f.decimal("unit_price", minimum=0, scale=4)
    f.text("currency", max_length=3, choices=CURRENCIES, upper=True)
    f.integer("lead_time_days", minimum=0, maximum=3650)
    f.boolean("active")
    return f.done()
