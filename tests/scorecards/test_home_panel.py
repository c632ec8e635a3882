"""The partnership panel under the home pages' work queues, and the scorecard summary of the relationship page."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from cogrow.home import partnership
from tests import factories as f
from tests.conftest import actor_of, sign_in
from tests.home.prime_network import counting_statements
from tests.scorecards.helpers import po_line, ship, today


def _late_delivery(db, tenant):
    due = today() - timedelta(days=3)
    ship(tenant, po_line(tenant, due), "100", due)
    ship(tenant, po_line(tenant, due), "100", due + timedelta(days=1))
    db.session.commit()


def test_each_role_sees_the_partnership_panel_below_its_work_queue(client, db, tenant_a):
    _late_delivery(db, tenant_a)
    for user, counterpart in (("supplier:production", tenant_a.prime.name), ("prime:planner", tenant_a.supplier.name),
                              ("prime:procurement", tenant_a.supplier.name)):
        sign_in(client, tenant_a.users[user])
        html = client.get("/home").get_data(as_text=True)
        panel = html.index('data-test="partnership-panel"')
        assert html.index('class="card') < panel < html.index('data-test="reliability-panel"')
        row = html[html.index(f'data-relationship-id="{tenant_a.relationship.id}"', panel):]
        assert counterpart in row[:400]
        assert 'data-measure="otif" data-value="0.5"' in row
        assert 'data-test="chart-partnership-trend"' in html


def test_the_supplier_admin_home_has_no_partnership_panel(client, db, tenant_a):
    sign_in(client, tenant_a.users["supplier:admin"])
    assert 'data-test="partnership-panel"' not in client.get("/home").get_data(as_text=True)


def test_the_panel_runs_the_same_statements_for_1_or_8_suppliers(app, db, tenant_a):
    actor = actor_of(tenant_a.users["prime:planner"], tenant_a.prime)
    _late_delivery(db, tenant_a)
    with app.test_request_context("/"), counting_statements() as few:
        partnership.context(actor)
    for n in range(7):
        rel = f.RelationshipFactory(prime=tenant_a.prime)
        item = f.ItemFactory(supply_relationship=rel)
        line = f.PurchaseOrderLineFactory(purchase_order=f.PurchaseOrderFactory(supply_relationship=rel), item=item,
                                          due_date=today() - timedelta(days=5), quantity=Decimal("10"))
        db.session.flush()

        class _T:  # the helpers' view of a tenant
            relationship = rel

        ship(_T, line, "10", today() - timedelta(days=5))
    db.session.commit()
    with app.test_request_context("/"), counting_statements() as many:
        ctx = partnership.context(actor)
    assert len(ctx["partnership"].rows) == 8
    few, many = ([s for s in seen if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
                 for seen in (few, many))
    assert len(few) == len(many) <= 8, (len(few), len(many))  # relationships, scorecards 2, reliability panel 5


def test_the_relationship_page_summarises_both_scorecards_with_links(client, db, tenant_a):
    _late_delivery(db, tenant_a)
    sign_in(client, tenant_a.users["supplier:production"])
    html = client.get(f"/relationships/{tenant_a.relationship.id}").get_data(as_text=True)
    summary = html[html.index('data-test="scorecard-summary"'):]
    assert 'data-measure="otif" data-value="0.5"' in summary
    assert f"/relationships/{tenant_a.relationship.id}/scorecard" in summary
    assert f"/relationships/{tenant_a.relationship.id}/reliability" in summary
