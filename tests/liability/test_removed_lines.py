"""The dated records name each PO line a revision removed (a line cancelled alone) with its quantity and due date,
so the statement is evidence of what was cut; the hash covers those lines, not the reader's language."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from cogrow.core.formatting import format_day
from cogrow.core.models import AuditLog
from cogrow.liability import services
from cogrow.orders import drafts
from tests import factories as f
from tests.conftest import actor_of, sign_in
from tests.liability.builders import this_month, today


def _cut(app, tenant):
    """An acknowledged PO of 100 and 250 due in 10 and 20 days; line 2 cancelled alone through the what-if."""
    po = f.PurchaseOrderFactory(supply_relationship=tenant.relationship, status="acknowledged")
    for no, (qty, days) in enumerate(((100, 10), (1250, 20)), start=1):
        f.PurchaseOrderLineFactory(purchase_order=po, item=tenant.item, line_no=no, quantity=Decimal(qty),
                                   due_date=today() + timedelta(days=days), unit_price=Decimal("1500"))
    f.db.session.commit()
    f.db.session.refresh(po)
    planner = actor_of(tenant.users["prime:planner"], tenant.prime)
    with app.test_request_context("/"):
        drafts.mark_lines(planner, tenant.relationship.id, po.id, [po.lines[1].id])
        drafts.apply_cancel(planner, tenant.relationship.id, po.id, po.version, "model change")
    return po


def _revised(statement, po):
    return next(r for r in statement.records if r["kind"] == "revised" and r["document"] == po.number)


def test_the_revision_record_names_the_removed_line_with_its_quantity_and_due_date(app, client, db, tenant_a):
    po = _cut(app, tenant_a)
    due = today() + timedelta(days=20)
    actor = actor_of(tenant_a.users["supplier:admin"], tenant_a.supplier)
    with app.test_request_context("/"):
        statement = services.compute(actor, tenant_a.relationship.id, this_month())
        record, english_due = _revised(statement, po), format_day(due)
        assert record["note"] == f"Line 2 ({tenant_a.item.prime_part_number}) removed: 1,250 due {english_due}"
        with force_locale("ko"):
            korean = services.compute(actor, tenant_a.relationship.id, this_month())
            korean_due = format_day(due)
    # The note is in the reader's language; the hash is of the lines as data, the same for every reader.
    assert korean_due != english_due and korean_due in _revised(korean, po)["note"]
    assert korean.sha256 == statement.sha256
    [cut] = [r for r in statement.inputs["records"] if r["key"] == record["key"]][0]["removed_lines"]
    assert (cut["line_no"], cut["quantity"], cut["due_date"]) == (2, 1250, due)

    sign_in(client, tenant_a.users["prime:planner"])
    page = client.get(f"/relationships/{tenant_a.relationship.id}/liability").get_data(as_text=True)
    assert "removed: 1,250 due" in page


def test_an_older_revision_row_keeps_its_plain_note_and_hash(app, db, tenant_a):
    po = _cut(app, tenant_a)
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "po.revised", AuditLog.object_id == str(po.id)))
    actor = actor_of(tenant_a.users["supplier:admin"], tenant_a.supplier)
    with app.test_request_context("/"):
        noted = services.compute(actor, tenant_a.relationship.id, this_month())
        del row.detail["lines"]["removed_lines"]  # as the log was written before it kept them
        flag_modified(row, "detail")
        db.session.commit()
        plain = services.compute(actor, tenant_a.relationship.id, this_month())
    record = _revised(plain, po)
    assert record["note"] == "" and "removed_lines" not in record
    assert plain.sha256 != noted.sha256  # the removed lines are part of what the hash covers
