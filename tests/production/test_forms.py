"""The production pages' forms on WTForms (production.forms): a refused field is a 422 naming it, shown beside it,
with what was typed kept and nothing changed; every form that posts carries the CSRF token (no hand-written input),
and a post without it is refused and changes nothing."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.weeks import current_week, iso_label
from cogrow.production import services
from cogrow.production.models import ItemPosition, ProductionLine, ProductionReport
from tests.conftest import actor_of, sign_in
from tests.production.test_unchanged import _inputs, _position_plan, _report


def _reports(db):
    return db.session.scalar(select(func.count()).select_from(ProductionReport))


def _grid(tenant):
    return f"/relationships/{tenant.relationship.id}/production/grid"


def _item(tenant):
    return f"/relationships/{tenant.relationship.id}/items/{tenant.item.id}/production"


def _lines(tenant):
    return f"/relationships/{tenant.relationship.id}/production-lines"


def _line(db, tenant, code="CNC-1"):
    actor = actor_of(tenant.users["supplier:admin"], tenant.supplier)
    line = services.create_line(actor, tenant.relationship.id, {"code": code, "name": "Mill",
                                                                 "item_id": tenant.item.id, "counter_max": 999})
    db.session.commit()
    return line


def _state(db, tenant):
    """What a refused post must leave alone: the reports, the position and its plan, the lines."""
    db.session.expire_all()
    position = db.session.get(ItemPosition, tenant.item.id)
    plan = _position_plan(db, tenant.item.id)[1] if position else {}
    lines = db.session.execute(select(ProductionLine.id, ProductionLine.code, ProductionLine.name,
                                      ProductionLine.counter_max, ProductionLine.version)).all()
    return (_reports(db), position and (position.report_id, position.fg_on_hand, position.wip_qty), plan, lines)


def _beside(html: str, name: str) -> str:
    """The field's error: in the same cell/field block as the input, pointed at by aria-describedby."""
    control = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control, control
    described = re.search(r'aria-describedby="([^"]+)"', control).group(1).split()[-1]
    error = re.search(rf'<span class="error" id="{re.escape(described)}" data-field="{re.escape(name)}">([^<]+)</span>',
                      html)
    assert error, (name, control)
    return error.group(1)


# --- a refused field: 422 naming it, beside it, nothing changed --------------------------------------------------

@pytest.mark.parametrize("cell, bad", [("fg_on_hand", "12x"), ("wip_qty", "-3"), ("raw_on_hand", "1,28"),
                                       ("good_qty", "１²"), ("plan", "abc")])
def test_a_bad_grid_cell_is_a_422_naming_it_and_changes_nothing(client, db, tenant_a, cell, bad):
    _report(tenant_a, fg=500, wip=40, raw=12, plan=90)
    sign_in(client, tenant_a.users["supplier:production"])
    form = _inputs(client.get(_grid(tenant_a)).get_data(as_text=True))
    p = f"r{tenant_a.item.id}-"
    name = f"{p}plan_{iso_label(current_week())}" if cell == "plan" else p + cell
    before = _state(db, tenant_a)
    # Another cell of the row is changed too: the whole post is refused, not only the bad cell.
    response = client.post(_grid(tenant_a), data={**form, p + "good_qty": "5", name: bad})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert _beside(html, name)
    assert re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="{re.escape(bad)}"', html)  # kept as typed
    assert _state(db, tenant_a) == before


def test_a_bad_item_field_is_a_422_beside_it_and_changes_nothing(client, db, tenant_a):
    _report(tenant_a, fg=500, wip=40, plan=90)
    sign_in(client, tenant_a.users["supplier:production"])
    form = _inputs(client.get(_item(tenant_a)).get_data(as_text=True))
    week = iso_label(current_week())
    before = _state(db, tenant_a)
    for name, bad in (("fg_on_hand", "1.280,5"), ("as_of", "2999-01-01T00:00"), (f"plan_{week}", "-1"),
                      ("note", "night\u200bshift")):
        response = client.post(_item(tenant_a), data={**form, "good_qty": "3", name: bad})
        assert response.status_code == 422, name
        assert _beside(response.get_data(as_text=True), name)
        assert _state(db, tenant_a) == before, name


def test_the_item_form_reads_back_the_grouped_numbers_it_shows(client, db, tenant_a):
    _report(tenant_a, fg=12800, wip=1500, plan=2400)
    sign_in(client, tenant_a.users["supplier:production"])
    form = _inputs(client.get(_item(tenant_a)).get_data(as_text=True))
    assert form["fg_on_hand"] == "12,800" and form["wip_qty"] == "1,500"
    assert form[f"plan_{iso_label(current_week())}"] == "2,400"
    response = client.post(_item(tenant_a), data={**form, "good_qty": "1,000"})
    assert response.status_code == 302
    position, plan = _position_plan(db, tenant_a.item.id)
    assert (position.good_qty, position.fg_on_hand, position.wip_qty) == (1000, 12800, 1500)
    assert set(plan.values()) == {Decimal(2400)}


