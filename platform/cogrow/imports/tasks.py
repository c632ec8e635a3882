"""Background tasks of imports: thin wrappers that take ids and call one service.

Both run on the `imports` queue (celery.TASK_ROUTES routes every cogrow.imports.* task there).
"""
from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import DBAPIError

# Reading is repeatable, so a locked SQLite or a PostgreSQL restart is retried with backoff; a message lost
# for good is published again by the outbox relay once its lease runs out.
READ_RETRY = {"autoretry_for": (DBAPIError,), "retry_backoff": 2, "retry_backoff_max": 60, "retry_jitter": True,
              "max_retries": 8}


@shared_task(name="cogrow.imports.parse", ignore_result=True, **READ_RETRY)
def parse_import(outbox_id: int) -> str:
    """Read and check an uploaded file named by an outbox row; a second delivery finds it no longer pending."""
    from cogrow.imports import services

    return services.run_parse(int(outbox_id))


@shared_task(name="cogrow.imports.apply", bind=True)
def apply_import(self, batch_id: int) -> str:
    """Apply a queued import in one transaction; a second delivery of the same message finds nothing to do."""
    from cogrow.imports import services

    return services.run_queued(int(batch_id), self.request.id)
