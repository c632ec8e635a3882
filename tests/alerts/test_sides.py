"""Each side acts on its own view of an alert: the other side cannot resolve it, snoozes stay one side's own, and a
manual resolution whose condition still holds is reopened, with its history, by the next reconcile."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from cogrow.alerts import services
from cogrow.alerts.models import Alert, AlertEvent, AlertSide, InboxEntry
from cogrow.core.types import utcnow
from tests.alerts.conftest import put_ledger
from tests.alerts.factories import AlertEventFactory, AlertFactory
from tests.conftest import actor_of, sign_in


def _alert(db, tenant, **kw):
    alert = AlertFactory(item=tenant.item, **kw)
    AlertEventFactory(alert=alert)
    db.session.commit()
    return alert


def _kinds(db, alert):
    return [e.kind for e in db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)
                                               .order_by(AlertEvent.id))]


def _listed(client, query=""):
    page = client.get(f"/alerts{query}").get_data(as_text=True)
    return page


def test_the_supplier_cannot_resolve_the_primes_alert_and_nothing_changes(db, client, tenant_a):
    alert = _alert(db, tenant_a)  # excess inventory: the prime's alert
    version, events = alert.version, _kinds(db, alert)
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert 'data-test="resolve"' not in page and 'data-test="resolve-elsewhere"' in page
    refused = client.post(f"/alerts/{alert.id}/resolve", data={"version": str(version)})
    assert refused.status_code == 403 and "Only the customer can resolve this alert" in refused.get_data(as_text=True)
    api = client.post(f"/api/v1/alerts/{alert.id}/resolve", json={},
                      headers={"Authorization": f"Bearer {tenant_a.tokens['supplier:production']}",
                               "If-Match": f'"{version}"'})
    assert api.status_code == 403 and "Only the customer" in api.get_json()["error"]["message"]
    db.session.expire_all()
    assert (alert.status, alert.version, _kinds(db, alert)) == ("open", version, events)

    # The supplier acknowledges and comments on its own view: procurement still sees the alert open.
    assert client.post(f"/alerts/{alert.id}/acknowledge", data={"version": str(version)}).status_code == 302
    assert client.post(f"/alerts/{alert.id}/comment", data={"comment": "Line 2 slows down"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(AlertSide, (alert.id, "supplier")).status == "acknowledged"
    sign_in(client, tenant_a.users["prime:procurement"])
    row = _listed(client)
    assert f'data-alert="{alert.id}" data-status="open"' in row
    detail = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "Line 2 slows down" in detail and 'data-test="resolve"' in detail


def test_vice_versa_the_prime_cannot_resolve_the_suppliers_alert(db, client, tenant_a):
    alert = _alert(db, tenant_a, type="projected_excess")
    sign_in(client, tenant_a.users["prime:procurement"])
    refused = client.post(f"/alerts/{alert.id}/resolve", data={"version": str(alert.version)})
    assert refused.status_code == 403 and "Only the supplier can resolve this alert" in refused.get_data(as_text=True)
    sign_in(client, tenant_a.users["supplier:production"])
    assert client.post(f"/alerts/{alert.id}/resolve", data={"version": str(alert.version)}).status_code == 302
    db.session.expire_all()
    assert alert.status == "resolved" and alert.recheck is True


def test_a_bulk_resolve_skips_the_other_sides_alerts_and_says_why(db, client, tenant_a):
    primes = _alert(db, tenant_a)
    own = _alert(db, tenant_a, type="projected_excess")
    sign_in(client, tenant_a.users["supplier:production"])
    done = client.post("/alerts/bulk", data={"action": "resolve", "ids": [primes.id, own.id]}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "1 alert changed." in page and "1 skipped: 1 only the other side can resolve them." in page
    db.session.expire_all()
    assert (primes.status, own.status) == ("open", "resolved")


def test_a_manual_resolution_whose_condition_still_holds_is_reopened_with_its_history(db, tenant_a):
    put_ledger(db, tenant_a.item, fg_on_hand=450, supply=450, guaranteed=100, excess=350, exposure_amount=3330000)
    services.sync_alerts(tenant_a.relationship.id, [tenant_a.item.id])
    db.session.commit()
    (alert,) = db.session.scalars(select(Alert)).all()
    procurement = actor_of(tenant_a.users["prime:procurement"], tenant_a.prime)
    services.resolve(procurement, alert.id, alert.version, "Talked to the supplier")
    assert alert.status == "resolved"

    services.sync_alerts(tenant_a.relationship.id, [tenant_a.item.id])
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 1, "the same alert, not a new one"
    assert (alert.status, alert.resolved_at, alert.recheck) == ("open", None, False)
    assert _kinds(db, alert) == ["raised", "resolved", "reopened"]
    reopened = db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)
                                  .order_by(AlertEvent.id.desc())).first()
    assert reopened.reason == "condition_holds" and reopened.automatic and reopened.qty == 350

    # A resolution the reconcile finds cleared stands; the condition coming back later is a new alert.
    services.resolve(procurement, alert.id, alert.version)
    put_ledger(db, tenant_a.item, fg_on_hand=100, supply=100, guaranteed=100, excess=0, exposure_amount=0)
    services.sync_alerts(tenant_a.relationship.id, [tenant_a.item.id])
    db.session.commit()
    assert (alert.status, alert.recheck) == ("resolved", False)
    put_ledger(db, tenant_a.item, fg_on_hand=450, supply=450, guaranteed=100, excess=350, exposure_amount=3330000)
    services.sync_alerts(tenant_a.relationship.id, [tenant_a.item.id])
    db.session.commit()
    first, second = db.session.scalars(select(Alert).order_by(Alert.id)).all()
    assert (first.status, second.status) == ("resolved", "open")


def test_the_default_inbox_hides_what_my_side_snoozed_until_the_snooze_ends(db, client, tenant_a):
    alert = _alert(db, tenant_a)
    other = _alert(db, tenant_a, type="shortage_risk")
    sign_in(client, tenant_a.users["prime:procurement"])
    until = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(f"/alerts/{alert.id}/snooze", data={"version": str(alert.version), "until": until}).status_code == 302
    page = _listed(client)
    assert f'data-alert="{alert.id}"' not in page and f'data-alert="{other.id}"' in page
    assert 'data-test="hidden-snoozed"' in page
    assert f'data-alert="{alert.id}" data-status="snoozed"' in _listed(client, "?status=snoozed")
    assert f'data-alert="{alert.id}"' in _listed(client, "?status=unresolved")
    assert f'data-alert="{other.id}"' not in _listed(client, "?status=snoozed")
    # The supplier's inbox is its own.
    sign_in(client, tenant_a.users["supplier:production"])
    assert f'data-alert="{alert.id}" data-status="open"' in _listed(client)
    # When the snooze ends, the alert is back without waiting for a reconcile.
    db.session.get(AlertSide, (alert.id, "prime")).snoozed_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    sign_in(client, tenant_a.users["prime:procurement"])
    assert f'data-alert="{alert.id}" data-status="open"' in _listed(client)


def test_a_bulk_acknowledge_keeps_a_snooze_and_says_how_many_were_skipped(db, client, tenant_a):
    snoozed = _alert(db, tenant_a)
    plain = _alert(db, tenant_a, type="shortage_risk")
    until = utcnow() + timedelta(days=2)
    actor = actor_of(tenant_a.users["prime:procurement"], tenant_a.prime)
    services.snooze(actor, snoozed.id, until, snoozed.version)
    sign_in(client, tenant_a.users["prime:procurement"])
    done = client.post("/alerts/bulk", data={"action": "acknowledge", "ids": [snoozed.id, plain.id]},
                       follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "1 alert changed." in page and "1 skipped: 1 snoozed" in page
    db.session.expire_all()
    view = db.session.get(AlertSide, (snoozed.id, "prime"))
    assert view.status == "snoozed" and view.snoozed_until is not None
    assert db.session.get(AlertSide, (plain.id, "prime")).status == "acknowledged"
    result = services.bulk(actor, "acknowledge", [snoozed.id, plain.id])
    assert (result.changed, result.skipped) == (0, {"snoozed": 1, "acknowledged": 1})


def test_notifications_of_a_snoozed_alert_leave_the_unread_count_until_the_snooze_ends(db, client, tenant_a):
    user = tenant_a.users["prime:procurement"]
    alert = _alert(db, tenant_a)
    event = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert.id))
    db.session.add(InboxEntry(user_id=user.id, organisation_id=tenant_a.prime.id, event_id=event.id, alert_id=alert.id))
    db.session.commit()
    actor = actor_of(user, tenant_a.prime)
    assert services.unread_count(actor) == 1
    services.snooze(actor, alert.id, utcnow() + timedelta(days=1), alert.version)
    assert services.unread_count(actor) == 0
    sign_in(client, user)
    assert f"/alerts/{alert.id}" not in client.get("/notifications").get_data(as_text=True)
    assert f"/alerts/{alert.id}" in client.get("/notifications?snoozed=1").get_data(as_text=True)
    assert services.unread_count(actor, now=utcnow() + timedelta(days=2)) == 1


def test_open_for_side_is_the_inbox_open_filter_in_sql(db, tenant_a):
    from cogrow.alerts.services import open_for_side

    acknowledged = _alert(db, tenant_a)
    snoozed = _alert(db, tenant_a, type="shortage_risk")
    plain = _alert(db, tenant_a, type="projected_excess")
    procurement = actor_of(tenant_a.users["prime:procurement"], tenant_a.prime)
    services.acknowledge(procurement, acknowledged.id, acknowledged.version)
    services.snooze(procurement, snoozed.id, utcnow() + timedelta(days=1), snoozed.version)
    ids = lambda side, now=None: set(db.session.scalars(select(Alert.id).where(open_for_side(side, now))))  # noqa: E731
    assert ids("prime") == {plain.id} == {a.id for a in services.list_alerts(procurement, services.AlertFilter("open"))}
    assert ids("supplier") == {acknowledged.id, snoozed.id, plain.id}
    assert ids("prime", utcnow() + timedelta(days=2)) == {snoozed.id, plain.id}
