"""What the tenant-isolation walk needs for production routes: a line of the tenant, and rows to keep unchanged."""
from __future__ import annotations

from sqlalchemy import func, select

from cogrow.core.models import IdempotencyRecord
from cogrow.production.models import ItemPosition, MachineReading, ProductionLine, ProductionReport


def _line(tenant, db) -> ProductionLine:
    line = db.session.scalar(select(ProductionLine).where(ProductionLine.relationship_id == tenant.relationship.id)
                             .order_by(ProductionLine.id).limit(1))
    if line is None:
        line = ProductionLine(relationship_id=tenant.relationship.id, code="WALK-1", name="Walk line",
                              item_id=tenant.item.id)
        db.session.add(line)
        db.session.commit()
    return line


WALK_VALUES = {
    "line_id": lambda tenant, org, db: _line(tenant, db).id,
    "line_ref": lambda tenant, org, db: _line(tenant, db).code,
}


def snapshot(db, tenant):
    _line(tenant, db)  # the walk creates it on first use: make it exist before the "before" picture
    rel_id = tenant.relationship.id
    orgs = (tenant.prime.id, tenant.supplier.id)
    return (
        db.session.execute(select(ProductionReport.id, ProductionReport.as_of)
                           .where(ProductionReport.relationship_id == rel_id).order_by(ProductionReport.id)).all(),
        db.session.execute(select(ItemPosition.item_id, ItemPosition.report_id)
                           .where(ItemPosition.relationship_id == rel_id).order_by(ItemPosition.item_id)).all(),
        db.session.execute(select(ProductionLine.id, ProductionLine.version, ProductionLine.code, ProductionLine.active)
                           .where(ProductionLine.relationship_id == rel_id).order_by(ProductionLine.id)).all(),
        db.session.scalar(select(func.count()).select_from(MachineReading).where(MachineReading.relationship_id == rel_id)),
        db.session.scalar(select(func.count()).select_from(IdempotencyRecord)
                          .where(IdempotencyRecord.organisation_id.in_(orgs))),
    )
