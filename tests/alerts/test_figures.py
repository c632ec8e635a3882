"""An alert's figures: recorded at each change of state, current in the header (with those at raising labelled),
the reason it resolved derived from the ledger figure that changed, and a shortage measured as revenue at risk."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from cogrow.alerts import notify, services
from cogrow.alerts.models import Alert, AlertEvent
from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.production.models import ItemPosition
from tests import factories as f
from tests.alerts.conftest import put_ledger
from tests.conftest import sign_in


def _sync(db, tenant):
    services.sync_alerts(tenant.relationship.id, [tenant.item.id])
    db.session.commit()


def _events(db, alert):
    return list(db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)))


def _report(db, tenant, days_ago):
    report = f.ProductionReportFactory(item=tenant.item, as_of=utcnow() - timedelta(days=days_ago))
    db.session.add(ItemPosition(item_id=tenant.item.id, relationship_id=tenant.relationship.id, report_id=report.id,
                                as_of=report.as_of, good_qty=0, scrap_qty=0, wip_qty=0, fg_on_hand=100))
    db.session.flush()
    return report


def test_a_resolved_alert_shows_todays_numbers_those_at_raising_and_why_it_resolved(db, client, tenant_a):
    put_ledger(db, tenant_a.item, fg_on_hand=450, supply=450, guaranteed=100, excess=350, exposure_amount=3330000)
    _sync(db, tenant_a)
    (alert,) = db.session.scalars(select(Alert)).all()
    put_ledger(db, tenant_a.item, fg_on_hand=300, supply=300, guaranteed=100, excess=200, exposure_amount=1900000)
    _sync(db, tenant_a)
    report = _report(db, tenant_a, days_ago=1)
    put_ledger(db, tenant_a.item, fg_on_hand=100, supply=100, guaranteed=100, excess=0, exposure_amount=0)
    _sync(db, tenant_a)

    events = _events(db, alert)
    assert [(e.kind, e.qty, e.amount) for e in events] == [
        ("raised", Decimal("350"), Decimal("3330000")), ("updated", Decimal("200"), Decimal("1900000")),
        ("resolved", Decimal("0"), Decimal("0"))]
    resolved = events[-1]
    assert resolved.reason == "production_report" and resolved.automatic
    assert resolved.numbers["why"]["date"] == report.as_of.isoformat()
    assert alert.exposure == 0 and alert.numbers["excess"] == "0", "the alert keeps the numbers it resolved with"

    sign_in(client, tenant_a.users["prime:procurement"])
    page = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert 'data-test="now-qty" data-value="0' in page and 'data-test="now-amount" data-value="0' in page
    assert "350 · ₩3,330,000" in page  # the numbers at raising, labelled as such
    assert "The excess fell to 0 after the production report of" in page
    assert 'data-event="resolved" data-reason="production_report"' in page
    api = client.get(f"/api/v1/alerts/{alert.id}/events",
                     headers={"Authorization": f"Bearer {tenant_a.tokens['prime:procurement']}"}).get_json()["data"]
    assert [(e["kind"], e["qty"], e["amount"], e["reason"]) for e in api][0] == ("resolved", "0", "0",
                                                                                 "production_report")


def test_an_alert_covered_by_a_new_po_says_so(db, client, tenant_a):
    put_ledger(db, tenant_a.item, fg_on_hand=450, supply=450, guaranteed=100, open_po=100, excess=350,
               exposure_amount=3330000)
    _sync(db, tenant_a)
    put_ledger(db, tenant_a.item, fg_on_hand=450, supply=450, guaranteed=450, open_po=450, excess=0, exposure_amount=0)
    _sync(db, tenant_a)
    (alert,) = db.session.scalars(select(Alert)).all()
    resolved = _events(db, alert)[-1]
    assert (resolved.kind, resolved.reason) == ("resolved", "po_issued")
    assert resolved.numbers["why"] == {"before": "100", "after": "450"}
    sign_in(client, tenant_a.users["prime:procurement"])
    assert "A PO covering it was issued (open PO 100 → 450)." in client.get(f"/alerts/{alert.id}").get_data(as_text=True)


def test_a_shortage_is_measured_in_revenue_at_risk_everywhere_it_is_labelled(db, client, tenant_a, receiver):
    week = local_today() + timedelta(days=14)
    # 60 units short at 1,500 a unit: 90,000 of revenue at risk; the ledger's exposure (about excess) is 0.
    put_ledger(db, tenant_a.item, supply=100, guaranteed=160, shortage_qty=60, shortage_week=week, exposure_amount=0)
    _sync(db, tenant_a)
    (alert,) = db.session.scalars(select(Alert).where(Alert.type == "shortage_risk")).all()
    assert alert.exposure == Decimal("90000") and alert.numbers["revenue_at_risk"] == "90000"

    sign_in(client, tenant_a.users["prime:procurement"])
    page = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "Revenue at risk · now" in page and 'data-test="now-amount" data-value="90000' in page
    assert "Exposure · now" not in page
    ledger = page.split('data-test="ledger-revenue-at-risk"')[1].split("</tr>")[0]
    assert "₩90,000" in ledger, "the header's figure is the ledger's"
    inbox = client.get("/alerts").get_data(as_text=True)
    assert '<span class="measure">Revenue at risk</span> ₩90,000' in inbox

    api = client.get(f"/api/v1/alerts/{alert.id}",
                     headers={"Authorization": f"Bearer {tenant_a.tokens['prime:procurement']}"}).get_json()
    assert (api["measure"], api["amount"], api["qty"]) == ("revenue_at_risk", "90000", "60")
    raised = _events(db, alert)[0]
    body = json.loads(notify.webhook_body(raised))
    assert (body["data"]["measure"], body["data"]["amount"], body["data"]["qty"]) == ("revenue_at_risk", "90000", "60")
    item = notify._email_item(raised)
    assert item["figures"] == "Units short 60 · Revenue at risk ₩90,000"
