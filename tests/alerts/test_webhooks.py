"""Webhooks: Standard Webhooks signatures, 410, retries with backoff, dead letters, and refused targets."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from cogrow.alerts import notify, services, webhooks
from cogrow.alerts.models import WebhookDelivery, WebhookEndpoint
from cogrow.core.models import OutboxEvent
from cogrow.core.types import utcnow
from tests.alerts.conftest import put_ledger
from tests.alerts.factories import WebhookEndpointFactory


def _delivery(db, tenant, url):
    endpoint = WebhookEndpointFactory(organisation_id=tenant.prime.id, url=url)
    put_ledger(db, tenant.item, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    services.sync_alerts(tenant.relationship.id, [tenant.item.id], utcnow())
    db.session.commit()
    row = db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "notify")).first()
    (delivery_id,) = notify.dispatch(row.id).webhooks
    return endpoint, delivery_id


def _verify(secret: str, headers: dict, body: bytes) -> bool:
    """An independent reading of the Standard Webhooks spec, as a receiver would write it."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return any(sig.startswith("v1,") and hmac.compare_digest(sig[3:], expected)
               for sig in headers["webhook-signature"].split(" "))


def test_a_delivery_is_signed_so_that_the_receiver_can_verify_it(db, tenant_a, receiver):
    endpoint, delivery_id = _delivery(db, tenant_a, receiver.url)
    assert notify.deliver_webhook(delivery_id).status == "delivered"
    (request,) = receiver.requests
    headers, body = request["headers"], request["body"]
    assert _verify(endpoint.secret, headers, body)
    assert not _verify(endpoint.secret, headers, body + b" "), "a changed body must not verify"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 300
    assert headers["content-type"] == "application/json"
    payload = json.loads(body)
    assert payload["type"] == "alert.raised" and payload["data"]["alert_type"] == "excess_inventory"
    assert payload["data"]["event_id"] == headers["webhook-id"]
    assert len(webhooks.secret_key(endpoint.secret)) >= 24


def test_a_410_disables_the_endpoint(db, tenant_a, receiver):
    receiver.statuses = [410]
    endpoint, delivery_id = _delivery(db, tenant_a, receiver.url)
    assert notify.deliver_webhook(delivery_id).status == "dead"
    db.session.refresh(endpoint)
    assert endpoint.active is False and "410" in endpoint.disabled_reason
    # Later events do not go to a disabled endpoint at all.
    put_ledger(db, tenant_a.item, supply=100, guaranteed=200, excess=0, exposure_amount=0)
    services.sync_alerts(tenant_a.relationship.id, [tenant_a.item.id], utcnow())
    db.session.commit()
    row = db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "notify").order_by(OutboxEvent.id.desc())).first()
    assert notify.dispatch(row.id).webhooks == []
    assert len(receiver.requests) == 1


def test_failures_are_retried_with_growing_jittered_delays_then_dead_lettered(db, tenant_a, receiver, config):
    config(NOTIFY_MAX_ATTEMPTS=4)
    receiver.statuses = [500, 503, 302, 500]
    _endpoint, delivery_id = _delivery(db, tenant_a, receiver.url)
    now = utcnow()
    delays = []
    for attempt in range(1, 5):
        outcome = notify.deliver_webhook(delivery_id, now=now)
        delivery = db.session.get(WebhookDelivery, delivery_id)
        assert delivery.attempts == attempt
        if attempt < 4:
            assert outcome.status == "failed" and delivery.status == "failed"
            step = 30 * 2 ** (attempt - 1)
            assert step / 2 <= outcome.retry_in <= step
            delays.append(outcome.retry_in)
            assert notify.deliver_webhook(delivery_id, now=now).status == "skipped", "not before it is due"
            now = delivery.next_attempt_at + timedelta(seconds=1)
    assert outcome.status == "dead" and delivery.status == "dead" and delivery.last_status_code == 500
    assert len(receiver.requests) == 4, "a redirect is a failure, never followed"
    assert notify.deliver_webhook(delivery_id, now=now + timedelta(days=1)).status == "skipped"


