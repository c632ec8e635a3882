"""Firm-zone cuts: a reason is required (API, import), the cuts are stored and previewed in money, the supplier is
told (notice and e-mail with the changed cells), the planner is told of commits below forecast; internal notes
stay on the prime's side."""
from __future__ import annotations

import email
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cogrow.core.weeks import iso_label
from cogrow.forecasts import notify, services, tasks
from cogrow.forecasts.models import ForecastBucket, ForecastCut, ForecastNotice, ForecastPublication
from cogrow.imports import services as imports
from tests.conftest import sign_in
from tests.forecasts.conftest import horizon, week
from tests.imports.support import csv_bytes
from tests.imports.test_corpus import latest, multipart

HEADER = ["Part number", "Week", "Quantity"]


@pytest.fixture
def mailbox(app, tmp_path, monkeypatch):
    """E-mail lands as .eml files under tmp_path (the file backend); the send task runs in-process."""
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "file")
    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.setitem(app.config, "MAIL_ENABLED", True)
    sent = []

    def run_now(*args, **options):
        sent.append(options.get("queue"))
        return notify.send_all()

    monkeypatch.setattr(tasks.send_notices, "apply_async", run_now)

    def read() -> list[email.message.EmailMessage]:
        folder = Path(tmp_path / "mail")
        if not folder.exists():
            return []
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(folder.glob("*.eml"))]

    read.queues = sent
    return read


def _h(tenant, key):
    return {"Authorization": f"Bearer {tenant.tokens[key]}"}


def _body(part, quantities, reason=None):
    body = {"buckets": [{"part_number": part, "week": iso_label(week(n)), "quantity": q}
                        for n, q in enumerate(quantities)]}
    if reason is not None:
        body["reason"] = reason
    return body


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def _client(app, tenant, key):
    client = app.test_client()
    sign_in(client, tenant.users[key], (tenant.prime if key.startswith("prime") else tenant.supplier).id)
    return client


def test_an_api_publication_that_cuts_the_firm_zone_needs_a_reason(client, db, tenant_a, mailbox):
    url = f"/api/v1/relationships/{tenant_a.relationship.id}/forecasts"
    part = tenant_a.item.prime_part_number
    assert client.post(url, json=_body(part, ["100"] * 26), headers=_h(tenant_a, "prime:planner")).status_code == 201
    cut = ["100", "60"] + ["100"] * 24  # week 1 is in the firm zone (fence 4): 100 -> 60
    refused = client.post(url, json=_body(part, cut), headers=_h(tenant_a, "prime:planner"))
    assert refused.status_code == 422
    assert "reason" in refused.get_json()["error"]["fields"]
    assert _count(db, ForecastPublication) == 1 and _count(db, ForecastCut) == 0 and _count(db, ForecastNotice) == 0
    assert mailbox() == []

    # Raising a firm cell or changing the planning zone needs no reason.
    more = ["120"] * 4 + ["0"] * 22
    assert client.post(url, json=_body(part, more), headers=_h(tenant_a, "prime:planner")).status_code == 201

    done = client.post(url, json=_body(part, cut, reason="Model change at the customer"),
                       headers=_h(tenant_a, "prime:planner"))
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["firm_cuts"] == 4 and done.get_json()["cut_reason"] == "Model change at the customer"
    cuts = db.session.execute(select(ForecastCut.week_start, ForecastCut.previous_qty, ForecastCut.new_qty,
                                     ForecastCut.amount).order_by(ForecastCut.week_start)).all()
    price = tenant_a.item.unit_price
    assert [(c[0], c[1], c[2]) for c in cuts] == [(week(0), 120, 100), (week(1), 120, 60), (week(2), 120, 100),
                                                  (week(3), 120, 100)]
    assert cuts[1][3] == Decimal(60) * price  # cut units x unit price

    # Every supplier person who commits (admin, production) gets a notice and an e-mail with the cells.
    notices = db.session.scalars(select(ForecastNotice).order_by(ForecastNotice.user_id)).all()
    assert {n.user_id for n in notices} == {tenant_a.users["supplier:admin"].id,
                                            tenant_a.users["supplier:production"].id}
    assert all(n.kind == "firm_cut" and n.email_status == "sent" for n in notices)
    messages = mailbox()
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == sorted(
        [tenant_a.users["supplier:admin"].email, tenant_a.users["supplier:production"].email])
    text = messages[0].get_content()
    assert f"{part} {iso_label(week(1))}: 120 → 60" in text and "Model change at the customer" in text
    assert f"/relationships/{tenant_a.relationship.id}/forecasts/3" in text
    assert notify.send_all() == {}  # sent once
    assert mailbox.queues == ["notify"]  # with the other mail, not behind reconciliation