def test_a_grid_left_as_shown_with_grouped_numbers_is_nothing_changed(client, db, tenant_a):
    _report(tenant_a, fg=12800, wip=1500, plan=2400)
    sign_in(client, tenant_a.users["supplier:production"])
    form = _inputs(client.get(_grid(tenant_a)).get_data(as_text=True))
    assert form[f"r{tenant_a.item.id}-fg_on_hand"] == "12,800"
    before = _state(db, tenant_a)
    response = client.post(_grid(tenant_a), data=form)
    assert response.status_code == 422 and "Nothing changed" in response.get_data(as_text=True)
    assert _state(db, tenant_a) == before


def test_a_bad_line_field_is_a_422_beside_it_and_changes_nothing(client, db, tenant_a):
    line = _line(db, tenant_a)
    sign_in(client, tenant_a.users["supplier:admin"])
    before = _state(db, tenant_a)
    item = str(tenant_a.item.id)
    for data, name in (({"code": "12", "item_id": item}, "code"),
                       ({"code": "PRESS-2", "item_id": "999999"}, "item_id"),
                       ({"code": "PRESS-2", "item_id": item, "counter_max": "0"}, "counter_max"),
                       ({"code": "CNC-1", "item_id": item}, "code")):  # taken: the service's refusal, beside it
        response = client.post(_lines(tenant_a), data=data)
        assert response.status_code == 422, data
        html = response.get_data(as_text=True)
        assert f'data-field="{name}"' in html, (data, html[html.find('data-test="line-form"'):][:1500])
        assert _state(db, tenant_a) == before, data
    response = client.post(f"{_lines(tenant_a)}/{line.id}", data={"version": str(line.version), "code": "bad code",
                                                                  "counter_max": "1,000"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    edit = html[html.index(f'data-test="line-edit-{line.id}"'):]
    assert re.search(rf'id="line{line.id}-code-error" data-field="code"', edit)
    assert 'value="bad code"' in edit and 'value="1,000"' in edit
    assert _state(db, tenant_a) == before


def test_line_forms_have_ids_unique_on_the_page(client, db, tenant_a):
    _line(db, tenant_a, "CNC-1")
    _line(db, tenant_a, "CNC-2")
    sign_in(client, tenant_a.users["supplier:admin"])
    html = client.get(_lines(tenant_a)).get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', html[html.index("<main"):])
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.search(rf'<label class="label" for="{re.escape(i)}"', html) for i in ids
               if i.endswith(("-code", "-counter_max")))


# --- CSRF ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def csrf(app):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def _token(html: str) -> str:
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_every_production_form_carries_the_csrf_token(client, db, tenant_a, csrf):
    _report(tenant_a)
    _line(db, tenant_a)
    sign_in(client, tenant_a.users["supplier:admin"])
    for path in (_grid(tenant_a), _item(tenant_a), _lines(tenant_a)):
        html = client.get(path).get_data(as_text=True)
        main = html[html.index("<main"):]
        forms = re.findall(r'<form method="post".*?</form>', main, flags=re.S)
        assert forms, path
        for form in forms:
            assert form.count('name="csrf_token"') == 1, (path, form[:300])
            assert re.search(r'<input id="[a-z0-9-]*csrf_token" name="csrf_token" type="hidden"', form), form[:300]


def test_a_production_post_without_the_csrf_token_is_refused_and_changes_nothing(client, db, tenant_a, csrf):
    _report(tenant_a, fg=500)
    line = _line(db, tenant_a)
    sign_in(client, tenant_a.users["supplier:admin"])
    grid = _inputs(client.get(_grid(tenant_a)).get_data(as_text=True))
    item = _inputs(client.get(_item(tenant_a)).get_data(as_text=True))
    fg = f"r{tenant_a.item.id}-fg_on_hand"
    before = _state(db, tenant_a)
    posts = [(_grid(tenant_a), {**grid, fg: "480"}), (_item(tenant_a), {**item, "fg_on_hand": "480"}),
             (_lines(tenant_a), {"code": "PRESS-9", "item_id": str(tenant_a.item.id)}),
             (f"{_lines(tenant_a)}/{line.id}", {"version": str(line.version), "code": "CNC-1", "name": "Renamed"})]
    for url, data in posts:
        for token in (None, "forged"):
            sent = {k: v for k, v in data.items() if k != "csrf_token"}
            if token:
                sent["csrf_token"] = token
            refused = client.post(url, data=sent)
            assert refused.status_code == 400 and b"Reload the page" in refused.data, (url, token)
    assert _state(db, tenant_a) == before
    # With the page's own token the same grid post is saved.
    assert client.post(_grid(tenant_a), data={**grid, fg: "480"}).status_code == 302
    assert db.session.get(ItemPosition, tenant_a.item.id).fg_on_hand == 480


def test_an_item_without_a_report_marks_wip_and_finished_goods_required(client, db, tenant_a):
    sign_in(client, tenant_a.users["supplier:production"])
    html = client.get(_item(tenant_a)).get_data(as_text=True)
    for name in ("wip_qty", "fg_on_hand"):
        assert re.search(rf'<label class="label" for="{name}">[^<]+ <em aria-hidden="true">\*</em></label>', html), name
        assert re.search(rf'<input[^>]*name="{name}"[^>]*required', html), name
    assert not re.search(r'<input[^>]*name="good_qty"[^>]*required', html)
    _report(tenant_a)
    html = client.get(_item(tenant_a)).get_data(as_text=True)
    assert not re.search(r'<input[^>]*name="(wip_qty|fg_on_hand)"[^>]*required', html)
