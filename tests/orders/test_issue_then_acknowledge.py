"""The link the document declares from issuePurchaseOrder to acknowledgePurchaseOrder works as written: the supplier
acknowledges with the ETag that the issue answered, nothing else."""
from __future__ import annotations

from tests.orders.test_api import api, po_url


def test_the_issue_answers_the_etag_the_acknowledgement_needs(client, db, tenant_a):
    created = client.post(f"/api/v1/relationships/{tenant_a.relationship.id}/orders",
                          json={"lines": [{"item_id": tenant_a.item.id, "quantity": "10", "due_date": "2027-03-01"}]},
                          headers=api(tenant_a, "prime:planner"))
    assert created.status_code == 201, created.get_json()
    po_id = created.get_json()["id"]
    po = type("Po", (), {"id": po_id})
    issued = client.post(po_url(tenant_a, po, "/issue"),
                         headers=api(tenant_a, "prime:planner", **{"If-Match": created.headers["ETag"]}))
    assert issued.status_code == 200, issued.get_json()
    assert issued.headers["ETag"] == f'"{issued.get_json()["version"]}"'
    acknowledged = client.post(po_url(tenant_a, po, "/acknowledge"),
                               headers=api(tenant_a, "supplier:production", **{"If-Match": issued.headers["ETag"]}))
    assert acknowledged.status_code == 200, acknowledged.get_json()
    assert acknowledged.get_json()["status"] == "acknowledged"
