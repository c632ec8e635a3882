"""What the API accepts and answers for items (the forms in catalog/forms.py read the same fields with the same
parsers)."""
from __future__ import annotations

from pydantic import Field

from cogrow.core.schema import Body, Flag, PartNumber, Quantity, Resource, choice_type, int_type, text_type
from cogrow.relationships.schemas import CURRENCIES

UOMS = ("EA", "SET", "KG", "G", "M", "MM", "L", "BOX", "PACK", "ROLL", "SHEET")
# The prime defines an item; the supplier only adds its own part number.
PRIME_FIELDS = ("prime_part_number", "supplier_part_number", "description", "uom", "unit_price", "currency",
                "lead_time_days", "active")
SUPPLIER_FIELDS = ("supplier_part_number",)

Uom = choice_type(*UOMS, upper=True, name="Uom")
Currency = choice_type(*CURRENCIES, upper=True, name="Currency")
LeadTime = int_type(minimum=0, maximum=3650)
Description = text_type(max_length=500)


class ItemChange(Body):
    """The fields to change; absent ones stay as they are. A supplier may change only `supplier_part_number`."""

    prime_part_number: PartNumber = Field(default=None)
    supplier_part_number: PartNumber | None = None
    description: Description | None = None
    uom: Uom | None = None
    unit_price: Quantity | None = None
    currency: Currency | None = None
    lead_time_days: LeadTime | None = None
    active: Flag | None = None


class ItemCreate(ItemChange):
    """A new item of the relationship's catalog (the prime's admin or planner)."""

    prime_part_number: PartNumber


class Item(Resource):
    id: int
    relationship_id: int
    prime_part_number: str
    supplier_part_number: str | None
    description: str | None
    uom: str
    unit_price: Quantity | None
    currency: str
    lead_time_days: int | None
    active: bool
    version: int
