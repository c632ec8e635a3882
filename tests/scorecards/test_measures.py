"""Hand-computed cases for each scorecard measure, with the edges of their tolerances and the rows behind them."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today, week_start
from cogrow.orders.models import ChangeProposal
from cogrow.scorecards import services
from cogrow.scorecards.periods import month_of
from tests import factories as f
from tests.scorecards.helpers import commit, figure, months_through, po_line, rows, ship, today


def test_otif_counts_the_due_date_tolerance_to_the_day_and_over_delivery_within_its_share(db, tenant_a):
    rel = tenant_a.relationship
    rel.due_date_tolerance_days, rel.over_delivery_pct = 2, Decimal("0.1")
    due = today() - timedelta(days=10)
    exactly = po_line(tenant_a, due)
    ship(tenant_a, exactly, "100", due + timedelta(days=2))  # due + tolerance: on time
    a_day_late = po_line(tenant_a, due)
    ship(tenant_a, a_day_late, "100", due + timedelta(days=3))
    over_within = po_line(tenant_a, due)
    ship(tenant_a, over_within, "60", due - timedelta(days=1))
    ship(tenant_a, over_within, "50", due)  # 110 of 100: within 10 %
    over_beyond = po_line(tenant_a, due)
    ship(tenant_a, over_beyond, "111", due)
    short = po_line(tenant_a, due)
    ship(tenant_a, short, "99", due)
    ship(tenant_a, short, "1", due + timedelta(days=5))  # complete only after the deadline
    cancelled_asn = po_line(tenant_a, due)
    ship(tenant_a, cancelled_asn, "100", due, status="cancelled")
    ship(tenant_a, po_line(tenant_a, due, status="cancelled"), "100", due)  # a cancelled PO is left out
    po_line(tenant_a, due, status="draft")
    po_line(tenant_a, today() - timedelta(days=2))  # its deadline is today: not judged yet
    db.session.commit()

    month = month_of(due)
    fig = figure(tenant_a, "otif", month)
    assert (fig.num, fig.den) == (2, 6) and fig.value == Decimal(2) / 6
    listed = rows(tenant_a, "otif", [month])
    assert sorted(r["on_time_in_full"] for r in listed) == [0, 0, 0, 0, 1, 1]
    hits = {r["shipped_total"] for r in listed if r["on_time_in_full"]}
    assert hits == {Decimal("100"), Decimal("110")}


def test_otif_without_tolerance_needs_the_due_date_itself(db, tenant_a):
    due = today() - timedelta(days=3)
    ship(tenant_a, po_line(tenant_a, due), "100", due)
    ship(tenant_a, po_line(tenant_a, due), "100", due + timedelta(days=1))
    db.session.commit()
    assert figure(tenant_a, "otif", month_of(due)).value == Decimal("0.5")


def test_asn_accuracy_counts_lines_received_in_the_month_whose_received_equals_shipped(db, tenant_a):
    now = utcnow()
    due = today()
    for received in ("100", "90", "101"):
        ship(tenant_a, po_line(tenant_a, due), "100", due, status="received", received=received, received_at=now)
    ship(tenant_a, po_line(tenant_a, due), "100", due)  # not received yet
    db.session.commit()
    month = month_of(today())
    fig = figure(tenant_a, "asn_accuracy", month)
    assert (fig.num, fig.den) == (1, 3)
    assert [r["accurate"] for r in rows(tenant_a, "asn_accuracy", [month])].count(1) == 1


def test_acknowledgement_time_is_the_mean_days_from_issue_to_acknowledgement(db, tenant_a):
    now = utcnow()
    ack = now - timedelta(hours=1)
    f.PurchaseOrderFactory(supply_relationship=tenant_a.relationship, status="acknowledged",
                           issued_at=ack - timedelta(days=2), acknowledged_at=ack)
    f.PurchaseOrderFactory(supply_relationship=tenant_a.relationship, status="acknowledged",
                           issued_at=ack - timedelta(days=4, hours=12), acknowledged_at=ack)
    f.PurchaseOrderFactory(supply_relationship=tenant_a.relationship, status="issued", issued_at=ack)
    db.session.commit()
    month = month_of(local_today(ack))
    fig = figure(tenant_a, "ack_days", month)
    assert fig.den == 2 and abs(fig.value - Decimal("3.25")) < Decimal("0.0001")
    listed = rows(tenant_a, "ack_days", [month])
    assert sorted(r["within_ack_days"] for r in listed) == [0, 1]  # po_ack_days = 3


def test_commit_reliability_reads_the_latest_commit_of_a_finished_week_and_caps_at_it(db, tenant_a):
    week = week_start(today()) - timedelta(weeks=1)
    other = f.ItemFactory(supply_relationship=tenant_a.relationship)
    v1 = f.PublicationFactory(supply_relationship=tenant_a.relationship, version_no=1)
    v2 = f.PublicationFactory(supply_relationship=tenant_a.relationship, version_no=2)
    commit(tenant_a, v1, week, "100")
    commit(tenant_a, v2, week, "80")  # the latest commit for the week is the one kept
    commit(tenant_a, v2, week, "50", item=other)
    commit(tenant_a, v2, week_start(today()), "70")  # this week has not ended
    line = po_line(tenant_a, week)
    ship(tenant_a, line, "60", week + timedelta(days=2))
    ship(tenant_a, line, "30", week + timedelta(days=7))  # the next week
    other_line = f.PurchaseOrderLineFactory(purchase_order=line.purchase_order, item=other, line_no=2,
                                            quantity=Decimal("100"), due_date=week)
    db.session.flush()
    ship(tenant_a, other_line, "70", week)
    db.session.commit()
    month = month_of(week)
    fig = figure(tenant_a, "commit_reliability", month)
    assert (fig.num, fig.den) == (Decimal("110"), Decimal("130"))  # min(60, 80) + min(70, 50) over 80 + 50


def test_late_proposals_count_answers_after_the_allowed_days_and_open_ones_past_them(db, tenant_a):
    now = utcnow()
    made = now - timedelta(days=10)
    line = po_line(tenant_a, today() + timedelta(days=30))

    def proposal(status, decided=None, created=made):
        db.session.add(ChangeProposal(purchase_order_id=line.purchase_order_id, line_id=line.id,
                                      proposed_quantity=Decimal("80"), reason="capacity", status=status,
                                      created_at=created, decided_at=decided))

    proposal("accepted", made + timedelta(days=3))  # exactly the 3 days allowed: in time
    proposal("rejected", made + timedelta(days=3, minutes=1))
    proposal("open")  # 10 days open
    proposal("withdrawn", made + timedelta(days=9))
    proposal("open", created=now - timedelta(days=1))  # still within its days
    db.session.commit()
    month = month_of(local_today(made))
    fig = figure(tenant_a, "late_proposals", month, months_through(local_today(made)))
    assert (fig.num, fig.den) == (2, 3)


def test_an_authorization_period_is_honoured_when_its_shipments_reach_its_maximum(db, tenant_a):
    start, next_start = today() - timedelta(days=60), today() - timedelta(days=10)
    other = f.ItemFactory(supply_relationship=tenant_a.relationship)
    for item, quantities in ((tenant_a.item, ("100", "120")), (other, ("100",))):
        for qty in quantities:
            f.AuthorizationFactory(item=item, kind="FAB", cum_start_date=start, quantity=Decimal(qty))
        f.AuthorizationFactory(item=item, kind="FAB", cum_start_date=next_start, quantity=Decimal("50"))
    f.AuthorizationFactory(item=other, kind="RAW", cum_start_date=today() - timedelta(days=5))  # RAW: not counted
    line = po_line(tenant_a, start)
    ship(tenant_a, line, "120", start + timedelta(days=1))
    ship(tenant_a, line, "500", next_start)  # the next period's
    other_line = f.PurchaseOrderLineFactory(purchase_order=line.purchase_order, item=other, line_no=2,
                                            quantity=Decimal("100"), due_date=start)
    db.session.flush()
    ship(tenant_a, other_line, "70", start)
    db.session.commit()
    month = month_of(next_start)
    fig = figure(tenant_a, "authorizations_honoured", month)
    assert (fig.num, fig.den) == (1, 2)
    listed = {r["part_number"]: r for r in rows(tenant_a, "authorizations_honoured", [month])}
    assert listed[other.prime_part_number]["left_over"] == Decimal("30")
    assert listed[tenant_a.item.prime_part_number]["authorized"] == Decimal("120")


def test_a_month_with_nothing_has_no_figure_and_no_division(db, tenant_a):
    month = month_of(today())
    for key, measure in services.MEASURES.items():
        assert figure(tenant_a, key, month) is None
        empty = services.rollup({}, measure.kind)
        assert empty.value is None if measure.kind != "count" else empty.value == 0


def test_po_changes_inside_the_firm_fence_count_revised_and_cancelled_lines_by_their_due_date_then(
        db, tenant_a, app):
    from cogrow.orders import services as orders
    from tests.conftest import actor_of

    planner = actor_of(tenant_a.users["prime:planner"], tenant_a.prime)
    item = tenant_a.item
    inside, outside = today() + timedelta(days=7), today() + timedelta(weeks=10)  # firm fence: 4 weeks

    def line(no, due, qty="100"):
        return {"index": no - 1, "line_no": no, "item_id": item.id, "quantity": Decimal(qty), "due_date": due}

    with app.test_request_context("/"):
        revised = orders.create_po(planner, tenant_a.relationship.id, {"lines": [line(1, inside), line(2, outside),
                                                                                 line(3, inside)]})
        orders.issue_po(planner, tenant_a.relationship.id, revised.id, revised.version)
        # line 1 moves out of the fence (counted: it was inside), line 2 moves into it (not: it was outside),
        # line 3 keeps its date; then line 3's quantity changes (counted).
        orders.revise_po(planner, tenant_a.relationship.id, revised.id,
                         {"lines": [line(1, outside), line(2, inside), line(3, inside)]}, revised.version)
        orders.revise_po(planner, tenant_a.relationship.id, revised.id,
                         {"lines": [line(1, outside), line(2, inside), line(3, inside, "90")]}, revised.version)
        # line 2 removed (a line cancelled alone) while due inside the fence: counted as cancelled
        orders.revise_po(planner, tenant_a.relationship.id, revised.id,
                         {"lines": [line(1, outside), line(3, inside, "90")]}, revised.version)
        cancelled = orders.create_po(planner, tenant_a.relationship.id, {"lines": [line(1, inside), line(2, outside)]})
        orders.issue_po(planner, tenant_a.relationship.id, cancelled.id, cancelled.version)
        orders.cancel_po(planner, tenant_a.relationship.id, cancelled.id, cancelled.version, "not needed")
        draft = orders.create_po(planner, tenant_a.relationship.id, {"lines": [line(1, inside)]})
        orders.revise_po(planner, tenant_a.relationship.id, draft.id, {"lines": [line(1, inside, "5")]}, draft.version)
        orders.cancel_po(planner, tenant_a.relationship.id, draft.id, draft.version)

    month = month_of(today())
    fig = figure(tenant_a, "fence_changes", month)
    assert fig.value == 4
    listed = rows(tenant_a, "fence_changes", [month])
    assert sorted((r["po_number"] == revised.number, r["line_no"], r["change"], r["counted"]) for r in listed) == [
        (False, 1, "cancelled", 1), (True, 1, "revised", 1), (True, 2, "cancelled", 1), (True, 3, "revised", 1)]
    assert {r["due_date"] for r in listed} == {inside}
