"""The imports API on the declared layer: the upload's query, the confirm's optional body, the owner guard of
<import_id>, and what the document says."""
from __future__ import annotations

import pytest

from tests.imports.support import HEADER, TEST_KIND, csv_bytes

pytestmark = pytest.mark.usefixtures("test_kind", "items")
GOOD = csv_bytes([HEADER, ["PN-1", "5", "a"], ["PN-2", "6", "b"]])


def _headers(tenant, key="prime:planner", **extra):
    return {"Authorization": f"Bearer {tenant.tokens[key]}", **extra}


def _upload(app, tenant, query=""):
    url = f"/api/v1/relationships/{tenant.relationship.id}/imports/{TEST_KIND}{query}"
    return app.test_client().post(url, data=GOOD, headers=_headers(tenant, **{"Content-Type": "text/csv"}))


def test_the_confirm_flag_is_a_boolean_and_blank_means_no(app, db, tenant_a):
    bad = _upload(app, tenant_a, "?confirm=maybe")
    assert bad.status_code == 400 and set(bad.get_json()["error"]["fields"]) == {"confirm"}
    blank = _upload(app, tenant_a, "?confirm=")
    assert blank.status_code == 201 and blank.get_json()["status"] == "preview"
    assert blank.get_json()["created_at"].endswith("Z") and blank.get_json()["applied_at"] is None


def test_confirm_takes_no_body_or_a_strict_one(app, db, tenant_a):
    created = _upload(app, tenant_a).get_json()
    url = f"/api/v1/relationships/{tenant_a.relationship.id}/imports/{created['id']}/confirm"
    client = app.test_client()
    unknown = client.post(url, json={"raeson": "x"}, headers=_headers(tenant_a))
    assert unknown.status_code == 422 and set(unknown.get_json()["error"]["fields"]) == {"raeson"}
    not_text = client.post(url, json={"reason": 5}, headers=_headers(tenant_a))
    assert not_text.status_code == 422 and set(not_text.get_json()["error"]["fields"]) == {"reason"}
    shown = client.get(url.rsplit("/", 1)[0], headers=_headers(tenant_a)).get_json()
    assert shown["status"] == "preview"
    applied = client.post(url, json={"reason": "weekly"}, headers=_headers(tenant_a))
    assert applied.status_code == 200 and applied.get_json()["status"] == "applied"


def test_a_bad_confirm_body_for_an_import_the_caller_cannot_see_is_404(app, db, tenant_a):
    created = _upload(app, tenant_a).get_json()
    url = f"/api/v1/relationships/{tenant_a.relationship.id}/imports/{created['id']}/confirm"
    # Another organisation of the same relationship (the supplier) does not see the prime's import.
    response = app.test_client().post(url, json={"raeson": "x"}, headers=_headers(tenant_a, "supplier:admin"))
    assert response.status_code == 404


def test_the_list_leaves_errors_and_previews_out(app, db, tenant_a):
    created = _upload(app, tenant_a).get_json()
    listed = app.test_client().get(f"/api/v1/relationships/{tenant_a.relationship.id}/imports?limit=1",
                                   headers=_headers(tenant_a))
    body = listed.get_json()
    assert [b["id"] for b in body["data"]] == [created["id"]]
    assert body["data"][0]["errors"] is None and body["data"][0]["preview"] is None
    assert 'rel="next"' in listed.headers["Link"]


def test_the_document_links_an_upload_to_its_import_and_confirm(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    upload = doc["paths"]["/api/v1/relationships/{relationship_id}/imports/{kind}"]["post"]
    assert upload["operationId"] == "uploadImport"
    assert {p["name"] for p in upload["parameters"] if p["in"] == "query"} == {
        "confirm", "filename", "encoding", "delimiter", "reason"}
    links = upload["responses"]["201"]["links"]
    assert links["GetImport"]["operationId"] == "getImport"
    assert links["ConfirmImport"]["parameters"]["import_id"] == "$response.body#/id"
