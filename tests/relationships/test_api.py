"""The relationship routes on the declared API: bodies checked field by field, the path guard, the document."""
from __future__ import annotations

from sqlalchemy import func, select

from cogrow.relationships.models import SupplyRelationship


def _h(tenant, key="prime:admin", **extra):
    return {"Authorization": f"Bearer {tenant.tokens[key]}", **extra}


def test_an_invite_names_every_bad_field_and_creates_nothing(client, db, tenant_a):
    before = db.session.scalar(select(func.count()).select_from(SupplyRelationship))
    response = client.post("/api/v1/relationships", headers=_h(tenant_a), json={
        "supplier_name": "  ", "contact_email": "not-an-address", "firm_fence_weeks": 53, "material_share": "0.12345",
        "threshold_amount": "10.001", "threshold_krw": "5", "currency": "GBP"})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {
        "supplier_name", "contact_email", "firm_fence_weeks", "material_fence_weeks", "material_share",
        "threshold_amount", "threshold_krw", "currency"}
    assert db.session.scalar(select(func.count()).select_from(SupplyRelationship)) == before


def test_a_null_fence_in_a_terms_change_is_refused_by_name(client, db, tenant_a):
    url = f"/api/v1/relationships/{tenant_a.relationship.id}"
    for name in ("firm_fence_weeks", "material_fence_weeks"):
        response = client.patch(url, json={name: None}, headers=_h(tenant_a, **{"If-Match": '"1"'}))
        assert response.status_code == 422 and set(response.get_json()["error"]["fields"]) == {name}
    cleared = client.patch(url, json={"threshold_units": None, "currency": "usd"}, headers=_h(tenant_a, **{"If-Match": '"1"'}))
    assert cleared.status_code == 422 and set(cleared.get_json()["error"]["fields"]) == {"currency"}  # it has items
    assert db.session.get(SupplyRelationship, tenant_a.relationship.id).version == 1


def test_a_bad_terms_change_for_a_foreign_relationship_is_a_404(client, db, tenant_a, tenant_b):
    url = f"/api/v1/relationships/{tenant_b.relationship.id}"
    response = client.patch(url, json={"firm_fence_weeks": "many"}, headers=_h(tenant_a, **{"If-Match": '"1"'}))
    assert response.status_code == 404


def test_the_list_is_paged_with_a_link(client, db, tenant_a, tenant_b):
    from tests import factories as f

    f.RelationshipFactory(prime=tenant_a.prime, supplier=tenant_b.supplier)
    db.session.commit()
    first = client.get("/api/v1/relationships?limit=1", headers=_h(tenant_a))
    assert first.status_code == 200 and first.headers["Link"].endswith('rel="next"')
    rest = client.get("/api/v1/relationships?limit=1&offset=1", headers=_h(tenant_a))
    assert "Link" in rest.headers  # a full page: there may be more
    last = client.get("/api/v1/relationships?limit=1&offset=2", headers=_h(tenant_a))
    assert last.get_json()["data"] == [] and "Link" not in last.headers
    ids = [first.get_json()["data"][0]["id"], rest.get_json()["data"][0]["id"]]
    assert ids == sorted(ids) and len(set(ids)) == 2


def test_the_document_declares_the_relationship_operations(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    ops = {op["operationId"]: op for path in doc["paths"].values() for op in path.values()}
    for name in ("listRelationships", "createRelationship", "getRelationship", "updateRelationshipTerms",
                 "acceptRelationship", "suspendRelationship", "reactivateRelationship"):
        assert name in ops, name
    create = ops["createRelationship"]
    assert create["responses"]["201"]["links"]["GetRelationship"]["operationId"] == "getRelationship"
    schemas = doc["components"]["schemas"]
    assert "threshold_amount" in schemas["RelationshipTermsChange"]["properties"]
    assert "threshold_krw" not in schemas["Relationship"]["properties"]
    assert "supplier_admin_invitation_token" not in schemas["RelationshipInvited"].get("required", [])
    assert set(schemas["RelationshipInvite"]["required"]) == {"supplier_name", "contact_email", "firm_fence_weeks",
                                                              "material_fence_weeks"}
