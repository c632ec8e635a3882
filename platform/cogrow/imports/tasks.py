"""Background tasks of imports: thin wrappers that take an outbox id and call one service.

Both are published by the outbox relay (coverage.services.relay_outbox) from rows that imports.services writes in
the same transaction as the change, and run on the `imports` queue (celery.TASK_ROUTES routes every
cogrow.imports.* task there). This module imports the services; the services never import it.
"""
from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import DBAPIError

from cogrow.imports import services

# Reading is repeatable, so a locked SQLite or a PostgreSQL restart is retried with backoff; a message lost
# for good is published again by the outbox relay once its lease runs out.
READ_RETRY = {"autoretry_for": (DBAPIError,), "retry_backoff": 2, "retry_backoff_max": 60, "retry_jitter": True,
              "max_retries": 8}


@shared_task(name="cogrow.imports.parse", ignore_result=True, **READ_RETRY)
def parse_import(outbox_id: int) -> str:
    """Read and check an uploaded file named by an outbox row; a second delivery finds it no longer pending."""
    return services.run_parse(int(outbox_id))


@shared_task(name="cogrow.imports.apply")
def apply_import(outbox_id: int) -> str:
    """Apply a queued import named by an outbox row in one transaction; a second delivery finds nothing to do."""
    return services.run_apply(int(outbox_id))
