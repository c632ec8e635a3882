"""A blank cell is unchanged, everywhere a report is written: the grid, the single-item form, the JSON API and the
import. The plan a blank cell leaves alone stays (HA-HSG-2040 once lost its 90 a week to a blank grid cell);
clearing a planned week takes an explicit 0. The forms are pre-filled with the last report, and the import
template leaves every quantity empty, so uploading it unchanged reports nothing."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.weeks import current_week, iso_label
from cogrow.imports import services as imports
from cogrow.production import services
from cogrow.production.models import ItemPosition, PlannedOutput, ProductionReport
from tests.conftest import actor_of, sign_in
from tests.production.conftest import at, headers, report_body, reports_url

WEEKS = 4  # the grid's planned weeks


def _weeks(n=WEEKS):
    return [current_week() + timedelta(weeks=k) for k in range(n)]


def _report(tenant, *, fg=500, wip=40, raw=None, plan=90, minutes_ago=120):
    """The item's last report: FG, WIP, raw material and `plan` units a week for the next 8 weeks."""
    actor = actor_of(tenant.users["supplier:production"], tenant.supplier)
    services.record_reports(actor, tenant.relationship.id, [{
        "item_id": tenant.item.id, "as_of": datetime.now(timezone.utc) - timedelta(minutes=minutes_ago),
        "good_qty": Decimal(0), "scrap_qty": Decimal(0), "wip_qty": Decimal(wip), "fg_on_hand": Decimal(fg),
        "raw_on_hand": None if raw is None else Decimal(raw),
        "plan": [(w, Decimal(plan)) for w in _weeks(8)]}])


def _position_plan(db, item_id):
    position = db.session.get(ItemPosition, item_id)
    rows = db.session.execute(select(PlannedOutput.week_start, PlannedOutput.quantity)
                              .where(PlannedOutput.report_id == position.report_id)
                              .order_by(PlannedOutput.week_start)).all()
    return position, {week: qty for week, qty in rows}


def _reports(db):
    return db.session.scalar(select(func.count()).select_from(ProductionReport))


def _inputs(html):
    """name -> value of every <input> on a page."""
    return {m.group(1): m.group(2) for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)}


# --- the grid -------------------------------------------------------------------------------------------------

def test_the_grid_is_pre_filled_and_a_blank_plan_cell_keeps_the_plan(client, db, tenant_a):
    _report(tenant_a, plan=90, raw=12)
    sign_in(client, tenant_a.users["supplier:production"])
    url = f"/relationships/{tenant_a.relationship.id}/production/grid"
    page = client.get(url).get_data(as_text=True)
    p = f"r{tenant_a.item.id}-"
    form = _inputs(page)
    weeks = [iso_label(w) for w in _weeks()]
    assert form[p + "fg_on_hand"] == "500" and form[p + "wip_qty"] == "40" and form[p + "raw_on_hand"] == "12"
    assert all(form[f"{p}plan_{w}"] == "90" for w in weeks)
    assert form[p + "good_qty"] == "" and form[p + "scrap_qty"] == ""
    # The user clears one plan cell (blank = unchanged), writes 0 in another (clears that week) and new stock.
    form.pop("as_of", None)
    form.update({p + "fg_on_hand": "1,280", f"{p}plan_{weeks[1]}": "", f"{p}plan_{weeks[2]}": "0",
                 "csrf_token": ""})
    before = _reports(db)
    response = client.post(url, data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert _reports(db) == before + 1
    position, plan = _position_plan(db, tenant_a.item.id)
    assert position.fg_on_hand == Decimal(1280) and position.wip_qty == Decimal(40) and position.raw_on_hand == 12
    expected = {w: Decimal(90) for w in _weeks(8)}
    expected[_weeks()[2]] = Decimal(0)
    assert plan == expected  # weeks beyond the grid's four are kept too


def test_a_grid_row_left_as_shown_is_not_reported(client, db, tenant_a):
    _report(tenant_a)
    sign_in(client, tenant_a.users["supplier:production"])
    url = f"/relationships/{tenant_a.relationship.id}/production/grid"
    form = _inputs(client.get(url).get_data(as_text=True))
    before = _reports(db)
    response = client.post(url, data=form)
    assert response.status_code == 422 and _reports(db) == before


def test_cells_left_as_shown_do_not_overwrite_a_report_saved_meanwhile(client, db, tenant_a):
    """The page showed FG 500 / WIP 40; meanwhile the API reported WIP 75. The user changes only FG: WIP stays 75."""
    _report(tenant_a)
    sign_in(client, tenant_a.users["supplier:production"])
    url = f"/relationships/{tenant_a.relationship.id}/production/grid"
    form = _inputs(client.get(url).get_data(as_text=True))
    api = client.application.test_client()
    assert api.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=at(30), wip_qty="75", fg_on_hand="500"),
                    headers=headers(tenant_a)).status_code == 201
    form[f"r{tenant_a.item.id}-fg_on_hand"] = "480"
    assert client.post(url, data=form).status_code == 302
    position = db.session.get(ItemPosition, tenant_a.item.id)
    assert position.fg_on_hand == Decimal(480) and position.wip_qty == Decimal(75)


