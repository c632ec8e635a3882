"""With the real reconciliation: a production report's excess raises an alert, a PO that covers it resolves it."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from cogrow.alerts.models import Alert
from cogrow.core.models import OutboxEvent
from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.production.models import ItemPosition
from tests import factories as f


def test_reconcile_raises_then_resolves_an_excess_alert(db, tenant_a):
    from cogrow.coverage import services as coverage

    report = f.ProductionReportFactory(item=tenant_a.item, fg_on_hand=Decimal("540"), wip_qty=Decimal("0"))
    db.session.add(ItemPosition(item_id=tenant_a.item.id, relationship_id=tenant_a.relationship.id, report_id=report.id,
                                as_of=report.as_of, good_qty=Decimal("0"), scrap_qty=Decimal("0"),
                                wip_qty=Decimal("0"), fg_on_hand=Decimal("540"), updated_at=utcnow()))
    db.session.commit()
    coverage.reconcile(tenant_a.relationship.id, [tenant_a.item.id])
    alert = db.session.scalar(select(Alert).where(Alert.type == "excess_inventory"))
    assert alert is not None and alert.status == "open" and alert.numbers["excess"] == "540"
    assert db.session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "notify")).payload["alert_id"] == alert.id

    po = f.PurchaseOrderFactory(supply_relationship=tenant_a.relationship, status="acknowledged")
    f.PurchaseOrderLineFactory(purchase_order=po, item=tenant_a.item, quantity=Decimal("600"),
                               due_date=local_today() + timedelta(days=21))
    db.session.commit()
    coverage.reconcile(tenant_a.relationship.id, [tenant_a.item.id])
    db.session.refresh(alert)
    assert alert.status == "resolved"
