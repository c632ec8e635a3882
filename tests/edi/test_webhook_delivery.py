"""An exported interchange sent to the organisation's webhooks: signed as the alert webhooks are, once per
active endpoint, queued on the notify worker."""
from __future__ import annotations

import json

import httpx
import pytest

from cogrow.alerts import webhooks
from cogrow.edi import delivery, outbound
from cogrow.forecasts import services as forecasts
from tests.alerts.factories import WebhookEndpointFactory
from tests.edi.conftest import horizon

pytestmark = pytest.mark.usefixtures("in_request", "partner")


def test_an_exported_830_is_posted_signed_to_each_active_endpoint(app, db, tenant_a, planner, items, monkeypatch):
    rel_id = tenant_a.relationship.id
    forecasts.publish(planner, rel_id, horizon([i.id for i in items]))
    active = WebhookEndpointFactory(organisation_id=tenant_a.prime.id, url="http://127.0.0.1:9/edi")
    WebhookEndpointFactory(organisation_id=tenant_a.prime.id, url="http://127.0.0.1:9/off", active=False)
    WebhookEndpointFactory(organisation_id=tenant_a.supplier.id, url="http://127.0.0.1:9/supplier")
    db.session.commit()
    queued = []
    monkeypatch.setattr(delivery.deliver_task, "apply_async", lambda args, queue: queued.append((args, queue)))
    row = outbound.export_forecast(planner, rel_id, 1, webhook=True)
    assert queued == [([row.id, tenant_a.prime.id], "notify")]

    seen = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    with httpx.Client(transport=httpx.MockTransport(receiver)) as client:
        outcomes = delivery.deliver(row.id, tenant_a.prime.id, client=client)
    assert outcomes == {active.id: "delivered"} and len(seen) == 1
    request = seen[0]
    body = request.content
    assert json.loads(body)["data"]["content"] == row.content.decode()
    expected = webhooks.sign(active.secret, f"edi-{row.id}", int(request.headers["webhook-timestamp"]), body)
    assert request.headers["webhook-signature"] == expected and request.headers["webhook-id"] == f"edi-{row.id}"


def test_an_export_without_the_webhook_flag_queues_nothing(db, tenant_a, planner, items, monkeypatch):
    forecasts.publish(planner, tenant_a.relationship.id, horizon([i.id for i in items]))
    queued = []
    monkeypatch.setattr(delivery.deliver_task, "apply_async", lambda args, queue: queued.append(args))
    outbound.export_forecast(planner, tenant_a.relationship.id, 1)
    assert queued == []
