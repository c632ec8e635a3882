"""Background tasks of forecasts: a thin wrapper that calls one service.

The task is sent to the `notify` queue (forecasts.notify.send_pending names it), served by the `notify` node with
the other mail, never behind reconciliation. It is registered when cogrow.forecasts.services is imported, which
every app (web or worker) does through its blueprints.
"""
from __future__ import annotations

from celery import shared_task


@shared_task(name="cogrow.forecasts.send_notices", ignore_result=True)
def send_notices() -> dict:
    """E-mail every pending forecast notice (firm-zone cuts, commits below forecast); each is claimed first."""
    from cogrow.forecasts import notify

    return notify.send_all()
