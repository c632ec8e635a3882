"""Background tasks of the core: a smoke task that proves a worker runs, and the heartbeat."""
from __future__ import annotations

import logging

from celery import shared_task

from cogrow.core import services

logger = logging.getLogger("cogrow.core")


@shared_task(name="cogrow.smoke")
def smoke(token: str) -> dict:
    """Answer with what the worker sees in the database, so a test knows the app context is real."""
    return services.smoke_report(token)


@shared_task(name="cogrow.heartbeat", ignore_result=True)
def heartbeat(name: str = "worker") -> None:
    services.beat_heartbeat(name)
