"""Production tasks: forgetting old Idempotency-Key records."""
from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("cogrow.production")


@shared_task(name="cogrow.production.purge_idempotency")
def purge_idempotency() -> int:
    """Delete finished Idempotency-Key records older than a day (a key is only replayed within that window)."""
    from cogrow.core.idempotency import purge

    removed = purge()
    logger.info("purged %s idempotency record(s)", removed)
    return removed
