"""JSON API for the item catalog of a relationship."""
from __future__ import annotations

from flask import g

from cogrow.catalog import services
from cogrow.catalog.models import Item as ItemRow
from cogrow.catalog.schemas import Item, ItemChange, ItemCreate
from cogrow.core.api import bp, etag, operation, page_of
from cogrow.core.auth import requires
from cogrow.core.schema import PageQuery


def _one(item: ItemRow) -> tuple[Item, dict[str, str]]:
    return Item.model_validate(item), {"ETag": etag(item.version)}


@bp.get("/relationships/<int:relationship_id>/items")
@requires(api=True)
@operation("listItems", tag="catalog", query=PageQuery, response=page_of(Item))
def items_index(relationship_id: int, query: PageQuery):
    """The relationship's items, by prime part number."""
    items = services.list_items(g.actor, relationship_id, limit=query.limit, offset=query.offset)
    return page_of(Item)(data=[Item.model_validate(i) for i in items], limit=query.limit, offset=query.offset)


@bp.post("/relationships/<int:relationship_id>/items")
@requires("admin", "planner", kind="prime", api=True)
@operation("createItem", tag="catalog", body=ItemCreate, response=Item, status=201, etag=True)
def items_create(relationship_id: int, body: ItemCreate):
    """Add an item to the relationship's catalog."""
    return _one(services.create_item(g.actor, relationship_id, body.model_dump(exclude_unset=True)))


@bp.get("/relationships/<int:relationship_id>/items/<int:item_id>")
@requires(api=True)
@operation("getItem", tag="catalog", response=Item, etag=True)
def items_show(relationship_id: int, item_id: int):
    """One item, with its version in the ETag."""
    return _one(services.get_item(g.actor, relationship_id, item_id))


@bp.patch("/relationships/<int:relationship_id>/items/<int:item_id>")
@requires("admin", "planner", "production", api=True)
@operation("updateItem", tag="catalog", body=ItemChange, response=Item, etag=True, if_match=True)
def items_update(relationship_id: int, item_id: int, body: ItemChange, version: int):
    """Change an item's fields (If-Match: its ETag)."""
    return _one(services.update_item(g.actor, relationship_id, item_id, body.model_dump(exclude_unset=True), version))
