"""JSON API for forecasts: versions, bulk publish, authorizations and commits of one relationship."""
from __future__ import annotations

from typing import Any

from flask import g, request

from cogrow.core.api import bp, guard_path, operation, page_of
from cogrow.core.auth import requires
from cogrow.core.errors import NotFound
from cogrow.core.schema import PageQuery
from cogrow.coverage.schemas import WhatIfResult, whatif_result
from cogrow.forecasts import drafts, services
from cogrow.forecasts.models import ForecastPublication
from cogrow.forecasts.schemas import (Authorization, AuthorizationGrant, AuthorizationGranted, AuthorizationMaximum,
                                      AuthorizationPage, BucketCommit, ForecastBucket, ForecastCommit,
                                      ForecastCommitBatch, ForecastCommitPage, ForecastCommitResult, ForecastDraft,
                                      ForecastDraftCells, ForecastDraftCreate, ForecastDraftPublish,
                                      ForecastDraftPublished, ForecastPublicationCreate, ForecastVersion,
                                      ForecastVersionDetail, ForecastVersionQuery)

BASE = "/relationships/<int:relationship_id>/forecasts"


def _version_of_this_relationship(actor: Any, version_no: int) -> None:
    """The owner guard of <version_no>: a bad body for a version the caller cannot see is a 404, never a 422."""
    services.get_publication(actor, (request.view_args or {})["relationship_id"], version_no)


guard_path("version_no", _version_of_this_relationship)


def _version_fields(pub: ForecastPublication) -> dict[str, Any]:
    """A version's fields. The note is the prime's internal note: only the prime's side gets it."""
    fields: dict[str, Any] = {
        "id": pub.id, "relationship_id": pub.relationship_id, "version_no": pub.version_no, "base_week": pub.base_week,
        "firm_fence_weeks": pub.firm_fence_weeks, "material_fence_weeks": pub.material_fence_weeks,
        "bucket_count": pub.bucket_count, "published_by_id": pub.published_by_id, "published_at": pub.published_at,
        "firm_cuts": pub.firm_cuts, "cut_reason": pub.cut_reason}
    if g.actor.organisation_id == pub.supply_relationship.prime_id:
        fields["note"] = pub.note
    return fields


def _bucket(row: Any) -> ForecastBucket:
    return ForecastBucket(
        id=row.id, item_id=row.item_id, part_number=row.prime_part_number, week=row.week_start,
        week_start=row.week_start, quantity=row.quantity, zone=row.zone,
        commit=None if row.commit_qty is None else BucketCommit(quantity=row.commit_qty, reason_code=row.reason_code,
                                                                comment=row.comment or ""))


def _show(relationship_id: int, pub: ForecastPublication, query: ForecastVersionQuery) -> ForecastVersionDetail:
    rows = services.publication_buckets(g.actor, relationship_id, pub, limit=query.limit, offset=query.offset,
                                        item_id=query.item_id)
    return ForecastVersionDetail(**_version_fields(pub), buckets=[_bucket(r) for r in rows], limit=query.limit,
                                 offset=query.offset)


@bp.get(BASE)
@requires(api=True)
@operation("listForecastVersions", tag="forecasts", query=PageQuery, response=page_of(ForecastVersion))
def forecasts_index(relationship_id: int, query: PageQuery):
    """The relationship's published versions, newest first."""
    pubs = services.list_publications(g.actor, relationship_id, limit=query.limit, offset=query.offset)
    return page_of(ForecastVersion)(data=[ForecastVersion(**_version_fields(p)) for p in pubs], limit=query.limit,
                                    offset=query.offset)


@bp.post(BASE)
@requires("admin", "planner", kind="prime", api=True)
@operation("publishForecast", tag="forecasts", body=ForecastPublicationCreate, response=ForecastVersion, status=201,
           links={"GetForecastVersion": {"operationId": "getForecastVersion", "parameters": {
               "relationship_id": "$request.path.relationship_id", "version_no": "$response.body#/version_no"}}})
def forecasts_publish(relationship_id: int, body: ForecastPublicationCreate) -> ForecastVersion:
    """Publish version N+1 from its buckets (item_id or part_number, week or week_start, quantity)."""
    buckets = [(b.item, b.monday, b.quantity) for b in body.buckets]
    pub = services.publish(g.actor, relationship_id, buckets, note=body.note or "", reason=body.reason)
    return ForecastVersion(**_version_fields(pub))


