"""What the tenant-isolation walk needs to know about the coverage routes (they use only relationship_id/item_id)."""
from __future__ import annotations

from sqlalchemy import func, select

from cogrow.core.models import OutboxEvent
from cogrow.coverage.models import CoverageLedger

WALK_VALUES: dict = {}


def snapshot(db, tenant):
    """A denied "recompute now" must write no outbox row; nothing may touch the tenant's ledger."""
    rel_id = tenant.relationship.id
    return (db.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.relationship_id == rel_id)),
            db.session.scalar(select(func.count()).select_from(CoverageLedger)
                              .where(CoverageLedger.relationship_id == rel_id)))
