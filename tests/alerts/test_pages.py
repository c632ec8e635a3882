"""Alert pages and API: the inbox with filters and bulk actions, the detail, actions with versions, unread counts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from cogrow.alerts.models import Alert, AlertEvent, AlertSide, InboxEntry
from cogrow.core.auth import access_of, is_public
from cogrow.core.models import AuditLog
from cogrow.core.types import utcnow
from tests import factories as f
from tests.alerts.factories import AlertEventFactory, AlertFactory
from tests.conftest import sign_in


def _alert(tenant, **kw):
    alert = AlertFactory(item=tenant.item, **kw)
    AlertEventFactory(alert=alert)
    from cogrow.extensions import db

    db.session.commit()
    return alert


def test_every_alerts_get_route_answers_200_to_an_allowed_user(app, db, tenant_a):
    from tests.core.test_tenant_isolation import _own_org, _url_values

    checked = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "GET" not in rule.methods or is_public(view) or not (
                rule.endpoint.startswith("alerts.") or rule.rule.startswith(("/api/v1/alerts", "/api/v1/webhooks",
                                                                               "/api/v1/notifications"))):
            continue
        access = access_of(view)
        own = _own_org(access, tenant_a)
        role = next(r for r in access.roles if f"{own.kind}:{r}" in tenant_a.users)
        client = app.test_client()
        sign_in(client, tenant_a.users[f"{own.kind}:{role}"])
        url = rule.build(_url_values(rule, access, tenant_a, db), append_unknown=False)[1]
        assert client.get(url).status_code == 200, url
        checked += 1
    assert checked >= 9


def test_inbox_lists_own_alerts_with_their_explanation_and_filters(db, client, tenant_a, tenant_b):
    own = _alert(tenant_a, severity="critical", exposure=5000000)
    _alert(tenant_a, type="shortage_risk", severity="info", exposure=10)
    _alert(tenant_b)
    sign_in(client, tenant_a.users["prime:procurement"])
    page = client.get("/alerts").get_data(as_text=True)
    assert page.count('data-alert="') == 2 and tenant_b.item.prime_part_number not in page
    assert "FG 1,000 + WIP 0 against guaranteed 0" in page
    only = client.get("/alerts?severity=critical").get_data(as_text=True)
    assert f'data-alert="{own.id}"' in only and only.count('data-alert="') == 1
    assert client.get("/alerts?type=shortage_risk&sort=exposure").get_data(as_text=True).count('data-alert="') == 1
    assert client.get("/alerts?status=resolved").get_data(as_text=True).count('data-alert="') == 0
    bad = client.get("/alerts?severity=apocalyptic&sort=x")
    assert bad.status_code == 422 and 'data-field="severity"' in bad.get_data(as_text=True)


def test_a_supplier_sees_its_alerts_across_all_its_primes(db, client, tenant_a):
    other_prime = f.OrganisationFactory(kind="prime", name="Other prime")
    rel = f.RelationshipFactory(prime=other_prime, supplier=tenant_a.supplier)
    item = f.ItemFactory(supply_relationship=rel, prime_part_number="PN-OTHER-PRIME")
    _alert(tenant_a)
    AlertFactory(item=item)
    db.session.commit()
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get("/alerts").get_data(as_text=True)
    assert "PN-OTHER-PRIME" in page and tenant_a.item.prime_part_number in page
    sign_in(client, tenant_a.users["prime:procurement"])
    assert "PN-OTHER-PRIME" not in client.get("/alerts").get_data(as_text=True)


def test_bulk_acknowledge_and_resolve_change_only_own_alerts(db, client, tenant_a, tenant_b):
    first = _alert(tenant_a)
    second = _alert(tenant_a, type="shortage_risk")
    foreign = _alert(tenant_b)
    sign_in(client, tenant_a.users["prime:procurement"])
    refused = client.post("/alerts/bulk", data={"action": "resolve", "ids": [first.id, foreign.id]})
    assert refused.status_code == 404
    db.session.expire_all()
    assert {a.status for a in db.session.scalars(select(Alert))} == {"open"}, "nothing changed, not even own alerts"
    done = client.post("/alerts/bulk", data={"action": "acknowledge", "ids": [first.id, second.id]})
    assert done.status_code == 302
    db.session.expire_all()
    sides = {(s.alert_id, s.side): s for s in db.session.scalars(select(AlertSide))}
    assert set(sides) == {(first.id, "prime"), (second.id, "prime")}, "the prime's own view only"
    assert {s.status for s in sides.values()} == {"acknowledged"} and foreign.status == "open"
    assert sides[(first.id, "prime")].acknowledged_by_id == tenant_a.users["prime:procurement"].id
    client.post("/alerts/bulk", data={"action": "resolve", "ids": [first.id]})
    db.session.expire_all()
    assert first.status == "resolved" and first.resolved_by_id == tenant_a.users["prime:procurement"].id
    kinds = [e.kind for e in db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == first.id).order_by(AlertEvent.id))]
    assert kinds == ["raised", "acknowledged", "resolved"]
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "alert.resolved")) == 1
    bad = client.post("/alerts/bulk", data={"action": "explode", "ids": [second.id]})
    assert bad.status_code == 422


def test_detail_shows_explanation_history_and_actions_with_versions(db, client, tenant_a, tenant_b):
    alert = _alert(tenant_a)
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert 'data-test="explanation"' in page and 'data-test="history"' in page and 'data-test="acknowledge"' in page
    stale = client.post(f"/alerts/{alert.id}/acknowledge", data={"version": str(alert.version + 1)})
    assert stale.status_code == 412
    assert client.post(f"/alerts/{alert.id}/acknowledge", data={"version": str(alert.version)}).status_code == 302
    assert client.post(f"/alerts/{alert.id}/comment", data={"comment": "Slowing line 2 down"}).status_code == 302
    empty = client.post(f"/alerts/{alert.id}/comment", data={"comment": ""})
    assert empty.status_code == 422 and 'data-field="comment"' in empty.get_data(as_text=True)
    db.session.expire_all()
    past = client.post(f"/alerts/{alert.id}/snooze", data={"version": str(alert.version), "until": "2001-01-01T09:00"})
    assert past.status_code == 422 and 'data-field="until"' in past.get_data(as_text=True)
    until = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(f"/alerts/{alert.id}/snooze", data={"version": str(alert.version), "until": until}).status_code == 302
    db.session.expire_all()
    supplier_view = db.session.get(AlertSide, (alert.id, "supplier"))
    assert supplier_view.status == "snoozed" and supplier_view.snoozed_until is not None
    assert alert.status == "open" and db.session.get(AlertSide, (alert.id, "prime")) is None, "the prime's view is its own"
    assert "Slowing line 2 down" in client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    sign_in(client, tenant_b.users["prime:procurement"])
    assert client.get(f"/alerts/{alert.id}").status_code == 404


def test_api_actions_need_if_match_and_refuse_stale_versions(db, client, tenant_a):
    alert = _alert(tenant_a)
    headers = {"Authorization": f"Bearer {tenant_a.tokens['prime:procurement']}"}
    shown = client.get(f"/api/v1/alerts/{alert.id}", headers=headers)
    assert shown.status_code == 200 and shown.headers["ETag"] == f'"{alert.version}"'
    assert shown.get_json()["explanation"].startswith("FG 1,000")
    assert client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=headers).status_code == 428
    stale = client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers={**headers, "If-Match": '"99"'})
    assert stale.status_code == 412
    done = client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers={**headers, "If-Match": shown.headers["ETag"]})
    assert done.status_code == 200 and done.get_json()["status"] == "acknowledged"
    again = client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers={**headers, "If-Match": done.headers["ETag"]})
    assert again.status_code == 409
    bad = client.post(f"/api/v1/alerts/{alert.id}/snooze", json={"until": "tomorrow"},
                      headers={**headers, "If-Match": done.headers["ETag"]})
    assert bad.status_code == 422 and "until" in bad.get_json()["error"]["fields"]
    commented = client.post(f"/api/v1/alerts/{alert.id}/comments", json={"comment": "ok"}, headers=headers)
    assert commented.status_code == 201
    resolved = client.post(f"/api/v1/alerts/{alert.id}/resolve", json={"note": "PO 88 raised"},
                           headers={**headers, "If-Match": done.headers["ETag"]})
    assert resolved.status_code == 200 and resolved.get_json()["status"] == "resolved"
    events = client.get(f"/api/v1/alerts/{alert.id}/events", headers=headers).get_json()["data"]
    assert [e["kind"] for e in events] == ["resolved", "commented", "acknowledged", "raised"]
    listed = client.get("/api/v1/alerts?status=all&type=excess_inventory", headers=headers).get_json()["data"]
    assert [a["id"] for a in listed] == [alert.id]
    assert client.get("/api/v1/alerts?type=nope", headers=headers).status_code == 422


def test_api_bulk_refuses_foreign_ids_and_bad_lists(db, client, tenant_a, tenant_b):
    own, foreign = _alert(tenant_a, type="projected_excess"), _alert(tenant_b)  # projected excess: the supplier's
    headers = {"Authorization": f"Bearer {tenant_a.tokens['supplier:production']}"}
    assert client.post("/api/v1/alerts/bulk", json={"action": "resolve", "ids": [own.id, foreign.id]},
                       headers=headers).status_code == 404
    assert client.post("/api/v1/alerts/bulk", json={"action": "resolve", "ids": ["1"]},
                       headers=headers).status_code == 422
    done = client.post("/api/v1/alerts/bulk", json={"action": "resolve", "ids": [own.id]}, headers=headers)
    assert done.status_code == 200 and done.get_json() == {"changed": 1, "skipped": 0, "skipped_by_reason": {}}


def test_every_page_shows_the_unread_count_until_read(db, client, tenant_a):
    user = tenant_a.users["prime:procurement"]
    alert = _alert(tenant_a)
    event = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert.id))
    db.session.add(InboxEntry(user_id=user.id, organisation_id=tenant_a.prime.id, event_id=event.id, alert_id=alert.id))
    db.session.commit()
    sign_in(client, user)
    for path in ("/home", "/alerts", f"/relationships/{tenant_a.relationship.id}"):
        page = client.get(path).get_data(as_text=True)
        assert 'data-test="unread-count"' in page and '<span class="count">1</span>' in page, path
    notifications = client.get("/notifications").get_data(as_text=True)
    assert "unread" in notifications and f"/alerts/{alert.id}" in notifications
    assert client.post("/notifications/read").status_code == 302
    assert '<span class="count">0</span>' in client.get("/home").get_data(as_text=True)
    # Another user's count is their own.
    sign_in(client, tenant_a.users["prime:admin"])
    assert '<span class="count">0</span>' in client.get("/home").get_data(as_text=True)


def test_notification_preference_is_saved_per_user(db, client, tenant_a):
    from cogrow.alerts.models import NotificationPreference

    user = tenant_a.users["supplier:production"]
    sign_in(client, user)
    assert client.post("/settings/notifications", data={"email_mode": "digest"}).status_code == 302
    assert db.session.get(NotificationPreference, user.id).email_mode == "digest"
    bad = client.post("/settings/notifications", data={"email_mode": "carrier-pigeon"})
    assert bad.status_code == 422 and 'data-field="email_mode"' in bad.get_data(as_text=True)
