"""The shipments API on the declared layer: the owner guard of <shipment_id>, receipt rules naming the line, the
list page's own paging, and what the document says."""
from __future__ import annotations

from decimal import Decimal

from cogrow.orders.models import PurchaseOrderLine

from tests.shipments.helpers import asn_body, asn_url, headers


def _shipped(client, tenant, *lines):
    response = client.post(asn_url(tenant), json=asn_body(*lines), headers=headers(tenant, "supplier:production"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_bad_receipt_for_an_asn_the_caller_cannot_see_is_404(client, db, tenant_a, po_lines):
    url = asn_url(tenant_a, 2**31 - 1, "receive")
    response = client.post(url, json={"lines": "x"}, headers=headers(tenant_a, "prime:planner", **{"If-Match": '"1"'}))
    assert response.status_code == 404


def test_the_same_po_line_twice_in_a_receipt_is_named_and_receives_nothing(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[0].id, 4))
    body = {"lines": [{"po_line_id": po_lines[0].id, "quantity_received": "1"},
                      {"po_line_id": po_lines[0].id, "quantity_received": "3"}]}
    response = client.post(asn_url(tenant_a, shipment["id"], "receive"), json=body,
                           headers=headers(tenant_a, "prime:planner", **{"If-Match": '"1"'}))
    assert response.status_code == 422 and set(response.get_json()["error"]["fields"]) == {"lines[1].po_line_id"}
    db.session.expire_all()
    assert db.session.get(PurchaseOrderLine, po_lines[0].id).received_qty == Decimal(0)


def test_a_null_receipt_list_is_refused_rather_than_read_as_everything(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[0].id, 4))
    response = client.post(asn_url(tenant_a, shipment["id"], "receive"), json={"lines": None},
                           headers=headers(tenant_a, "prime:planner", **{"If-Match": '"1"'}))
    assert response.status_code == 422 and "lines" in response.get_json()["error"]["fields"]


def test_the_answer_keeps_its_shape(client, db, tenant_a, po_lines):
    shipment = _shipped(client, tenant_a, (po_lines[0].id, "2.50"))
    assert set(shipment) == {"id", "relationship_id", "supplier_id", "number", "status", "ship_date", "expected_date",
                             "carrier", "tracking", "created_at", "received_at", "version", "lines"}
    assert shipment["lines"][0]["quantity_shipped"] == "2.5" and shipment["lines"][0]["quantity_received"] is None
    assert shipment["created_at"].endswith("Z") and shipment["received_at"] is None


def test_the_list_page_pages_without_the_api(app, db, tenant_a, po_lines):
    from tests.conftest import sign_in

    client = app.test_client()
    sign_in(client, tenant_a.users["prime:planner"])
    assert client.get("/shipments?limit=2&offset=0").status_code == 200
    assert client.get("/shipments?limit=0").status_code == 400


def test_the_document_links_create_to_get_and_receive(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    create = doc["paths"]["/api/v1/relationships/{relationship_id}/shipments"]["post"]
    assert create["operationId"] == "createShipment"
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    links = create["responses"]["201"]["links"]
    assert links["GetShipment"] == {"operationId": "getShipment",
                                    "parameters": {"relationship_id": "$request.path.relationship_id",
                                                   "shipment_id": "$response.body#/id"}}
    assert links["ReceiveShipment"]["operationId"] == "receiveShipment"
    listing = doc["paths"]["/api/v1/relationships/{relationship_id}/shipments"]["get"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ShipmentSummaryPage"}