def test_a_reason_that_is_not_text_is_named(client, db, tenant_a):
    url = f"/api/v1/relationships/{tenant_a.relationship.id}/forecasts"
    response = client.post(url, json=_body(tenant_a.item.prime_part_number, ["1"] * 26, reason=5),
                           headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422 and "reason" in response.get_json()["error"]["fields"]


def test_an_item_left_out_is_a_cut_to_zero(db, tenant_a, planner, items, request_ctx):
    rel_id = tenant_a.relationship.id
    services.publish(planner, rel_id, horizon([items[0].id, items[1].id], "10"))
    cuts = services.firm_cuts(rel_id, horizon([items[0].id], "10"))
    assert {(c.item_id, c.new) for c in cuts} == {(items[1].id, Decimal(0))} and len(cuts) == 4


def _upload(client, rel_id, rows, filename="forecast-v2.csv"):
    body, content_type = multipart(csv_bytes([HEADER] + rows), filename)
    return client.post(f"/relationships/{rel_id}/imports/forecast", data=body, content_type=content_type)


def test_the_import_previews_each_cut_in_money_and_refuses_to_apply_it_without_a_reason(app, db, tenant_a, planner,
                                                                                        mailbox, request_ctx):
    rel_id = tenant_a.relationship.id
    item = tenant_a.item
    services.publish(planner, rel_id, horizon([item.id], "50"))
    client = _client(app, tenant_a, "prime:planner")
    rows = [[item.prime_part_number, iso_label(week(n)), "20" if n == 2 else "50"] for n in range(26)]
    assert _upload(client, rel_id, rows).status_code == 303
    batch = latest(db)
    assert batch.status == "preview", batch.errors
    page = client.get(f"/relationships/{rel_id}/imports/{batch.id}").get_data(as_text=True)
    assert 'data-test="preview-cuts"' in page, page.split("import-preview")[1][:6000]
    assert page.count('data-test="preview-cut"') == 1
    line = batch.summary["cuts"]["lines"][0]
    amount = Decimal(30) * item.unit_price
    assert line == [item.prime_part_number, iso_label(week(2)), "50", "20", "30", str(item.unit_price.normalize()),
                    str(amount.normalize())] or (line[:5] == [item.prime_part_number, iso_label(week(2)), "50", "20",
                                                               "30"] and Decimal(line[6]) == amount)
    assert 'name="reason"' in page

    refused = client.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm", data={"reason": "  "})
    assert refused.status_code == 422 and 'data-field="reason"' in refused.get_data(as_text=True)
    db.session.expire_all()
    assert batch.status == "preview" and _count(db, ForecastPublication) == 1 and mailbox() == []

    applied = client.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm",
                          data={"reason": "Line 2 stops for retooling"})
    assert applied.status_code == 303
    db.session.expire_all()
    assert batch.status == "applied"
    pub = services.latest_of(rel_id)
    assert pub.version_no == 2 and pub.cut_reason == "Line 2 stops for retooling" and pub.firm_cuts == 1
    assert len(mailbox()) == 2  # the supplier's admin and production user, after the import's commit

    # The result speaks in labels, not keys, and links back to the forecast version.
    result = client.get(f"/relationships/{rel_id}/imports/{batch.id}").get_data(as_text=True)
    section = result.split('data-test="result-facts"')[1].split("</dl>")[0]
    assert "version_no" not in section and "publication_id" not in section and str(pub.id) not in section.split(
        "<dd>")[0]
    assert "New version" in section
    assert f'href="/relationships/{rel_id}/forecasts/2"' in result and 'data-test="result-link"' in result


def test_the_import_api_confirm_needs_the_reason_too(client, db, tenant_a, planner, request_ctx):
    rel_id = tenant_a.relationship.id
    item = tenant_a.item
    services.publish(planner, rel_id, horizon([item.id], "50"))
    data = csv_bytes([HEADER] + [[item.prime_part_number, iso_label(week(n)), "0"] for n in range(26)])
    batch = imports.upload(planner, rel_id, "forecast", "cut.csv", data)
    url = f"/api/v1/relationships/{rel_id}/imports/{batch.id}/confirm"
    refused = client.post(url, json={}, headers=_h(tenant_a, "prime:planner"))
    assert refused.status_code == 422 and "reason" in refused.get_json()["error"]["fields"]
    assert _count(db, ForecastPublication) == 1
    done = client.post(url, json={"reason": "Demand moved to the new model"}, headers=_h(tenant_a, "prime:planner"))
    assert done.status_code == 200 and done.get_json()["status"] == "applied"
    assert services.latest_of(rel_id).firm_cuts == 4


