"""Background tasks of imports: thin wrappers that take ids and call one service."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="cogrow.imports.apply", bind=True)
def apply_import(self, batch_id: int) -> str:
    """Apply a queued import in one transaction; a second delivery of the same message finds nothing to do."""
    from cogrow.imports import services

    return services.run_queued(int(batch_id), self.request.id)