def test_grid_cells_accept_grouping_and_name_an_ambiguous_number(client, db, tenant_a):
    _report(tenant_a)
    sign_in(client, tenant_a.users["supplier:production"])
    url = f"/relationships/{tenant_a.relationship.id}/production/grid"
    form = _inputs(client.get(url).get_data(as_text=True))
    name = f"r{tenant_a.item.id}-fg_on_hand"
    for bad in ("1,28", "1.280,5", "1 280"):
        response = client.post(url, data={**form, name: bad})
        assert response.status_code == 422 and f'data-field="{name}"' in response.get_data(as_text=True), bad
    assert client.post(url, data={**form, name: "12,345.5"}).status_code == 302
    assert db.session.get(ItemPosition, tenant_a.item.id).fg_on_hand == Decimal("12345.5")


def test_grid_inputs_take_grouping_in_the_browser_and_have_readable_labels(client, db, tenant_a):
    _report(tenant_a)
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get(f"/relationships/{tenant_a.relationship.id}/production/grid",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    pn = tenant_a.item.prime_part_number
    assert f'aria-label="{pn} — Good quantity"' in page and f'aria-label="{pn} good_qty"' not in page
    quantity_inputs = re.findall(r'<input[^>]*class="qty"[^>]*>', page)
    assert quantity_inputs and all('type="text"' in i and 'inputmode="decimal"' in i for i in quantity_inputs)
    assert re.search(r'<div[^>]*tabindex="0"[^>]*role="region"[^>]*aria-label="[^"]+"[^>]*data-test="grid-region"',
                     page)


# --- the single-item form -------------------------------------------------------------------------------------

def test_the_item_form_is_pre_filled_and_a_blank_plan_cell_keeps_the_plan(client, db, tenant_a):
    _report(tenant_a, plan=90)
    sign_in(client, tenant_a.users["supplier:production"])
    url = f"/relationships/{tenant_a.relationship.id}/items/{tenant_a.item.id}/production"
    form = _inputs(client.get(url).get_data(as_text=True))
    week = iso_label(current_week())
    assert form["fg_on_hand"] == "500" and form["wip_qty"] == "40" and form[f"plan_{week}"] == "90"
    form.update({"good_qty": "80", f"plan_{week}": "", "fg_on_hand": "", "as_of": ""})
    response = client.post(url, data=form)
    assert response.status_code == 302
    position, plan = _position_plan(db, tenant_a.item.id)
    assert position.good_qty == 80 and position.fg_on_hand == 500  # a blank FG is unchanged too
    assert plan == {w: Decimal(90) for w in _weeks(8)}


def test_an_item_without_a_report_needs_wip_and_finished_goods(client, db, tenant_a):
    sign_in(client, tenant_a.users["supplier:production"])
    url = f"/relationships/{tenant_a.relationship.id}/items/{tenant_a.item.id}/production"
    response = client.post(url, data={"good_qty": "3"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'data-field="wip_qty"' in html and 'data-field="fg_on_hand"' in html
    assert _reports(db) == 0


# --- the JSON API: an absent plan or raw_on_hand is unchanged; numbers stay strict --------------------------------

def test_api_report_without_plan_or_raw_keeps_them_and_a_named_week_is_merged(client, db, tenant_a):
    _report(tenant_a, plan=90, raw=7)
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=at(10)), headers=headers(tenant_a))
    assert response.status_code == 201
    body = response.get_json()
    assert body["raw_on_hand"] == "7" and [p["quantity"] for p in body["plan"]] == ["90"] * 8
    week = iso_label(current_week() + timedelta(weeks=1))
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=at(5), plan=[
        {"week": week, "quantity": "0"}]), headers=headers(tenant_a))
    assert response.status_code == 201
    _position, plan = _position_plan(db, tenant_a.item.id)
    assert plan[current_week() + timedelta(weeks=1)] == 0 and plan[current_week()] == 90 and len(plan) == 8