def test_a_dead_letter_can_be_redelivered_by_an_admin(db, tenant_a, receiver, config, client):
    from tests.conftest import sign_in

    config(NOTIFY_MAX_ATTEMPTS=1)
    receiver.statuses = [500]
    _endpoint, delivery_id = _delivery(db, tenant_a, receiver.url)
    assert notify.deliver_webhook(delivery_id).status == "dead"
    sign_in(client, tenant_a.users["prime:admin"])
    page = client.get("/settings/webhooks")
    assert page.status_code == 200 and 'data-test="dead-letters"' in page.get_data(as_text=True)
    response = client.post(f"/settings/webhooks/deliveries/{delivery_id}/redeliver")
    assert response.status_code == 302
    delivery = db.session.get(WebhookDelivery, delivery_id)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    row = db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "notify").order_by(OutboxEvent.id.desc())).first()
    assert notify.dispatch(row.id).webhooks == [delivery_id]
    assert notify.deliver_webhook(delivery_id).status == "delivered"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://10.1.2.3/hook", "http://172.16.0.1/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/hook", "http://[fe80::1]/", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://localhost:8080/hook", "ftp://example.com/", "http://user:pw@example.com/",
])
def test_private_loopback_and_link_local_targets_are_refused(app, url):
    with app.test_request_context(), pytest.raises(webhooks.UnsafeTarget):
        webhooks.check_target(url, allow_private=False)


def test_a_public_address_is_accepted(app):
    with app.test_request_context():
        webhooks.check_target("https://93.184.216.34/hook", allow_private=False)


def test_a_target_that_turned_private_is_refused_at_delivery_time(db, tenant_a, receiver, config):
    _endpoint, delivery_id = _delivery(db, tenant_a, receiver.url)
    config(WEBHOOK_ALLOW_PRIVATE=False)
    assert notify.deliver_webhook(delivery_id).status == "dead"
    assert receiver.requests == []
    assert "refused" in db.session.get(WebhookDelivery, delivery_id).last_error


def test_the_api_refuses_to_add_a_private_endpoint_and_shows_a_new_secret_once(db, client, tenant_a, config):
    config(WEBHOOK_ALLOW_PRIVATE=False)
    token = tenant_a.tokens["prime:admin"]
    headers = {"Authorization": f"Bearer {token}"}
    refused = client.post("/api/v1/webhooks", json={"url": "http://169.254.169.254/"}, headers=headers)
    assert refused.status_code == 422 and "url" in refused.get_json()["error"]["fields"]
    created = client.post("/api/v1/webhooks", json={"url": "https://93.184.216.34/hook"}, headers=headers)
    assert created.status_code == 201 and created.get_json()["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhooks", headers=headers).get_json()["data"]
    assert [e["url"] for e in listed] == ["https://93.184.216.34/hook"] and "secret" not in listed[0]
    assert db.session.scalar(select(WebhookEndpoint.organisation_id)) == tenant_a.prime.id


def test_the_admin_page_shows_the_secret_only_when_the_endpoint_is_added(db, client, tenant_a, config):
    from tests.conftest import sign_in

    config(WEBHOOK_ALLOW_PRIVATE=False)
    sign_in(client, tenant_a.users["supplier:admin"])
    response = client.post("/settings/webhooks", data={"url": "https://93.184.216.34/hook", "description": "ERP"})
    secret = db.session.scalar(select(WebhookEndpoint.secret))
    assert response.status_code == 201 and secret in response.get_data(as_text=True)
    assert secret not in client.get("/settings/webhooks").get_data(as_text=True)
    bad = client.post("/settings/webhooks", data={"url": "http://10.0.0.1/"})
    assert bad.status_code == 422 and 'data-field="url"' in bad.get_data(as_text=True)
