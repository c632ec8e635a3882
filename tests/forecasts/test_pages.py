"""Forecast pages: lists, the version grid with the supplier's commit form, the waterfall, authorizations, exports."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event, select

from cogrow.core.weeks import iso_label
from cogrow.extensions import db as _db
from cogrow.forecasts import services
from cogrow.forecasts.models import Authorization, ForecastBucket, ForecastCommit
from tests import factories as f
from tests.conftest import sign_in
from tests.forecasts.conftest import horizon, week


@pytest.fixture
def two_versions(app, db, tenant_a, planner, items):
    rel_id = tenant_a.relationship.id
    with app.test_request_context("/"):
        first = services.publish(planner, rel_id, horizon([i.id for i in items], "10"))
        second = services.publish(planner, rel_id, horizon([i.id for i in items], "14"))
    return first, second


def _client(app, tenant, key):
    client = app.test_client()
    side = key.split(":")[0]
    sign_in(client, tenant.users[key], (tenant.prime if side == "prime" else tenant.supplier).id)
    return client


def test_forecasts_list_shows_each_relationships_latest_version(app, db, tenant_a, two_versions):
    page = _client(app, tenant_a, "supplier:production").get("/forecasts")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert tenant_a.prime.name in text and "v2" in text


@pytest.mark.parametrize("path", ["/forecasts", "/relationships/{rel}/forecasts", "/relationships/{rel}/forecasts/1",
                                  "/relationships/{rel}/forecasts/versions", "/relationships/{rel}/forecasts/waterfall",
                                  "/relationships/{rel}/forecasts/authorizations"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_list_exports(app, db, tenant_a, two_versions, path, fmt):
    response = _client(app, tenant_a, "prime:planner").get(path.format(rel=tenant_a.relationship.id) + f"?format={fmt}")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    if fmt == "csv":
        assert response.data.startswith(b"\xef\xbb\xbf")


def test_an_unknown_export_format_is_400(app, db, tenant_a, two_versions):
    response = _client(app, tenant_a, "prime:planner").get(f"/relationships/{tenant_a.relationship.id}/forecasts?format=pdf")
    assert response.status_code == 400


def test_the_version_export_lists_buckets_with_zones(app, db, tenant_a, two_versions, items):
    response = _client(app, tenant_a, "prime:planner").get(
        f"/relationships/{tenant_a.relationship.id}/forecasts/1?format=csv")
    lines = response.data.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 3 * 26
    assert lines[1].split(",")[:5] == [items[0].prime_part_number, iso_label(week(0)), week(0).isoformat(), "firm", "10"]


def test_the_planner_sees_the_grid_without_commit_inputs(app, db, tenant_a, two_versions, items):
    page = _client(app, tenant_a, "prime:planner").get(f"/relationships/{tenant_a.relationship.id}/forecasts")
    text = page.get_data(as_text=True)
    assert f'data-test="cell-{items[0].prime_part_number}-{iso_label(week(0))}"' in text
    assert 'name="qty-' not in text and "zone-material" in text


def test_the_supplier_commits_from_the_grid(app, db, tenant_a, two_versions, items):
    _first, second = two_versions
    client = _client(app, tenant_a, "supplier:production")
    url = f"/relationships/{tenant_a.relationship.id}/forecasts"
    assert 'name="qty-' in client.get(url).get_data(as_text=True)
    old = client.get(f"{url}/1").get_data(as_text=True)
    assert 'name="qty-' not in old  # a superseded version offers no commit form
    buckets = db.session.execute(select(ForecastBucket.id, ForecastBucket.week_start).where(
        ForecastBucket.publication_id == second.id, ForecastBucket.item_id == items[0].id)
        .order_by(ForecastBucket.week_start)).all()
    b0, b1 = buckets[0].id, buckets[1].id

    below = client.post(f"{url}/2/commits", data={f"qty-{b0}": "14", f"qty-{b1}": "9", f"reason-{b1}": ""})
    assert below.status_code == 422
    assert f'data-field="reason-{b1}"' in below.get_data(as_text=True)
    assert db.session.scalar(select(ForecastCommit.id)) is None

    saved = client.post(f"{url}/2/commits", data={f"qty-{b0}": "14", f"qty-{b1}": "9", f"reason-{b1}": "CAPACITY"})
    assert saved.status_code == 302
    assert sorted((c.quantity, c.reason_code) for c in db.session.scalars(select(ForecastCommit))) == [
        (Decimal("9"), "CAPACITY"), (Decimal("14"), None)]
    planner_view = _client(app, tenant_a, "prime:planner").get(f"{url}/waterfall").get_data(as_text=True)
    assert "CAPACITY" in planner_view


def test_a_bad_number_in_the_grid_is_shown_on_its_cell(app, db, tenant_a, two_versions):
    bucket = db.session.scalar(select(ForecastBucket.id).where(ForecastBucket.publication_id == two_versions[1].id))
    client = _client(app, tenant_a, "supplier:production")
    response = client.post(f"/relationships/{tenant_a.relationship.id}/forecasts/2/commits",
                           data={f"qty-{bucket}": "1,5"})
    assert response.status_code == 422 and f'data-field="qty-{bucket}"' in response.get_data(as_text=True)


def test_commits_on_an_old_version_from_a_page_are_409(app, db, tenant_a, two_versions):
    bucket = db.session.scalar(select(ForecastBucket.id).where(ForecastBucket.publication_id == two_versions[0].id))
    response = _client(app, tenant_a, "supplier:production").post(
        f"/relationships/{tenant_a.relationship.id}/forecasts/1/commits", data={f"qty-{bucket}": "10"})
    assert response.status_code == 409


def test_the_waterfall_shows_versions_side_by_side(app, db, tenant_a, two_versions, items):
    text = _client(app, tenant_a, "prime:planner").get(
        f"/relationships/{tenant_a.relationship.id}/forecasts/waterfall").get_data(as_text=True)
    row = text.split(f'data-test="wf-{items[0].prime_part_number}-{iso_label(week(0))}"')[1].split("</tr>")[0]
    assert ">14<" in row and ">10<" in row and "+4" in row


def _count_queries(app, fn):
    statements = []

    def listener(*args):
        statements.append(args[2])

    event.listen(_db.engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(_db.engine, "before_cursor_execute", listener)
    return len(statements)


@pytest.mark.parametrize("path", ["waterfall", "", "1"])
def test_pages_issue_the_same_number_of_queries_whatever_the_item_count(app, db, tenant_a, planner, path):
    client = _client(app, tenant_a, "prime:planner")
    url = f"/relationships/{tenant_a.relationship.id}/forecasts/{path}".rstrip("/")
    counts = []
    for n in (1, 8):
        extra = [f.ItemFactory(supply_relationship=tenant_a.relationship) for _n in range(n)]
        db.session.commit()
        with app.test_request_context("/"):
            services.publish(planner, tenant_a.relationship.id, horizon([i.id for i in extra]), reason="re-plan")
        counts.append(_count_queries(app, lambda: client.get(url)))
    assert counts[0] == counts[1]


def test_the_planner_grants_from_the_form_and_a_lower_grant_is_refused(app, db, tenant_a):
    client = _client(app, tenant_a, "prime:planner")
    url = f"/relationships/{tenant_a.relationship.id}/forecasts/authorizations"
    form = {"item_id": str(tenant_a.item.id), "kind": "RAW", "cum_start_date": week(-3).isoformat(), "quantity": "500"}
    assert client.post(url, data=form).status_code == 302
    lower = client.post(url, data={**form, "quantity": "400"})
    assert lower.status_code == 422 and 'data-field="quantity"' in lower.get_data(as_text=True)
    assert "500" in lower.get_data(as_text=True)
    assert [a.quantity for a in db.session.scalars(select(Authorization))] == [Decimal("500")]
    supplier = _client(app, tenant_a, "supplier:production").get(url).get_data(as_text=True)
    assert "500" in supplier and 'data-test="grant-form"' not in supplier


def test_a_relationship_without_forecast_says_so(app, db, tenant_a):
    page = _client(app, tenant_a, "supplier:production").get(f"/relationships/{tenant_a.relationship.id}/forecasts")
    assert page.status_code == 200 and 'data-test="no-forecast"' in page.get_data(as_text=True)


@pytest.mark.parametrize("item_count,weeks", [(40, 26), (4, 104)])
def test_the_commit_grid_pages_items_to_stay_under_the_form_field_limit(app, db, tenant_a, planner, item_count, weeks):
    extra = [f.ItemFactory(supply_relationship=tenant_a.relationship) for _n in range(item_count)]
    db.session.commit()
    with app.test_request_context("/"):
        services.publish(planner, tenant_a.relationship.id, horizon([i.id for i in extra], weeks=weeks))
    client = _client(app, tenant_a, "supplier:production")
    text = client.get(f"/relationships/{tenant_a.relationship.id}/forecasts").get_data(as_text=True)
    fields = text.count('name="qty-') + text.count('name="reason-')
    assert 0 < fields < app.config.get("MAX_FORM_PARTS", 1000) - 10
    assert "page=2" in text
    second = client.get(f"/relationships/{tenant_a.relationship.id}/forecasts?page=2").get_data(as_text=True)
    assert 'name="qty-' in second
