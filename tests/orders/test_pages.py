"""Orders pages through the test client: the list (bounded queries, export), the new-PO form, the detail's actions."""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

from sqlalchemy import event, func, select

from cogrow.orders.models import PurchaseOrder
from tests.conftest import sign_in
from tests.orders.helpers import DUE, make_po


def _detail(tenant, po):
    return f"/relationships/{tenant.relationship.id}/orders/{po.id}"


def test_planner_drafts_a_po_through_the_form_and_blank_rows_are_ignored(client, db, tenant_a):
    sign_in(client, tenant_a.users["prime:planner"])
    url = f"/relationships/{tenant_a.relationship.id}/orders"
    form = client.get(url + "/new")
    # A few blank rows to start with (not ten), and a button for more.
    assert form.status_code == 200 and form.data.count(b'name="lines-') == 3 * 5 + 0  # 3 rows: line_no + 4 inputs
    assert b'data-test="add-line"' in form.data
    data = {"number": "", "note": "", "lines-0-prime_part_number": tenant_a.item.prime_part_number.lower(),
            "lines-0-quantity": "1,280", "lines-0-due_date": DUE.isoformat(), "lines-1-prime_part_number": "",
            "lines-2-prime_part_number": tenant_a.item.prime_part_number, "lines-2-quantity": "5",
            "lines-2-due_date": DUE.isoformat(), "lines-2-unit_price": "1,200.5"}
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    po = db.session.scalar(select(PurchaseOrder).order_by(PurchaseOrder.id.desc()).limit(1))
    assert po.status == "draft" and [(ln.quantity, ln.unit_price) for ln in po.lines] == \
        [(Decimal("1280"), Decimal("1500")), (Decimal("5"), Decimal("1200.5"))]
    assert response.headers["Location"].endswith(_detail(tenant_a, po))


