"""Teaches the tenant-isolation walk the forecasts URL parameters, and what a denied request must not change."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from cogrow.core.weeks import current_week
from cogrow.forecasts.models import (Authorization, ForecastBucket, ForecastCommit, ForecastDraft, ForecastDraftBucket,
                                     ForecastPublication)


def _version_no(tenant, org, db):
    """The latest version of the tenant's relationship; one (with a bucket for its item) is published if none."""
    rel_id = tenant.relationship.id
    existing = db.session.scalar(select(func.max(ForecastPublication.version_no))
                                 .where(ForecastPublication.relationship_id == rel_id))
    if existing:
        return existing
    rel = tenant.relationship
    pub = ForecastPublication(relationship_id=rel_id, version_no=1, base_week=current_week(),
                              firm_fence_weeks=rel.firm_fence_weeks, material_fence_weeks=rel.material_fence_weeks)
    db.session.add(pub)
    db.session.flush()
    db.session.add(ForecastBucket(publication_id=pub.id, relationship_id=rel_id, item_id=tenant.item.id,
                                  week_start=current_week(), quantity=Decimal("10"), zone="firm"))
    db.session.commit()
    return pub.version_no


def _draft_id(tenant, org, db):
    """A forecast draft of the tenant's relationship (one bucket of its item), made if none exists."""
    rel_id = tenant.relationship.id
    existing = db.session.scalar(select(func.min(ForecastDraft.id)).where(ForecastDraft.relationship_id == rel_id))
    if existing:
        return existing
    draft = ForecastDraft(relationship_id=rel_id, note="walk", bucket_count=1, base_version_no=0)
    db.session.add(draft)
    db.session.flush()
    db.session.add(ForecastDraftBucket(draft_id=draft.id, relationship_id=rel_id, item_id=tenant.item.id,
                                       week_start=current_week(), quantity=Decimal("10"), zone="firm"))
    db.session.commit()
    return draft.id


WALK_VALUES = {"version_no": _version_no, "draft_id": _draft_id}


def snapshot(db, tenant):
    rel_id = tenant.relationship.id
    return (
        db.session.execute(select(ForecastPublication.id, ForecastPublication.version_no, ForecastPublication.bucket_count)
                           .where(ForecastPublication.relationship_id == rel_id).order_by(ForecastPublication.id)).all(),
        db.session.execute(select(ForecastBucket.id, ForecastBucket.quantity, ForecastBucket.zone)
                           .where(ForecastBucket.relationship_id == rel_id).order_by(ForecastBucket.id)).all(),
        db.session.execute(select(Authorization.id, Authorization.quantity)
                           .where(Authorization.relationship_id == rel_id).order_by(Authorization.id)).all(),
        db.session.execute(select(ForecastCommit.id, ForecastCommit.quantity, ForecastCommit.reason_code)
                           .where(ForecastCommit.relationship_id == rel_id).order_by(ForecastCommit.id)).all(),
    )
