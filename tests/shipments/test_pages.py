"""Shipment pages: the list with filters and export, the new-ASN form, the receipt and cancel forms."""
from __future__ import annotations

import io
import re
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from cogrow.core.weeks import local_today
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from cogrow.shipments.models import Shipment
from tests import factories as f
from tests.conftest import sign_in
from tests.shipments.helpers import asn_body, asn_url, headers


def _as(app, tenant, key):
    client = app.test_client()
    sign_in(client, tenant.users[key])
    return client


def _line(db, line_id):
    db.session.expire_all()
    return db.session.get(PurchaseOrderLine, line_id)


def _new_url(tenant):
    return f"/relationships/{tenant.relationship.id}/shipments/new"


def _create_url(tenant):
    return f"/relationships/{tenant.relationship.id}/shipments"


def _shipped(client, tenant, *lines, **extra):
    response = client.post(asn_url(tenant), json=asn_body(*lines, **extra), headers=headers(tenant, "supplier:admin"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_new_asn_form_lists_open_lines_of_shippable_pos_only(app, db, tenant_a, po, po_lines, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # the form carries its own token (FlaskForm)
    draft = f.PurchaseOrderFactory(supply_relationship=tenant_a.relationship, status="draft", number="PO-DRAFT-1")
    f.PurchaseOrderLineFactory(purchase_order=draft, item=tenant_a.item)
    done = f.PurchaseOrderLineFactory(purchase_order=po, item=tenant_a.item, quantity=Decimal("5"), shipped_qty=Decimal("5"))
    db.session.commit()
    page = _as(app, tenant_a, "supplier:production").get(_new_url(tenant_a))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'name="qty-{po_lines[0].id}"' in html and f'name="qty-{po_lines[1].id}"' in html
    assert f'name="qty-{done.id}"' not in html and "PO-DRAFT-1" not in html
    form = html.split('action="' + _create_url(tenant_a) + '"', 1)[1].split("</form>", 1)[0]
    assert 'name="csrf_token"' in form and not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script


def test_supplier_sends_an_asn_through_the_form(app, db, tenant_a, po, po_lines):
    client = _as(app, tenant_a, "supplier:production")
    form = {"ship_date": local_today().isoformat(), "carrier": "Hanjin", f"qty-{po_lines[0].id}": "25",
            f"qty-{po_lines[1].id}": ""}
    response = client.post(_create_url(tenant_a), data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    shipment = db.session.scalars(select(Shipment)).one()
    assert response.headers["Location"].endswith(f"/shipments/{shipment.id}")
    assert [ln.po_line_id for ln in shipment.lines] == [po_lines[0].id]
    assert _line(db, po_lines[0].id).shipped_qty == 25 and _line(db, po_lines[1].id).shipped_qty == 0


def test_the_asn_and_receipt_forms_take_numbers_as_the_pages_show_them(app, db, tenant_a, po, po_lines):
    po_lines[0].quantity = Decimal("2000")
    db.session.commit()
    client = _as(app, tenant_a, "supplier:production")
    form = {"ship_date": local_today().isoformat(), f"qty-{po_lines[0].id}": "1,280", f"qty-{po_lines[1].id}": ""}
    response = client.post(_create_url(tenant_a), data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _line(db, po_lines[0].id).shipped_qty == 1280
    shipment = db.session.scalars(select(Shipment)).one()
    url = f"/relationships/{tenant_a.relationship.id}/shipments/{shipment.id}"
    ambiguous = _as(app, tenant_a, "prime:planner").post(url + "/receive", data={"version": "1",
                                                                                f"received-{po_lines[0].id}": "1,28"})
    assert ambiguous.status_code == 422 and f'data-field="received-{po_lines[0].id}"' in ambiguous.get_data(as_text=True)
    done = _as(app, tenant_a, "prime:planner").post(url + "/receive", data={"version": "1",
                                                                           f"received-{po_lines[0].id}": "1,275"})
    assert done.status_code == 302 and _line(db, po_lines[0].id).received_qty == 1275


def test_over_shipping_through_the_form_shows_the_open_quantity_at_the_line(app, db, tenant_a, po, po_lines):
    client = _as(app, tenant_a, "supplier:production")
    form = {"ship_date": local_today().isoformat(), f"qty-{po_lines[0].id}": "5", f"qty-{po_lines[1].id}": "60"}
    response = client.post(_create_url(tenant_a), data=form)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert f'data-field="qty-{po_lines[1].id}"' in html and "open quantity 50" in html
    assert 'value="60"' in html  # what was typed stays
    assert db.session.scalar(select(func.count()).select_from(Shipment)) == 0 and _line(db, po_lines[0].id).shipped_qty == 0


def test_a_bad_form_is_rerendered_with_422_and_the_fields_named(app, db, tenant_a, po, po_lines):
    client = _as(app, tenant_a, "supplier:production")
    response = client.post(_create_url(tenant_a), data={"ship_date": "2026-02-30", f"qty-{po_lines[0].id}": "-3"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-field="ship_date"' in html and f'data-field="qty-{po_lines[0].id}"' in html
    empty = client.post(_create_url(tenant_a), data={"ship_date": local_today().isoformat()})
    assert empty.status_code == 422 and 'data-field="lines"' in empty.get_data(as_text=True)


def test_a_foreign_po_line_in_the_form_is_422_at_that_line(app, db, tenant_a, tenant_b, po_lines):
    foreign = f.PurchaseOrderLineFactory(purchase_order=f.PurchaseOrderFactory(supply_relationship=tenant_b.relationship),
                                         item=tenant_b.item)
    db.session.commit()
    client = _as(app, tenant_a, "supplier:production")
    response = client.post(_create_url(tenant_a), data={"ship_date": local_today().isoformat(), f"qty-{foreign.id}": "1"})
    assert response.status_code == 422 and f'data-field="qty-{foreign.id}"' in response.get_data(as_text=True)
    assert _line(db, foreign.id).shipped_qty == 0


def test_list_page_shows_both_sides_their_shipments_with_filters(app, db, tenant_a, tenant_b, po_lines):
    shipment = _shipped(app.test_client(), tenant_a, (po_lines[0].id, "12.5"), number="ASN-LIST-1")
    for key in ("prime:procurement", "supplier:production"):
        html = _as(app, tenant_a, key).get("/shipments").get_data(as_text=True)
        assert "ASN-LIST-1" in html and "12.5" in html
    received = _as(app, tenant_a, "prime:planner").get("/shipments?status=received")
    assert received.status_code == 200 and "ASN-LIST-1" not in received.get_data(as_text=True)
    foreign = _as(app, tenant_b, "prime:admin").get("/shipments")
    assert foreign.status_code == 200 and "ASN-LIST-1" not in foreign.get_data(as_text=True)
    filtered = _as(app, tenant_b, "prime:admin").get(f"/shipments?relationship_id={tenant_a.relationship.id}")
    assert filtered.status_code == 404
    assert shipment["number"] == "ASN-LIST-1"


def test_export_as_csv_and_xlsx_escapes_formulas(app, db, tenant_a, po_lines):
    _shipped(app.test_client(), tenant_a, (po_lines[0].id, 3), carrier="=HYPERLINK(\"x\")")
    client = _as(app, tenant_a, "prime:procurement")
    csv = client.get("/shipments?format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data().decode("utf-8-sig")
    assert po_lines[0].purchase_order.number in text and "'=HYPERLINK" in text
    xlsx = client.get(f"/shipments?format=xlsx&relationship_id={tenant_a.relationship.id}")
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.get_data())).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][4] == "'=HYPERLINK(\"x\")" and rows[1][12] == 3
    assert client.get("/shipments?format=pdf").status_code == 400


def test_export_of_a_foreign_relationship_is_404(app, db, tenant_a, tenant_b, po_lines):
    _shipped(app.test_client(), tenant_a, (po_lines[0].id, 3), number="ASN-SECRET")
    response = _as(app, tenant_b, "prime:admin").get(f"/shipments?format=csv&relationship_id={tenant_a.relationship.id}")
    assert response.status_code == 404 and "ASN-SECRET" not in response.get_data(as_text=True)
    own = _as(app, tenant_b, "prime:admin").get("/shipments?format=csv")
    assert own.status_code == 200 and "ASN-SECRET" not in own.get_data().decode("utf-8-sig")


def test_prime_confirms_a_partial_receipt_on_the_detail_page(app, db, tenant_a, po_lines):
    shipment = _shipped(app.test_client(), tenant_a, (po_lines[0].id, 10), (po_lines[1].id, 4))
    client = _as(app, tenant_a, "prime:procurement")
    url = f"/relationships/{tenant_a.relationship.id}/shipments/{shipment['id']}"
    page = client.get(url).get_data(as_text=True)
    assert f'name="received-{po_lines[0].id}"' in page and 'data-test="cancel"' not in page
    response = client.post(url + "/receive", data={"version": "1", f"received-{po_lines[0].id}": "9",
                                                   f"received-{po_lines[1].id}": "4"})
    assert response.status_code == 302
    assert _line(db, po_lines[0].id).received_qty == 9 and _line(db, po_lines[1].id).received_qty == 4
    again = client.post(url + "/receive", data={"version": "2", f"received-{po_lines[0].id}": "9",
                                                f"received-{po_lines[1].id}": "4"})
    assert again.status_code == 409 and _line(db, po_lines[0].id).received_qty == 9


def test_a_bad_received_quantity_rerenders_the_receipt_form(app, db, tenant_a, po_lines):
    shipment = _shipped(app.test_client(), tenant_a, (po_lines[0].id, 10))
    url = f"/relationships/{tenant_a.relationship.id}/shipments/{shipment['id']}"
    response = _as(app, tenant_a, "prime:planner").post(url + "/receive", data={"version": "1", f"received-{po_lines[0].id}": "x"})
    assert response.status_code == 422 and f'data-field="received-{po_lines[0].id}"' in response.get_data(as_text=True)
    assert _line(db, po_lines[0].id).received_qty == 0


def test_supplier_cancels_from_the_detail_page(app, db, tenant_a, po, po_lines):
    shipment = _shipped(app.test_client(), tenant_a, (po_lines[0].id, 10))
    client = _as(app, tenant_a, "supplier:production")
    url = f"/relationships/{tenant_a.relationship.id}/shipments/{shipment['id']}"
    page = client.get(url).get_data(as_text=True)
    assert 'data-test="cancel"' in page and 'name="received-' not in page
    stale = client.post(url + "/cancel", data={"version": "5"})
    assert stale.status_code == 412 and _line(db, po_lines[0].id).shipped_qty == 10
    assert client.post(url + "/cancel", data={"version": "1"}).status_code == 302
    assert _line(db, po_lines[0].id).shipped_qty == 0
    assert db.session.get(PurchaseOrder, po.id).status == "issued"  # its only ASN is gone: back where it was