@bp.get(f"{BASE}/latest")
@requires(api=True)
@operation("getLatestForecastVersion", tag="forecasts", query=ForecastVersionQuery, response=ForecastVersionDetail)
def forecasts_latest(relationship_id: int, query: ForecastVersionQuery) -> ForecastVersionDetail:
    """The latest version with a page of its buckets (of one item with `item_id`); 404 before the first."""
    pub = services.latest_publication(g.actor, relationship_id)
    if pub is None:
        raise NotFound("No forecast has been published in this relationship yet.")
    return _show(relationship_id, pub, query)


@bp.get(f"{BASE}/<int:version_no>")
@requires(api=True)
@operation("getForecastVersion", tag="forecasts", query=ForecastVersionQuery, response=ForecastVersionDetail)
def forecasts_show(relationship_id: int, version_no: int, query: ForecastVersionQuery) -> ForecastVersionDetail:
    """One version with a page of its buckets (of one item with `item_id`)."""
    return _show(relationship_id, services.get_publication(g.actor, relationship_id, version_no), query)


@bp.get(f"{BASE}/<int:version_no>/commits")
@requires(api=True)
@operation("listForecastCommits", tag="forecasts", query=PageQuery, response=ForecastCommitPage)
def forecasts_commits(relationship_id: int, version_no: int, query: PageQuery) -> ForecastCommitPage:
    """The supplier's commits to a version, by part number then week."""
    pub = services.get_publication(g.actor, relationship_id, version_no)
    rows = services.list_commits(g.actor, relationship_id, pub, limit=query.limit, offset=query.offset)
    return ForecastCommitPage(version_no=pub.version_no, data=[ForecastCommit(
        id=r.id, bucket_id=r.bucket_id, item_id=r.item_id, part_number=r.prime_part_number, week=r.week_start,
        week_start=r.week_start, forecast=r.forecast_qty, quantity=r.quantity, reason_code=r.reason_code,
        comment=r.comment or "", committed_at=r.committed_at) for r in rows], limit=query.limit, offset=query.offset)


@bp.put(f"{BASE}/<int:version_no>/commits")
@requires("admin", "production", kind="supplier", api=True)
@operation("commitForecast", tag="forecasts", body=ForecastCommitBatch, response=ForecastCommitResult)
def forecasts_commit(relationship_id: int, version_no: int, body: ForecastCommitBatch) -> ForecastCommitResult:
    """Commit (or re-commit) quantities to buckets of the latest version; an older version answers 409.

    The version in the URL is the precondition: commits are upserts per bucket, and a newer publication
    refuses them, so no If-Match is needed.
    """
    pub = services.get_publication(g.actor, relationship_id, version_no)
    result = services.commit_buckets(g.actor, relationship_id, pub.id, [c.values() for c in body.commits])
    return ForecastCommitResult(version_no=pub.version_no, **result)


@bp.get(f"{BASE}/authorizations")
@requires(api=True)
@operation("listAuthorizations", tag="forecasts", query=PageQuery, response=AuthorizationPage)
def authorizations_index(relationship_id: int, query: PageQuery) -> AuthorizationPage:
    """The authorized maximum of each (item, kind) in its current period, and the grants, newest first."""
    summary = services.list_authorization_summary(g.actor, relationship_id)
    grants = services.list_authorizations(g.actor, relationship_id, limit=query.limit, offset=query.offset)
    return AuthorizationPage(
        current=[AuthorizationMaximum(item_id=s.item_id, part_number=s.part_number, kind=s.kind,
                                      cum_start_date=s.cum_start_date, maximum=s.maximum, grants=s.grants)
                 for s in summary],
        data=[Authorization(id=r.id, item_id=r.item_id, part_number=r.prime_part_number, kind=r.kind,
                            cum_start_date=r.cum_start_date, quantity=r.quantity, granted_at=r.granted_at)
              for r in grants],
        limit=query.limit, offset=query.offset)


@bp.post(f"{BASE}/authorizations")
@requires("admin", "planner", kind="prime", api=True)
@operation("grantAuthorization", tag="forecasts", body=AuthorizationGrant, response=AuthorizationGranted,
           status=201)
def authorizations_grant(relationship_id: int, body: AuthorizationGrant) -> AuthorizationGranted:
    """Grant a cumulative authorization; lowering the current period's maximum is refused."""
    row = services.grant_authorization(g.actor, relationship_id, body.item, body.kind, body.cum_start_date,
                                       body.quantity)
    current = services.authorization_maxima(relationship_id, [row.item_id])[(row.item_id, row.kind)]
    return AuthorizationGranted(id=row.id, item_id=row.item_id, kind=row.kind, cum_start_date=row.cum_start_date,
                                quantity=row.quantity, maximum=current[1], granted_at=row.granted_at)


# ---------------------------------------------------------------- drafts and their what-if

