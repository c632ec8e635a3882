"""Production pages: the grid form for every item, the single-item form and history, the positions list."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from cogrow.core.models import OutboxEvent
from cogrow.core.weeks import current_week, iso_label
from cogrow.production import services
from cogrow.production.models import ItemPosition, PlannedOutput, ProductionLine, ProductionReport
from tests import factories as f
from tests.conftest import actor_of, sign_in
from tests.production.conftest import at


def _grid_url(tenant):
    return f"/relationships/{tenant.relationship.id}/production/grid"


def _signed_in(client, tenant, key="supplier:production"):
    sign_in(client, tenant.users[key])
    return client


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_grid_saves_filled_rows_and_skips_blank_ones(client, db, tenant_a):
    second = f.ItemFactory(supply_relationship=tenant_a.relationship)
    third = f.ItemFactory(supply_relationship=tenant_a.relationship)
    db.session.commit()
    _signed_in(client, tenant_a)
    page = client.get(_grid_url(tenant_a))
    assert page.status_code == 200 and second.prime_part_number in page.get_data(as_text=True)
    week = iso_label(current_week())
    form = {f"r{tenant_a.item.id}-wip_qty": "10", f"r{tenant_a.item.id}-fg_on_hand": "1,200".replace(",", ""),
            f"r{tenant_a.item.id}-plan_{week}": "50",
            f"r{second.id}-wip_qty": "0", f"r{second.id}-fg_on_hand": "７",  # full-width digits are fine
            f"r{third.id}-wip_qty": "", f"r{third.id}-fg_on_hand": ""}
    outbox_before = _count(db, OutboxEvent)
    response = client.post(_grid_url(tenant_a), data=form)
    assert response.status_code == 302
    positions = {p.item_id: p.fg_on_hand for p in db.session.scalars(select(ItemPosition))}
    assert positions == {tenant_a.item.id: Decimal("1200"), second.id: Decimal("7")}
    assert _count(db, OutboxEvent) == outbox_before + 1
    assert db.session.scalar(select(ProductionReport.source).limit(1)) == "grid"
    assert db.session.scalar(select(PlannedOutput.quantity)) == Decimal("50")
    shown = client.get(_grid_url(tenant_a)).get_data(as_text=True)
    assert "FG 1,200" in shown


def test_grid_errors_are_shown_per_row_and_nothing_is_saved(client, db, tenant_a):
    second = f.ItemFactory(supply_relationship=tenant_a.relationship)
    db.session.commit()
    _signed_in(client, tenant_a)
    form = {f"r{tenant_a.item.id}-wip_qty": "10", f"r{tenant_a.item.id}-fg_on_hand": "5",
            f"r{second.id}-wip_qty": "-3", f"r{second.id}-fg_on_hand": ""}
    response = client.post(_grid_url(tenant_a), data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'data-field="r{second.id}-wip_qty"' in html and f'data-field="r{second.id}-fg_on_hand"' in html
    assert f'data-field="r{tenant_a.item.id}-wip_qty"' not in html
    assert 'value="-3"' in html  # what the user typed comes back
    assert _count(db, ProductionReport) == 0


def test_an_empty_grid_is_422(client, db, tenant_a):
    _signed_in(client, tenant_a)
    assert client.post(_grid_url(tenant_a), data={}).status_code == 422


def test_grid_refuses_a_future_as_of(client, db, tenant_a):
    _signed_in(client, tenant_a)
    form = {"as_of": "2999-01-01T00:00", f"r{tenant_a.item.id}-wip_qty": "1", f"r{tenant_a.item.id}-fg_on_hand": "1"}
    response = client.post(_grid_url(tenant_a), data=form)
    assert response.status_code == 422 and 'data-field="as_of"' in response.get_data(as_text=True)


def test_grid_ignores_items_of_other_relationships(client, db, tenant_a, tenant_b):
    _signed_in(client, tenant_a)
    form = {f"r{tenant_b.item.id}-wip_qty": "1", f"r{tenant_b.item.id}-fg_on_hand": "1"}
    assert client.post(_grid_url(tenant_a), data=form).status_code == 422
    assert _count(db, ProductionReport) == 0


def test_single_item_form_and_history(client, db, tenant_a):
    _signed_in(client, tenant_a)
    url = f"/relationships/{tenant_a.relationship.id}/items/{tenant_a.item.id}/production"
    response = client.post(url, data={"wip_qty": "3", "fg_on_hand": "4", "good_qty": "", "note": "night shift"})
    assert response.status_code == 302
    bad = client.post(url, data={"wip_qty": "x", "fg_on_hand": "4", f"plan_{iso_label(current_week())}": "-1"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'data-field="wip_qty"' in html and f'data-field="plan_{iso_label(current_week())}"' in html
    sign_in(client, tenant_a.users["prime:procurement"])
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-test="position"' in html and 'data-test="report-form"' not in html
    assert _count(db, ProductionReport) == 1


def test_history_is_paginated(client, db, tenant_a):
    for n in range(55):
        f.ProductionReportFactory(item=tenant_a.item, note=f"n{n}")
    db.session.commit()
    _signed_in(client, tenant_a)
    url = f"/relationships/{tenant_a.relationship.id}/items/{tenant_a.item.id}/production"
    first = client.get(url).get_data(as_text=True)
    assert "Page 1 of 2" in first and "?page=2" in first
    assert client.get(url + "?page=2").status_code == 200
    assert client.get(url + "?page=x").status_code == 400


def test_positions_page_lists_visible_items_and_exports(client, db, tenant_a, tenant_b):
    actor = actor_of(tenant_a.users["supplier:production"], tenant_a.supplier)
    services.record_reports(actor, tenant_a.relationship.id, [{
        "item_id": tenant_a.item.id, "as_of": datetime.fromisoformat(at(1)),
        "good_qty": Decimal(0), "scrap_qty": Decimal(0), "wip_qty": Decimal(1), "fg_on_hand": Decimal(77)}])
    sign_in(client, tenant_a.users["prime:planner"])
    html = client.get("/production").get_data(as_text=True)
    assert tenant_a.item.prime_part_number in html and tenant_b.item.prime_part_number not in html
    csv = client.get("/production?format=csv")
    assert csv.status_code == 200 and tenant_a.item.prime_part_number in csv.get_data(as_text=True)
    assert tenant_b.item.prime_part_number not in csv.get_data(as_text=True)
    assert client.get("/production?format=pdf").status_code == 400


def test_positions_page_issues_a_bounded_number_of_queries(app, client, db, tenant_a):
    from sqlalchemy import event

    def run():
        statements = []
        db.session.expire_all()

        def count(_conn, _cursor, statement, *_args):
            if not statement.startswith(("SAVEPOINT", "RELEASE")):
                statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/production").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return statements

    sign_in(client, tenant_a.users["prime:planner"])
    few = run()
    for _ in range(15):
        item = f.ItemFactory(supply_relationship=tenant_a.relationship)
        f.ProductionReportFactory(item=item)
    db.session.commit()
    more = run()
    assert len(more) == len(few), "\n".join(more)


def test_lines_page_adds_and_edits_a_line(client, db, tenant_a):
    _signed_in(client, tenant_a, "supplier:admin")
    url = f"/relationships/{tenant_a.relationship.id}/production-lines"
    assert client.post(url, data={"code": "cnc 1", "item_id": str(tenant_a.item.id)}).status_code == 422
    assert client.post(url, data={"code": "CNC-1", "item_id": str(tenant_a.item.id), "counter_max": "65535",
                                  "active": "on"}).status_code == 302
    line = db.session.scalar(select(ProductionLine))
    assert line.counter_max == 65535
    edit = client.post(f"{url}/{line.id}", data={"version": "1", "code": "CNC-1", "name": "Mill",
                                                "item_id": str(tenant_a.item.id), "counter_max": ""})
    assert edit.status_code == 302
    db.session.refresh(line)
    assert line.name == "Mill" and line.counter_max is None and line.active is False
    assert client.post(f"{url}/{line.id}", data={"version": "1", "name": "Stale"}).status_code == 412
    assert client.get(url).status_code == 200
