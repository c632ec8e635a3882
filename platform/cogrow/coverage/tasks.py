"""Background tasks of coverage: the outbox relay, the reconciliation of changed items, and the locked sweep."""
from __future__ import annotations

import logging
import time

from celery import shared_task
from flask import current_app
from sqlalchemy.exc import DBAPIError

from cogrow.celery import SENT_AT_HEADER
from cogrow.core import outbox
from cogrow.coverage import services

logger = logging.getLogger("cogrow.coverage")

# Database hiccups (a locked SQLite, a PostgreSQL restart) are retried with exponential backoff and jitter.
RETRY = {"autoretry_for": (DBAPIError,), "retry_backoff": 2, "retry_backoff_max": 120, "retry_jitter": True,
         "max_retries": 10}


# The relay's messages never expire (reliability.md), so a worker that was stopped or busy may find a pile of them.
# A relay started after a message was sent, which drained the outbox, did that message's work: it is skipped.
# (Clocks: the sender stamps its wall clock; a beat running behind the worker's clock can make a fresh message look
# old, and then the rows it would have found wait one more beat period.)
RELAY_MAX_BATCHES = 20
_drained_since: float | None = None


def _sent_at(request) -> float | None:
    value = getattr(request, SENT_AT_HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(SENT_AT_HEADER)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@shared_task(name="cogrow.coverage.relay", bind=True, ignore_result=True, **RETRY)
def relay(self) -> int:
    """Publish pending outbox rows to their tasks and mark them sent; idle, it is cheap and says nothing at INFO."""
    global _drained_since
    sent_at = _sent_at(self.request)
    if sent_at is not None and _drained_since is not None and sent_at < _drained_since:
        logger.debug("relay skipped: a relay that started after it was sent drained the outbox")
        return 0
    started, clock = time.time(), time.monotonic()
    published = services.relay_pending(max_batches=RELAY_MAX_BATCHES)
    if published < services.RELAY_BATCH * RELAY_MAX_BATCHES:
        _drained_since = started
    if published:
        logger.info("relayed %s outbox row(s) in %.3fs", published, time.monotonic() - clock)
    else:
        logger.debug("relay found no pending outbox rows")
    return published


@shared_task(name="cogrow.coverage.reconcile", ignore_result=True, **RETRY)
def reconcile(relationship_id: int, item_ids: list[int] | None = None, outbox_ids: list[int] | None = None) -> int:
    """Recompute the ledger (and alerts) of these items; running it twice gives the same rows."""
    # The notifications it causes are relayed right below, so its commit wakes no relay (core.outbox's kick).
    outbox.skip_kick()
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
