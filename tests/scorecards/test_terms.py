"""The due-date tolerance term that OTIF counts with: default 0, 0 to 30 days, refused by name otherwise."""
from __future__ import annotations

from cogrow.relationships.models import SupplyRelationship
from tests.conftest import sign_in


def _admin(tenant, **extra):
    return {"Authorization": f"Bearer {tenant.tokens['prime:admin']}", **extra}


def test_a_new_relationship_has_no_due_date_tolerance_and_the_api_shows_it(client, db, tenant_a):
    answer = client.post("/api/v1/relationships", headers=_admin(tenant_a), json={
        "supplier_name": "Tolerant Co", "contact_email": "admin@tolerant.example.com", "firm_fence_weeks": 2,
        "material_fence_weeks": 6})
    assert answer.status_code == 201 and answer.get_json()["due_date_tolerance_days"] == 0
    exact = client.post("/api/v1/relationships", headers=_admin(tenant_a), json={
        "supplier_name": "Exact Co", "contact_email": "admin@exact.example.com", "firm_fence_weeks": 2,
        "material_fence_weeks": 6, "due_date_tolerance_days": 30})
    assert exact.get_json()["due_date_tolerance_days"] == 30


def test_the_tolerance_outside_0_to_30_days_is_refused_by_name_and_changes_nothing(client, db, tenant_a):
    url = f"/api/v1/relationships/{tenant_a.relationship.id}"
    for bad in (31, -1, "two", 1.5, None):
        answer = client.patch(url, json={"due_date_tolerance_days": bad}, headers=_admin(tenant_a, **{"If-Match": '"1"'}))
        if bad is None:  # null keeps the term as it is
            assert answer.status_code == 200
            continue
        assert answer.status_code == 422, bad
        assert set(answer.get_json()["error"]["fields"]) == {"due_date_tolerance_days"}
    current = client.get(url, headers=_admin(tenant_a))
    ok = client.patch(url, json={"due_date_tolerance_days": 3}, headers=_admin(tenant_a, **{"If-Match": current.headers["ETag"]}))
    assert ok.status_code == 200 and ok.get_json()["due_date_tolerance_days"] == 3
    assert db.session.get(SupplyRelationship, tenant_a.relationship.id).due_date_tolerance_days == 3


def test_the_terms_form_takes_the_tolerance_and_names_it_when_out_of_range(client, db, tenant_a):
    rel = tenant_a.relationship
    sign_in(client, tenant_a.users["prime:admin"])
    assert 'name="due_date_tolerance_days"' in client.get(f"/relationships/{rel.id}").get_data(as_text=True)
    terms = {"version": rel.version, "firm_fence_weeks": "4", "material_fence_weeks": "8", "currency": "KRW",
             "material_share": "0.4", "due_date_tolerance_days": "31"}
    page = client.post(f"/relationships/{rel.id}/terms", data=terms)
    assert page.status_code == 422 and 'data-field="due_date_tolerance_days"' in page.get_data(as_text=True)
    assert db.session.get(SupplyRelationship, rel.id).due_date_tolerance_days == 0
    assert client.post(f"/relationships/{rel.id}/terms", data={**terms, "due_date_tolerance_days": "２"}).status_code == 302
    saved = db.session.get(SupplyRelationship, rel.id)
    db.session.refresh(saved)
    assert saved.due_date_tolerance_days == 2


def test_the_supplier_reads_the_tolerance_on_the_relationship_page(client, db, tenant_a):
    tenant_a.relationship.due_date_tolerance_days = 5
    db.session.commit()
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get(f"/relationships/{tenant_a.relationship.id}").get_data(as_text=True)
    assert 'data-test="due-date-tolerance">5<' in page
