"""PO lines cancelled one by one (the what-if's cancellation removes them in a revision) count as cancellations
inside the firm fence, at the due date the revision's log kept for them; older log rows without it stay listed."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from cogrow.core.models import AuditLog
from cogrow.orders import drafts
from cogrow.scorecards.periods import month_of
from tests import factories as f
from tests.conftest import actor_of, sign_in
from tests.scorecards.helpers import figure, rows, today


def _po(tenant, *dues):
    """An issued PO of `tenant` with one line of 100 per due date, written directly."""
    po = f.PurchaseOrderFactory(supply_relationship=tenant.relationship, status="issued")
    for no, due in enumerate(dues, start=1):
        f.PurchaseOrderLineFactory(purchase_order=po, item=tenant.item, line_no=no, quantity=Decimal("100"),
                                   due_date=due, unit_price=Decimal("1500"))
    f.db.session.commit()
    f.db.session.refresh(po)
    return po


def _cancel_lines(app, tenant, po, *line_nos):
    """Cancel these lines through the what-if's draft, as the PO page does."""
    planner = actor_of(tenant.users["prime:planner"], tenant.prime)
    rel_id = tenant.relationship.id
    with app.test_request_context("/"):
        drafts.mark_lines(planner, rel_id, po.id, [line.id for line in po.lines if line.line_no in line_nos])
        drafts.apply_cancel(planner, rel_id, po.id, po.version, "model change")


def _revision(po):
    return f.db.session.scalar(select(AuditLog).where(AuditLog.action == "po.revised",
                                                      AuditLog.object_id == str(po.id)).order_by(AuditLog.id.desc()))


def test_a_line_cancelled_inside_the_fence_counts_and_one_outside_does_not(app, db, tenant_a):
    inside, outside = today() + timedelta(days=7), today() + timedelta(weeks=10)  # firm fence: 4 weeks
    first = _po(tenant_a, inside, outside, inside)
    second = _po(tenant_a, outside, inside)
    _cancel_lines(app, tenant_a, first, 2, 3)  # line 3 inside (counted), line 2 outside (not listed)
    _cancel_lines(app, tenant_a, second, 1)  # outside: not listed

    detail = _revision(first).detail["lines"]
    assert detail["removed"] == [2, 3]
    assert [(r["line_no"], r["item_id"], r["due_date"], Decimal(r["quantity"])) for r in detail["removed_lines"]] == [
        (2, tenant_a.item.id, outside.isoformat(), 100), (3, tenant_a.item.id, inside.isoformat(), 100)]

    month = month_of(today())
    listed = rows(tenant_a, "fence_changes", [month])
    assert [(r["po_number"], r["line_no"], r["change"], r["due_date"], r["part_number"], r["counted"])
            for r in listed] == [(first.number, 3, "cancelled", inside, tenant_a.item.prime_part_number, 1)]
    fig = figure(tenant_a, "fence_changes", month)
    assert fig.value == 1 == sum(r["counted"] for r in listed)


def test_the_rows_page_lists_the_cancelled_line_with_its_due_date(app, client, db, tenant_a):
    inside = today() + timedelta(days=3)
    po = _po(tenant_a, inside, inside)
    _cancel_lines(app, tenant_a, po, 1)
    month = month_of(today())
    sign_in(client, tenant_a.users["supplier:production"])
    url = f"/relationships/{tenant_a.relationship.id}/scorecard/rows?measure=fence_changes&month={month.label}"
    page = client.get(url).get_data(as_text=True)
    assert page.count('data-test="counted-row"') == 1 and page.count('data-counted="1"') == 1
    assert po.number in page and "due date not recorded" not in page
    table = list(csv.reader(io.StringIO(client.get(url + "&format=csv").get_data().decode("utf-8-sig"))))
    [row] = [dict(zip(table[0], values)) for values in table[1:]]
    assert (row["PO"], row["Line"], row["Part number"], row["Change"], row["Due date then"]) == (
        po.number, "1", tenant_a.item.prime_part_number, "cancelled", inside.isoformat()), row


def test_an_older_log_row_without_the_removed_lines_stays_listed_not_counted(app, db, tenant_a):
    po = _po(tenant_a, today() + timedelta(days=3), today() + timedelta(days=4))
    _cancel_lines(app, tenant_a, po, 2)
    row = _revision(po)
    del row.detail["lines"]["removed_lines"]  # as the log was written before it kept them
    flag_modified(row, "detail")
    db.session.commit()
    month = month_of(today())
    [listed] = rows(tenant_a, "fence_changes", [month])
    assert (listed["line_no"], listed["change"], listed["due_date"], listed["counted"]) == (2, "removed", None, 0)
    assert figure(tenant_a, "fence_changes", month).value == 0
