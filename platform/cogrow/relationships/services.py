"""Supply relationship use cases: invite a supplier, accept, suspend, and change terms."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from cogrow.accounts import services as accounts
from cogrow.accounts.models import Membership, Organisation, User
from cogrow.core import audit, outbox
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from cogrow.extensions import db
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.relationships")

DEFAULT_TERMS: dict[str, Any] = {
    "firm_fence_weeks": 4, "material_fence_weeks": 8, "currency": "KRW", "material_share": Decimal("0.5"),
    "over_delivery_pct": Decimal("0"), "po_ack_days": 3, "due_date_tolerance_days": 0,
}


def _visible_to(actor: Actor):
    return or_(SupplyRelationship.prime_id == actor.organisation_id, SupplyRelationship.supplier_id == actor.organisation_id)


def list_relationships(actor: Actor, status: str | None = None, limit: int = 500, offset: int = 0) -> list[SupplyRelationship]:
    query = (select(SupplyRelationship).where(_visible_to(actor))
             .options(joinedload(SupplyRelationship.prime), joinedload(SupplyRelationship.supplier))
             .order_by(SupplyRelationship.id).limit(limit).offset(offset))
    if status:
        query = query.where(SupplyRelationship.status == status)
    return list(db.session.scalars(query))


def get_relationship(actor: Actor, relationship_id: int) -> SupplyRelationship:
    """The relationship if the actor's organisation is one of its sides; otherwise 404, never 403."""
    rel = db.session.scalar(select(SupplyRelationship).where(
        SupplyRelationship.id == relationship_id, _visible_to(actor)))
    if rel is None:
        raise NotFound("No such relationship.")
    return rel


def _check_fences(values: dict[str, Any], rel: SupplyRelationship | None = None) -> None:
    firm = values.get("firm_fence_weeks", rel.firm_fence_weeks if rel else DEFAULT_TERMS["firm_fence_weeks"])
    material = values.get("material_fence_weeks", rel.material_fence_weeks if rel else DEFAULT_TERMS["material_fence_weeks"])
    if material < firm:
        raise ValidationFailed("The material fence cannot come before the firm fence.",
                               fields={"material_fence_weeks": _("Must be at least the firm fence.")})


def _check_currency(values: dict[str, Any], rel: SupplyRelationship) -> None:
    """A relationship's currency is its items' price currency and its threshold's: once it has items, prices,
    POs and exposure history are in that currency, and changing the label would not convert them."""
    currency = values.get("currency")
    if currency is None or currency == rel.currency:
        return
    from cogrow.catalog.models import Item  # catalog depends on relationships, not the other way round

    if db.session.scalar(select(Item.id).where(Item.relationship_id == rel.id).limit(1)) is not None:
        raise ValidationFailed("The currency cannot change once the relationship has items.",
                               fields={"currency": _("Items are priced in %(currency)s; the currency cannot change "
                                                     "once there are items.", currency=rel.currency)})


def _terms(values: dict[str, Any]) -> dict[str, Any]:
    keys = ("firm_fence_weeks", "material_fence_weeks", "currency", "material_share",
            "threshold_units", "threshold_amount", "threshold_pct", "over_delivery_pct", "po_ack_days",
            "due_date_tolerance_days")
    out = {k: values[k] for k in keys if k in values}
    for key in ("currency", "material_share", "over_delivery_pct", "po_ack_days", "due_date_tolerance_days"):
        if out.get(key) is None:
            out.pop(key, None)  # an omitted term keeps its default
    return out


def invite_supplier(actor: Actor, values: dict[str, Any]) -> tuple[SupplyRelationship, str | None]:
    """A prime invites a supplier, known by its admin's e-mail; a supplier not on Cogrow yet is created.

    Returns the relationship and, for a new supplier, the admin invitation token to send them.
    """
    if not actor.is_prime:
        raise Forbidden("Only a prime invites suppliers.")
    _check_fences(values)
    email = values["contact_email"]
    supplier = db.session.scalar(
        select(Organisation).join(Membership).join(User)
        .where(User.email == email, Membership.role == "admin", Organisation.kind == "supplier")
        .order_by(Organisation.id).limit(1))
    raw_token = None
    if supplier is None:
        supplier = accounts.create_organisation(values["supplier_name"], "supplier")
        audit.record(actor, "organisation.created", supplier, organisation_id=supplier.id)
        raw_token = accounts.invite_admin_of(supplier.id, email, actor)[1]
    exists = db.session.scalar(select(SupplyRelationship).where(
        SupplyRelationship.prime_id == actor.organisation_id, SupplyRelationship.supplier_id == supplier.id))
    if exists is not None:
        raise Conflict("This supplier already has a relationship with you.", state=exists.status,
                       fields={"contact_email": _("Already a supplier of yours.")})
    rel = SupplyRelationship(prime_id=actor.organisation_id, supplier_id=supplier.id, status="invited",
                             invited_by_id=actor.user_id, **{**DEFAULT_TERMS, **_terms(values)})
    db.session.add(rel)
    db.session.flush()
    audit.record(actor, "relationship.invited", rel, detail={"supplier_id": supplier.id})
    db.session.commit()
    logger.info("relationship %s: prime %s invited supplier %s", rel.id, rel.prime_id, rel.supplier_id)
    return rel, raw_token


def accept(actor: Actor, relationship_id: int) -> SupplyRelationship:
    rel = get_relationship(actor, relationship_id)
    if actor.organisation_id != rel.supplier_id:
        raise Forbidden("Only the invited supplier accepts.")
    if rel.status != "invited":
        raise Conflict("Only an invited relationship can be accepted.", state=rel.status)
    rel.status = "active"
    rel.accepted_at = datetime.now(timezone.utc)
    audit.record(actor, "relationship.accepted", rel)
    db.session.commit()
    return rel


def set_status(actor: Actor, relationship_id: int, status: str) -> SupplyRelationship:
    """The prime suspends an active relationship or reactivates a suspended one."""
    rel = get_relationship(actor, relationship_id)
    if actor.organisation_id != rel.prime_id:
        raise Forbidden("Only the prime suspends or reactivates.")
    allowed = {("active", "suspended"), ("suspended", "active")}
    if (rel.status, status) not in allowed:
        raise Conflict(f"A relationship that is {rel.status} cannot become {status}.", state=rel.status)
    before = rel.status
    rel.status = status
    audit.record(actor, "relationship.status_changed", rel, detail={"from": before, "to": status})
    db.session.commit()
    return rel


def update_terms(actor: Actor, relationship_id: int, values: dict[str, Any], expected_version: int) -> SupplyRelationship:
    """The prime changes the terms; a stale version is refused with 412."""
    rel = get_relationship(actor, relationship_id)
    if actor.organisation_id != rel.prime_id:
        raise Forbidden("Only the prime sets the terms.")
    if rel.version != expected_version:
        raise PreconditionFailed("The terms changed since you read them.", current_version=rel.version)
    _check_fences(values, rel)
    _check_currency(values, rel)
    changes = audit.apply_changes(rel, _terms(values))
    if changes:
        audit.record(actor, "relationship.terms_changed", rel, detail=changes)
        # Fences, shares and thresholds change every item's ledger and alerts.
        outbox.enqueue_reconcile(rel.id, None, "terms_changed")
        try:
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            raise PreconditionFailed("The terms changed since you read them.") from None
    return rel

