"""An applied import that changes nothing says so on its result, instead of a bare "Applied"."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from cogrow.core.weeks import iso_label
from cogrow.forecasts import services as forecasts
from cogrow.forecasts.models import ForecastBucket
from cogrow.production.models import ItemPosition
from tests.conftest import actor_of, sign_in
from tests.forecasts.conftest import horizon, week
from tests.imports.support import csv_bytes
from tests.imports.test_corpus import latest, multipart

PRODUCTION_HEADER = ["part_number", "as_of", "good_qty", "scrap_qty", "wip_qty", "fg_on_hand"]


def _supplier(app, tenant):
    client = app.test_client()
    sign_in(client, tenant.users["supplier:production"], tenant.supplier.id)
    return client


def _upload(client, rel_id, kind, rows, filename):
    body, content_type = multipart(csv_bytes(rows), filename)
    response = client.post(f"/relationships/{rel_id}/imports/{kind}", data=body, content_type=content_type)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


def _confirm(client, db, rel_id):
    batch = latest(db)
    assert batch.status == "preview", batch.errors
    assert client.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm").status_code == 303
    db.session.expire_all()
    assert batch.status == "applied", batch.errors
    return client.get(f"/relationships/{rel_id}/imports/{batch.id}").get_data(as_text=True)


def test_production_rows_all_older_than_the_current_report_say_nothing_changed(app, db, tenant_a):
    rel_id = tenant_a.relationship.id
    client = _supplier(app, tenant_a)
    part = tenant_a.item.prime_part_number
    now = datetime.now(timezone.utc).replace(microsecond=0)
    newer = (now - timedelta(hours=1)).isoformat()
    older = (now - timedelta(days=2)).isoformat()
    page = _confirm_after(client, db, rel_id, [PRODUCTION_HEADER, [part, newer, "10", "0", "5", "90"]], "new.csv")
    assert 'data-test="nothing-changed"' not in page
    position = db.session.get(ItemPosition, tenant_a.item.id)
    assert position.fg_on_hand == Decimal(90)

    page = _confirm_after(client, db, rel_id, [PRODUCTION_HEADER, [part, older, "1", "0", "1", "7"]], "old.csv")
    assert 'data-test="nothing-changed"' in page and "older than" in page
    db.session.expire_all()
    assert db.session.get(ItemPosition, tenant_a.item.id).fg_on_hand == Decimal(90)


def _confirm_after(client, db, rel_id, rows, filename, kind="production"):
    _upload(client, rel_id, kind, rows, filename)
    return _confirm(client, db, rel_id)


def test_commits_equal_to_the_saved_ones_say_nothing_changed(app, db, tenant_a):
    rel_id = tenant_a.relationship.id
    with app.test_request_context("/"):
        forecasts.publish(actor_of(tenant_a.users["prime:planner"], tenant_a.prime), rel_id,
                          horizon([tenant_a.item.id], "10"))
    client = _supplier(app, tenant_a)
    rows = [["Part number", "Week", "Commit"], [tenant_a.item.prime_part_number, iso_label(week(0)), "10"]]
    first = _confirm_after(client, db, rel_id, rows, "commits.csv", "commits")
    assert 'data-test="nothing-changed"' not in first
    assert 'href="/relationships/%d/forecasts/1"' % rel_id in first  # back to the version it answered
    again = _confirm_after(client, db, rel_id, rows + [["", "", ""]], "commits-again.csv", "commits")
    assert 'data-test="nothing-changed"' in again


def test_a_forecast_identical_to_the_latest_says_so(app, db, tenant_a, planner):
    rel_id = tenant_a.relationship.id
    part = tenant_a.item.prime_part_number
    rows = [["Part number", "Week", "Quantity"]] + [[part, iso_label(week(n)), "10"] for n in range(26)]
    assert 'data-test="nothing-changed"' not in _confirm_after(planner, db, rel_id, rows, "v1.csv", "forecast")
    page = _confirm_after(planner, db, rel_id, rows + [["", "", ""]], "v2.csv", "forecast")
    assert 'data-test="nothing-changed"' in page and "identical" in page
    assert db.session.scalar(select(ForecastBucket.quantity).where(ForecastBucket.week_start == week(0)).limit(1)) == 10
