"""A sender holds no database transaction while a mail server or webhook receiver answers (on SQLite that
transaction is the whole file's write lock, which stopped reconciliation for the whole timeout); a lease on the
row keeps a second sender away instead."""
from __future__ import annotations

import smtplib
from datetime import timedelta

import httpx
from sqlalchemy import select

from cogrow.alerts import notify, services
from cogrow.alerts.models import EmailDelivery
from cogrow.core.models import OutboxEvent
from cogrow.core.types import utcnow
from tests.alerts.conftest import put_ledger
from tests.alerts.factories import WebhookEndpointFactory


def _fan_out(db, tenant):
    put_ledger(db, tenant.item, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    services.sync_alerts(tenant.relationship.id, [tenant.item.id], utcnow())
    db.session.commit()
    row = db.session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "notify"))
    return notify.dispatch(row.id)


def test_an_email_is_sent_outside_any_transaction_and_a_second_sender_meanwhile_skips_it(db, tenant_a, smtp,
                                                                                          monkeypatch):
    delivery_id = _fan_out(db, tenant_a).emails[0]
    seen = []
    real_send = smtplib.SMTP.send_message

    def send_message(self, message, *args, **kwargs):
        seen.append(db.session().in_transaction())
        seen.append(notify.send_email(delivery_id).status)  # another worker, while this one is on the wire
        return real_send(self, message, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "send_message", send_message)
    assert notify.send_email(delivery_id).status == "sent"
    assert seen == [False, "skipped"]
    assert len(smtp.messages) == 1


def test_a_webhook_is_posted_outside_any_transaction(db, tenant_a, receiver, monkeypatch):
    WebhookEndpointFactory(organisation_id=tenant_a.prime.id, url=receiver.url)
    (delivery_id,) = _fan_out(db, tenant_a).webhooks
    seen = []
    real_send = httpx.Client.send

    def send(self, request, *args, **kwargs):
        seen.append(db.session().in_transaction())
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    assert notify.deliver_webhook(delivery_id).status == "delivered"
    assert seen == [False] and len(receiver.requests) == 1


def test_a_sender_that_died_mid_send_is_replaced_once_its_lease_ends(db, tenant_a, smtp, config, monkeypatch):
    config(NOTIFY_LEASE_SECONDS=60)
    delivery_id = _fan_out(db, tenant_a).emails[0]
    now = utcnow()

    def die(*args, **kwargs):
        raise KeyboardInterrupt  # the process is gone: no outcome is recorded

    monkeypatch.setattr(smtplib.SMTP, "send_message", die)
    try:
        notify.send_email(delivery_id, now=now)
    except KeyboardInterrupt:
        db.session.rollback()
    row = db.session.get(EmailDelivery, delivery_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert delivery_id not in notify.due_deliveries(now + timedelta(seconds=59)).emails
    assert delivery_id in notify.due_deliveries(now + timedelta(seconds=61)).emails
