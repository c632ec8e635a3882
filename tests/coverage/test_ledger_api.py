"""The coverage routes on the declared API: pages with a Link, the guard before the body, the document."""
from __future__ import annotations

from cogrow.core.models import OutboxEvent
from cogrow.coverage import services
from tests.coverage import builders as b


def _h(tenant, key="prime:procurement"):
    return {"Authorization": f"Bearer {tenant.tokens[key]}"}


def test_a_malformed_recompute_for_a_foreign_relationship_is_a_404(client, db, tenant_a, tenant_b):
    url = f"/api/v1/relationships/{tenant_b.relationship.id}/ledger/recompute"
    for body in ({"item_ids": ["1"]}, {"items": [1]}):
        assert client.post(url, json=body, headers=_h(tenant_a)).status_code == 404
    assert client.post(url, data="{not json", content_type="application/json", headers=_h(tenant_a)).status_code == 404
    assert db.session.query(OutboxEvent).count() == 0


def test_the_ledger_is_paged_with_a_link_and_an_uncomputed_item_has_none(client, db, tenant_a):
    rel = tenant_a.relationship
    fresh = b.item(rel, price="10")
    answer = client.get(f"/api/v1/relationships/{rel.id}/items/{fresh.id}/ledger", headers=_h(tenant_a)).get_json()
    assert answer == {"item_id": fresh.id, "ledger": None, "pending": False, "computed_at": None, "explanation": None,
                      "weeks": []}
    services.reconcile(rel.id, None)
    first = client.get(f"/api/v1/relationships/{rel.id}/ledger?limit=1", headers=_h(tenant_a))
    assert first.status_code == 200 and first.headers["Link"].endswith('rel="next"')
    row = first.get_json()["data"][0]
    assert row["currency"] == "KRW" and row["computed_at"].endswith("Z") and isinstance(row["exposure_amount"], str)
    last = client.get(f"/api/v1/relationships/{rel.id}/ledger?limit=2", headers=_h(tenant_a))
    assert len(last.get_json()["data"]) == 2 and "Link" in last.headers
    beyond = client.get(f"/api/v1/relationships/{rel.id}/ledger?limit=2&offset=2", headers=_h(tenant_a))
    assert beyond.get_json()["data"] == [] and "Link" not in beyond.headers


def test_the_document_declares_the_coverage_operations(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    ops = {op["operationId"]: op for path in doc["paths"].values() for op in path.values()}
    assert {"getItemLedger", "listLedger", "recomputeLedger"} <= set(ops)
    assert "202" in ops["recomputeLedger"]["responses"]
    assert "Link" in ops["listLedger"]["responses"]["200"]["headers"]
    schemas = doc["components"]["schemas"]
    assert {"exposure_amount", "currency"} <= set(schemas["CoverageLedger"]["properties"])
    assert "exposure_krw" not in schemas["CoverageLedger"]["properties"]
