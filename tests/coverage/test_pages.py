"""The item ledger page, the ledger API and "recompute now", for both sides of a relationship."""
from __future__ import annotations

from sqlalchemy import select

from cogrow.core.models import AuditLog, OutboxEvent
from cogrow.coverage import services
from tests.conftest import sign_in
from tests.coverage import builders as b
from tests.coverage.builders import NOW, week


def _ledger_for(tenant):
    it = tenant.item
    b.po_line(it, 100, week(1))
    b.report(it, fg=250, wip=10, plan={week(1): 40})
    services.reconcile(tenant.relationship.id, [it.id], NOW)
    return it


def test_both_sides_see_the_item_ledger_and_its_weeks(client, tenant_a):
    it = _ledger_for(tenant_a)
    for user in ("prime:procurement", "supplier:production"):
        sign_in(client, tenant_a.users[user])
        page = client.get(f"/relationships/{tenant_a.relationship.id}/items/{it.id}/ledger")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert 'data-test="excess">160<' in html and 'data-test="guaranteed">100<' in html
        assert week(1).isoformat() in html


def test_the_page_says_when_the_ledger_was_never_computed(client, tenant_a):
    sign_in(client, tenant_a.users["prime:planner"])
    page = client.get(f"/relationships/{tenant_a.relationship.id}/items/{tenant_a.item.id}/ledger")
    assert page.status_code == 200 and 'data-test="no-ledger"' in page.get_data(as_text=True)


def test_another_tenants_item_ledger_is_not_found(client, tenant_a, tenant_b):
    _ledger_for(tenant_b)
    sign_in(client, tenant_a.users["prime:procurement"])
    foreign = client.get(f"/relationships/{tenant_b.relationship.id}/items/{tenant_b.item.id}/ledger")
    mixed = client.get(f"/relationships/{tenant_a.relationship.id}/items/{tenant_b.item.id}/ledger")
    assert foreign.status_code == 404 and mixed.status_code == 404


def test_the_api_gives_the_item_ledger_with_decimal_strings(client, tenant_a):
    it = _ledger_for(tenant_a)
    token = tenant_a.tokens["supplier:production"]
    answer = client.get(f"/api/v1/relationships/{tenant_a.relationship.id}/items/{it.id}/ledger",
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["ledger"]["excess"] == "160" and body["ledger"]["supply"] == "260"
    assert body["ledger"]["exposure_amount"] == "240000"  # 160 × ₩1,500, no material cover
    first = body["weeks"][0]
    assert first["week_start"] == week(0).isoformat() and first["projected"] == "260"
    assert body["weeks"][1] == {"week_start": week(1).isoformat(), "po_due": "100", "firm_forecast": "0",
                                "planned_output": "40", "guaranteed_due": "100", "projected": "200",
                                "shortage": "0", "in_firm_fence": True}
    assert "against guaranteed 100" in body["explanation"]


def test_the_relationship_ledger_is_paginated_largest_exposure_first(client, tenant_a):
    rel = tenant_a.relationship
    small = b.item(rel, price="10")
    b.report(small, fg=5)
    _ledger_for(tenant_a)
    services.reconcile(rel.id, None, NOW)
    headers = {"Authorization": f"Bearer {tenant_a.tokens['prime:procurement']}"}
    first = client.get(f"/api/v1/relationships/{rel.id}/ledger?limit=1", headers=headers).get_json()
    second = client.get(f"/api/v1/relationships/{rel.id}/ledger?limit=1&offset=1", headers=headers).get_json()
    assert [r["item_id"] for r in first["data"]] == [tenant_a.item.id]
    assert [r["item_id"] for r in second["data"]] == [small.id]
    bad = client.get(f"/api/v1/relationships/{rel.id}/ledger?limit=0", headers=headers)
    assert bad.status_code == 400 and "limit" in bad.get_json()["error"]["fields"]


def test_recompute_now_enqueues_through_the_outbox_and_is_audited(client, db, tenant_a):
    sign_in(client, tenant_a.users["prime:planner"])
    rel_id, item_id = tenant_a.relationship.id, tenant_a.item.id
    answer = client.post(f"/relationships/{rel_id}/items/{item_id}/ledger/recompute")
    assert answer.status_code == 302
    events = db.session.scalars(select(OutboxEvent).where(OutboxEvent.relationship_id == rel_id)).all()
    assert [(e.topic, e.payload["item_ids"], e.published_at) for e in events] == [("reconcile", [item_id], None)]
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "coverage.recompute_requested")) is not None


def test_recompute_of_a_foreign_item_writes_no_outbox_row(client, db, tenant_a, tenant_b):
    sign_in(client, tenant_a.users["prime:planner"])
    answer = client.post(f"/relationships/{tenant_a.relationship.id}/items/{tenant_b.item.id}/ledger/recompute")
    assert answer.status_code == 404
    assert db.session.scalars(select(OutboxEvent)).all() == []


def test_recompute_now_needs_the_csrf_token_of_its_form(client, db, tenant_a, app):
    import re

    sign_in(client, tenant_a.users["prime:planner"])
    rel_id, item_id = tenant_a.relationship.id, tenant_a.item.id
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(f"/relationships/{rel_id}/items/{item_id}/ledger/recompute")
        assert refused.status_code == 400 and db.session.scalars(select(OutboxEvent)).all() == []
        page = client.get(f"/relationships/{rel_id}/items/{item_id}/ledger").get_data(as_text=True)
        form = re.search(r'<form method="post" action="[^"]*/recompute">.*?</form>', page, flags=re.S).group(0)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        answer = client.post(f"/relationships/{rel_id}/items/{item_id}/ledger/recompute", data={"csrf_token": token})
        assert answer.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert [e.topic for e in db.session.scalars(select(OutboxEvent))] == ["reconcile"]
