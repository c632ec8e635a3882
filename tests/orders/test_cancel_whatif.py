"""PO lines marked for cancellation as a draft: the what-if from the PO page, then cancel for real or discard."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from cogrow.orders.models import PoCancelDraft, PurchaseOrder, PurchaseOrderLine
from tests.conftest import sign_in
from tests.orders.helpers import api, make_po, po_url


def _client(app, tenant):
    client = app.test_client()
    sign_in(client, tenant.users["prime:planner"], tenant.prime.id)
    return client


def test_marking_a_line_shows_its_what_if_and_cancelling_it_revises_the_po(app, db, tenant_a):
    po = make_po(tenant_a, "acknowledged", lines=2)
    first, second = po.lines
    client = _client(app, tenant_a)
    page = client.get(f"/relationships/{tenant_a.relationship.id}/orders/{po.id}").get_data(as_text=True)
    assert 'data-test="cancel-draft"' in page
    base = f"/relationships/{tenant_a.relationship.id}/orders/{po.id}/cancel-draft"
    marked = client.post(base, data={"line_ids": [str(second.id)]})
    assert marked.status_code == 303
    shown = client.get(base)
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert 'data-test="whatif-table"' in text and tenant_a.item.prime_part_number in text

    answer = client.get(f"/api/v1/relationships/{tenant_a.relationship.id}/orders/{po.id}/cancel-draft/whatif",
                        headers=api(tenant_a, "prime:planner")).get_json()
    [row] = answer["items"]
    # Two open lines of 100 each; the marked one leaves: guaranteed 200 → 100, liability falls by 100 × price.
    assert (Decimal(row["guaranteed_before"]), Decimal(row["guaranteed_after"])) == (200, 100)
    assert Decimal(answer["liability_change"]) == -100 * tenant_a.item.unit_price
    assert db.session.get(PurchaseOrder, po.id).status == "acknowledged"  # nothing cancelled yet

    db.session.expire_all()
    version = db.session.get(PurchaseOrder, po.id).version
    done = client.post(f"{base}/apply", data={"version": str(version), "cancel-reason": "Model change"})
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    db.session.expire_all()
    lines = db.session.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == po.id)).all()
    assert [line.id for line in lines] == [first.id]
    assert db.session.scalar(select(func.count()).select_from(PoCancelDraft)) == 0


def test_marking_every_line_cancels_the_po_and_discard_changes_nothing(app, db, tenant_a):
    po = make_po(tenant_a, "issued", lines=1)
    client = _client(app, tenant_a)
    base = f"/relationships/{tenant_a.relationship.id}/orders/{po.id}/cancel-draft"
    assert client.post(base, data={"line_ids": [str(po.lines[0].id)]}).status_code == 303
    assert client.post(f"{base}/discard").status_code == 303
    assert db.session.scalar(select(func.count()).select_from(PoCancelDraft)) == 0
    assert client.get(base).status_code == 404
    assert client.post(base, data={"line_ids": [str(po.lines[0].id)]}).status_code == 303
    db.session.expire_all()
    version = db.session.get(PurchaseOrder, po.id).version
    assert client.post(f"{base}/apply", data={"version": str(version)}).status_code == 303
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, po.id).status == "cancelled"


def test_the_api_refuses_a_foreign_line_and_the_supplier(client, db, tenant_a, tenant_b):
    po = make_po(tenant_a, "issued", lines=1)
    other = make_po(tenant_b, "issued", lines=1)
    url = po_url(tenant_a, po, "/cancel-draft")
    bad = client.put(url, json={"line_ids": [other.lines[0].id]}, headers=api(tenant_a, "prime:planner"))
    assert bad.status_code == 422 and "line_ids" in bad.get_json()["error"]["fields"]
    assert client.put(url, json={"line_ids": [po.lines[0].id]},
                      headers=api(tenant_a, "supplier:production")).status_code in (403, 404)
    ok = client.put(url, json={"line_ids": [po.lines[0].id]}, headers=api(tenant_a, "prime:planner"))
    assert ok.status_code == 200 and ok.get_json()["line_ids"] == [po.lines[0].id]
    assert client.delete(url, headers=api(tenant_a, "prime:planner")).status_code == 204
