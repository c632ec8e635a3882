"""The alerts, inbox and webhook routes on the declared API: what their declarations add to the old behaviour."""
from __future__ import annotations

from sqlalchemy import select

from cogrow.alerts.models import AlertEvent, AlertSide, InboxEntry
from tests.alerts.factories import AlertEventFactory, AlertFactory
from tests.conftest import sign_in


def _alert(db, tenant, **kw):
    alert = AlertFactory(item=tenant.item, **kw)
    AlertEventFactory(alert=alert)
    db.session.commit()
    return alert


def _h(tenant, key="prime:procurement", **extra):
    return {"Authorization": f"Bearer {tenant.tokens[key]}", **extra}


def test_a_bad_body_about_a_foreign_alert_is_a_404_not_a_422(client, db, tenant_a, tenant_b):
    foreign = _alert(db, tenant_b)
    own = _alert(db, tenant_a)
    for path, body in (("snooze", {"until": "tomorrow"}), ("comments", {"comment": ""}), ("resolve", {"nope": 1})):
        mine = client.post(f"/api/v1/alerts/{own.id}/{path}", json=body, headers=_h(tenant_a, **{"If-Match": '"1"'}))
        assert mine.status_code == 422, (path, mine.get_json())
        theirs = client.post(f"/api/v1/alerts/{foreign.id}/{path}", json=body,
                             headers=_h(tenant_a, **{"If-Match": '"1"'}))
        assert theirs.status_code == 404, (path, theirs.get_json())
    assert db.session.scalar(select(AlertSide).where(AlertSide.alert_id == foreign.id)) is None


def test_resolve_takes_no_body_a_note_or_a_blank_note(client, db, tenant_a):
    for body in (None, {"note": ""}, {"note": "PO 91 raised"}):
        alert = _alert(db, tenant_a)
        kwargs = {} if body is None else {"json": body}
        done = client.post(f"/api/v1/alerts/{alert.id}/resolve", headers=_h(tenant_a, **{"If-Match": f'"{alert.version}"'}),
                           **kwargs)
        assert done.status_code == 200 and done.get_json()["status"] == "resolved", done.get_json()
        event = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert.id, AlertEvent.kind == "resolved"))
        assert event.comment == ((body or {}).get("note") or None)


def test_the_alert_list_is_paged_with_a_link_and_filters_keep_their_422(client, db, tenant_a):
    ids = sorted(_alert(db, tenant_a, type=t).id for t in ("excess_inventory", "shortage_risk", "asn_overdue"))
    first = client.get("/api/v1/alerts?limit=2&sort=updated", headers=_h(tenant_a))
    assert first.status_code == 200 and len(first.get_json()["data"]) == 2
    assert "offset=2" in first.headers["Link"] and first.headers["Link"].endswith('rel="next"')
    rest = client.get("/api/v1/alerts?limit=2&offset=2&sort=updated", headers=_h(tenant_a))
    assert "Link" not in rest.headers
    assert sorted(a["id"] for a in first.get_json()["data"] + rest.get_json()["data"]) == ids
    for query, name in (("severity=apocalyptic", "severity"), ("relationship_id=x", "relationship_id"),
                        ("sort=colour", "sort"), ("status=gone", "status")):
        refused = client.get(f"/api/v1/alerts?{query}", headers=_h(tenant_a))
        assert refused.status_code == 422 and name in refused.get_json()["error"]["fields"], query
    assert client.get("/api/v1/alerts?limit=501", headers=_h(tenant_a)).status_code == 400


def test_answers_carry_decimals_as_strings_and_times_in_utc(client, db, tenant_a):
    alert = _alert(db, tenant_a)
    body = client.get(f"/api/v1/alerts/{alert.id}", headers=_h(tenant_a)).get_json()
    assert body["exposure"] == body["amount"] == "1500000" and body["qty"] == "1000" and body["currency"] == "KRW"
    assert body["opened_at"].endswith("Z") and body["resolved_at"] is None
    [event] = client.get(f"/api/v1/alerts/{alert.id}/events", headers=_h(tenant_a)).get_json()["data"]
    assert event["kind"] == "raised" and event["at"].endswith("Z") and event["automatic"] is True


def test_bulk_and_mark_read_take_json_integers_only(client, db, tenant_a):
    alert = _alert(db, tenant_a)
    for ids in (["1"], [True], [1.5], [0], "1", [2**31]):
        refused = client.post("/api/v1/alerts/bulk", json={"action": "acknowledge", "ids": ids}, headers=_h(tenant_a))
        assert refused.status_code == 422 and set(refused.get_json()["error"]["fields"]) == {"ids"}, ids
    refused = client.post("/api/v1/alerts/bulk", json={"action": "archive", "ids": [alert.id]}, headers=_h(tenant_a))
    assert refused.status_code == 422 and set(refused.get_json()["error"]["fields"]) == {"action"}
    assert db.session.scalar(select(AlertSide).where(AlertSide.alert_id == alert.id)) is None

    user = tenant_a.users["prime:procurement"]
    event = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert.id))
    db.session.add(InboxEntry(user_id=user.id, organisation_id=tenant_a.prime.id, event_id=event.id, alert_id=alert.id))
    db.session.commit()
    sign_in(client, user)
    listed = client.get("/api/v1/notifications?unread=yes").get_json()
    assert listed["unread"] == 1 and [n["alert_id"] for n in listed["data"]] == [alert.id]
    assert client.get("/api/v1/notifications?unread=maybe").status_code == 400
    bad = client.post("/api/v1/notifications/read", json={"ids": ["1"]})
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"ids"}
    assert client.post("/api/v1/notifications/read", json={}).get_json() == {"marked": 1}
    assert client.get("/api/v1/notifications?unread=true").get_json() == {"data": [], "unread": 0}


def test_the_document_declares_the_alert_operations(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    ops = {op["operationId"]: op for path in doc["paths"].values() for op in path.values()}
    for name in ("listAlerts", "getAlert", "listAlertEvents", "acknowledgeAlert", "commentOnAlert", "snoozeAlert",
                 "resolveAlert", "bulkUpdateAlerts", "listNotifications", "markNotificationsRead",
                 "listWebhookEndpoints", "createWebhookEndpoint", "disableWebhookEndpoint", "listWebhookDeliveries",
                 "redeliverWebhookDelivery"):
        assert name in ops and ops[name]["summary"] != name, name
    assert any(p["name"] == "If-Match" and p["required"] for p in ops["snoozeAlert"]["parameters"])
    listing = ops["listAlerts"]
    assert {p["name"] for p in listing["parameters"]} >= {"limit", "offset", "status", "type", "severity", "sort"}
    assert "Link" in listing["responses"]["200"]["headers"]
    schemas = doc["components"]["schemas"]
    assert schemas["Alert"]["properties"]["exposure"]["type"] == "string"
    assert "secret" in schemas["WebhookEndpointCreated"]["properties"] and "secret" not in schemas["WebhookEndpoint"]["properties"]
