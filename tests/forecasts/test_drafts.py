"""Forecast drafts: stored unpublished, weighed by the what-if, then published by the normal path (a firm cut needs
a reason and the supplier's notice carries the liability) or discarded; the import preview's rows are a draft."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from cogrow.core.weeks import iso_label
from cogrow.forecasts import drafts, services
from cogrow.forecasts.models import ForecastDraft, ForecastDraftBucket, ForecastNotice, ForecastPublication
from tests.conftest import sign_in
from tests.forecasts.conftest import horizon, week
from tests.forecasts.test_cuts import _upload, mailbox  # noqa: F401 - the fixture
from tests.imports.test_corpus import latest


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def _h(tenant, key):
    return {"Authorization": f"Bearer {tenant.tokens[key]}"}


def _body(part, quantities, **extra):
    return {"buckets": [{"part_number": part, "week": iso_label(week(n)), "quantity": q}
                        for n, q in enumerate(quantities)], **extra}


def test_a_draft_is_weighed_then_published_with_a_reason_and_the_notice_carries_the_liability(
        client, db, tenant_a, mailbox):  # noqa: F811
    rel_id = tenant_a.relationship.id
    part = tenant_a.item.prime_part_number
    price = tenant_a.item.unit_price
    base = f"/api/v1/relationships/{rel_id}"
    assert client.post(f"{base}/forecasts", json=_body(part, ["100"] * 26),
                       headers=_h(tenant_a, "prime:planner")).status_code == 201
    made = client.post(f"{base}/forecast-drafts", json=_body(part, ["100", "40"] + ["100"] * 24),
                       headers=_h(tenant_a, "prime:planner"))
    assert made.status_code == 201, made.get_json()
    draft_id = made.get_json()["id"]
    assert _count(db, ForecastPublication) == 1 and _count(db, ForecastDraftBucket) == 26

    answer = client.get(f"{base}/forecast-drafts/{draft_id}/whatif", headers=_h(tenant_a, "prime:planner"))
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()
    assert result["items_changed"] == 1
    [row] = result["items"]
    # Firm zone (fence 4) falls by 60 units; no stock, no authorization: guaranteed and liability fall alike.
    assert Decimal(row["guaranteed_before"]) - Decimal(row["guaranteed_after"]) == 60
    assert Decimal(row["liability_after"]) - Decimal(row["liability_before"]) == -60 * price
    assert Decimal(result["liability_change"]) == -60 * price

    # The supplier never sees the draft.
    assert client.get(f"{base}/forecast-drafts/{draft_id}/whatif",
                      headers=_h(tenant_a, "supplier:production")).status_code in (403, 404)

    refused = client.post(f"{base}/forecast-drafts/{draft_id}/publish", json={},
                          headers=_h(tenant_a, "prime:planner"))
    assert refused.status_code == 422 and "reason" in refused.get_json()["error"]["fields"]
    assert _count(db, ForecastPublication) == 1 and _count(db, ForecastDraft) == 1

    done = client.post(f"{base}/forecast-drafts/{draft_id}/publish", json={"reason": "Customer model change"},
                       headers=_h(tenant_a, "prime:planner"))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["version_no"] == 2 and done.get_json()["firm_cuts"] == 1
    assert _count(db, ForecastDraft) == 0 and _count(db, ForecastDraftBucket) == 0
    notice = db.session.scalars(select(ForecastNotice)).first()
    # The liability of the cut item: firm weeks 0-3 of 100 before (400), 340 after, at the unit price.
    assert Decimal(notice.detail["liability_before"]) == 400 * price
    assert Decimal(notice.detail["liability"]) == 340 * price
    text = mailbox()[0].get_content()
    assert "Liability of the prime for these items" in text and notice.detail["liability"] in text


def test_a_draft_is_edited_from_the_latest_version_and_discarded(db, tenant_a, planner, items, request_ctx):
    rel_id = tenant_a.relationship.id
    services.publish(planner, rel_id, horizon([i.id for i in items], "10"))
    draft = drafts.draft_from_latest(planner, rel_id)
    assert draft.bucket_count == 78 and draft.base_version_no == 1
    drafts.set_cells(planner, rel_id, draft.id, [(items[0].id, week(1), Decimal("0"))])
    result = drafts.draft_whatif(planner, rel_id, draft.id)
    assert [c.item_id for c in result.changed] == [items[0].id]
    assert result.changed[0].guaranteed_change == Decimal(-10)
    assert [d.id for d in drafts.list_drafts(planner, rel_id)] == [draft.id]
    drafts.discard_draft(planner, rel_id, draft.id)
    assert _count(db, ForecastDraft) == 0 and services.latest_of(rel_id).version_no == 1


def test_a_bad_cell_names_the_entry_and_changes_nothing(db, tenant_a, planner, items, request_ctx):
    rel_id = tenant_a.relationship.id
    services.publish(planner, rel_id, horizon([i.id for i in items], "10"))
    draft = drafts.draft_from_latest(planner, rel_id)
    try:
        drafts.set_cells(planner, rel_id, draft.id, [(items[0].id, week(-3), Decimal("5"))])
    except Exception as exc:  # noqa: BLE001 - the service's 422
        assert getattr(exc, "fields", {}) and "buckets[0].week" in exc.fields
    else:
        raise AssertionError("a past week was accepted")
    assert _count(db, ForecastDraftBucket) == 78


def test_the_import_preview_offers_the_what_if_of_its_rows(app, db, tenant_a, planner, request_ctx):
    rel_id = tenant_a.relationship.id
    item = tenant_a.item
    services.publish(planner, rel_id, horizon([item.id], "50"))
    client = app.test_client()
    sign_in(client, tenant_a.users["prime:planner"], tenant_a.prime.id)
    rows = [[item.prime_part_number, iso_label(week(n)), "20" if n == 2 else "50"] for n in range(26)]
    assert _upload(client, rel_id, rows).status_code == 303
    batch = latest(db)
    page = client.get(f"/relationships/{rel_id}/imports/{batch.id}").get_data(as_text=True)
    assert 'data-test="import-whatif"' in page
    opened = client.post(f"/relationships/{rel_id}/imports/{batch.id}/whatif")
    assert opened.status_code == 303
    draft = db.session.scalar(select(ForecastDraft).where(ForecastDraft.import_id == batch.id))
    assert draft is not None and draft.bucket_count == 26
    shown = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert 'data-test="whatif-table"' in shown and item.prime_part_number in shown
    assert 'data-test="whatif-chart"' in shown
    listed = client.get(f"/relationships/{rel_id}/forecasts").get_data(as_text=True)
    assert 'data-test="drafts"' in listed and f"/forecast-drafts/{draft.id}" in listed
    # Publishing the import's draft confirms the import (its reason rule included).
    refused = client.post(f"/relationships/{rel_id}/forecast-drafts/{draft.id}/publish", data={"reason": ""})
    assert refused.status_code == 422
    done = client.post(f"/relationships/{rel_id}/forecast-drafts/{draft.id}/publish",
                       data={"reason": "Retooling"})
    assert done.status_code == 303
    db.session.expire_all()
    assert latest(db).status == "applied" and services.latest_of(rel_id).version_no == 2
    assert _count(db, ForecastDraft) == 0


def test_the_api_sets_cells_of_a_draft_and_refuses_a_bad_one_without_change(client, db, tenant_a):
    rel_id = tenant_a.relationship.id
    part = tenant_a.item.prime_part_number
    base = f"/api/v1/relationships/{rel_id}/forecast-drafts"
    draft_id = client.post(base, json=_body(part, ["100"] * 26), headers=_h(tenant_a, "prime:planner")).get_json()["id"]
    cell = {"buckets": [{"part_number": part, "week": iso_label(week(1)), "quantity": "7"}]}
    for _twice in range(2):
        answer = client.post(f"{base}/{draft_id}/cells", json=cell, headers=_h(tenant_a, "prime:planner"))
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["bucket_count"] == 26
    quantities = db.session.scalars(select(ForecastDraftBucket.quantity).where(
        ForecastDraftBucket.draft_id == draft_id, ForecastDraftBucket.week_start == week(1))).all()
    assert quantities == [Decimal("7")]
    bad = {"buckets": [{"part_number": part, "week": iso_label(week(1)), "quantity": "-1"}]}
    refused = client.post(f"{base}/{draft_id}/cells", json=bad, headers=_h(tenant_a, "prime:planner"))
    assert refused.status_code in (400, 422) and "quantity" in str(refused.get_json())
    assert db.session.scalars(select(ForecastDraftBucket.quantity).where(
        ForecastDraftBucket.draft_id == draft_id, ForecastDraftBucket.week_start == week(1))).all() == [Decimal("7")]
    assert client.post(f"{base}/{draft_id}/cells", json=cell,
                       headers=_h(tenant_a, "supplier:production")).status_code in (403, 404)
