"""Inviting, accepting, suspending and changing the terms of supply relationships."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from cogrow.accounts.models import Invitation, Organisation
from cogrow.core.models import AuditLog
from cogrow.relationships.models import SupplyRelationship
from tests import factories as f
from tests.conftest import sign_in

INVITE = {"supplier_name": "Busan Gear", "contact_email": "boss@busangear.example.com",
          "firm_fence_weeks": 3, "material_fence_weeks": 6, "material_share": "0.35"}


def _token(tenant, key):
    return {"Authorization": f"Bearer {tenant.tokens[key]}"}


def test_prime_invites_a_supplier_new_to_cogrow(client, db, tenant_a):
    response = client.post("/api/v1/relationships", json=INVITE, headers=_token(tenant_a, "prime:admin"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "invited" and body["firm_fence_weeks"] == 3 and body["material_share"] == "0.35"
    assert body["currency"] == "KRW" and response.headers["ETag"] == '"1"'
    supplier = db.session.get(Organisation, body["supplier"]["id"])
    assert supplier.kind == "supplier" and supplier.name == "Busan Gear"
    invitation = db.session.scalar(select(Invitation).where(Invitation.organisation_id == supplier.id))
    assert invitation.role == "admin" and invitation.email == "boss@busangear.example.com"
    assert body["supplier_admin_invitation_token"]
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "relationship.invited")) is not None


def test_prime_invites_an_existing_supplier_by_its_admin_email(client, db, tenant_a, tenant_b):
    admin_b = tenant_b.users["supplier:admin"]
    response = client.post("/api/v1/relationships", json={**INVITE, "contact_email": admin_b.email},
                           headers=_token(tenant_a, "prime:admin"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["supplier"]["id"] == tenant_b.supplier.id and "supplier_admin_invitation_token" not in body
    again = client.post("/api/v1/relationships", json={**INVITE, "contact_email": admin_b.email},
                        headers=_token(tenant_a, "prime:admin"))
    assert again.status_code == 409 and again.get_json()["error"]["state"] == "invited"


def test_supplier_admin_accepts_and_prime_cannot(client, db, tenant_a, tenant_b):
    created = client.post("/api/v1/relationships", json={**INVITE, "contact_email": tenant_b.users["supplier:admin"].email},
                          headers=_token(tenant_a, "prime:admin")).get_json()
    url = f"/api/v1/relationships/{created['id']}/accept"
    assert client.post(url, headers=_token(tenant_a, "prime:admin")).status_code == 403
    accepted = client.post(url, headers=_token(tenant_b, "supplier:admin"))
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "active"
    twice = client.post(url, headers=_token(tenant_b, "supplier:admin"))
    assert twice.status_code == 409 and twice.get_json()["error"]["state"] == "active"


def test_supplier_accepts_through_the_page(client, db, tenant_a):
    rel = tenant_a.relationship
    rel.status = "invited"
    db.session.commit()
    sign_in(client, tenant_a.users["supplier:admin"])
    assert b'data-test="accept"' in client.get(f"/relationships/{rel.id}").data
    assert client.post(f"/relationships/{rel.id}/accept").status_code == 302
    assert db.session.get(SupplyRelationship, rel.id).status == "active"


def test_terms_change_needs_the_current_version(client, db, tenant_a):
    url = f"/api/v1/relationships/{tenant_a.relationship.id}"
    headers = _token(tenant_a, "prime:admin")
    assert client.patch(url, json={"firm_fence_weeks": 5}, headers=headers).status_code == 428
    current = client.get(url, headers=headers).headers["ETag"]
    ok = client.patch(url, json={"firm_fence_weeks": 5, "threshold_amount": "2500000"}, headers={**headers, "If-Match": current})
    assert ok.status_code == 200
    assert ok.get_json()["firm_fence_weeks"] == 5 and ok.get_json()["threshold_amount"] == "2500000"
    assert ok.headers["ETag"] != current
    stale = client.patch(url, json={"firm_fence_weeks": 6}, headers={**headers, "If-Match": current})
    assert stale.status_code == 412
    assert db.session.get(SupplyRelationship, tenant_a.relationship.id).firm_fence_weeks == 5
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "relationship.terms_changed"))
    assert log.detail["firm_fence_weeks"] == {"from": 4, "to": 5}


def test_terms_change_enqueues_a_reconcile_of_every_item_in_the_same_transaction(client, db, tenant_a):
    from cogrow.core.models import OutboxEvent

    url = f"/api/v1/relationships/{tenant_a.relationship.id}"
    headers = {**_token(tenant_a, "prime:admin"), "If-Match": '"1"'}
    ok = client.patch(url, json={"over_delivery_pct": "0.05", "po_ack_days": 2}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["over_delivery_pct"] == "0.05" and ok.get_json()["po_ack_days"] == 2
    events = db.session.scalars(select(OutboxEvent).where(OutboxEvent.relationship_id == tenant_a.relationship.id)).all()
    assert [(e.topic, e.payload["item_ids"], e.published_at) for e in events] == [("reconcile", None, None)]
    # A refused change writes nothing.
    refused = client.patch(url, json={"over_delivery_pct": "1.5"}, headers={**headers, "If-Match": ok.headers["ETag"]})
    assert refused.status_code == 422 and "over_delivery_pct" in refused.get_json()["error"]["fields"]
    assert db.session.query(OutboxEvent).count() == 1


def test_material_fence_before_firm_fence_is_refused(client, db, tenant_a):
    url = f"/api/v1/relationships/{tenant_a.relationship.id}"
    headers = {**_token(tenant_a, "prime:admin"), "If-Match": '"1"'}
    response = client.patch(url, json={"firm_fence_weeks": 10}, headers=headers)
    assert response.status_code == 422 and "material_fence_weeks" in response.get_json()["error"]["fields"]


def test_supplier_cannot_change_terms(client, db, tenant_a):
    url = f"/api/v1/relationships/{tenant_a.relationship.id}"
    response = client.patch(url, json={"firm_fence_weeks": 1}, headers={**_token(tenant_a, "supplier:admin"), "If-Match": '"1"'})
    assert response.status_code == 403


def test_terms_form_shows_field_errors_and_changes_nothing(client, db, tenant_a):
    rel = tenant_a.relationship
    sign_in(client, tenant_a.users["prime:admin"])
    response = client.post(f"/relationships/{rel.id}/terms", data={
        "version": rel.version, "firm_fence_weeks": "４", "material_fence_weeks": "2", "material_share": "1.5"})
    assert response.status_code == 422
    assert b'data-field="material_share"' in response.data
    assert db.session.get(SupplyRelationship, rel.id).material_share == Decimal("0.4")


def test_terms_form_takes_numbers_as_the_page_shows_them_and_keeps_what_was_typed(client, db, tenant_a):
    rel = tenant_a.relationship
    sign_in(client, tenant_a.users["prime:admin"])
    terms = {"version": rel.version, "firm_fence_weeks": "3", "material_fence_weeks": "9", "currency": "KRW",
             "material_share": "0.35", "threshold_amount": "2,500,000", "po_ack_days": "5"}
    assert client.post(f"/relationships/{rel.id}/terms", data=terms).status_code == 302
    saved = db.session.get(SupplyRelationship, rel.id)
    db.session.refresh(saved)
    assert (saved.firm_fence_weeks, saved.threshold_amount, saved.material_share) == (3, Decimal("2500000"), Decimal("0.35"))

    # Refused: each field names its own problem, the text typed stays in the box, nothing changes.
    page = client.post(f"/relationships/{rel.id}/terms", data={**terms, "version": saved.version,
                                                               "threshold_amount": "2,50", "currency": "XXX"})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'data-field="threshold_amount"' in html and 'data-field="currency"' in html
    assert 'value="2,50"' in html and 'aria-invalid="true"' in html
    db.session.refresh(saved)
    assert saved.threshold_amount == Decimal("2500000")


def test_prime_suspends_and_reactivates(client, db, tenant_a):
    base = f"/api/v1/relationships/{tenant_a.relationship.id}"
    headers = _token(tenant_a, "prime:admin")
    assert client.post(f"{base}/suspend", headers=headers).get_json()["status"] == "suspended"
    item_url = f"{base}/items"
    refused = client.post(item_url, json={"prime_part_number": "NEW-1"}, headers=_token(tenant_a, "prime:planner"))
    assert refused.status_code == 409
    assert client.post(f"{base}/reactivate", headers=headers).get_json()["status"] == "active"
    assert client.post(f"{base}/reactivate", headers=headers).status_code == 409


def test_list_shows_only_own_relationships(client, db, tenant_a, tenant_b):
    shared = f.RelationshipFactory(prime=tenant_b.prime, supplier=tenant_a.supplier)
    seen = client.get("/api/v1/relationships", headers=_token(tenant_a, "supplier:production")).get_json()["data"]
    assert sorted(r["id"] for r in seen) == sorted([tenant_a.relationship.id, shared.id])
    seen_b = client.get("/api/v1/relationships", headers=_token(tenant_b, "prime:planner")).get_json()["data"]
    assert tenant_a.relationship.id not in [r["id"] for r in seen_b]
    assert client.get("/api/v1/relationships?limit=0", headers=_token(tenant_b, "prime:planner")).status_code == 400
    assert client.get("/api/v1/relationships?status=bogus", headers=_token(tenant_b, "prime:planner")).status_code == 422


def test_invite_page_creates_relationship_and_shows_link(client, db, tenant_a):
    sign_in(client, tenant_a.users["prime:admin"])
    response = client.post("/relationships/new", data={**INVITE, "currency": "KRW"}, follow_redirects=True)
    assert response.status_code == 200 and b"/invitations/" in response.data
