"""JSON API for forecasts: versions, bulk publish, authorizations and commits of one relationship."""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from cogrow.core.api import bp, decimal_str, json_body, page_args
from cogrow.core.auth import requires
from cogrow.core.errors import BadRequest, NotFound, ValidationFailed
from cogrow.core.validation import parse_id
from cogrow.core.weeks import current_week, iso_label
from cogrow.forecasts import schemas, services
from cogrow.forecasts.models import ForecastPublication
from cogrow.relationships import services as relationships

BASE = "/relationships/<int:relationship_id>/forecasts"


def publication_json(pub: ForecastPublication) -> dict:
    """A version as JSON. The note is the prime's internal note: only the prime's side gets it."""
    internal = getattr(g, "actor", None) is not None and g.actor.organisation_id == pub.supply_relationship.prime_id
    body = {
        "id": pub.id,
        "relationship_id": pub.relationship_id,
        "version_no": pub.version_no,
        "base_week": pub.base_week.isoformat(),
        "firm_fence_weeks": pub.firm_fence_weeks,
        "material_fence_weeks": pub.material_fence_weeks,
        "note": pub.note,
        "bucket_count": pub.bucket_count,
        "published_by_id": pub.published_by_id,
        "published_at": pub.published_at.isoformat(),
        "firm_cuts": pub.firm_cuts,
        "cut_reason": pub.cut_reason,
    }
    if not internal:
        body.pop("note")
    return body


def bucket_json(row) -> dict:
    return {
        "id": row.id, "item_id": row.item_id, "part_number": row.prime_part_number,
        "week": iso_label(row.week_start), "week_start": row.week_start.isoformat(),
        "quantity": decimal_str(row.quantity), "zone": row.zone,
        "commit": None if row.commit_qty is None else {
            "quantity": decimal_str(row.commit_qty), "reason_code": row.reason_code, "comment": row.comment or ""},
    }


def _show(relationship_id: int, pub: ForecastPublication):
    limit, offset = page_args()
    raw = request.args.get("item_id")
    item_id = None if raw is None else parse_id(raw)
    if raw is not None and item_id is None:
        raise BadRequest("item_id must be a number.", fields={"item_id": "must be a whole number"})
    rows = services.publication_buckets(g.actor, relationship_id, pub, limit=limit, offset=offset, item_id=item_id)
    return jsonify({**publication_json(pub), "buckets": [bucket_json(r) for r in rows], "limit": limit,
                    "offset": offset})


@bp.get(BASE)
@requires(api=True)
def forecasts_index(relationship_id: int):
    limit, offset = page_args()
    pubs = services.list_publications(g.actor, relationship_id, limit=limit, offset=offset)
    return jsonify({"data": [publication_json(p) for p in pubs], "limit": limit, "offset": offset})


@bp.post(BASE)
@requires("admin", "planner", kind="prime", api=True)
def forecasts_publish(relationship_id: int):
    """Publish version N+1 from {"note", "buckets": [{item_id|part_number, week|week_start, quantity}]}."""
    relationships.get_relationship(g.actor, relationship_id)  # a foreign relationship is 404 before any 422
    data = json_body()
    note, buckets, week_keys, errors = schemas.parse_publication(
        data, services.part_numbers_of(relationship_id), services.item_ids_of(relationship_id))
    # Business rules (past weeks, duplicates, horizon) on top of the parse errors, so every bad entry is reported.
    unparsed = {key.split("]")[0] + "]" for key in errors if key.startswith("buckets[")}
    for index, field, message in services.check_buckets(services.item_ids_of(relationship_id), buckets,
                                                        current_week()):
        if f"buckets[{index}]" in unparsed:
            continue
        key = week_keys[index] if field == "week" else field
        errors.setdefault(f"buckets[{index}].{key}", message)
    if errors:
        raise ValidationFailed(_("Some forecast entries are not valid; nothing was published."), fields=errors)
    reason = data.get("reason") if isinstance(data.get("reason"), str) else None
    pub = services.publish(g.actor, relationship_id, buckets, note=note, reason=reason)
    response = jsonify(publication_json(pub))
    response.status_code = 201
    return response