def test_api_numbers_stay_digits_without_grouping(client, db, tenant_a):
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a, fg_on_hand="1,280"),
                           headers=headers(tenant_a))
    assert response.status_code == 422 and "fg_on_hand" in response.get_json()["error"]["fields"]


def test_a_report_older_than_the_position_carries_nothing_from_it(client, db, tenant_a):
    _report(tenant_a, plan=90, minutes_ago=10)
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=at(60)), headers=headers(tenant_a))
    assert response.status_code == 201 and response.get_json()["plan"] == []


# --- the import -----------------------------------------------------------------------------------------------

@pytest.fixture
def _request(app):
    with app.test_request_context():
        yield


def _when(hours_ago: float) -> str:
    return (datetime.now(timezone(timedelta(hours=9))) - timedelta(hours=hours_ago)).replace(microsecond=0).isoformat()


def test_import_blank_cells_keep_the_last_report(db, tenant_a, _request):
    _report(tenant_a, plan=90, raw=5, minutes_ago=300)
    actor = actor_of(tenant_a.users["supplier:production"], tenant_a.supplier)
    # plan_w1 is the week of the row's as_of: keep that inside this ISO week (at Monday 00:30 in Seoul, an hour
    # ago is last week, whose plan_w2 is this week).
    seoul = datetime.now(timezone(timedelta(hours=9)))
    since_monday = seoul - seoul.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=seoul.weekday())
    text = ("part_number,as_of,good_qty,scrap_qty,wip_qty,fg_on_hand,raw_on_hand,plan_w1,plan_w2\n"
            f"{tenant_a.item.prime_part_number},{_when(min(1.0, since_monday.total_seconds() / 7200))},"
            "\"1,200\",,,650,,,0\n")
    batch = imports.upload(actor, tenant_a.relationship.id, "production", "p.csv", text.encode())
    assert batch.status == "preview", batch.errors
    imports.confirm(actor, tenant_a.relationship.id, batch.id)
    position, plan = _position_plan(db, tenant_a.item.id)
    assert (position.good_qty, position.scrap_qty, position.wip_qty, position.fg_on_hand, position.raw_on_hand) == \
        (1200, 0, 40, 650, 5)
    assert plan[current_week()] == 90 and plan[current_week() + timedelta(weeks=1)] == 0


def test_import_of_an_item_without_a_report_needs_wip_and_finished_goods(db, tenant_a, _request):
    actor = actor_of(tenant_a.users["supplier:production"], tenant_a.supplier)
    text = ("part_number,as_of,good_qty,scrap_qty,wip_qty,fg_on_hand\n"
            f"{tenant_a.item.prime_part_number},{_when(1)},5,0,3,\n")
    batch = imports.upload(actor, tenant_a.relationship.id, "production", "p.csv", text.encode())
    assert batch.status == "invalid" and any(e["row"] == 2 and "fg_on_hand" in (e["column"] or "")
                                             for e in batch.errors), batch.errors


def test_the_template_uploaded_unchanged_reports_no_zero_stock(app, client, db, tenant_a):
    _report(tenant_a, fg=500, wip=40)
    sign_in(client, tenant_a.users["supplier:production"])
    response = client.get(f"/relationships/{tenant_a.relationship.id}/imports/production/template.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, data = rows[0], rows[1:]
    assert data, "the template has example rows"
    quantity_columns = [i for i, name in enumerate(header) if i >= 2]
    assert all(row[i] == "" for row in data for i in quantity_columns), data  # no pre-filled zeros
    before = _reports(db)
    with app.test_request_context():
        actor = actor_of(tenant_a.users["supplier:production"], tenant_a.supplier)
        batch = imports.upload(actor, tenant_a.relationship.id, "production", "template.csv", response.get_data())
        assert batch.status == "invalid" and all("nothing" in e["message"] for e in batch.errors), batch.errors
    position = db.session.get(ItemPosition, tenant_a.item.id)
    assert _reports(db) == before and position.fg_on_hand == 500 and position.wip_qty == 40
