"""JSON API for supply relationships."""
from __future__ import annotations

from flask import g, jsonify, request

from cogrow.core.api import bp, decimal_str, etag, json_body, page_args, required_version
from cogrow.core.auth import requires
from cogrow.core.errors import ValidationFailed
from cogrow.relationships import schemas, services
from cogrow.relationships.models import STATUSES, SupplyRelationship


def relationship_json(rel: SupplyRelationship) -> dict:
    return {
        "id": rel.id,
        "prime": {"id": rel.prime_id, "name": rel.prime.name},
        "supplier": {"id": rel.supplier_id, "name": rel.supplier.name},
        "status": rel.status,
        "firm_fence_weeks": rel.firm_fence_weeks,
        "material_fence_weeks": rel.material_fence_weeks,
        "currency": rel.currency,
        "material_share": decimal_str(rel.material_share),
        "threshold_units": decimal_str(rel.threshold_units),
        "threshold_amount": decimal_str(rel.threshold_amount),  # in "currency"
        "threshold_pct": decimal_str(rel.threshold_pct),
        "over_delivery_pct": decimal_str(rel.over_delivery_pct),
        "po_ack_days": rel.po_ack_days,
        "version": rel.version,
        "created_at": rel.created_at.isoformat(),
        "accepted_at": rel.accepted_at.isoformat() if rel.accepted_at else None,
    }


def _one(rel: SupplyRelationship, status: int = 200, **extra):
    response = jsonify({**relationship_json(rel), **extra})
    response.status_code = status
    response.headers["ETag"] = etag(rel.version)
    return response


@bp.get("/relationships")
@requires(api=True)
def relationships_index():
    limit, offset = page_args()
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise ValidationFailed("Unknown status.", fields={"status": f"must be one of {', '.join(STATUSES)}"})
    rels = services.list_relationships(g.actor, status=status, limit=limit, offset=offset)
    return jsonify({"data": [relationship_json(r) for r in rels], "limit": limit, "offset": offset})


@bp.post("/relationships")
@requires("admin", kind="prime", api=True)
def relationships_create():
    rel, raw = services.invite_supplier(g.actor, schemas.parse_invite(json_body()))
    # A supplier new to Cogrow gets an admin invitation; its token is shown this once.
    return _one(rel, 201, **({"supplier_admin_invitation_token": raw} if raw else {}))


@bp.get("/relationships/<int:relationship_id>")
@requires(api=True)
def relationships_show(relationship_id: int):
    return _one(services.get_relationship(g.actor, relationship_id))


@bp.patch("/relationships/<int:relationship_id>")
@requires("admin", kind="prime", api=True)
def relationships_update(relationship_id: int):
    version = required_version()
    values = schemas.parse_terms(json_body(), partial=True)
    return _one(services.update_terms(g.actor, relationship_id, values, version))


@bp.post("/relationships/<int:relationship_id>/accept")
@requires("admin", kind="supplier", api=True)
def relationships_accept(relationship_id: int):
    return _one(services.accept(g.actor, relationship_id))


@bp.post("/relationships/<int:relationship_id>/suspend")
@requires("admin", kind="prime", api=True)
def relationships_suspend(relationship_id: int):
    return _one(services.set_status(g.actor, relationship_id, "suspended"))


@bp.post("/relationships/<int:relationship_id>/reactivate")
@requires("admin", kind="prime", api=True)
def relationships_reactivate(relationship_id: int):
    return _one(services.set_status(g.actor, relationship_id, "active"))
