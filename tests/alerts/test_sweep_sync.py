"""The full sweep's alert sync: one set-based pass over every active relationship, with the same alerts, events and
notifications as the per-report sync of each relationship."""
from __future__ import annotations

from datetime import timedelta

import pytest

from sqlalchemy import select

from cogrow.alerts import services
from cogrow.alerts.models import Alert, AlertEvent, AlertSide
from cogrow.core.models import OutboxEvent
from cogrow.core.types import utcnow
from tests.alerts.conftest import put_ledger

EXCESS = {"fg_on_hand": 300, "supply": 300, "guaranteed": 200, "excess": 100, "exposure_amount": 150000}


def _state(db):
    alerts = [(a.relationship_id, a.item_id, a.type, a.status, a.severity, a.exposure, a.numbers, a.version)
              for a in db.session.scalars(select(Alert).order_by(Alert.relationship_id, Alert.type))]
    events = sorted((e.alert.relationship_id, e.kind, e.severity, e.status, e.qty, e.amount, e.reason)
                    for e in db.session.scalars(select(AlertEvent)))
    notices = sorted((r.relationship_id, r.payload["kind"])
                     for r in db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "notify")))
    return alerts, events, notices


def _scenario(db, tenant_a, tenant_b, sync):
    """Raise in both relationships, then escalate one, resolve the other; `sync` runs one round."""
    now = utcnow()
    put_ledger(db, tenant_a.item, **EXCESS)
    put_ledger(db, tenant_b.item, **EXCESS, projected_excess_qty=40, projected_excess_week=now.date())
    sync(now)
    sync(now)  # the same numbers again: nothing changes, nothing is notified
    (a_alert,) = db.session.scalars(select(Alert).where(Alert.relationship_id == tenant_a.relationship.id)).all()
    db.session.add(AlertSide(alert_id=a_alert.id, side="prime", status="acknowledged"))
    db.session.commit()
    put_ledger(db, tenant_a.item, fg_on_hand=3300, supply=3300, guaranteed=200, excess=3100, exposure_amount=4650000)
    put_ledger(db, tenant_b.item, supply=100, guaranteed=200)
    sync(now + timedelta(minutes=15))
    return _state(db)


@pytest.mark.parametrize("copy_from", [1, services.COPY_FROM])
def test_the_sweep_sync_writes_what_each_relationships_sync_writes(db, tenant_a, tenant_b, monkeypatch, copy_from):
    """With copy_from=1 the sweep's writes take the bulk path (COPY on PostgreSQL) even for these few rows."""
    def per_relationship(now):
        for tenant in (tenant_a, tenant_b):
            services.sync_alerts(tenant.relationship.id, None, now)
        db.session.commit()

    expected = _scenario(db, tenant_a, tenant_b, per_relationship)
    alerts, events, notices = expected
    assert [(a[2], a[3], a[4]) for a in alerts] == [("excess_inventory", "open", "critical"),
                                                    ("excess_inventory", "resolved", "info"),
                                                    ("projected_excess", "resolved", "info")]
    assert [kind for _rel, kind in notices].count("raised") == 3 and len(notices) == 6
    assert db.session.scalars(select(AlertSide)).all() == [], "the escalation woke the acknowledged side"
    for table in (AlertSide, AlertEvent, OutboxEvent, Alert):
        db.session.query(table).delete()
    db.session.commit()

    monkeypatch.setattr(services, "COPY_FROM", copy_from)

    def sweep(now):
        assert services.sync_all_alerts(now) is not None
        db.session.commit()

    assert _scenario(db, tenant_a, tenant_b, sweep) == expected


def test_the_sweep_sync_leaves_relationships_that_are_not_active_alone(db, tenant_a, tenant_b):
    tenant_b.relationship.status = "suspended"
    put_ledger(db, tenant_a.item, **EXCESS)
    put_ledger(db, tenant_b.item, **EXCESS)
    counts = services.sync_all_alerts(utcnow())
    db.session.commit()
    assert counts["raised"] == 1
    assert [a.relationship_id for a in db.session.scalars(select(Alert))] == [tenant_a.relationship.id]