@bp.get(f"{BASE}/latest")
@requires(api=True)
def forecasts_latest(relationship_id: int):
    pub = services.latest_publication(g.actor, relationship_id)
    if pub is None:
        raise NotFound("No forecast has been published in this relationship yet.")
    return _show(relationship_id, pub)


@bp.get(f"{BASE}/<int:version_no>")
@requires(api=True)
def forecasts_show(relationship_id: int, version_no: int):
    return _show(relationship_id, services.get_publication(g.actor, relationship_id, version_no))


def commit_json(row) -> dict:
    return {"id": row.id, "bucket_id": row.bucket_id, "item_id": row.item_id, "part_number": row.prime_part_number,
            "week": iso_label(row.week_start), "week_start": row.week_start.isoformat(),
            "forecast": decimal_str(row.forecast_qty), "quantity": decimal_str(row.quantity),
            "reason_code": row.reason_code, "comment": row.comment or "",
            "committed_at": row.committed_at.isoformat()}


@bp.get(f"{BASE}/<int:version_no>/commits")
@requires(api=True)
def forecasts_commits(relationship_id: int, version_no: int):
    limit, offset = page_args()
    pub = services.get_publication(g.actor, relationship_id, version_no)
    rows = services.list_commits(g.actor, relationship_id, pub, limit=limit, offset=offset)
    return jsonify({"version_no": pub.version_no, "data": [commit_json(r) for r in rows], "limit": limit,
                    "offset": offset})


@bp.put(f"{BASE}/<int:version_no>/commits")
@requires("admin", "production", kind="supplier", api=True)
def forecasts_commit(relationship_id: int, version_no: int):
    """Commit (or re-commit) quantities to buckets of the latest version; an older version answers 409.

    The version in the URL is the precondition: commits are upserts per bucket, and a newer publication
    refuses them, so no If-Match is needed.
    """
    pub = services.get_publication(g.actor, relationship_id, version_no)
    rows, errors = schemas.parse_commits(json_body(), services.part_numbers_of(relationship_id),
                                         services.item_ids_of(relationship_id))
    if errors:
        raise ValidationFailed(_("Some commits are not valid; nothing was saved."), fields=errors)
    result = services.commit_buckets(g.actor, relationship_id, pub.id, rows)
    return jsonify({"version_no": pub.version_no, **result})


def authorization_json(row) -> dict:
    return {"id": row.id, "item_id": row.item_id, "part_number": row.prime_part_number, "kind": row.kind,
            "cum_start_date": row.cum_start_date.isoformat(), "quantity": decimal_str(row.quantity),
            "granted_at": row.granted_at.isoformat()}


@bp.get(f"{BASE}/authorizations")
@requires(api=True)
def authorizations_index(relationship_id: int):
    """The authorized maximum of each (item, kind) in its current period, and the grants, newest first."""
    limit, offset = page_args()
    summary = services.list_authorization_summary(g.actor, relationship_id)
    grants = services.list_authorizations(g.actor, relationship_id, limit=limit, offset=offset)
    return jsonify({
        "current": [{"item_id": s.item_id, "part_number": s.part_number, "kind": s.kind,
                     "cum_start_date": s.cum_start_date.isoformat(), "maximum": decimal_str(s.maximum),
                     "grants": s.grants} for s in summary],
        "data": [authorization_json(r) for r in grants], "limit": limit, "offset": offset})


@bp.post(f"{BASE}/authorizations")
@requires("admin", "planner", kind="prime", api=True)
def authorizations_grant(relationship_id: int):
    relationships.get_relationship(g.actor, relationship_id)
    grant, errors = schemas.parse_grant(json_body(), services.part_numbers_of(relationship_id),
                                        services.item_ids_of(relationship_id))
    if errors:
        raise ValidationFailed(_("The authorization is not valid."), fields=errors)
    row = services.grant_authorization(g.actor, relationship_id, *grant)  # type: ignore[misc]
    current = services.authorization_maxima(relationship_id, [row.item_id])[(row.item_id, row.kind)]
    response = jsonify({"id": row.id, "item_id": row.item_id, "kind": row.kind,
                        "cum_start_date": row.cum_start_date.isoformat(), "quantity": decimal_str(row.quantity),
                        "maximum": decimal_str(current[1]), "granted_at": row.granted_at.isoformat()})
    response.status_code = 201
    return response
