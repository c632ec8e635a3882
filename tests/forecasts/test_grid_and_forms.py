"""The commit grid (fill as forecast, keyboard script, scrolling region, reason labels) and the grant form's
default start date."""
from __future__ import annotations

import re

import pytest
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from cogrow.core.weeks import iso_label, local_today
from cogrow.forecasts import services
from cogrow.forecasts.models import Authorization, ForecastBucket, ForecastCommit
from tests.conftest import sign_in
from tests.forecasts.conftest import horizon, week


def _client(app, tenant, key):
    client = app.test_client()
    sign_in(client, tenant.users[key], (tenant.prime if key.startswith("prime") else tenant.supplier).id)
    return client


def _published(app, tenant, planner, items, quantity="10"):
    with app.test_request_context("/"):
        return services.publish(planner, tenant.relationship.id, horizon([i.id for i in items], quantity))


def test_commit_all_as_forecast_fills_every_cell_and_saves_nothing(app, db, tenant_a, planner, items):
    pub = _published(app, tenant_a, planner, items, "12")
    client = _client(app, tenant_a, "supplier:production")
    url = f"/relationships/{tenant_a.relationship.id}/forecasts/{pub.version_no}/commits"
    page = client.post(url, data={"action": "fill"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    values = re.findall(r'<input class="commit-input" name="qty-(\d+)"[^>]*value="([^"]*)"', html)
    assert len(values) == 3 * 26 and {v for _b, v in values} == {"12"}
    assert db.session.scalar(select(ForecastCommit.id)) is None  # nothing saved until the user saves
    # Saving the filled form commits every cell at the forecast, with no reason needed.
    saved = client.post(url, data={f"qty-{b}": v for b, v in values} | {"action": "save"})
    assert saved.status_code == 302
    assert {c.quantity for c in db.session.scalars(select(ForecastCommit))} == {Decimal(12)}


def test_the_grid_scrolls_in_a_labelled_focusable_region_with_its_script(app, db, tenant_a, planner, items):
    _published(app, tenant_a, planner, items)
    html = _client(app, tenant_a, "supplier:production").get(
        f"/relationships/{tenant_a.relationship.id}/forecasts").get_data(as_text=True)
    region = re.search(r'<div class="grid-scroll"[^>]*>', html).group(0)
    assert 'role="region"' in region and 'tabindex="0"' in region and 'aria-label="' in region
    assert re.search(r'<script src="/static/commit-grid\.js" defer></script>', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " onclick=" not in html and " style=" not in html
    assert 'data-forecast="10"' in html and "data-fill-forecast" in html
    # Enter in a cell without the script submits the commit form with its first button: that must be "save".
    commit_form = html.split('data-test="commit-form"')[1].split("</form>")[0]
    assert 'value="fill"' not in commit_form and re.findall(r"<button[^>]*>", commit_form)[0].find("save-commits") > 0
    # Reason codes in words, the code stays the value sent.
    assert re.search(r'<option value="CAPACITY"\s*>Capacity</option>', html)
    # All weeks are columns of the one grid; the header row and the part numbers are the sticky cells.
    assert html.count('<th scope="col" class="num"><abbr') == 26 and 'class="table grid-table compact-grid"' in html
    # The planner has no commit form, hence no script.
    planner_html = _client(app, tenant_a, "prime:planner").get(
        f"/relationships/{tenant_a.relationship.id}/forecasts").get_data(as_text=True)
    assert "commit-grid.js" not in planner_html


def test_committed_reasons_are_shown_in_the_users_language(app, db, tenant_a, planner, production, items):
    pub = _published(app, tenant_a, planner, items)
    bucket = db.session.scalar(select(ForecastBucket.id).where(ForecastBucket.publication_id == pub.id).limit(1))
    with app.test_request_context("/"):
        services.commit_bucket(production, tenant_a.relationship.id, pub.id, bucket, Decimal(3), "TOOLING")
    html = _client(app, tenant_a, "prime:planner").get(
        f"/relationships/{tenant_a.relationship.id}/forecasts").get_data(as_text=True)
    assert '<span data-reason="TOOLING">Tooling</span>' in html


def test_the_commit_grid_script_handles_arrows_enter_and_fill():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "platform/cogrow/static/commit-grid.js").read_text()
    for needle in ("ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Enter", "data-fill-forecast", "data-forecast",
                   "preventDefault"):
        assert needle in script
    assert "eval(" not in script and "innerHTML" not in script


def _start_value(html: str) -> str:
    field = re.search(r'<input[^>]*name="cum_start_date"[^>]*>', html).group(0)
    return re.search(r'value="([^"]*)"', field).group(1)


def test_the_grant_form_defaults_to_the_current_period_and_that_default_is_accepted(app, db, tenant_a, planner):
    rel_id = tenant_a.relationship.id
    url = f"/relationships/{rel_id}/forecasts/authorizations"
    client = _client(app, tenant_a, "prime:planner")
    start = local_today() - timedelta(weeks=4)
    first = client.post(url, data={"item_id": str(tenant_a.item.id), "kind": "FAB",
                                   "cum_start_date": start.isoformat(), "quantity": "300"})
    assert first.status_code == 302
    html = client.get(url).get_data(as_text=True)
    default = _start_value(html)
    assert default == start.isoformat()
    again = client.post(url, data={"item_id": str(tenant_a.item.id), "kind": "FAB", "cum_start_date": default,
                                   "quantity": "350"})
    assert again.status_code == 302  # the default is never refused
    assert sorted(a.quantity for a in db.session.scalars(select(Authorization))) == [300, 350]


def test_with_no_grants_the_default_is_this_years_first_day(app, db, tenant_a):
    html = _client(app, tenant_a, "prime:planner").get(
        f"/relationships/{tenant_a.relationship.id}/forecasts/authorizations").get_data(as_text=True)
    assert _start_value(html) == local_today().replace(month=1, day=1).isoformat()


def test_week_headers_carry_their_monday(app, db, tenant_a, planner, items):
    _published(app, tenant_a, planner, items)
    html = _client(app, tenant_a, "prime:planner").get(
        f"/relationships/{tenant_a.relationship.id}/forecasts").get_data(as_text=True)
    assert f'<abbr title="{iso_label(week(0))} (' in html


@pytest.mark.parametrize("field,value", [("quantity", "many"), ("quantity", "-5"), ("cum_start_date", "2026-13-01"),
                                         ("kind", "XYZ"), ("item_id", "999999")])
def test_a_bad_grant_field_is_named_and_nothing_is_granted(app, db, tenant_a, field, value):
    form = {"item_id": str(tenant_a.item.id), "kind": "FAB", "cum_start_date": local_today().isoformat(),
            "quantity": "10", field: value}
    response = _client(app, tenant_a, "prime:planner").post(
        f"/relationships/{tenant_a.relationship.id}/forecasts/authorizations", data=form)
    assert response.status_code == 422 and f'data-field="{field}"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Authorization.id)) is None


def test_a_grant_quantity_may_carry_the_grouping_the_pages_show(app, db, tenant_a):
    form = {"item_id": str(tenant_a.item.id), "kind": "FAB", "cum_start_date": local_today().isoformat(),
            "quantity": "1,280"}
    response = _client(app, tenant_a, "prime:planner").post(
        f"/relationships/{tenant_a.relationship.id}/forecasts/authorizations", data=form)
    assert response.status_code == 302
    assert db.session.scalar(select(Authorization.quantity)) == Decimal(1280)
