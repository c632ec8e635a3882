"""JSON API for supply relationships: routes attach to the shared /api/v1 blueprint."""
from __future__ import annotations

from flask import g

from cogrow.core.api import bp, etag, guard_path, operation, page_of
from cogrow.core.auth import requires
from cogrow.core.errors import ValidationFailed
from cogrow.relationships import services
from cogrow.relationships.models import STATUSES, SupplyRelationship
from cogrow.relationships.schemas import (
    Relationship, RelationshipInvite, RelationshipInvited, RelationshipQuery, RelationshipTermsChange,
)

# A bad body sent for a relationship the caller cannot see is answered 404, like any other request for it.
guard_path("relationship_id", services.get_relationship)


def _one(rel: SupplyRelationship) -> tuple[Relationship, dict[str, str]]:
    return Relationship.model_validate(rel), {"ETag": etag(rel.version)}


_GET_AFTER_CREATE = {
    "GetRelationship": {"operationId": "getRelationship", "parameters": {"relationship_id": "$response.body#/id"}},
    "AcceptRelationship": {"operationId": "acceptRelationship",
                           "parameters": {"relationship_id": "$response.body#/id"}},
}


@bp.get("/relationships")
@requires(api=True)
@operation("listRelationships", tag="relationships", query=RelationshipQuery, response=page_of(Relationship))
def relationships_index(query: RelationshipQuery):
    """The relationships the caller's organisation is a side of, by id; `status` filters them."""
    if query.status is not None and query.status not in STATUSES:
        raise ValidationFailed("Unknown status.", fields={"status": f"must be one of {', '.join(STATUSES)}"})
    rels = services.list_relationships(g.actor, status=query.status, limit=query.limit, offset=query.offset)
    return page_of(Relationship)(data=[Relationship.model_validate(r) for r in rels], limit=query.limit,
                                 offset=query.offset)


@bp.post("/relationships")
@requires("admin", kind="prime", api=True)
@operation("createRelationship", tag="relationships", body=RelationshipInvite, response=RelationshipInvited,
           status=201, etag=True, links=_GET_AFTER_CREATE)
def relationships_create(body: RelationshipInvite):
    """Invite a supplier (the prime's admin); a supplier new to Cogrow gets an admin invitation, its token shown once."""
    rel, raw = services.invite_supplier(g.actor, body.model_dump())
    answer = RelationshipInvited.model_validate(rel)
    answer.supplier_admin_invitation_token = raw
    return answer, {"ETag": etag(rel.version)}


@bp.get("/relationships/<int:relationship_id>")
@requires(api=True)
@operation("getRelationship", tag="relationships", response=Relationship, etag=True)
def relationships_show(relationship_id: int):
    """One relationship and its terms, with its version in the ETag."""
    return _one(services.get_relationship(g.actor, relationship_id))


@bp.patch("/relationships/<int:relationship_id>")
@requires("admin", kind="prime", api=True)
@operation("updateRelationshipTerms", tag="relationships", body=RelationshipTermsChange, response=Relationship,
           etag=True, if_match=True)
def relationships_update(relationship_id: int, body: RelationshipTermsChange, version: int):
    """Change the terms (the prime's admin; If-Match: the relationship's ETag); every item is reconciled again."""
    return _one(services.update_terms(g.actor, relationship_id, body.model_dump(exclude_unset=True), version))


@bp.post("/relationships/<int:relationship_id>/accept")
@requires("admin", kind="supplier", api=True)
@operation("acceptRelationship", tag="relationships", response=Relationship, etag=True)
def relationships_accept(relationship_id: int):
    """The invited supplier's admin accepts the relationship."""
    return _one(services.accept(g.actor, relationship_id))


@bp.post("/relationships/<int:relationship_id>/suspend")
@requires("admin", kind="prime", api=True)
@operation("suspendRelationship", tag="relationships", response=Relationship, etag=True)
def relationships_suspend(relationship_id: int):
    """The prime's admin suspends an active relationship."""
    return _one(services.set_status(g.actor, relationship_id, "suspended"))


@bp.post("/relationships/<int:relationship_id>/reactivate")
@requires("admin", kind="prime", api=True)
@operation("reactivateRelationship", tag="relationships", response=Relationship, etag=True)
def relationships_reactivate(relationship_id: int):
    """The prime's admin reactivates a suspended relationship."""
    return _one(services.set_status(g.actor, relationship_id, "active"))
