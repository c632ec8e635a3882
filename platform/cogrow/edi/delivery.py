"""Outbound interchanges to the sending organisation's webhooks: the same endpoints, signing scheme and address
checks as the alert webhooks (cogrow.alerts.webhooks), one POST per active endpoint from the notify worker.

The body is JSON: {"type": "edi.interchange", "data": {relationship_id, message_type, control_number,
standard, content}}; `webhook-id` is "edi-<interchange id>", so a receiver can drop a repeated delivery.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import httpx
from celery import shared_task
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from cogrow.alerts import webhooks
from cogrow.alerts.models import WebhookEndpoint
from cogrow.celery import NOTIFY_QUEUE
from cogrow.core import audit
from cogrow.edi.models import Interchange
from cogrow.extensions import db

logger = logging.getLogger("cogrow.edi")
RETRIES = 3


def body_of(row: Interchange) -> bytes:
    return json.dumps({"type": "edi.interchange", "data": {
        "relationship_id": row.relationship_id, "message_type": row.message_type,
        "control_number": row.control_number, "standard": row.standard,
        "content": (row.content or b"").decode("utf-8", "replace")}}, ensure_ascii=False).encode("utf-8")


def deliver(interchange_id: int, organisation_id: int, client: httpx.Client | None = None) -> dict[int, str]:
    """POST the interchange to each active endpoint of the organisation: {endpoint id: outcome}."""
    row = db.session.get(Interchange, interchange_id)
    if row is None:
        return {}
    endpoints = list(db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.organisation_id == organisation_id, WebhookEndpoint.active.is_(True))
        .order_by(WebhookEndpoint.id)))
    body = body_of(row)
    message_id = f"edi-{row.id}"
    seconds = float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", 10))
    timeout = httpx.Timeout(seconds, connect=min(seconds, 5.0))
    db.session.commit()  # nothing stays locked while the receivers answer
    outcomes: dict[int, str] = {}
    for endpoint in endpoints:
        timestamp = int(datetime.now(timezone.utc).timestamp())
        headers = {"content-type": "application/json", "user-agent": "Cogrow-Webhooks/1", "webhook-id": message_id,
                   "webhook-timestamp": str(timestamp),
                   "webhook-signature": webhooks.sign(endpoint.secret, message_id, timestamp, body)}
        try:
            with force_locale("en"):
                target = webhooks.check_target(endpoint.url)
            response = webhooks.post(target, body, headers, timeout, client=client)
            outcomes[endpoint.id] = "delivered" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        except webhooks.UnsafeTarget as exc:
            outcomes[endpoint.id] = f"refused target: {exc}"[:200]
        except httpx.HTTPError as exc:
            outcomes[endpoint.id] = f"{type(exc).__name__}"
    audit.record(None, "edi.delivered", row, organisation_id=organisation_id,
                 detail={"endpoints": {str(k): v for k, v in outcomes.items()}})
    db.session.commit()
    return outcomes


@shared_task(name="cogrow.edi.deliver", bind=True, max_retries=RETRIES)
def deliver_task(self, interchange_id: int, organisation_id: int) -> dict[int, str]:
    outcomes = deliver(interchange_id, organisation_id)
    failed = [k for k, v in outcomes.items() if v != "delivered" and not v.startswith("refused")]
    if failed and self.request.retries < RETRIES:
        logger.warning("EDI interchange %s: webhook endpoints %s failed, retrying", interchange_id, failed)
        raise self.retry(countdown=60 * 2 ** self.request.retries)
    return outcomes


def queue(row: Interchange, organisation_id: int, countdown: int | None = None) -> None:
    """Hand the delivery to the notify worker (after the caller's commit), now or in `countdown` seconds."""
    try:
        if countdown is None:
            deliver_task.apply_async(args=[row.id, organisation_id], queue=NOTIFY_QUEUE)
        else:
            deliver_task.apply_async(args=[row.id, organisation_id], queue=NOTIFY_QUEUE, countdown=countdown)
    except Exception:  # the interchange is logged and downloadable; a broker outage must not fail the export
        logger.exception("could not queue the webhook delivery of EDI interchange %s", row.id)
