"""The transactional outbox: a change and the work it causes are written in one transaction.

A relay task (coverage.tasks) publishes pending rows to Celery and marks them sent, so a task
never runs before the data it reads is committed, and a broker that loses its queue loses nothing.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import update

from cogrow.core.models import OutboxEvent
from cogrow.extensions import db

RECONCILE = "reconcile"


def enqueue_reconcile(relationship_id: int, item_ids: Iterable[int] | None, reason: str) -> OutboxEvent:
    """Ask for the ledger of these items (all items of the relationship when None) to be recomputed.

    The row joins the caller's transaction: it commits, or rolls back, with the change itself.
    """
    ids = sorted({int(i) for i in item_ids}) if item_ids is not None else None
    event = OutboxEvent(topic=RECONCILE, relationship_id=relationship_id,
                        payload={"item_ids": ids, "reason": reason})
    db.session.add(event)
    return event


def enqueue(topic: str, payload: dict[str, Any], relationship_id: int | None = None) -> OutboxEvent:
    event = OutboxEvent(topic=topic, relationship_id=relationship_id, payload=payload)
    db.session.add(event)
    return event


def mark_done(outbox_ids: Sequence[int] | None) -> None:
    """The task that consumed these rows finished: the relay never publishes them again. Commits."""
    if not outbox_ids:
        return
    stamp_done(outbox_ids)
    db.session.commit()


def stamp_done(outbox_ids: Sequence[int]) -> None:
    """Mark these rows done inside the caller's transaction, so the work and its receipt commit together."""
    table = OutboxEvent.__table__
    db.session.execute(update(table).where(table.c.id.in_([int(i) for i in outbox_ids]), table.c.done_at.is_(None))
                       .values(done_at=datetime.now(timezone.utc)))
