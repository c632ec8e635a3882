"""The Celery tasks are thin: they call the notify services and hand rows on; concurrency keeps sends single."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from cogrow.alerts import notify, services, tasks
from cogrow.core.models import OutboxEvent
from cogrow.core.types import utcnow
from tests.alerts.conftest import put_ledger


def test_dispatch_task_hands_every_row_to_its_sender(db, tenant_a, monkeypatch):
    put_ledger(db, tenant_a.item, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    services.sync_alerts(tenant_a.relationship.id, [tenant_a.item.id], utcnow())
    db.session.commit()
    row = db.session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "notify"))
    sent = []
    monkeypatch.setattr(tasks.send_email, "delay", lambda i: sent.append(("email", i)))
    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda i: sent.append(("webhook", i)))
    assert tasks.dispatch.run(row.id) == {"emails": 4, "webhooks": 0}
    assert [kind for kind, _i in sent] == ["email"] * 4


def test_a_failed_send_schedules_its_retry_with_a_countdown(db, tenant_a, monkeypatch, config):
    config(MAIL_SERVER="127.0.0.1", MAIL_PORT=1)
    put_ledger(db, tenant_a.item, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    services.sync_alerts(tenant_a.relationship.id, [tenant_a.item.id], utcnow())
    db.session.commit()
    row = db.session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "notify"))
    delivery_id = notify.dispatch(row.id).emails[0]
    scheduled = []
    monkeypatch.setattr(tasks.send_email, "apply_async", lambda args, countdown: scheduled.append((args, countdown)))
    assert tasks.send_email.run(delivery_id) == "failed"
    ((args, countdown),) = scheduled
    assert args == (delivery_id,) and 15 <= countdown <= 30


@pytest.mark.postgres_only
def test_two_senders_at_once_send_one_email(app, smtp):
    """Real threads, real sessions: the second sender waits on the row lock and then finds the row sent."""
    from cogrow.alerts.models import EmailDelivery
    from cogrow.extensions import db
    from tests.conftest import build_tenant

    with app.app_context():
        tenant = build_tenant("CONCURRENT")
        made = {"orgs": [tenant.prime.id, tenant.supplier.id], "rel": tenant.relationship.id,
                "users": [u.id for u in tenant.users.values()]}
        put_ledger(db, tenant.item, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
        services.sync_alerts(tenant.relationship.id, [tenant.item.id], utcnow())
        db.session.commit()
        row = db.session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "notify",
                                                          OutboxEvent.relationship_id == tenant.relationship.id))
        fan = notify.dispatch(row.id)
        ids = list(fan.emails)
        db.session.remove()
    outcomes = []
    barrier = threading.Barrier(2)

    def sender():
        with app.app_context():
            barrier.wait()
            for delivery_id in ids:
                outcomes.append(notify.send_email(delivery_id).status)
            db.session.remove()

    try:
        threads = [threading.Thread(target=sender) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes) == sorted(["sent"] * len(ids) + ["skipped"] * len(ids))
        assert len(smtp.messages) == len(ids) == 4
        with app.app_context():
            assert {d.status for d in db.session.scalars(select(EmailDelivery).where(EmailDelivery.id.in_(ids)))} == {"sent"}
    finally:
        with app.app_context():
            _cleanup(made)


def _cleanup(made):
    """This test committed for real: remove what it made, children first."""
    from sqlalchemy import delete

    from cogrow.accounts.models import ApiToken, Membership, Organisation, User
    from cogrow.alerts.models import Alert
    from cogrow.catalog.models import Item
    from cogrow.core.models import AuditLog
    from cogrow.coverage.models import CoverageLedger
    from cogrow.extensions import db
    from cogrow.relationships.models import SupplyRelationship

    orgs, users, rel = made["orgs"], made["users"], made["rel"]
    db.session.execute(delete(Alert).where(Alert.relationship_id == rel))
    db.session.execute(delete(OutboxEvent).where(OutboxEvent.relationship_id == rel))
    db.session.execute(delete(CoverageLedger).where(CoverageLedger.relationship_id == rel))
    db.session.execute(delete(Item).where(Item.relationship_id == rel))
    db.session.execute(delete(SupplyRelationship).where(SupplyRelationship.id == rel))
    db.session.execute(delete(AuditLog).where(AuditLog.organisation_id.in_(orgs)))
    db.session.execute(delete(ApiToken).where(ApiToken.organisation_id.in_(orgs)))
    db.session.execute(delete(Membership).where(Membership.organisation_id.in_(orgs)))
    db.session.execute(delete(User).where(User.id.in_(users)))
    db.session.execute(delete(Organisation).where(Organisation.id.in_(orgs)))
    db.session.commit()
    db.session.remove()