def test_add_a_line_without_javascript_keeps_what_was_typed(client, db, tenant_a):
    sign_in(client, tenant_a.users["prime:planner"])
    url = f"/relationships/{tenant_a.relationship.id}/orders"
    data = {"number": "PO-KEEP-ME", "lines-0-prime_part_number": "TYPED-1", "lines-0-quantity": "1,280",
            "lines-1-quantity": "", "lines-2-quantity": "", "add_line": "1"}
    response = client.post(url, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'name="lines-3-quantity"' in page and 'name="lines-4-quantity"' not in page
    assert 'value="PO-KEEP-ME"' in page and 'value="TYPED-1"' in page and 'value="1,280"' in page
    assert 'class="error"' not in page  # adding a row is not a submission: nothing is checked or saved
    assert db.session.scalar(select(func.count()).select_from(PurchaseOrder)) == 0


def test_add_a_line_with_htmx_answers_one_row_and_the_next_button(client, db, tenant_a, tenant_b):
    sign_in(client, tenant_a.users["prime:planner"])
    url = f"/relationships/{tenant_a.relationship.id}/orders/new/line?index=3"
    response = client.get(url, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.count("<tr") == 1 and 'name="lines-3-quantity"' in html and 'inputmode="decimal"' in html
    assert '<hx-partial hx-target="#add-line"' in html and "index=4" in html
    assert client.get(f"/relationships/{tenant_a.relationship.id}/orders/new/line?index=x").status_code == 422
    # Another tenant's relationship is not found; a supplier may not draft POs at all.
    assert client.get(f"/relationships/{tenant_b.relationship.id}/orders/new/line?index=3").status_code == 404
    sign_in(client, tenant_a.users["supplier:production"])
    assert client.get(url).status_code == 403


def test_a_bad_form_row_is_shown_with_its_field_and_nothing_is_saved(client, db, tenant_a):
    sign_in(client, tenant_a.users["prime:planner"])
    before = db.session.scalar(select(func.count()).select_from(PurchaseOrder))
    response = client.post(f"/relationships/{tenant_a.relationship.id}/orders", data={
        "lines-0-prime_part_number": "NOPE-1", "lines-0-quantity": "1", "lines-0-due_date": DUE.isoformat(),
        "lines-1-prime_part_number": "", "lines-1-quantity": "", "lines-1-due_date": "",  # a blank row, as sent
        "lines-2-prime_part_number": tenant_a.item.prime_part_number, "lines-2-quantity": "-3",
        "lines-2-due_date": "2024-02-30", "lines-3-prime_part_number": tenant_a.item.prime_part_number,
        "lines-3-quantity": "1,28", "lines-3-due_date": DUE.isoformat()})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for name in ("lines-2-quantity", "lines-2-due_date", "lines-3-quantity"):
        assert f'data-field="{name}"' in page
    assert 'value="NOPE-1"' in page and 'value="1,28"' in page  # the form comes back as typed
    # Once the values are well formed, the part numbers are checked against the catalog.
    response = client.post(f"/relationships/{tenant_a.relationship.id}/orders", data={
        "lines-0-prime_part_number": "NOPE-1", "lines-0-quantity": "1", "lines-0-due_date": DUE.isoformat()})
    assert response.status_code == 422 and b'data-field="lines-0-prime_part_number"' in response.data
    empty = client.post(f"/relationships/{tenant_a.relationship.id}/orders", data={"lines-0-quantity": ""})
    assert empty.status_code == 422 and b'data-field="lines"' in empty.data
    assert db.session.scalar(select(func.count()).select_from(PurchaseOrder)) == before


def test_supplier_acknowledges_from_the_detail_page(client, db, tenant_a):
    po = make_po(tenant_a, "issued")
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get(_detail(tenant_a, po)).get_data(as_text=True)
    assert 'data-test="acknowledge"' in page and 'data-test="propose"' in page and 'data-test="issue"' not in page
    assert f'name="version" value="{po.version}"' in page
    response = client.post(_detail(tenant_a, po) + "/acknowledge", data={"version": str(po.version)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, po.id).status == "acknowledged"


def test_a_stale_page_form_gets_412_and_the_current_page(client, db, tenant_a):
    po = make_po(tenant_a, "issued")
    sign_in(client, tenant_a.users["supplier:production"])
    response = client.post(_detail(tenant_a, po) + "/acknowledge", data={"version": str(po.version - 1)})
    assert response.status_code == 412 and b'data-test="action-error"' in response.data
    assert db.session.get(PurchaseOrder, po.id).status == "issued"


def test_an_illegal_action_from_a_page_gets_409(client, db, tenant_a):
    po = make_po(tenant_a, "cancelled")
    sign_in(client, tenant_a.users["prime:planner"])
    response = client.post(_detail(tenant_a, po) + "/issue", data={"version": str(po.version)})
    assert response.status_code == 409


def test_supplier_proposes_and_planner_accepts_through_the_pages(client, db, tenant_a):
    po = make_po(tenant_a, "acknowledged")
    sign_in(client, tenant_a.users["supplier:production"])
    bad = client.post(_detail(tenant_a, po) + "/proposals", data={"version": str(po.version), "line_id": str(po.lines[0].id),
                                                                  "quantity": "abc", "reason": ""})
    assert bad.status_code == 422 and b'data-field="quantity"' in bad.data and b'data-field="reason"' in bad.data
    ok = client.post(_detail(tenant_a, po) + "/proposals", data={"version": str(po.version), "line_id": str(po.lines[0].id),
                                                                 "quantity": "1,060", "reason": "tooling"})
    assert ok.status_code == 302
    db.session.expire_all()
    po = db.session.get(PurchaseOrder, po.id)
    assert po.status == "change_proposed"
    sign_in(client, tenant_a.users["prime:planner"])
    page = client.get(_detail(tenant_a, po)).get_data(as_text=True)
    proposal_id = re.search(r'data-test="accept-proposal-(\d+)"', page).group(1)
    done = client.post(_detail(tenant_a, po) + f"/proposals/{proposal_id}/accept", data={"version": str(po.version)})
    assert done.status_code == 302
    db.session.expire_all()
    po = db.session.get(PurchaseOrder, po.id)
    assert po.status == "acknowledged" and po.lines[0].quantity == Decimal("1060")


def test_planner_revises_lines_on_the_page_and_removes_one(client, db, tenant_a):
    po = make_po(tenant_a, "acknowledged")
    sign_in(client, tenant_a.users["prime:planner"])
    part = tenant_a.item.prime_part_number
    response = client.post(_detail(tenant_a, po) + "/revise", data={
        "version": str(po.version), "note": "",
        "lines-0-line_no": "1", "lines-0-prime_part_number": part, "lines-0-quantity": "130",
        "lines-0-due_date": DUE.isoformat(), "lines-0-unit_price": "1,500",
        "lines-1-line_no": "2", "lines-1-prime_part_number": part, "lines-1-quantity": "100",
        "lines-1-due_date": DUE.isoformat(), "lines-1-unit_price": "1500", "lines-1-remove": "y",
        "lines-2-prime_part_number": "", "lines-2-quantity": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    po = db.session.get(PurchaseOrder, po.id)
    assert po.status == "issued" and [(ln.line_no, ln.quantity) for ln in po.lines] == [(1, Decimal("130"))]


def test_the_list_page_costs_the_same_number_of_queries_for_2_or_20_pos(client, db, tenant_a, tenant_b, app):
    sign_in(client, tenant_a.users["prime:planner"])
    counts = []
    for n in (2, 18):
        for _ in range(n):
            make_po(tenant_a, "issued", lines=3)
        statements = []

        def count(*args, **kwargs):
            statements.append(1)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            response = client.get("/orders")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert tenant_b.item.prime_part_number not in response.get_data(as_text=True)


def test_the_list_filters_by_relationship_and_status(client, db, tenant_a):
    issued, cancelled = make_po(tenant_a, "issued", number="PO-KEEP"), make_po(tenant_a, "cancelled", number="PO-GONE")
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get(f"/orders?relationship_id={tenant_a.relationship.id}&status=issued").get_data(as_text=True)
    assert "PO-KEEP" in page and "PO-GONE" not in page
    assert issued.id and cancelled.id


def test_the_export_escapes_formulas(client, db, tenant_a):
    po = make_po(tenant_a, "issued", number="PO-EXP-1")
    po.note = "=HYPERLINK(\"http://evil\")"
    db.session.commit()
    sign_in(client, tenant_a.users["prime:planner"])
    response = client.get("/orders?format=csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][2] == "PO number" and len(rows) == 3  # a row per line
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert rows[1][-1] == "'=HYPERLINK(\"http://evil\")"
    xlsx = client.get("/orders?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/orders?format=pdf").status_code == 400


def test_the_supplier_export_has_no_drafts(client, db, tenant_a):
    make_po(tenant_a, "draft", number="PO-SECRET-DRAFT")
    sign_in(client, tenant_a.users["supplier:production"])
    assert b"PO-SECRET-DRAFT" not in client.get("/orders?format=csv").data


def _open_proposal_page(client, tenant):
    po = make_po(tenant, "change_proposed", proposal=True)
    sign_in(client, tenant.users["prime:planner"])
    page = client.get(_detail(tenant, po)).get_data(as_text=True)
    proposal_id = int(re.search(r'data-test="accept-proposal-(\d+)"', page).group(1))
    return po, proposal_id, page


def test_the_planner_accepts_a_proposal_in_place_with_htmx(client, db, tenant_a):
    po, proposal_id, page = _open_proposal_page(client, tenant_a)
    line = po.lines[0]
    # The buttons post with htmx to the same URLs a plain form posts to, and replace the line's own part of the page.
    assert f'hx-post="{_detail(tenant_a, po)}/proposals/{proposal_id}/accept"' in page
    assert f'hx-target="#po-line-{line.id}"' in page and f'id="po-line-{line.id}"' in page
    response = client.post(_detail(tenant_a, po) + f"/proposals/{proposal_id}/accept",
                           data={"version": str(po.version), "note": "ok"}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith(f'<tbody class="po-line" id="po-line-{line.id}"')  # the swapped line itself
    assert re.search(r'data-test="line-quantity">80<', html)  # the accepted quantity, shown in place
    assert f'data-test="proposal-{proposal_id}" data-state="accepted"' in html
    # The parts that carry the PO's state and version come along as partials, so the next action is not stale.
    for target in ("#po-state", "#po-facts", "#po-actions", f"#po-line-{po.lines[1].id}"):
        assert f'<hx-partial hx-target="{target}" hx-swap="outerHTML">' in html
    db.session.expire_all()
    po = db.session.get(PurchaseOrder, po.id)
    assert po.status == "acknowledged" and po.lines[0].quantity == Decimal("80")
    assert f'data-test="version">{po.version}<' in html and 'data-state="acknowledged"' in html


def test_a_stale_htmx_decision_is_refused_with_412_and_a_reload(client, db, tenant_a):
    po, proposal_id, _page = _open_proposal_page(client, tenant_a)
    response = client.post(_detail(tenant_a, po) + f"/proposals/{proposal_id}/reject",
                           data={"version": str(po.version - 1)}, headers={"HX-Request": "true"})
    assert response.status_code == 412 and response.headers.get("HX-Refresh") == "true"
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, po.id).status == "change_proposed"
    # The reloaded page says why.
    assert b"changed since you read it" in client.get(_detail(tenant_a, po)).data


def test_rejecting_a_proposal_without_htmx_posts_and_redirects(client, db, tenant_a):
    po, proposal_id, _page = _open_proposal_page(client, tenant_a)
    response = client.post(_detail(tenant_a, po) + f"/proposals/{proposal_id}/reject", data={"version": str(po.version)})
    assert response.status_code == 302 and response.headers["Location"].endswith(_detail(tenant_a, po))
    db.session.expire_all()
    po = db.session.get(PurchaseOrder, po.id)
    assert po.status == "issued" and po.lines[0].quantity == Decimal("100")


def test_the_supplier_must_give_a_reason_to_reject_a_po(client, db, tenant_a):
    po = make_po(tenant_a, "issued")
    sign_in(client, tenant_a.users["supplier:production"])
    response = client.post(_detail(tenant_a, po) + "/reject", data={"version": str(po.version), "reject-reason": " "})
    assert response.status_code == 422 and b'data-field="reject-reason"' in response.data
    assert db.session.get(PurchaseOrder, po.id).status == "issued"
    done = client.post(_detail(tenant_a, po) + "/reject", data={"version": str(po.version), "reject-reason": "no tooling"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, po.id).status_reason == "no tooling"


def test_add_a_line_to_a_revision_without_javascript(client, db, tenant_a):
    po = make_po(tenant_a, "draft")
    sign_in(client, tenant_a.users["prime:planner"])
    page = client.get(_detail(tenant_a, po)).get_data(as_text=True)
    rows = page.count('class="line-row')
    assert rows == 2 + 2 and "removable=1" in page  # the two lines and two blank rows; added rows can be removed
    response = client.post(_detail(tenant_a, po) + "/revise", data={
        "version": str(po.version), "note": "typed", "add_line": "1",
        "lines-0-line_no": "1", "lines-0-prime_part_number": tenant_a.item.prime_part_number, "lines-0-quantity": "77",
        "lines-0-due_date": DUE.isoformat(), "lines-1-line_no": "2",
        "lines-1-prime_part_number": tenant_a.item.prime_part_number, "lines-1-quantity": "100",
        "lines-1-due_date": DUE.isoformat()})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count('class="line-row') == 3 and 'value="77"' in html
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, po.id).lines[0].quantity == Decimal("100")  # nothing saved yet
