"""The threshold is an amount in the relationship's currency; the currency is fixed once items are priced in it."""
from __future__ import annotations

from decimal import Decimal

from cogrow.relationships.models import SupplyRelationship
from tests import factories as f
from tests.conftest import sign_in

D = Decimal


def _auth(tenant, key="prime:admin"):
    return {"Authorization": f"Bearer {tenant.tokens[key]}"}


def test_the_threshold_travels_as_an_amount_beside_its_currency(client, db, tenant_a):
    rel = tenant_a.relationship
    rel.currency, rel.threshold_amount = "USD", D("750")
    db.session.commit()
    body = client.get(f"/api/v1/relationships/{rel.id}", headers=_auth(tenant_a)).get_json()
    assert body["currency"] == "USD" and body["threshold_amount"] == "750" and "threshold_krw" not in body
    sign_in(client, tenant_a.users["prime:planner"])  # reads the terms
    html = client.get(f"/relationships/{rel.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'data-test="threshold-amount">$750.00' in html and "(KRW)" not in html
    sign_in(client, tenant_a.users["prime:admin"])  # edits them: the field is an amount, not "KRW"
    html = client.get(f"/relationships/{rel.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'name="threshold_amount"' in html and "(KRW)" not in html


def test_the_currency_cannot_change_once_the_relationship_has_items(client, db, tenant_a):
    rel = tenant_a.relationship  # tenant_a has an item priced in KRW
    url = f"/api/v1/relationships/{rel.id}"
    etag = client.get(url, headers=_auth(tenant_a)).headers["ETag"]
    response = client.patch(url, json={"currency": "USD"}, headers={**_auth(tenant_a), "If-Match": etag})
    assert response.status_code == 422 and "currency" in response.get_json()["error"]["fields"]
    assert db.session.get(SupplyRelationship, rel.id).currency == "KRW"


def test_a_relationship_without_items_may_change_its_currency(client, db, tenant_a):
    rel = f.RelationshipFactory(prime=tenant_a.prime)
    db.session.commit()
    url = f"/api/v1/relationships/{rel.id}"
    etag = client.get(url, headers=_auth(tenant_a)).headers["ETag"]
    response = client.patch(url, json={"currency": "USD", "threshold_amount": "500"},
                            headers={**_auth(tenant_a), "If-Match": etag})
    assert response.status_code == 200
    assert (response.get_json()["currency"], response.get_json()["threshold_amount"]) == ("USD", "500")
