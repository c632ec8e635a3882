"""A USD relationship's exposure is labelled USD and compared with its USD threshold, never with a KRW figure."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from cogrow.alerts import explain, services
from cogrow.alerts.models import Alert
from cogrow.core.types import utcnow
from tests import factories as f
from tests.alerts.conftest import put_ledger
from tests.conftest import sign_in

D = Decimal


def _usd(db, tenant, threshold=None):
    rel = tenant.relationship
    rel.currency, rel.threshold_amount = "USD", threshold
    item = f.ItemFactory(supply_relationship=rel, unit_price=D("2.5"), currency="USD", prime_part_number="PN-USD-1")
    db.session.commit()
    return rel, item


def _excess_alert(db, item):
    return db.session.scalar(select(Alert).where(Alert.item_id == item.id, Alert.type == "excess_inventory"))


def test_a_usd_threshold_is_compared_with_the_usd_exposure(db, tenant_a):
    rel, item = _usd(db, tenant_a, threshold=D("200"))
    put_ledger(db, item, excess=60, exposure_amount="150", guaranteed=100)  # USD 150: under USD 200
    services.sync_alerts(rel.id, [item.id], utcnow())
    assert _excess_alert(db, item) is None
    put_ledger(db, item, excess=100, exposure_amount="250", guaranteed=100)  # USD 250: over
    services.sync_alerts(rel.id, [item.id], utcnow())
    alert = _excess_alert(db, item)
    assert alert is not None and alert.severity == "warning"  # 1x to 3x the USD threshold
    assert alert.numbers["currency"] == "USD" and alert.numbers["exposure_amount"] == "250"
    assert "exposure_krw" not in alert.numbers


def test_without_a_threshold_a_usd_exposure_is_graded_on_a_dollar_reference_not_a_million(db, tenant_a):
    rel, item = _usd(db, tenant_a)
    put_ledger(db, item, excess=1000, exposure_amount="3500", guaranteed=100)
    services.sync_alerts(rel.id, [item.id], utcnow())
    # USD 3,500 is over 3x the USD reference (1,000); read as won against 1,000,000 it would be "info".
    assert _excess_alert(db, item).severity == "critical"
    assert services.severity_for(D("3500"), None, "KRW") == "info"


def test_an_exposure_in_another_currency_than_the_threshold_is_not_compared(db, tenant_a):
    rel = tenant_a.relationship
    rel.threshold_units, rel.threshold_amount = D("1000"), D("100")
    db.session.commit()
    # A ledger row left in USD on a relationship now in KRW: USD 500 is not "over ₩100".
    assert not services.excess_exceeds_threshold(rel, D(10), D(500), D(100), "USD")
    assert services.excess_exceeds_threshold(rel, D(10), D(500), D(100), "KRW")


def test_the_alert_shows_and_sends_its_amount_in_usd(client, db, tenant_a):
    rel, item = _usd(db, tenant_a, threshold=D("100"))
    put_ledger(db, item, excess=100, exposure_amount="250", guaranteed=100, fg_on_hand=200, supply=200)
    services.sync_alerts(rel.id, [item.id], utcnow())
    db.session.commit()
    alert = _excess_alert(db, item)
    assert "$250.00" in explain.explain(alert.type, alert.numbers, alert.context)
    assert "₩" not in explain.explain(alert.type, alert.numbers, alert.context)
    sign_in(client, tenant_a.users["prime:procurement"])
    page = client.get(f"/alerts/{alert.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "$250.00" in page and "₩250" not in page
    token = tenant_a.tokens["prime:procurement"]
    body = client.get(f"/api/v1/alerts/{alert.id}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["currency"] == "USD" and body["numbers"]["exposure_amount"] == "250"
    events = client.get(f"/api/v1/alerts/{alert.id}/events", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert events["data"][0]["currency"] == "USD"
    from cogrow.alerts.models import AlertEvent
    from cogrow.alerts.notify import webhook_body
    import json

    event = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert.id))
    payload = json.loads(webhook_body(event))["data"]
    assert payload["currency"] == "USD" and payload["amount"] == "250"


def test_alerts_sorted_by_exposure_rank_usd_by_its_krw_value_or_after_the_others_without_a_rate(client, db, tenant_a):
    from cogrow.money.models import FxRate
    from cogrow.money.services import current_month
    from tests.alerts.factories import AlertFactory

    usd_rel = f.RelationshipFactory(prime=tenant_a.prime, currency="USD")
    usd_item = f.ItemFactory(supply_relationship=usd_rel, unit_price=D("2.5"), currency="USD")
    won = AlertFactory(item=tenant_a.item, exposure=D("100000"), severity="warning")
    dollars = AlertFactory(item=usd_item, exposure=D("200"), severity="warning")
    db.session.commit()
    token = {"Authorization": f"Bearer {tenant_a.tokens['prime:procurement']}"}

    def order(sort):
        body = client.get(f"/api/v1/alerts?sort={sort}&status=unresolved", headers=token).get_json()
        return [a["id"] for a in body["data"] if a["id"] in (won.id, dollars.id)]

    # No rate: USD 200 is not compared with ₩100,000 as if it were won; it comes after.
    assert order("exposure") == [won.id, dollars.id]
    assert order("severity") == [won.id, dollars.id]
    db.session.add(FxRate(prime_id=tenant_a.prime.id, month=current_month(), currency="USD", krw_per_unit=D("1400")))
    db.session.commit()
    assert order("exposure") == [dollars.id, won.id]  # USD 200 is ₩280,000 this month
    assert order("severity") == [dollars.id, won.id]