def test_the_supplier_sees_the_changed_cells_highlighted_and_the_notice_once(app, db, tenant_a, planner, mailbox,
                                                                             request_ctx):
    rel_id = tenant_a.relationship.id
    item = tenant_a.item
    services.publish(planner, rel_id, horizon([item.id], "50"), note="Imported from forecast-v2.csv (import #2)")
    quantities = [(item.id, week(n), Decimal("10" if n == 1 else "70" if n == 9 else "50")) for n in range(26)]
    services.publish(planner, rel_id, quantities, note="Imported from forecast-v3.csv (import #3)",
                     reason="Customer cancelled an order")
    client = _client(app, tenant_a, "supplier:production")
    listing = client.get("/forecasts").get_data(as_text=True)
    assert 'data-test="unread-notices">1 new<' in listing
    page = client.get(f"/relationships/{rel_id}/forecasts").get_data(as_text=True)
    assert 'data-test="forecast-notices"' in page and 'data-kind="firm_cut"' in page
    changed = [iso_label(week(1)), iso_label(week(9))]
    for label in changed:
        cell = page.split(f'data-test="cell-{item.prime_part_number}-{label}"')[0].rsplit("<td", 1)[1]
        assert "cell-changed" in cell
    assert 'data-previous="50"' in page and page.count('data-changed="1"') == 2
    assert 'data-test="firm-cuts"' in page and "Customer cancelled an order" in page
    # Opening the version reads the notice: it does not come back.
    again = client.get(f"/relationships/{rel_id}/forecasts").get_data(as_text=True)
    assert 'data-test="forecast-notices"' not in again
    assert 'data-test="unread-notices"' not in client.get("/forecasts").get_data(as_text=True)
    # The first version has nothing to compare with.
    first = client.get(f"/relationships/{rel_id}/forecasts/1").get_data(as_text=True)
    assert 'data-changed="1"' not in first


def test_internal_notes_are_shown_to_the_prime_only(app, db, tenant_a, planner, request_ctx):
    rel_id = tenant_a.relationship.id
    note = "Imported from forecast-v2.csv (import #2)"
    services.publish(planner, rel_id, horizon([tenant_a.item.id], "50"), note=note)
    supplier = _client(app, tenant_a, "supplier:production")
    prime = _client(app, tenant_a, "prime:planner")
    for path in ("/forecasts", "/forecasts/1", "/forecasts/versions", "/forecasts/versions?format=csv"):
        url = f"/relationships/{rel_id}{path}"
        assert note not in supplier.get(url).get_data(as_text=True), path
    assert note in prime.get(f"/relationships/{rel_id}/forecasts").get_data(as_text=True)
    assert note in prime.get(f"/relationships/{rel_id}/forecasts/versions").get_data(as_text=True)
    api = f"/api/v1/relationships/{rel_id}/forecasts"
    for suffix in ("", "/latest", "/1"):
        body = supplier.get(api + suffix, headers=_h(tenant_a, "supplier:production")).get_json()
        assert note not in str(body) and "note" not in (body["data"][0] if "data" in body else body)
        assert note in str(prime.get(api + suffix, headers=_h(tenant_a, "prime:planner")).get_json())


def test_the_planner_is_told_of_commits_below_forecast(client, db, tenant_a, planner, production, mailbox,
                                                       request_ctx):
    rel_id = tenant_a.relationship.id
    pub = services.publish(planner, rel_id, horizon([tenant_a.item.id], "100"))
    buckets = db.session.execute(select(ForecastBucket.id, ForecastBucket.week_start).where(
        ForecastBucket.publication_id == pub.id).order_by(ForecastBucket.week_start)).all()
    services.commit_buckets(production, rel_id, pub.id, [{"bucket_id": buckets[0][0], "quantity": Decimal(100)}])
    assert _count(db, ForecastNotice) == 0  # at the forecast: nobody is bothered
    services.commit_buckets(production, rel_id, pub.id, [
        {"bucket_id": buckets[1][0], "quantity": Decimal(70), "reason_code": "CAPACITY"}])
    notices = db.session.scalars(select(ForecastNotice)).all()
    assert {n.user_id for n in notices} == {tenant_a.users["prime:planner"].id, tenant_a.users["prime:admin"].id}
    assert notices[0].kind == "commit_below" and notices[0].detail["cells"] == [
        {"part": tenant_a.item.prime_part_number, "week": iso_label(week(1)), "forecast": "100", "commit": "70",
         "reason_code": "CAPACITY"}]
    messages = mailbox()
    assert len(messages) == 2 and f"{iso_label(week(1))}: forecast 100, commit 70 (CAPACITY)" in messages[0].get_content()
    # The same commit again changes nothing and tells nobody again.
    services.commit_buckets(production, rel_id, pub.id, [
        {"bucket_id": buckets[1][0], "quantity": Decimal(70), "reason_code": "CAPACITY"}])
    assert _count(db, ForecastNotice) == 2


