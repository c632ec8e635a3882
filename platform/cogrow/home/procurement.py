"""The procurement home page: its work queue."""
from __future__ import annotations

from cogrow.catalog import services as catalog
from cogrow.relationships import services as relationships


def context(actor) -> dict:
    return {"relationships": relationships.list_relationships(actor),
            "item_counts": catalog.count_items_by_relationship(actor)}