DRAFTS = "/relationships/<int:relationship_id>/forecast-drafts"


def _draft_of_this_relationship(actor: Any, draft_id: int) -> None:
    """The owner guard of <draft_id>: a bad body for a draft the caller cannot see is a 404, never a 422."""
    drafts.get_draft(actor, (request.view_args or {})["relationship_id"], draft_id)


guard_path("draft_id", _draft_of_this_relationship)


@bp.post(DRAFTS)
@requires("admin", "planner", kind="prime", api=True)
@operation("createForecastDraft", tag="forecasts", body=ForecastDraftCreate, response=ForecastDraft, status=201,
           links={"GetForecastDraftWhatIf": {"operationId": "getForecastDraftWhatIf", "parameters": {
               "relationship_id": "$request.path.relationship_id", "draft_id": "$response.body#/id"}}})
def forecast_drafts_create(relationship_id: int, body: ForecastDraftCreate) -> ForecastDraft:
    """Store a version as a draft, unpublished: nothing the supplier or the ledger reads changes."""
    draft = drafts.create_draft(g.actor, relationship_id, [(b.item, b.monday, b.quantity) for b in body.buckets],
                                note=body.note or "", checked=True)
    return ForecastDraft.model_validate(draft)


@bp.post(f"{DRAFTS}/<int:draft_id>/cells")
@requires("admin", "planner", kind="prime", api=True)
@operation("setForecastDraftCells", tag="forecasts", body=ForecastDraftCells, response=ForecastDraft)
def forecast_drafts_set_cells(relationship_id: int, draft_id: int, body: ForecastDraftCells) -> ForecastDraft:
    """Set cells of a draft. Each call names the cells it sets (the same call twice gives the same draft), so it
    is an action on the draft rather than a versioned edit: no If-Match."""
    draft = drafts.set_cells(g.actor, relationship_id, draft_id,
                             [(b.item, b.monday, b.quantity) for b in body.buckets])
    return ForecastDraft.model_validate(draft)


@bp.get(f"{DRAFTS}/<int:draft_id>/whatif")
@requires("admin", "planner", kind="prime", api=True)
@operation("getForecastDraftWhatIf", tag="forecasts", response=WhatIfResult)
def forecast_drafts_whatif(relationship_id: int, draft_id: int) -> WhatIfResult:
    """What publishing the draft now would change, per item: guaranteed, excess, exposure and liability, the units
    that become the supplier's loss and those the prime still pays through FAB/RAW authorizations. Writes nothing."""
    return whatif_result(drafts.draft_whatif(g.actor, relationship_id, draft_id))


@bp.post(f"{DRAFTS}/<int:draft_id>/publish")
@requires("admin", "planner", kind="prime", api=True)
@operation("publishForecastDraft", tag="forecasts", body=ForecastDraftPublish, body_optional=True,
           response=ForecastDraftPublished)
def forecast_drafts_publish(relationship_id: int, draft_id: int, body: ForecastDraftPublish) -> ForecastDraftPublished:
    """Publish the draft (a cut of firm-zone cells needs `reason`; the supplier is told, with the liability)."""
    done = drafts.publish_draft(g.actor, relationship_id, draft_id, reason=body.reason)
    if isinstance(done, ForecastPublication):
        return ForecastDraftPublished(version_no=done.version_no, firm_cuts=done.firm_cuts, import_id=None,
                                      import_status=None)
    return ForecastDraftPublished(version_no=None, firm_cuts=None, import_id=done.id, import_status=done.status)


@bp.delete(f"{DRAFTS}/<int:draft_id>")
@requires("admin", "planner", kind="prime", api=True)
@operation("discardForecastDraft", tag="forecasts", status=204)
def forecast_drafts_discard(relationship_id: int, draft_id: int) -> None:
    """Discard the draft (an import's preview stays as it was)."""
    drafts.discard_draft(g.actor, relationship_id, draft_id)


@bp.post("/relationships/<int:relationship_id>/imports/<int:import_id>/whatif")
@requires("admin", "planner", kind="prime", api=True)
@operation("createImportWhatIf", tag="forecasts", response=ForecastDraft, status=201,
           links={"GetForecastDraftWhatIf": {"operationId": "getForecastDraftWhatIf", "parameters": {
               "relationship_id": "$request.path.relationship_id", "draft_id": "$response.body#/id"}}})
def forecast_import_whatif(relationship_id: int, import_id: int) -> ForecastDraft:
    """The draft of a forecast import's preview (its checked rows), for its what-if before confirming."""
    return ForecastDraft.model_validate(drafts.draft_from_import(g.actor, relationship_id, import_id))
