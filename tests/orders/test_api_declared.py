"""The orders API on the declared layer: bodies of actions, the owner guard of <po_id>, and what the document says."""
from __future__ import annotations

from cogrow.orders.models import PurchaseOrder

from tests.orders.helpers import DUE, api, make_po, po_url


def test_an_action_takes_no_body_or_a_strict_one(client, db, tenant_a):
    po = make_po(tenant_a, "issued")
    headers = api(tenant_a, "supplier:production", **{"If-Match": f'"{po.version}"'})
    unknown = client.post(po_url(tenant_a, po, "/acknowledge"), json={"reasn": "typo"}, headers=headers)
    assert unknown.status_code == 422 and set(unknown.get_json()["error"]["fields"]) == {"reasn"}
    not_json = client.post(po_url(tenant_a, po, "/acknowledge"), data="ok", content_type="text/plain", headers=headers)
    assert not_json.status_code == 415
    assert db.session.get(PurchaseOrder, po.id).status == "issued"
    done = client.post(po_url(tenant_a, po, "/acknowledge"), headers=headers)
    assert done.status_code == 200 and done.get_json()["status"] == "acknowledged"


def test_a_blank_cancel_reason_is_no_reason(client, db, tenant_a):
    po = make_po(tenant_a, "issued")
    response = client.post(po_url(tenant_a, po, "/cancel"), json={"reason": "  "},
                           headers=api(tenant_a, "prime:planner", **{"If-Match": f'"{po.version}"'}))
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert response.get_json()["status_reason"] is None


def test_a_bad_body_for_a_po_the_caller_cannot_see_is_404(client, db, tenant_a):
    draft = make_po(tenant_a, "draft")  # the supplier never sees a draft
    headers = api(tenant_a, "supplier:production", **{"If-Match": f'"{draft.version}"'})
    assert client.post(po_url(tenant_a, draft, "/proposals"), json={"colour": "red"}, headers=headers).status_code == 404
    assert client.post(po_url(tenant_a, draft, "/reject"), json={}, headers=headers).status_code == 404
    missing = client.patch(po_url(tenant_a, 2**31 - 1), json={"lines": "x"},
                           headers=api(tenant_a, "prime:planner", **{"If-Match": '"1"'}))
    assert missing.status_code == 404


def test_line_rules_name_the_line_field(client, db, tenant_a):
    lines = [{"line_no": 3, "item_id": tenant_a.item.id, "quantity": "1", "due_date": DUE.isoformat()},
             {"line_no": 3, "item_id": tenant_a.item.id, "quantity": "1", "due_date": DUE.isoformat()},
             {"quantity": "1", "due_date": DUE.isoformat()},
             {"item_id": tenant_a.item.id, "quantity": "1", "due_date": "2026-1-5"}]
    response = client.post(po_url(tenant_a), json={"lines": lines}, headers=api(tenant_a, "prime:planner"))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"lines[3].due_date"}  # field types first
    response = client.post(po_url(tenant_a), json={"lines": lines[:3]}, headers=api(tenant_a, "prime:planner"))
    assert set(response.get_json()["error"]["fields"]) == {"lines[1].line_no", "lines[2].item_id"}


def test_a_proposal_must_change_something_and_give_a_reason(client, db, tenant_a):
    po = make_po(tenant_a, "issued")
    headers = api(tenant_a, "supplier:production", **{"If-Match": f'"{po.version}"'})
    nothing = client.post(po_url(tenant_a, po, "/proposals"), json={"line_id": po.lines[0].id, "reason": "x"},
                          headers=headers)
    assert nothing.status_code == 422 and set(nothing.get_json()["error"]["fields"]) == {"quantity"}
    blank = client.post(po_url(tenant_a, po, "/proposals"),
                        json={"line_id": po.lines[0].id, "quantity": "5", "due_date": "", "reason": " "}, headers=headers)
    assert blank.status_code == 422 and set(blank.get_json()["error"]["fields"]) == {"reason"}


def test_the_document_links_create_to_get_and_issue_and_issue_to_acknowledge(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    create = doc["paths"]["/api/v1/relationships/{relationship_id}/orders"]["post"]
    links = create["responses"]["201"]["links"]
    # A new PO is a draft: the supplier can acknowledge it only once it is issued, so that link leaves issue.
    assert set(links) == {"GetPurchaseOrder", "IssuePurchaseOrder"}
    assert links["IssuePurchaseOrder"]["parameters"]["header.If-Match"] == "$response.header.ETag"
    issue = doc["paths"]["/api/v1/relationships/{relationship_id}/orders/{po_id}/issue"]["post"]
    assert issue["responses"]["200"]["links"]["AcknowledgePurchaseOrder"]["operationId"] == "acknowledgePurchaseOrder"
    assert links["GetPurchaseOrder"]["operationId"] == "getPurchaseOrder"
    ids = {op["operationId"] for path in doc["paths"].values() for op in path.values()}
    assert {"listPurchaseOrders", "createPurchaseOrder", "getPurchaseOrder", "revisePurchaseOrder",
            "issuePurchaseOrder", "cancelPurchaseOrder", "closePurchaseOrder", "acknowledgePurchaseOrder",
            "rejectPurchaseOrder", "proposePurchaseOrderChange", "acceptChangeProposal", "rejectChangeProposal"} <= ids
    for link in links.values():
        assert link["operationId"] in ids
    assert links["IssuePurchaseOrder"]["parameters"]["header.If-Match"] == "$response.header.ETag"
    issue = doc["paths"]["/api/v1/relationships/{relationship_id}/orders/{po_id}/issue"]["post"]
    assert issue["responses"]["200"]["links"]["AcknowledgePurchaseOrder"]["parameters"] == {
        "relationship_id": "$request.path.relationship_id", "po_id": "$request.path.po_id",
        "header.If-Match": "$response.header.ETag"}
    ack = doc["paths"]["/api/v1/relationships/{relationship_id}/orders/{po_id}/acknowledge"]["post"]
    assert ack["requestBody"]["required"] is False  # an action may come without a body
    assert ack["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PurchaseOrderActionReason"}
    assert doc["components"]["schemas"]["PurchaseOrderDetail"]["properties"]["lines"]["items"] == {
        "$ref": "#/components/schemas/PurchaseOrderLine"}
