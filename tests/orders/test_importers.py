"""The po_lines and po_responses import kinds through the generic importer: preview, confirm, all-or-nothing."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.imports import services as imports
from cogrow.orders.models import ChangeProposal, PurchaseOrder, PurchaseOrderLine
from tests import factories as f
from tests.orders.helpers import make_po, outbox_rows, planner, production

pytestmark = pytest.mark.usefixtures("request_ctx")

HEAD = "PO number,Line,Prime part number,Quantity,Due date,Unit price\n"


def _state(db):
    return (db.session.execute(select(PurchaseOrder.id, PurchaseOrder.status, PurchaseOrder.version)
                               .order_by(PurchaseOrder.id)).all(),
            db.session.execute(select(PurchaseOrderLine.id, PurchaseOrderLine.quantity).order_by(PurchaseOrderLine.id)).all(),
            db.session.scalar(select(func.count()).select_from(ChangeProposal)))


def test_a_good_file_is_previewed_then_confirmed_into_draft_pos(db, tenant_a):
    part = tenant_a.item.prime_part_number
    text = HEAD + f"PO-IMP-1,1,{part},100,2030-01-07,\nPO-IMP-1,2,{part.lower()},50.5,2030-01-14,1400\nPO-IMP-2,,{part},7,2030-02-04,\n"
    batch = imports.upload(planner(tenant_a), tenant_a.relationship.id, "po_lines", "pos.csv", text.encode())
    assert batch.status == "preview", batch.errors
    assert batch.summary["summary"] == {"new_pos": 2, "changed_pos": 0, "new_lines": 3, "changed_lines": 0,
                                        "unchanged_lines": 0}
    assert db.session.scalar(select(func.count()).select_from(PurchaseOrder)) == 0  # a preview changes nothing
    imports.confirm(planner(tenant_a), tenant_a.relationship.id, batch.id)
    pos = {po.number: po for po in db.session.scalars(select(PurchaseOrder))}
    assert set(pos) == {"PO-IMP-1", "PO-IMP-2"} and {po.status for po in pos.values()} == {"draft"}
    assert [(ln.line_no, ln.quantity, ln.unit_price) for ln in pos["PO-IMP-1"].lines] == \
        [(1, Decimal("100"), Decimal("1500")), (2, Decimal("50.5"), Decimal("1400"))]
    assert [ln.line_no for ln in pos["PO-IMP-2"].lines] == [1]
    assert outbox_rows(db, tenant_a.relationship.id) == []  # drafts bind nothing yet


def test_a_file_with_bad_rows_changes_nothing_and_names_row_column_and_reason(db, tenant_a, tenant_b):
    make_po(tenant_a, "cancelled", number="PO-OLD")
    before = _state(db)
    part = tenant_a.item.prime_part_number
    text = HEAD + (f"PO-NEW,1,{part},10,2030-01-07,\n"
                   f"PO-NEW,2,NO-SUCH-PART,10,2030-01-07,\n"
                   f"PO-NEW,3,{tenant_b.item.prime_part_number},10,2030-01-07,\n"
                   f"PO-OLD,1,{part},10,2030-01-07,\n"
                   f"PO-NEW,4,{part},10,2024-02-30,\n"
                   f"PO-NEW,1,{part},5,2030-01-07,\n"
                   f"PO-NEW,6,{part},0,2030-01-07,\n")
    batch = imports.upload(planner(tenant_a), tenant_a.relationship.id, "po_lines", "bad.csv", text.encode())
    assert batch.status == "invalid"
    found = {(e["row"], e["column"]) for e in batch.errors}
    assert {(3, "Prime part number"), (4, "Prime part number"), (5, "PO number"), (6, "Due date"), (7, "Line"),
            (8, "Quantity")} <= found, batch.errors
    assert all(e["message"] for e in batch.errors)
    assert any("cancelled" in e["message"] for e in batch.errors if e["row"] == 5)
    assert _state(db) == before


def test_an_import_revises_a_draft_and_the_preview_says_what_changes(db, tenant_a):
    po = make_po(tenant_a, "draft", number="PO-DRAFT", lines=2)
    part = tenant_a.item.prime_part_number
    due = po.lines[1].due_date.isoformat()
    text = HEAD + f"PO-DRAFT,1,{part},120,{due},\nPO-DRAFT,2,{part},100,{due},\nPO-DRAFT,,{part},3,{due},\n"
    batch = imports.upload(planner(tenant_a), tenant_a.relationship.id, "po_lines", "rev.csv", text.encode())
    assert batch.summary["summary"] == {"new_pos": 0, "changed_pos": 1, "new_lines": 1, "changed_lines": 1,
                                        "unchanged_lines": 1}
    assert [line[-1] for line in batch.summary["lines"]] == ["changed", "unchanged", "new"]
    imports.confirm(planner(tenant_a), tenant_a.relationship.id, batch.id)
    db.session.expire_all()
    po = db.session.get(PurchaseOrder, po.id)
    assert po.status == "draft" and [(ln.line_no, ln.quantity) for ln in po.lines] == \
        [(1, Decimal("120")), (2, Decimal("100")), (3, Decimal("3"))]


def test_lines_for_an_issued_po_are_refused_by_import(db, tenant_a):
    make_po(tenant_a, "issued", number="PO-LIVE")
    text = HEAD + f"PO-LIVE,1,{tenant_a.item.prime_part_number},1,2030-01-07,\n"
    batch = imports.upload(planner(tenant_a), tenant_a.relationship.id, "po_lines", "live.csv", text.encode())
    assert batch.status == "invalid" and batch.errors[0]["row"] == 2 and batch.errors[0]["column"] == "PO number"


RESP_HEAD = "PO number,Line,Action,Quantity,Due date,Reason\n"


def test_the_supplier_answers_several_pos_with_one_file(db, tenant_a):
    ack, prop = make_po(tenant_a, "issued", number="PO-ACK"), make_po(tenant_a, "acknowledged", number="PO-PROP")
    text = RESP_HEAD + "po-ack,,Acknowledge,,,\nPO-PROP,1,propose,80,,short of steel\nPO-PROP,2,propose,,2030-03-04,late\n"
    batch = imports.upload(production(tenant_a), tenant_a.relationship.id, "po_responses", "ans.csv", text.encode())
    assert batch.status == "preview", batch.errors
    assert batch.summary["summary"] == {"acknowledged": 1, "rejected": 0, "proposals": 2}
    imports.confirm(production(tenant_a), tenant_a.relationship.id, batch.id)
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, ack.id).status == "acknowledged"
    assert db.session.get(PurchaseOrder, prop.id).status == "change_proposed"
    assert db.session.scalar(select(func.count()).select_from(ChangeProposal).where(ChangeProposal.status == "open")) == 2
    assert {e.payload["reason"] for e in outbox_rows(db, tenant_a.relationship.id)} == {"po.acknowledge", "po.propose"}


def test_bad_answers_are_all_reported_and_nothing_changes(db, tenant_a):
    make_po(tenant_a, "draft", number="PO-HIDDEN")
    make_po(tenant_a, "issued", number="PO-A")
    make_po(tenant_a, "cancelled", number="PO-C")
    before = _state(db)
    text = RESP_HEAD + ("PO-HIDDEN,,acknowledge,,,\n"   # a draft does not exist for the supplier
                        "PO-A,,reject,,,\n"              # no reason
                        "PO-C,,acknowledge,,,\n"         # cancelled
                        "PO-A,9,propose,5,,x\n"          # no such line
                        "PO-A,,shrug,,,\n"               # unknown action
                        "PO-NONE,,acknowledge,,,\n")
    batch = imports.upload(production(tenant_a), tenant_a.relationship.id, "po_responses", "bad.csv", text.encode())
    assert batch.status == "invalid"
    assert {(e["row"], e["column"]) for e in batch.errors} >= {(2, "PO number"), (3, "Reason"), (4, "Action"),
                                                               (5, "Line"), (6, "Action"), (7, "PO number")}
    assert _state(db) == before


def test_a_prime_cannot_upload_supplier_answers(db, tenant_a):
    from cogrow.core.errors import AppError

    with pytest.raises(AppError) as caught:
        imports.upload(planner(tenant_a), tenant_a.relationship.id, "po_responses", "x.csv", RESP_HEAD.encode())
    assert caught.value.status in (403, 404)


def test_an_import_refuses_part_numbers_of_an_inactive_item(db, tenant_a):
    item = f.ItemFactory(supply_relationship=tenant_a.relationship, prime_part_number="OLD-1", active=False)
    text = HEAD + f"PO-X,1,{item.prime_part_number},1,2030-01-07,\n"
    batch = imports.upload(planner(tenant_a), tenant_a.relationship.id, "po_lines", "old.csv", text.encode())
    assert batch.status == "invalid" and batch.errors[0]["column"] == "Prime part number"


def test_an_import_refuses_a_po_number_the_prime_gave_another_supplier(db, tenant_a):
    other = f.RelationshipFactory(prime=tenant_a.prime, supplier=f.OrganisationFactory(kind="supplier"))
    f.PurchaseOrderFactory(supply_relationship=other, number="PO-SHARED", status="draft")
    db.session.commit()
    before = _state(db)
    text = HEAD + f"PO-SHARED,1,{tenant_a.item.prime_part_number},10,2030-01-07,\n"
    batch = imports.upload(planner(tenant_a), tenant_a.relationship.id, "po_lines", "pos.csv", text.encode())
    assert batch.status == "invalid"
    assert any("PO-SHARED" in str(e) and "another supplier" in str(e) for e in batch.errors), batch.errors
    assert _state(db) == before