def test_a_reason_with_control_characters_is_refused_by_the_confirm_form(app, db, tenant_a, planner, request_ctx):
    rel_id = tenant_a.relationship.id
    item = tenant_a.item
    services.publish(planner, rel_id, horizon([item.id], "50"))
    data = csv_bytes([HEADER] + [[item.prime_part_number, iso_label(week(n)), "0"] for n in range(26)])
    batch = imports.upload(planner, rel_id, "forecast", "cut.csv", data)
    client = _client(app, tenant_a, "prime:planner")
    page = client.get(f"/relationships/{rel_id}/imports/{batch.id}").get_data(as_text=True)
    assert 'data-test="cut-reason"' in page and 'name="reason"' in page
    refused = client.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm", data={"reason": "bad\x00reason"})
    assert refused.status_code == 422 and 'data-field="reason"' in refused.get_data(as_text=True)
    assert _count(db, ForecastPublication) == 1


def test_the_pages_and_the_e_mail_render_in_korean(app, db, tenant_a, planner, mailbox, request_ctx):
    rel_id = tenant_a.relationship.id
    item = tenant_a.item
    for user in tenant_a.users.values():
        user.locale = "ko"
    db.session.commit()
    services.publish(planner, rel_id, horizon([item.id], "50"))
    services.publish(planner, rel_id, horizon([item.id], "40"), reason="모델 변경")
    client = _client(app, tenant_a, "supplier:production")
    for url in (f"/relationships/{rel_id}/forecasts", f"/relationships/{rel_id}/forecasts/versions", "/forecasts"):
        response = client.get(url, headers={"Accept-Language": "ko"})
        assert response.status_code == 200, url
    messages = mailbox()
    assert len(messages) == 2 and "모델 변경" in messages[0].get_content()
    assert f"{item.prime_part_number} {iso_label(week(0))}: 50 → 40" in messages[0].get_content()


def test_a_failed_e_mail_is_kept_and_sent_by_the_next_run(app, db, tenant_a, planner, mailbox, monkeypatch,
                                                          request_ctx):
    rel_id = tenant_a.relationship.id
    services.publish(planner, rel_id, horizon([tenant_a.item.id], "50"))
    real = notify.transport

    def down(message):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(notify, "transport", down)
    services.publish(planner, rel_id, horizon([tenant_a.item.id], "40"), reason="Lower demand")
    notices = db.session.scalars(select(ForecastNotice)).all()
    assert {n.email_status for n in notices} == {"failed"} and all("down" in n.last_error for n in notices)
    assert mailbox() == []
    monkeypatch.setattr(notify, "transport", real)
    assert notify.send_all() == {"sent": 2}
    db.session.expire_all()
    assert {n.email_status for n in db.session.scalars(select(ForecastNotice))} == {"sent"} and len(mailbox()) == 2


def test_a_forecast_import_calls_the_mail_worker_only_when_it_cuts(db, tenant_a, planner, mailbox, request_ctx):
    """A version without cuts writes no notice, so its import does not queue the notice task; one with cuts does."""
    rel_id = tenant_a.relationship.id
    part = tenant_a.item.prime_part_number
    for name, quantity, reason in (("first.csv", "50", None), ("more.csv", "60", None), ("cut.csv", "10", "Retooling")):
        data = csv_bytes([HEADER] + [[part, iso_label(week(n)), quantity] for n in range(26)])
        batch = imports.upload(planner, rel_id, "forecast", name, data)
        assert imports.confirm(planner, rel_id, batch.id, reason=reason).status == "applied"
    assert mailbox.queues == ["notify"] and len(mailbox()) == 2
