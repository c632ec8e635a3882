"""Fan-out of alert events to inboxes, e-mail and webhooks: everyone of the right roles, once per event id."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from cogrow.alerts import notify, services
from cogrow.alerts.models import EmailDelivery, InboxEntry, NotificationPreference, WebhookDelivery
from cogrow.core.models import OutboxEvent
from cogrow.core.types import utcnow
from tests.alerts.conftest import put_ledger
from tests.alerts.factories import WebhookEndpointFactory


def _raise_alert(db, tenant):
    put_ledger(db, tenant.item, fg_on_hand=1540, wip=200, supply=1740, guaranteed=1200, open_po=800,
               firm_uncovered=400, excess=540, exposure_amount=8100000)
    services.sync_alerts(tenant.relationship.id, [tenant.item.id], utcnow())
    db.session.commit()
    return db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "notify")
                              .order_by(OutboxEvent.id.desc())).first()


def _count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_fan_out_reaches_procurement_production_and_admins_of_both_sides(db, tenant_a):
    row = _raise_alert(db, tenant_a)
    notify.dispatch(row.id)
    got = set(db.session.scalars(select(InboxEntry.user_id)))
    expected = {tenant_a.users[k].id for k in ("prime:procurement", "prime:admin", "supplier:production",
                                               "supplier:admin")}
    assert got == expected, "planners get no alert notifications"


def test_dispatch_twice_sends_every_message_once(db, tenant_a, smtp, receiver):
    WebhookEndpointFactory(organisation_id=tenant_a.prime.id, url=receiver.url)
    WebhookEndpointFactory(organisation_id=tenant_a.supplier.id, url=receiver.url)
    row = _raise_alert(db, tenant_a)
    first = notify.dispatch(row.id)
    second = notify.dispatch(row.id)
    assert _count(db, InboxEntry) == 4 and _count(db, EmailDelivery) == 4 and _count(db, WebhookDelivery) == 2
    # Both runs hand the same rows to the senders; each sender claims a row once.
    for delivery_id in first.emails + second.emails:
        notify.send_email(delivery_id)
    for delivery_id in first.webhooks + second.webhooks:
        notify.deliver_webhook(delivery_id)
    assert len(smtp.messages) == 4
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp.messages) == sorted(
        tenant_a.users[k].email for k in ("prime:procurement", "prime:admin", "supplier:production", "supplier:admin"))
    assert len(receiver.requests) == 2
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    assert _count(db, EmailDelivery, EmailDelivery.status == "sent") == 4
    assert _count(db, WebhookDelivery, WebhookDelivery.status == "delivered") == 2
    # A third dispatch (a relay that published twice) finds nothing left to send.
    again = notify.dispatch(row.id)
    assert again.emails == [] and again.webhooks == []


def test_email_is_in_the_users_language_and_links_to_the_alert(db, tenant_a, smtp):
    tenant_a.users["prime:procurement"].locale = "ko"
    db.session.commit()
    row = _raise_alert(db, tenant_a)
    for delivery_id in notify.dispatch(row.id).emails:
        notify.send_email(delivery_id)
    by_user = {m["To"].addresses[0].addr_spec: m for m in smtp.messages}
    alert_id = row.payload["alert_id"]
    for key in ("prime:procurement", "prime:admin"):
        body = by_user[tenant_a.users[key].email].get_content()
        assert f"https://cogrow.example.com/alerts/{alert_id}" in body
        assert "8,100,000" in body and "1,540" in body
    english = by_user[tenant_a.users["prime:admin"].email]
    assert "Excess inventory" in english["Subject"]
    assert "FG 1,540 + WIP 200 against guaranteed 1,200" in english.get_content()


def test_preferences_choose_each_digest_or_no_email(db, tenant_a, smtp):
    off, digest = tenant_a.users["prime:admin"], tenant_a.users["supplier:admin"]
    db.session.add_all([NotificationPreference(user_id=off.id, email_mode="off"),
                        NotificationPreference(user_id=digest.id, email_mode="digest")])
    db.session.commit()
    row = _raise_alert(db, tenant_a)
    fan = notify.dispatch(row.id)
    assert len(fan.emails) == 2
    assert _count(db, EmailDelivery, EmailDelivery.user_id == off.id) == 0
    assert _count(db, EmailDelivery, EmailDelivery.user_id == digest.id, EmailDelivery.status == "digest") == 1
    assert _count(db, InboxEntry, InboxEntry.user_id.in_((off.id, digest.id))) == 2, "the inbox gets everything"

    digests = notify.collect_digests()
    assert len(digests) == 1 and notify.collect_digests() == []
    for delivery_id in digests + digests:
        notify.send_email(delivery_id)
    (message,) = smtp.messages
    assert message["To"].addresses[0].addr_spec == digest.email
    assert "8,100,000" in message.get_content()


def test_smtp_failure_is_retried_with_backoff_then_dead_lettered(db, tenant_a, config):
    config(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, NOTIFY_MAX_ATTEMPTS=3)  # nothing listens on port 1
    row = _raise_alert(db, tenant_a)
    delivery_id = notify.dispatch(row.id).emails[0]
    now = utcnow()
    outcome = notify.send_email(delivery_id, now=now)
    delivery = db.session.get(EmailDelivery, delivery_id)
    assert outcome.status == "failed" and delivery.attempts == 1 and delivery.last_error
    assert 15 <= outcome.retry_in <= 30 and delivery.next_attempt_at > now
    assert notify.send_email(delivery_id, now=now).status == "skipped", "not due yet"
    outcome = notify.send_email(delivery_id, now=now + timedelta(minutes=1))
    assert outcome.status == "failed" and 30 <= outcome.retry_in <= 60
    outcome = notify.send_email(delivery_id, now=now + timedelta(minutes=5))
    db.session.refresh(delivery)
    assert outcome.status == "dead" and delivery.status == "dead" and delivery.attempts == 3
    assert notify.send_email(delivery_id, now=now + timedelta(days=1)).status == "skipped"


def test_due_deliveries_finds_rows_whose_task_was_lost(db, tenant_a):
    row = _raise_alert(db, tenant_a)
    fan = notify.dispatch(row.id)
    due = notify.due_deliveries()
    assert sorted(due.emails) == sorted(fan.emails)
