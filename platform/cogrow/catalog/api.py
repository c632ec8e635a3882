"""JSON API for the item catalog of a relationship."""
from __future__ import annotations

from flask import g, jsonify

from cogrow.catalog import schemas, services
from cogrow.catalog.models import Item
from cogrow.core.api import bp, decimal_str, etag, json_body, page_args, required_version
from cogrow.core.auth import requires
from cogrow.relationships import services as relationships


def item_json(item: Item) -> dict:
    return {
        "id": item.id,
        "relationship_id": item.relationship_id,
        "prime_part_number": item.prime_part_number,
        "supplier_part_number": item.supplier_part_number,
        "description": item.description,
        "uom": item.uom,
        "unit_price": decimal_str(item.unit_price),
        "currency": item.currency,
        "lead_time_days": item.lead_time_days,
        "active": item.active,
        "version": item.version,
    }


def _one(item: Item, status: int = 200):
    response = jsonify(item_json(item))
    response.status_code = status
    response.headers["ETag"] = etag(item.version)
    return response


@bp.get("/relationships/<int:relationship_id>/items")
@requires(api=True)
def items_index(relationship_id: int):
    limit, offset = page_args()
    items = services.list_items(g.actor, relationship_id, limit=limit, offset=offset)
    return jsonify({"data": [item_json(i) for i in items], "limit": limit, "offset": offset})


@bp.post("/relationships/<int:relationship_id>/items")
@requires("admin", "planner", kind="prime", api=True)
def items_create(relationship_id: int):
    relationships.get_relationship(g.actor, relationship_id)  # a foreign relationship is 404 before any 422
    return _one(services.create_item(g.actor, relationship_id, schemas.parse_item(json_body())), 201)


@bp.get("/relationships/<int:relationship_id>/items/<int:item_id>")
@requires(api=True)
def items_show(relationship_id: int, item_id: int):
    return _one(services.get_item(g.actor, relationship_id, item_id))


@bp.patch("/relationships/<int:relationship_id>/items/<int:item_id>")
@requires("admin", "planner", "production", api=True)
def items_update(relationship_id: int, item_id: int):
    version = required_version()
    values = schemas.parse_item(json_body(), partial=True)
    return _one(services.update_item(g.actor, relationship_id, item_id, values, version))
