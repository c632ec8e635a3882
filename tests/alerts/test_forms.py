"""The alerts pages' forms on WTForms: a bad field is a 422 naming it beside the field (page or htmx fragment) and
changes nothing; every form that posts carries the CSRF token, and a post without it is refused."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cogrow.alerts.models import Alert, AlertEvent, AlertSide, InboxEntry, NotificationPreference, WebhookEndpoint
from cogrow.core.types import utcnow
from tests.alerts.factories import AlertEventFactory, AlertFactory
from tests.conftest import sign_in

HX = {"HX-Request": "true"}


def _alert(db, tenant):
    alert = AlertFactory(item=tenant.item)
    AlertEventFactory(alert=alert)
    db.session.commit()
    return alert


def _state(db, alert_id: int):
    """Everything an action could change on an alert."""
    db.session.expire_all()
    alert = db.session.get(Alert, alert_id)
    events = [(e.kind, e.comment) for e in db.session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                                                                .order_by(AlertEvent.id))]
    sides = [(s.side, s.status, s.snoozed_until) for s in db.session.scalars(
        select(AlertSide).where(AlertSide.alert_id == alert_id))]
    return alert.status, alert.version, events, sides


BAD = [  # (action, posted fields, the field named)
    ("comment", {"comment": ""}, "comment"),
    ("comment", {"comment": "   "}, "comment"),
    ("comment", {"comment": "a\x00b"}, "comment"),
    ("comment", {"comment": "x" * 2001}, "comment"),
    ("snooze", {"until": "tomorrow"}, "until"),
    ("snooze", {"until": ""}, "until"),
    ("snooze", {"until": "2026-02-30T09:00"}, "until"),
    ("snooze", {"until": "2001-01-01T09:00"}, "until"),  # refused by the service: in the past
    ("snooze", {"days": "365", "fragment": "row"}, "days"),
    ("snooze", {"days": "abc", "fragment": "row"}, "days"),
    ("resolve", {"note": "done\u200b"}, "note"),
    ("resolve", {"note": "n" * 2001}, "note"),
    ("acknowledge", {"version": "v1"}, "version"),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("action, data, field", BAD, ids=[f"{a}-{f}-{i}" for i, (a, _, f) in enumerate(BAD)])
def test_a_bad_field_is_a_422_naming_it_and_changes_nothing(db, client, tenant_a, action, data, field, htmx):
    alert = _alert(db, tenant_a)
    sign_in(client, tenant_a.users["prime:procurement"])
    before = _state(db, alert.id)
    posted = {"version": str(alert.version), "fragment": "detail", **data}
    response = client.post(f"/alerts/{alert.id}/{action}", data=posted, headers=HX if htmx else {})
    body = response.get_data(as_text=True)
    assert response.status_code == 422, body
    assert f'data-field="{field}"' in body
    assert _state(db, alert.id) == before
    kind = posted["fragment"]
    if htmx:
        assert response.headers["X-Cogrow-Fragment"] == kind and "<html" not in body
        assert body.lstrip().startswith("<tr" if kind == "row" else "<div")
    else:
        assert "<html" in body and 'id="alert-main"' in body
    if kind == "row" and htmx:
        # Beside its field in the row, the row's "More" opened to show it.
        assert f'id="row{alert.id}-{action}-{field}-error"' in body and "<details class=\"row-more\" open" in body
    elif kind == "detail" and field != "version":
        assert f'id="detail{alert.id}-{action}-{field}-error"' in body
        assert f'aria-describedby="detail{alert.id}-{action}-{field}-error"' in body


def test_a_refused_comment_keeps_what_was_typed_and_a_good_one_clears_it(db, client, tenant_a):
    alert = _alert(db, tenant_a)
    sign_in(client, tenant_a.users["prime:procurement"])
    long = "y" * 2001
    refused = client.post(f"/alerts/{alert.id}/comment", headers=HX, data={"comment": long, "fragment": "detail"})
    assert refused.status_code == 422 and f'value="{long}"' in refused.get_data(as_text=True)
    ok = client.post(f"/alerts/{alert.id}/comment", headers=HX, data={"comment": "Line 2 slowed", "fragment": "detail"})
    body = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "Line 2 slowed" in body  # in the history
    assert re.search(r'<input id="detail\d+-comment-comment"[^>]*value=""', body)


def test_the_snooze_forms_set_the_time_asked_for(db, client, tenant_a):
    alert = _alert(db, tenant_a)
    sign_in(client, tenant_a.users["prime:procurement"])
    until = (utcnow() + timedelta(days=2)).astimezone().strftime("%Y-%m-%dT%H:%M")
    assert client.post(f"/alerts/{alert.id}/snooze", data={"version": str(alert.version), "until": until}
                       ).status_code == 302
    db.session.expire_all()
    snoozed = db.session.get(AlertSide, (alert.id, "prime")).snoozed_until
    assert timedelta(days=1, hours=12) < snoozed - utcnow() < timedelta(days=2, hours=12)
    db.session.refresh(alert)
    assert client.post(f"/alerts/{alert.id}/snooze", headers=HX,
                       data={"version": str(alert.version), "days": "7", "fragment": "row"}).status_code == 200
    db.session.expire_all()
    snoozed = db.session.get(AlertSide, (alert.id, "prime")).snoozed_until
    assert timedelta(days=6, hours=23) < snoozed - utcnow() <= timedelta(days=7)


def test_the_inbox_rows_have_ids_of_their_own(db, client, tenant_a):
    from tests import factories as f

    first = _alert(db, tenant_a)
    second = AlertFactory(item=f.ItemFactory(supply_relationship=tenant_a.relationship))
    AlertEventFactory(alert=second)
    db.session.commit()
    sign_in(client, tenant_a.users["prime:procurement"])
    page = client.get("/alerts").get_data(as_text=True)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "no id twice on the page"
    for alert in (first, second):
        assert f'<label class="label" for="row{alert.id}-comment-comment">' in page
        assert f'id="row{alert.id}-snooze-version" name="version" type="hidden" value="{alert.version}"' in page


@pytest.mark.parametrize("data, field", [({"action": "explode"}, "action"), ({}, "action"),
                                         ({"action": "acknowledge", "ids": "abc"}, "ids"),
                                         ({"action": "resolve", "ids": "0"}, "ids")])
def test_a_bad_bulk_action_names_its_field_and_changes_nothing(db, client, tenant_a, data, field):
    alert = _alert(db, tenant_a)
    sign_in(client, tenant_a.users["prime:procurement"])
    before = _state(db, alert.id)
    posted = {"ids": str(alert.id), **data}
    response = client.post("/alerts/bulk", data=posted)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and f'data-field="{field}"' in body and 'data-test="alerts"' in body
    assert _state(db, alert.id) == before


def test_marking_read_refuses_bad_ids_and_changes_nothing(db, client, tenant_a):
    user = tenant_a.users["prime:procurement"]
    alert = _alert(db, tenant_a)
    event = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert.id))
    entry = InboxEntry(user_id=user.id, organisation_id=tenant_a.prime.id, event_id=event.id, alert_id=alert.id)
    db.session.add(entry)
    db.session.commit()
    sign_in(client, user)
    for data in ({"ids": ["x"]}, {"ids": ["1", "-2"]}, {"selected": "y"}):  # "Mark selected" with none ticked
        bad = client.post("/notifications/read", data=data)
        assert bad.status_code == 422 and 'data-field="ids"' in bad.get_data(as_text=True), data
        db.session.expire_all()
        assert db.session.get(InboxEntry, entry.id).read_at is None
    page = client.get("/notifications").get_data(as_text=True)
    assert f'<input type="checkbox" name="ids" value="{entry.id}"' in page and 'name="selected" value="y"' in page
    assert client.post("/notifications/read", data={"ids": [str(entry.id)], "selected": "y"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(InboxEntry, entry.id).read_at is not None


def test_the_email_setting_refuses_a_missing_or_unknown_choice(db, client, tenant_a):
    user = tenant_a.users["prime:procurement"]
    sign_in(client, user)
    for data in ({}, {"email_mode": "pigeon"}):
        bad = client.post("/settings/notifications", data=data)
        assert bad.status_code == 422 and 'data-field="email_mode"' in bad.get_data(as_text=True)
    assert db.session.get(NotificationPreference, user.id) is None
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert re.search(r'<input checked id="email_mode-0" name="email_mode" type="radio" value="each">', page)
    assert client.post("/settings/notifications", data={"email_mode": "off"}).status_code == 302
    assert 'value="off"' in client.get("/settings/notifications").get_data(as_text=True)
    assert db.session.get(NotificationPreference, user.id).email_mode == "off"


@pytest.mark.parametrize("data, field", [({"url": ""}, "url"), ({"url": "https://93.184.216.34/\x07"}, "url"),
                                         ({"url": "not a url"}, "url"),
                                         ({"url": "https://93.184.216.34/h", "description": "d" * 201}, "description"),
                                         ({"url": "https://93.184.216.34/h", "description": "a\u2066b"}, "description")])
def test_a_bad_webhook_field_is_named_and_adds_nothing(db, client, tenant_a, config, data, field):
    config(WEBHOOK_ALLOW_PRIVATE=False)
    sign_in(client, tenant_a.users["prime:admin"])
    response = client.post("/settings/webhooks", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and f'data-field="{field}"' in body
    assert f'aria-describedby="{field}-error"' in body
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def _token(page: str) -> str:
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_every_post_form_of_the_alerts_pages_carries_the_csrf_token(db, client, tenant_a, app, receiver):
    from cogrow.alerts.models import WebhookDelivery

    alert = _alert(db, tenant_a)
    endpoint = WebhookEndpoint(organisation_id=tenant_a.prime.id, url=receiver.url, secret="whsec_x", active=True)
    db.session.add(endpoint)
    db.session.flush()
    event = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert.id))
    db.session.add(WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id, status="dead", attempts=8))
    db.session.add(InboxEntry(user_id=tenant_a.users["prime:admin"].id, organisation_id=tenant_a.prime.id,
                              event_id=event.id, alert_id=alert.id))
    db.session.commit()
    sign_in(client, tenant_a.users["prime:admin"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        pages = ["/alerts", f"/alerts/{alert.id}", "/notifications", "/settings/notifications", "/settings/webhooks"]
        for path in pages:
            page = client.get(path).get_data(as_text=True)
            main = page[page.index("<main"):]
            forms = re.findall(r'<form method="post".*?</form>', main, flags=re.S)
            assert forms, path
            for form in forms:
                assert form.count('name="csrf_token"') == 1, (path, form[:200])
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(db, client, tenant_a, app):
    alert = _alert(db, tenant_a)
    sign_in(client, tenant_a.users["prime:procurement"])
    before = _state(db, alert.id)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        data = {"version": str(alert.version), "fragment": "row"}
        for action in ("acknowledge", "resolve", "comment"):
            refused = client.post(f"/alerts/{alert.id}/{action}", data={**data, "comment": "x"})
            assert refused.status_code == 400 and b"Reload the page" in refused.data, action
        assert client.post("/alerts/bulk", data={"action": "resolve", "ids": str(alert.id)}).status_code == 400
        assert client.post("/settings/notifications", data={"email_mode": "off"}).status_code == 400
        assert client.post("/notifications/read").status_code == 400
        assert client.post(f"/alerts/{alert.id}/comment", headers={**HX, "X-CSRFToken": "forged"},
                           data={**data, "comment": "x"}).status_code == 400
        assert _state(db, alert.id) == before

        page = client.get("/alerts").get_data(as_text=True)
        # htmx sends the token of <body hx-headers>; a plain post sends the form's own.
        header = re.search(r'<body hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
        ok = client.post(f"/alerts/{alert.id}/comment", headers={**HX, "X-CSRFToken": header},
                         data={**data, "comment": "via htmx"})
        assert ok.status_code == 200 and ok.get_data(as_text=True).lstrip().startswith("<tr")
        done = client.post(f"/alerts/{alert.id}/acknowledge", data={**data, "csrf_token": _token(page)})
        assert done.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    db.session.expire_all()
    assert db.session.get(AlertSide, (alert.id, "prime")).status == "acknowledged"


def test_the_inbox_filters_keep_what_was_chosen_and_name_a_bad_one_beside_it(db, client, tenant_a):
    _alert(db, tenant_a)
    sign_in(client, tenant_a.users["prime:procurement"])
    page = client.get(f"/alerts?severity=critical&sort=exposure&relationship_id={tenant_a.relationship.id}"
                      ).get_data(as_text=True)
    assert '<option selected value="critical">' in page and '<option selected value="exposure">' in page
    assert f'<option selected value="{tenant_a.relationship.id}">' in page
    assert '<option selected value="live">' in client.get("/alerts").get_data(as_text=True), "the default filter"
    bad = client.get("/alerts?severity=apocalyptic&relationship_id=x")
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for name in ("severity", "relationship_id"):
        assert f'id="{name}-error" data-field="{name}"' in body and f'aria-describedby="{name}-error"' in body


@pytest.mark.parametrize("until, ok", [("{day}", False), ("tomorrow", False), (12, False), ("", False),
                                       ("{day}T09:00", True), ("{day}T09:00+09:00", True)])
def test_the_api_reads_a_snooze_end_with_the_pages_parser(db, client, tenant_a, until, ok):
    from cogrow.core.weeks import local_today

    # A day two weeks after the business day, so the snooze end is in the future at any test instant.
    day = local_today() + timedelta(days=14)
    if isinstance(until, str):
        until = until.format(day=day.isoformat())
    alert = _alert(db, tenant_a)
    headers = {"Authorization": f"Bearer {tenant_a.tokens['prime:procurement']}", "If-Match": f'"{alert.version}"'}
    sign_in(client, tenant_a.users["prime:procurement"])
    page = client.post(f"/alerts/{alert.id}/snooze", data={"version": str(alert.version), "until": until})
    api = client.post(f"/api/v1/alerts/{alert.id}/snooze", json={"until": until}, headers=headers)
    if ok:
        assert page.status_code == 302 and api.status_code == 200, api.get_json()
        db.session.expire_all()
        snoozed = db.session.get(AlertSide, (alert.id, "prime")).snoozed_until
        assert snoozed.isoformat().startswith(f"{day.isoformat()}T00:00") and snoozed.utcoffset() == timedelta(0)
    else:
        assert page.status_code == 422 and 'data-field="until"' in page.get_data(as_text=True)
        assert api.status_code == 422 and "until" in api.get_json()["error"]["fields"]
