"""The ledger keeps an item's exposure in the item's price currency, and says which."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from cogrow.coverage.models import CoverageLedger, ExposureSnapshot, ExposureWeek
from tests import factories as f
from tests.conftest import sign_in
from tests.home.prime_network import compute, stocked_item, user

D = Decimal


def test_a_usd_items_exposure_is_in_usd_in_the_ledger_snapshot_and_weekly_sum(client, db):
    rel = f.RelationshipFactory(currency="USD")
    it = stocked_item(rel, fg=100, price="2.5", currency="USD")  # 100 units, nothing guaranteed: USD 250
    compute(rel, [it])
    ledger = db.session.get(CoverageLedger, it.id)
    assert (ledger.exposure_amount, ledger.currency) == (D(250), "USD")
    snap = db.session.scalar(select(ExposureSnapshot).where(ExposureSnapshot.item_id == it.id))
    assert (snap.exposure_amount, snap.currency) == (D(250), "USD")
    week = db.session.scalar(select(ExposureWeek).where(ExposureWeek.relationship_id == rel.id))
    assert (week.exposure_amount, week.currency) == (D(250), "USD")
    db.session.commit()

    sign_in(client, user(rel.prime, "planner"))
    page = client.get(f"/relationships/{rel.id}/items/{it.id}/ledger", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert 'data-test="exposure" data-value="250" data-currency="USD"' in html and "$250.00" in html
    assert "₩250" not in html
    body = client.get(f"/api/v1/relationships/{rel.id}/items/{it.id}/ledger",
                      headers={"Accept-Language": "en"}).get_json()
    assert body["ledger"]["exposure_amount"] == "250" and body["ledger"]["currency"] == "USD"
    assert "exposure_krw" not in body["ledger"] and "$250.00" in body["explanation"]
