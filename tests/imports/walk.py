"""Teach the tenant-isolation walk the URL parameters of the imports pages and API."""
from __future__ import annotations

from sqlalchemy import select

from cogrow.imports.models import ImportBatch

WALK_KIND = "forecast"  # a real kind the prime side uploads (registered by cogrow.forecasts.importers)


def _kind(tenant, org, db):
    from cogrow.imports.registry import KINDS

    if WALK_KIND in KINDS:
        return WALK_KIND
    own = [k.name for k in KINDS.values() if k.org_kind == org.kind]
    return own[0] if own else WALK_KIND


def _import_id(tenant, org, db):
    existing = db.session.scalar(select(ImportBatch.id).where(
        ImportBatch.relationship_id == tenant.relationship.id, ImportBatch.organisation_id == org.id).limit(1))
    if existing:
        return existing
    batch = ImportBatch(organisation_id=org.id, relationship_id=tenant.relationship.id, kind=_kind(tenant, org, db),
                        filename="walk.csv", file_format="csv", content_sha256=f"{org.id:064d}",
                        content=b"part_number,week,quantity\n", status="preview", total_rows=0,
                        summary={"summary": {}, "lines": []}, options={})
    db.session.add(batch)
    db.session.commit()
    return batch.id


WALK_VALUES = {"kind": _kind, "fmt": lambda tenant, org, db: "csv", "import_id": _import_id}


def snapshot(db, tenant):
    """The tenant's import batches as a denied request must leave them."""
    return tuple(db.session.execute(
        select(ImportBatch.id, ImportBatch.status, ImportBatch.processed_rows, ImportBatch.error_count)
        .where(ImportBatch.relationship_id == tenant.relationship.id).order_by(ImportBatch.id)).all())
