"""Item catalog use cases, always within one relationship the actor is a side of."""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from cogrow.catalog.models import Item
from cogrow.catalog.schemas import PRIME_FIELDS, SUPPLIER_FIELDS
from cogrow.core import audit, outbox
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from cogrow.coverage import services as coverage
from cogrow.extensions import db
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.catalog")

DEFAULTS: dict[str, Any] = {"description": "", "uom": "EA", "unit_price": Decimal("0"), "lead_time_days": 0, "active": True}
# The item fields that the coverage ledger reads: exposure is priced in them, the shortage window is the lead time.
LEDGER_FIELDS = ("unit_price", "currency", "lead_time_days")


def list_items(actor: Actor, relationship_id: int, limit: int = 500, offset: int = 0) -> list[Item]:
    relationships.get_relationship(actor, relationship_id)
    return list(db.session.scalars(select(Item).where(Item.relationship_id == relationship_id)
                                   .order_by(Item.prime_part_number).limit(limit).offset(offset)))


def count_items_by_relationship(actor: Actor) -> dict[int, int]:
    rows = db.session.execute(
        select(Item.relationship_id, func.count()).join(SupplyRelationship)
        .where(relationships._visible_to(actor)).group_by(Item.relationship_id))
    return {rel_id: count for rel_id, count in rows}


def count_items(actor: Actor, relationship_id: int) -> int:
    relationships.get_relationship(actor, relationship_id)
    return db.session.scalar(select(func.count()).select_from(Item).where(Item.relationship_id == relationship_id)) or 0


def get_item(actor: Actor, relationship_id: int, item_id: int) -> Item:
    relationships.get_relationship(actor, relationship_id)
    item = db.session.scalar(select(Item).where(Item.id == item_id, Item.relationship_id == relationship_id))
    if item is None:
        raise NotFound("No such item in this relationship.")
    return item


def _editable(rel: SupplyRelationship) -> None:
    if rel.status == "suspended":
        raise Conflict("The relationship is suspended: its catalog cannot change.", state=rel.status)


def _clean(values: dict[str, Any], rel: SupplyRelationship) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if v is not None or k == "supplier_part_number"}
    currency = out.get("currency")
    if currency is not None and currency != rel.currency:
        raise ValidationFailed("An item is priced in its relationship's currency.",
                               fields={"currency": _("Must be %(currency)s.", currency=rel.currency)})
    return out


def create_item(actor: Actor, relationship_id: int, values: dict[str, Any]) -> Item:
    rel = relationships.get_relationship(actor, relationship_id)
    if actor.organisation_id != rel.prime_id:
        raise Forbidden("The prime defines the items; a supplier adds its own part numbers.")
    _editable(rel)
    fields = {**DEFAULTS, "currency": rel.currency, **_clean(values, rel)}
    item = Item(relationship_id=rel.id, **fields)
    db.session.add(item)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed("This part number is already in the catalog.",
                               fields={"prime_part_number": _("Already in this relationship's catalog.")}) from None
    audit.record(actor, "item.created", item, detail={"prime_part_number": item.prime_part_number})
    coverage.open_ledger(rel.id, [item.id])  # its (empty) ledger exists from the start, not at the next sweep
    db.session.commit()
    logger.info("item %s added to relationship %s", item.id, rel.id)
    return item


def update_item(actor: Actor, relationship_id: int, item_id: int, values: dict[str, Any], expected_version: int) -> Item:
    item = get_item(actor, relationship_id, item_id)
    rel = item.supply_relationship
    _editable(rel)
    allowed = PRIME_FIELDS if actor.organisation_id == rel.prime_id else SUPPLIER_FIELDS
    refused = sorted(k for k in values if k not in allowed)
    if refused:
        raise Forbidden("These fields are set by the prime.", fields={k: _("Set by the prime.") for k in refused})
    if item.version != expected_version:
        raise PreconditionFailed("The item changed since you read it.", current_version=item.version)
    changes = audit.apply_changes(item, _clean(values, rel))
    if changes:
        audit.record(actor, "item.updated", item, detail=changes)
        if any(name in changes for name in LEDGER_FIELDS):
            outbox.enqueue_reconcile(rel.id, [item.id], "item.updated")
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise ValidationFailed("This part number is already in the catalog.",
                                   fields={"prime_part_number": _("Already in this relationship's catalog.")}) from None
        except StaleDataError:
            db.session.rollback()
            raise PreconditionFailed("The item changed since you read it.") from None
    return item

