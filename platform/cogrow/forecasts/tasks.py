"""Background tasks of forecasts: a thin wrapper that calls one service, and the call that queues it.

The task is sent to the `notify` queue, served by the `notify` node with the other mail, never behind
reconciliation. It is registered when cogrow.forecasts.services is imported, which every app (web or worker) does
through its blueprints. The tasks import notify, never the other way round.
"""
from __future__ import annotations

import logging

from celery import shared_task

from cogrow.celery import NOTIFY_QUEUE
from cogrow.forecasts import notify

logger = logging.getLogger("cogrow.forecasts")


@shared_task(name="cogrow.forecasts.send_notices", ignore_result=True)
def send_notices() -> dict:
    """E-mail every pending forecast notice (firm-zone cuts, commits below forecast); each is claimed first."""
    return notify.send_all()


def send_pending() -> None:
    """Hand the pending notice e-mails to the worker, after the caller's commit; a broker that is down leaves them
    pending for the next run."""
    try:
        # On the notify queue with the other mail: a mail server that hangs must not hold up reconciliation.
        send_notices.apply_async(queue=NOTIFY_QUEUE)
    except Exception:  # noqa: BLE001 - the notices stay in the app and pending; the next run sends them
        logger.warning("could not queue forecast notice e-mails", exc_info=True)
