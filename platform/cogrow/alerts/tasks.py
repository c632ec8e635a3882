"""Background tasks of alerts: thin wrappers that take ids and call one service."""
from __future__ import annotations

import logging

from celery import shared_task

from cogrow.alerts import notify
from cogrow.core import outbox

logger = logging.getLogger("cogrow.alerts")


def _send_all(fan: notify.FanOut) -> None:
    for delivery_id in fan.emails:
        send_email.delay(delivery_id)
    for delivery_id in fan.webhooks:
        deliver_webhook.delay(delivery_id)


@shared_task(name="cogrow.alerts.dispatch")
def dispatch(outbox_id: int) -> dict:
    """Fan one alert event out (inbox, e-mail rows, webhook rows), then hand each row to its sender."""
    fan = notify.dispatch(int(outbox_id))
    # The delivery rows exist now (retry_due re-queues any whose send task is lost): the event is handed over.
    outbox.mark_done([int(outbox_id)])
    _send_all(fan)
    return {"emails": len(fan.emails), "webhooks": len(fan.webhooks)}


@shared_task(name="cogrow.alerts.send_email")
def send_email(delivery_id: int) -> str:
    """Send one e-mail delivery; a failure schedules the next attempt with backoff and jitter."""
    outcome = notify.send_email(int(delivery_id))
    if outcome.retry_in is not None:
        send_email.apply_async((delivery_id,), countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="cogrow.alerts.deliver_webhook")
def deliver_webhook(delivery_id: int) -> str:
    """POST one webhook delivery; a failure schedules the next attempt with backoff and jitter."""
    outcome = notify.deliver_webhook(int(delivery_id))
    if outcome.retry_in is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="cogrow.alerts.send_digests")
def send_digests() -> int:
    """Collect the day's events of digest users into one e-mail each and send them."""
    ids = notify.collect_digests()
    for delivery_id in ids:
        send_email.delay(delivery_id)
    return len(ids)


@shared_task(name="cogrow.alerts.retry_due")
def retry_due() -> dict:
    """Re-queue deliveries that are due but whose task was lost; the senders' claims make this safe."""
    fan = notify.due_deliveries()
    _send_all(fan)
    return {"emails": len(fan.emails), "webhooks": len(fan.webhooks)}
