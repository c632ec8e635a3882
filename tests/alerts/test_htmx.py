"""Alert actions in place: htmx gets the updated inbox row or alert block; a refusal comes back in the same fragment
with its status (403, 409) and changes nothing; without htmx the forms post and redirect. The unread count as a
fragment for the top bar to poll."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cogrow.alerts.models import AlertEvent, AlertSide, InboxEntry
from tests.alerts.factories import AlertEventFactory, AlertFactory
from tests.conftest import sign_in

HX = {"HX-Request": "true"}


def _alert(db, tenant, **kw):
    kw.setdefault("item", tenant.item)
    alert = AlertFactory(**kw)
    AlertEventFactory(alert=alert)
    db.session.commit()
    return alert


def test_row_actions_answer_htmx_with_the_row_and_plain_posts_with_a_redirect(db, client, tenant_a):
    alert = _alert(db, tenant_a)
    sign_in(client, tenant_a.users["prime:procurement"])
    inbox = client.get("/alerts").get_data(as_text=True)
    assert f'hx-post="/alerts/{alert.id}/acknowledge"' in inbox and f'hx-target="#alert-row-{alert.id}"' in inbox
    done = client.post(f"/alerts/{alert.id}/acknowledge", headers=HX,
                       data={"version": str(alert.version), "fragment": "row"})
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and body.lstrip().startswith("<tr") and "<html" not in body
    assert f'id="alert-row-{alert.id}"' in body and 'data-status="acknowledged"' in body
    assert 'data-test="row-message"' in body and 'data-test="row-acknowledge"' not in body

    comment = client.post(f"/alerts/{alert.id}/comment", data={"comment": "Seen", "fragment": "row"})
    assert comment.status_code == 302 and comment.headers["Location"].endswith("/alerts")
    snoozed = client.post(f"/alerts/{alert.id}/snooze", headers=HX,
                          data={"version": str(alert.version), "days": "3", "fragment": "row"})
    assert snoozed.status_code == 200 and 'data-status="snoozed"' in snoozed.get_data(as_text=True)
    view = db.session.get(AlertSide, (alert.id, "prime"))
    db.session.refresh(view)
    assert view.status == "snoozed"
    bad = client.post(f"/alerts/{alert.id}/snooze", headers=HX,
                      data={"version": str(alert.version), "days": "365", "fragment": "row"})
    assert bad.status_code == 422 and bad.headers["X-Cogrow-Fragment"] == "row"


def test_a_refused_htmx_action_returns_the_fragment_with_its_status_and_changes_nothing(db, client, tenant_a):
    alert = _alert(db, tenant_a)
    before = [e.kind for e in db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id))]
    sign_in(client, tenant_a.users["supplier:production"])
    refused = client.post(f"/alerts/{alert.id}/resolve", headers=HX,
                          data={"version": str(alert.version), "fragment": "detail"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 403 and refused.headers["X-Cogrow-Fragment"] == "detail"
    assert 'id="alert-main"' in body and "Only the customer can resolve this alert" in body and "<html" not in body
    db.session.expire_all()
    assert alert.status == "open"
    assert [e.kind for e in db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id))] == before

    ok = client.post(f"/alerts/{alert.id}/acknowledge", headers=HX,
                     data={"version": str(alert.version), "fragment": "detail"})
    assert ok.status_code == 200 and 'data-status="acknowledged"' in ok.get_data(as_text=True)
    again = client.post(f"/alerts/{alert.id}/acknowledge", headers=HX,
                        data={"version": str(alert.version), "fragment": "detail"})
    assert again.status_code == 409 and "Only an open or snoozed alert can be acknowledged." in again.get_data(as_text=True)
    plain = client.post(f"/alerts/{alert.id}/resolve", data={"version": str(alert.version)})
    assert plain.status_code == 403 and "Only the customer can resolve this alert" in plain.get_data(as_text=True)


def test_the_unread_count_fragment(db, client, tenant_a):
    user = tenant_a.users["prime:procurement"]
    alert = _alert(db, tenant_a)
    event = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert.id))
    db.session.add(InboxEntry(user_id=user.id, organisation_id=tenant_a.prime.id, event_id=event.id, alert_id=alert.id))
    db.session.commit()
    assert client.get("/alerts/unread-count").status_code in (302, 401)
    sign_in(client, user)
    response = client.get("/alerts/unread-count", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and '<span class="count" data-unread="1">1</span>' in body and "<html" not in body
    assert response.headers["Cache-Control"] == "no-store"
    client.post("/notifications/read")
    assert 'data-unread="0"' in client.get("/alerts/unread-count").get_data(as_text=True)


def test_the_inbox_runs_a_bounded_number_of_queries(db, client, tenant_a):
    from sqlalchemy import event as sa_event

    from tests import factories as f

    for _ in range(3):
        _alert(db, tenant_a, item=f.ItemFactory(supply_relationship=tenant_a.relationship))
    sign_in(client, tenant_a.users["prime:procurement"])

    def count():
        seen = []
        engine = db.engine
        listener = lambda *args: seen.append(1)  # noqa: E731
        sa_event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/alerts").status_code == 200
        finally:
            sa_event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    few = count()
    for _ in range(12):
        _alert(db, tenant_a, item=f.ItemFactory(supply_relationship=tenant_a.relationship), type="shortage_risk")
    assert count() == few
