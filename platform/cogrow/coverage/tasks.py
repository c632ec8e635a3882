"""Background tasks of coverage: the outbox relay, the reconciliation of changed items, and the locked sweep."""
from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app
from sqlalchemy.exc import DBAPIError

from cogrow.core import outbox
from cogrow.coverage import services

logger = logging.getLogger("cogrow.coverage")

# Database hiccups (a locked SQLite, a PostgreSQL restart) are retried with exponential backoff and jitter.
RETRY = {"autoretry_for": (DBAPIError,), "retry_backoff": 2, "retry_backoff_max": 120, "retry_jitter": True,
         "max_retries": 10}


@shared_task(name="cogrow.coverage.relay", ignore_result=True, **RETRY)
def relay() -> int:
    """Publish pending outbox rows to their tasks and mark them sent."""
    return services.relay_pending()


@shared_task(name="cogrow.coverage.reconcile", ignore_result=True, **RETRY)
def reconcile(relationship_id: int, item_ids: list[int] | None = None, outbox_ids: list[int] | None = None) -> int:
    """Recompute the ledger (and alerts) of these items; running it twice gives the same rows."""
    count = services.reconcile(relationship_id, item_ids)
    outbox.mark_done(outbox_ids)
    try:
        # The notifications this reconciliation caused leave now rather than at the relay's next beat.
        services.relay_pending(topics=("notify",))
    except Exception:  # noqa: BLE001 - the beat's relay publishes them anyway
        logger.warning("relaying notifications after reconcile failed", exc_info=True)
    return count


@shared_task(name="cogrow.coverage.sweep", ignore_result=True, **RETRY)
def sweep() -> int | None:
    """Recompute every active item once per period (COVERAGE_SWEEP_MINUTES), whatever the number of beats."""
    return services.locked_sweep(current_app.config.get("COVERAGE_SWEEP_MINUTES", 15))
