"""The alert lifecycle: raise, update, escalate, resolve by itself; one live alert per (type, relationship, item)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from cogrow.alerts import services
from cogrow.alerts.models import Alert, AlertEvent, AlertSide
from cogrow.core.models import OutboxEvent
from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from tests import factories as f
from tests.alerts.conftest import put_ledger
from tests.alerts.factories import AlertFactory


def _sync(db, tenant, now=None, item_ids="one"):
    ids = [tenant.item.id] if item_ids == "one" else item_ids
    services.sync_alerts(tenant.relationship.id, ids, now or utcnow())
    db.session.commit()


def _alerts(db, alert_type=None):
    query = select(Alert).order_by(Alert.id)
    if alert_type:
        query = query.where(Alert.type == alert_type)
    return list(db.session.scalars(query))


def _events(db, alert):
    return [e.kind for e in db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)
                                               .order_by(AlertEvent.id))]


def _notify_rows(db):
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "notify").order_by(OutboxEvent.id)))


def test_excess_alert_is_raised_updated_escalated_and_resolves_itself(db, tenant_a):
    put_ledger(db, tenant_a.item, fg_on_hand=300, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    _sync(db, tenant_a)
    (alert,) = _alerts(db)
    assert (alert.type, alert.status, alert.severity) == ("excess_inventory", "open", "info")
    assert alert.numbers["excess"] == "100" and alert.exposure == Decimal("150000")
    rows = _notify_rows(db)
    raised = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert.id))
    assert len(rows) == 1 and rows[0].payload["event_id"] == raised.uuid and raised.kind == "raised"

    put_ledger(db, tenant_a.item, fg_on_hand=320, supply=320, guaranteed=200, excess=120, exposure_amount=180000)
    _sync(db, tenant_a)
    assert [a.id for a in _alerts(db)] == [alert.id]
    assert alert.numbers["excess"] == "120" and _events(db, alert) == ["raised", "updated"]
    assert len(_notify_rows(db)) == 1, "an update that does not escalate notifies nobody"

    put_ledger(db, tenant_a.item, fg_on_hand=1000, supply=1000, guaranteed=200, excess=800, exposure_amount=1200000)
    _sync(db, tenant_a)
    assert alert.severity == "warning" and _events(db, alert)[-1] == "escalated"
    assert len(_notify_rows(db)) == 2

    put_ledger(db, tenant_a.item, fg_on_hand=100, supply=100, guaranteed=200, excess=0, exposure_amount=0)
    _sync(db, tenant_a)
    assert alert.status == "resolved" and alert.resolved_at is not None and alert.resolved_by_id is None
    last = db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id.desc())).first()
    assert last.kind == "resolved" and last.automatic
    assert [r.payload["kind"] for r in _notify_rows(db)] == ["raised", "escalated", "resolved"]


def test_running_sync_twice_with_the_same_numbers_changes_nothing(db, tenant_a):
    put_ledger(db, tenant_a.item, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    _sync(db, tenant_a)
    _sync(db, tenant_a)
    (alert,) = _alerts(db)
    assert _events(db, alert) == ["raised"] and alert.version == 1 and len(_notify_rows(db)) == 1


def test_the_database_refuses_a_second_live_alert_for_the_same_item_and_type(db, tenant_a):
    AlertFactory(item=tenant_a.item)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        AlertFactory(item=tenant_a.item)
    # A resolved one does not count: history keeps any number of them.
    AlertFactory(item=tenant_a.item, type="shortage_risk", status="resolved")
    AlertFactory(item=tenant_a.item, type="shortage_risk", status="resolved")
    AlertFactory(item=tenant_a.item, type="shortage_risk")


def test_raising_again_after_resolution_opens_a_new_alert(db, tenant_a):
    put_ledger(db, tenant_a.item, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    _sync(db, tenant_a)
    put_ledger(db, tenant_a.item, supply=100, guaranteed=200, excess=0, exposure_amount=0)
    _sync(db, tenant_a)
    put_ledger(db, tenant_a.item, supply=400, guaranteed=200, excess=200, exposure_amount=300000)
    _sync(db, tenant_a)
    first, second = _alerts(db)
    assert (first.status, second.status) == ("resolved", "open") and second.numbers["excess"] == "200"


def test_sync_leaves_items_outside_its_scope_alone(db, tenant_a):
    other = f.ItemFactory(supply_relationship=tenant_a.relationship)
    put_ledger(db, tenant_a.item, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    put_ledger(db, other, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    _sync(db, tenant_a)
    assert [a.item_id for a in _alerts(db)] == [tenant_a.item.id]
    _sync(db, tenant_a, item_ids=None)
    assert sorted(a.item_id for a in _alerts(db)) == sorted([tenant_a.item.id, other.id])


def test_an_item_without_a_ledger_row_resolves_its_ledger_alerts(db, tenant_a):
    AlertFactory(item=tenant_a.item, type="shortage_risk")
    _sync(db, tenant_a)
    assert _alerts(db)[0].status == "resolved"


def test_projected_excess_and_shortage_risk_follow_the_ledger(db, tenant_a):
    week = local_today() + timedelta(days=14)
    put_ledger(db, tenant_a.item, supply=100, guaranteed=100, projected_excess_qty=40, projected_excess_week=week,
               shortage_qty=25, shortage_week=week)
    _sync(db, tenant_a)
    by_type = {a.type: a for a in _alerts(db)}
    assert set(by_type) == {"projected_excess", "shortage_risk"}
    # exposure = quantity x unit price (1,500 a unit in the factories)
    assert by_type["projected_excess"].exposure == Decimal("60000")
    assert by_type["shortage_risk"].exposure == Decimal("37500")
    put_ledger(db, tenant_a.item, supply=100, guaranteed=100)
    _sync(db, tenant_a)
    assert {a.status for a in _alerts(db)} == {"resolved"}


def _po(tenant, status="issued", issued_days_ago=5, due=None, quantity=100, shipped=0):
    po = f.PurchaseOrderFactory(supply_relationship=tenant.relationship, status=status,
                                issued_at=utcnow() - timedelta(days=issued_days_ago))
    line = f.PurchaseOrderLineFactory(purchase_order=po, item=tenant.item, quantity=Decimal(quantity),
                                      due_date=due or local_today() + timedelta(days=30), shipped_qty=Decimal(shipped))
    return po, line


def test_an_issued_po_not_acknowledged_in_time_raises_an_alert_until_acknowledged(db, tenant_a):
    tenant_a.relationship.po_ack_days = 3
    po, _line = _po(tenant_a, issued_days_ago=5)
    _po(tenant_a, issued_days_ago=1)  # still within the allowed days
    _sync(db, tenant_a)
    (alert,) = _alerts(db, "po_unacknowledged")
    assert alert.context["po_numbers"] == [po.number]
    assert alert.numbers["qty"] == "100" and alert.numbers["value"] == "150000" and alert.numbers["lines"] == 1
    po.status = "acknowledged"
    db.session.commit()
    _sync(db, tenant_a)
    assert alert.status == "resolved"


@pytest.mark.parametrize("status, due_offset, shipped, raised", [
    ("acknowledged", -1, 0, True),
    ("partially_shipped", -3, 40, True),
    ("acknowledged", -1, 100, False),  # fully covered by ASNs
    ("acknowledged", 0, 0, False),  # due today is not overdue yet
    ("cancelled", -1, 0, False),  # not binding
    ("draft", -1, 0, False),
])
def test_asn_overdue_is_raised_for_binding_lines_past_due_without_asn(db, tenant_a, status, due_offset, shipped, raised):
    _po(tenant_a, status=status, due=local_today() + timedelta(days=due_offset), shipped=shipped)
    _sync(db, tenant_a)
    alerts = _alerts(db, "asn_overdue")
    assert bool(alerts) is raised
    if raised:
        assert alerts[0].numbers["qty"] == str(100 - shipped)


def test_asn_overdue_resolves_when_the_asn_covers_the_line(db, tenant_a):
    _po_row, line = _po(tenant_a, status="acknowledged", due=local_today() - timedelta(days=2))
    _sync(db, tenant_a)
    (alert,) = _alerts(db, "asn_overdue")
    line.shipped_qty = line.quantity
    db.session.commit()
    _sync(db, tenant_a)
    assert alert.status == "resolved"


def test_escalation_wakes_an_acknowledged_alert(db, tenant_a):
    put_ledger(db, tenant_a.item, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    _sync(db, tenant_a)
    (alert,) = _alerts(db)
    db.session.add(AlertSide(alert_id=alert.id, side="prime", status="acknowledged"))
    db.session.add(AlertSide(alert_id=alert.id, side="supplier", status="snoozed",
                             snoozed_until=utcnow() + timedelta(days=3)))
    db.session.commit()
    put_ledger(db, tenant_a.item, supply=3300, guaranteed=200, excess=3100, exposure_amount=4650000)
    _sync(db, tenant_a)
    assert (alert.status, alert.severity) == ("open", "critical")
    assert db.session.scalars(select(AlertSide)).all() == [], "both sides see it open again"


def test_each_notified_event_writes_exactly_one_outbox_row(db, tenant_a):
    put_ledger(db, tenant_a.item, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    _sync(db, tenant_a)
    notified = db.session.scalar(select(func.count()).select_from(AlertEvent)
                                 .where(AlertEvent.kind.in_(("raised", "escalated", "resolved"))))
    assert len(_notify_rows(db)) == notified == 1
