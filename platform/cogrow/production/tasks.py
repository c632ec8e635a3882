"""Production tasks: forgetting old Idempotency-Key records, and the monthly partitions' upkeep."""
from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

logger = logging.getLogger("cogrow.production")


@shared_task(name="cogrow.production.purge_idempotency")
def purge_idempotency() -> int:
    """Delete finished Idempotency-Key records older than a day (a key is only replayed within that window)."""
    from cogrow.core.idempotency import purge

    removed = purge()
    logger.info("purged %s idempotency record(s)", removed)
    return removed


@shared_task(name="cogrow.production.maintain_partitions")
def maintain_partitions() -> dict | None:
    """Make the coming months' partitions and drop those past PRODUCTION_RETENTION_MONTHS (PostgreSQL only).

    Once a day whatever the number of beats (partitions.locked_maintain); None when another run took the day.
    """
    from cogrow.production import partitions

    outcome = partitions.locked_maintain(int(current_app.config.get("PRODUCTION_RETENTION_MONTHS", 0)))
    if outcome is None:
        return None
    logger.info("partitions: created %s, dropped %s, kept %s", outcome.created, outcome.dropped, sorted(outcome.held))
    return {"created": outcome.created, "dropped": outcome.dropped, "held": outcome.held}
