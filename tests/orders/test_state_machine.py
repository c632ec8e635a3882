"""The PO state machine through the services: every (state, action) pair, versions, revisions, proposals."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.errors import Conflict, Forbidden, PreconditionFailed
from cogrow.core.models import AuditLog
from cogrow.orders import services, states
from cogrow.orders.models import PO_STATES, ChangeProposal, PurchaseOrder
from tests.orders.helpers import DUE, make_po, outbox_rows, planner, production

pytestmark = pytest.mark.usefixtures("request_ctx")

USER_ACTIONS = [a for a in states.actions() if states.who(a) != states.SYSTEM]
PAIRS = [(state, action) for state in PO_STATES for action in USER_ACTIONS]
# Where an action has several outcomes, the one this test's PO reaches (one open proposal, none rejected before).
OUTCOME = {"accept_proposal": "acknowledged", "reject_proposal": "issued"}


def test_the_table_names_only_known_states_and_each_action_belongs_to_one_side():
    for t in states.PO_TRANSITIONS:
        assert set(t.from_states) | {t.to_state} <= set(PO_STATES), t
        assert t.who == states.who(t.action) and t.who in (states.PRIME, states.SUPPLIER, states.SYSTEM)
        assert str(t.label)
    assert {"ship", "release"} <= {t.action for t in states.PO_TRANSITIONS if t.who == states.SYSTEM}


def test_shipments_reach_partially_shipped_and_closed_and_closed_and_cancelled_are_final():
    assert states.states_for("ship") == ("issued", "acknowledged", "partially_shipped")
    for state in ("issued", "acknowledged", "partially_shipped"):
        assert states.is_legal("ship", state, "partially_shipped") and states.is_legal("ship", state, "closed")
    assert states.can_move("partially_shipped", "closed")
    assert states.targets("release", "partially_shipped") == ("partially_shipped", "acknowledged", "issued")
    for final in ("closed", "cancelled"):
        assert not any(final in t.from_states for t in states.PO_TRANSITIONS)


def test_what_a_side_may_do_comes_from_the_table():
    assert states.actions_for(states.PRIME, "draft") == ["issue", "revise", "cancel"]
    assert states.actions_for(states.SUPPLIER, "issued") == ["acknowledge", "reject", "propose"]
    assert states.actions_for(states.PRIME, "partially_shipped") == ["close"]
    assert states.actions_for(states.SUPPLIER, "partially_shipped") == []
    assert states.actions_for(states.SYSTEM, "partially_shipped") == ["ship", "release"]


def test_a_move_the_table_does_not_hold_is_refused_and_changes_nothing():
    po = PurchaseOrder(status="cancelled")
    with pytest.raises(Conflict) as caught:
        states.move(po, "ship", "partially_shipped")
    assert caught.value.status == 409 and caught.value.extra["state"] == "cancelled" and po.status == "cancelled"
    po.status = "partially_shipped"
    with pytest.raises(Conflict):
        states.move(po, "ship", "cancelled")  # a legal action to a target it cannot reach
    assert po.status == "partially_shipped"
    assert states.move(po, "ship", "closed").to_state == "closed" and po.status == "closed"


def test_system_actions_cannot_be_taken_by_people(db, tenant_a):
    po = make_po(tenant_a, "issued")
    for actor in (planner(tenant_a), production(tenant_a)):
        for action in ("ship", "release"):
            with pytest.raises(Forbidden):
                services.check_action(actor, po, action, po.version)


def _run(action, tenant, po):
    """Perform `action` on `po` as the side that owns it, with the PO's current version."""
    rel_id, version = tenant.relationship.id, po.version
    prime, supplier = planner(tenant), production(tenant)
    proposal_id = po.id and services.list_proposals(po)[0].id
    line = {"index": 0, "line_no": 1, "item_id": tenant.item.id, "quantity": Decimal("7"), "due_date": DUE}
    calls = {
        "issue": lambda: services.issue_po(prime, rel_id, po.id, version),
        "revise": lambda: services.revise_po(prime, rel_id, po.id, {"lines": [line]}, version),
        "cancel": lambda: services.cancel_po(prime, rel_id, po.id, version, "not needed"),
        "close": lambda: services.close_po(prime, rel_id, po.id, version),
        "acknowledge": lambda: services.acknowledge_po(supplier, rel_id, po.id, version),
        "reject": lambda: services.reject_po(supplier, rel_id, po.id, version, "no capacity"),
        "propose": lambda: services.propose_change(supplier, rel_id, po.id, {
            "line_id": po.lines[1].id, "quantity": Decimal("90"), "reason": "material"}, version),
        "accept_proposal": lambda: services.accept_proposal(prime, rel_id, po.id, proposal_id, version),
        "reject_proposal": lambda: services.reject_proposal(prime, rel_id, po.id, proposal_id, version),
    }
    calls[action]()


@pytest.mark.parametrize(("state", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_allowed_moves_succeed_and_the_rest_get_409_with_the_current_state(db, tenant_a, state, action):
    shipped = Decimal("10") if state in ("partially_shipped", "closed") else Decimal("0")
    po = make_po(tenant_a, state, shipped=shipped, proposal=True)
    version = po.version
    side = states.who(action)
    if state == "draft" and side == states.SUPPLIER:  # a draft does not exist for the supplier
        from cogrow.core.errors import NotFound

        with pytest.raises(NotFound):
            _run(action, tenant_a, po)
        return
    if not states.can_act(action, state):
        with pytest.raises(Conflict) as caught:
            _run(action, tenant_a, po)
        assert caught.value.extra["state"] == state
        db.session.expire_all()
        assert db.session.get(PurchaseOrder, po.id).status == state
        assert db.session.get(PurchaseOrder, po.id).version == version
        return
    _run(action, tenant_a, po)
    db.session.expire_all()
    stored = db.session.get(PurchaseOrder, po.id)
    expected = OUTCOME.get(action) or states.targets(action, state)[0]
    assert len(states.targets(action, state)) == 1 or action in OUTCOME
    assert stored.status == expected and states.is_legal(action, state, stored.status)
    assert stored.version > version, "every action moves the version"
    audited = {"revise": "po.revised", "propose": "po.change_proposed"}.get(action, f"po.{action}")
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == audited)) == 1


def test_stale_version_is_refused_with_412_and_changes_nothing(db, tenant_a):
    po = make_po(tenant_a, "issued")
    with pytest.raises(PreconditionFailed) as caught:
        services.acknowledge_po(production(tenant_a), tenant_a.relationship.id, po.id, po.version - 1)
    assert caught.value.extra["current_version"] == po.version
    assert db.session.get(PurchaseOrder, po.id).status == "issued"


def test_revising_an_acknowledged_po_sends_it_back_to_issued_and_withdraws_proposals(db, tenant_a):
    po = make_po(tenant_a, "change_proposed", proposal=True)
    version = po.version
    line = {"index": 0, "line_no": 1, "item_id": tenant_a.item.id, "quantity": Decimal("120"), "due_date": DUE}
    services.revise_po(planner(tenant_a), tenant_a.relationship.id, po.id, {"lines": [line]}, version)
    db.session.expire_all()
    po = db.session.get(PurchaseOrder, po.id)
    assert po.status == "issued" and po.version == version + 1 and po.acknowledged_at is None
    assert [(ln.line_no, ln.quantity) for ln in po.lines] == [(1, Decimal("120"))]  # line 2 was left out: removed
    assert {p.status for p in services.list_proposals(po)} <= {"withdrawn"}
    [event] = outbox_rows(db, tenant_a.relationship.id)
    assert event.payload == {"item_ids": [tenant_a.item.id], "reason": "po.revised"}


def test_note_only_revision_keeps_the_state_and_writes_no_outbox(db, tenant_a):
    po = make_po(tenant_a, "acknowledged")
    services.revise_po(planner(tenant_a), tenant_a.relationship.id, po.id, {"note": "call before delivery"}, po.version)
    assert po.status == "acknowledged" and po.note == "call before delivery"
    assert outbox_rows(db, tenant_a.relationship.id) == []


def test_revising_a_draft_keeps_it_draft_and_writes_no_outbox(db, tenant_a):
    po = make_po(tenant_a, "draft")
    line = {"index": 0, "item_id": tenant_a.item.id, "quantity": Decimal("5"), "due_date": DUE}
    services.revise_po(planner(tenant_a), tenant_a.relationship.id, po.id, {"lines": [line]}, po.version)
    assert po.status == "draft" and [ln.quantity for ln in po.lines] == [Decimal("5")]
    assert outbox_rows(db, tenant_a.relationship.id) == []


def test_accepting_a_proposal_changes_the_line_and_acknowledges_the_po(db, tenant_a):
    po = make_po(tenant_a, "change_proposed", proposal=True)
    proposal = services.list_proposals(po)[0]
    services.accept_proposal(planner(tenant_a), tenant_a.relationship.id, po.id, proposal.id, po.version, "ok")
    db.session.expire_all()
    po = db.session.get(PurchaseOrder, po.id)
    assert po.status == "acknowledged" and po.lines[0].quantity == Decimal("80")
    assert db.session.get(ChangeProposal, proposal.id).status == "accepted"
    assert outbox_rows(db, tenant_a.relationship.id)[-1].payload["reason"] == "po.accept_proposal"


def test_rejecting_a_proposal_keeps_the_line_and_asks_the_supplier_again(db, tenant_a):
    po = make_po(tenant_a, "change_proposed", proposal=True)
    proposal = services.list_proposals(po)[0]
    services.reject_proposal(planner(tenant_a), tenant_a.relationship.id, po.id, proposal.id, po.version)
    db.session.expire_all()
    po = db.session.get(PurchaseOrder, po.id)
    assert po.status == "issued" and po.lines[0].quantity == Decimal("100")


def test_a_po_with_two_proposals_waits_for_both_and_one_rejection_means_issued(db, tenant_a):
    po = make_po(tenant_a, "issued")
    rel_id, supplier, prime = tenant_a.relationship.id, production(tenant_a), planner(tenant_a)
    first = services.propose_change(supplier, rel_id, po.id, {"line_id": po.lines[0].id, "quantity": Decimal("50"),
                                                              "reason": "a"}, po.version)
    second = services.propose_change(supplier, rel_id, po.id, {"line_id": po.lines[1].id, "due_date": DUE - timedelta(days=7),
                                                               "reason": "b"}, po.version)
    services.accept_proposal(prime, rel_id, po.id, first.id, po.version)
    assert po.status == "change_proposed" and po.lines[0].quantity == Decimal("50")
    services.reject_proposal(prime, rel_id, po.id, second.id, po.version)
    assert po.status == "issued"


def test_a_second_open_proposal_on_the_same_line_is_refused(db, tenant_a):
    po = make_po(tenant_a, "change_proposed", proposal=True)
    from cogrow.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        services.propose_change(production(tenant_a), tenant_a.relationship.id, po.id,
                                {"line_id": po.lines[0].id, "quantity": Decimal("70"), "reason": "x"}, po.version)
    assert "line_id" in caught.value.fields


def test_a_proposal_for_a_line_of_another_po_names_line_id(db, tenant_a):
    po, other = make_po(tenant_a, "issued"), make_po(tenant_a, "issued")
    from cogrow.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        services.propose_change(production(tenant_a), tenant_a.relationship.id, po.id,
                                {"line_id": other.lines[0].id, "quantity": Decimal("70"), "reason": "x"}, po.version)
    assert "line_id" in caught.value.fields


@pytest.mark.parametrize("state", ["issued", "acknowledged"])
def test_cancelling_a_po_with_shipped_quantities_is_refused(db, tenant_a, state):
    po = make_po(tenant_a, state, shipped=Decimal("1"))
    with pytest.raises(Conflict) as caught:
        services.cancel_po(planner(tenant_a), tenant_a.relationship.id, po.id, po.version)
    assert caught.value.extra["state"] == state
    db.session.expire_all()
    assert db.session.get(PurchaseOrder, po.id).status == state
    assert outbox_rows(db, tenant_a.relationship.id) == []


def test_issuing_writes_the_outbox_row_in_the_same_transaction(db, tenant_a):
    po = make_po(tenant_a, "draft")
    services.issue_po(planner(tenant_a), tenant_a.relationship.id, po.id, po.version)
    [event] = outbox_rows(db, tenant_a.relationship.id)
    assert event.payload == {"item_ids": [tenant_a.item.id], "reason": "po.issue"} and event.published_at is None


def test_a_refused_issue_writes_no_outbox_row(db, tenant_a):
    po = make_po(tenant_a, "draft")
    with pytest.raises(PreconditionFailed):
        services.issue_po(planner(tenant_a), tenant_a.relationship.id, po.id, po.version + 5)
    assert outbox_rows(db, tenant_a.relationship.id) == []


def test_the_outbox_row_rolls_back_with_a_change_that_fails_to_commit(db, tenant_a, monkeypatch):
    po = make_po(tenant_a, "draft")

    def boom():
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.db.session, "commit", boom)
    with pytest.raises(RuntimeError):
        services.issue_po(planner(tenant_a), tenant_a.relationship.id, po.id, po.version)
    monkeypatch.undo()
    db.session.rollback()
    assert outbox_rows(db, tenant_a.relationship.id) == []
    assert db.session.get(PurchaseOrder, po.id).status == "draft"


def test_the_supplier_never_sees_drafts(db, tenant_a):
    from cogrow.core.errors import NotFound

    draft, issued = make_po(tenant_a, "draft"), make_po(tenant_a, "issued")
    supplier = production(tenant_a)
    assert [s.po.id for s in services.list_orders(supplier)] == [issued.id]
    with pytest.raises(NotFound):
        services.get_po(supplier, tenant_a.relationship.id, draft.id)
    assert {s.po.id for s in services.list_orders(planner(tenant_a))} == {draft.id, issued.id}


def test_generated_numbers_follow_po_year_sequence_per_relationship(db, tenant_a, tenant_b):
    line = {"index": 0, "item_id": tenant_a.item.id, "quantity": Decimal("1"), "due_date": DUE}
    first = services.create_po(planner(tenant_a), tenant_a.relationship.id, {"lines": [line]})
    second = services.create_po(planner(tenant_a), tenant_a.relationship.id, {"lines": [line]})
    other = services.create_po(planner(tenant_b), tenant_b.relationship.id,
                               {"lines": [{**line, "item_id": tenant_b.item.id}]})
    year = first.number.split("-")[1]
    assert (first.number, second.number, other.number) == (f"PO-{year}-0001", f"PO-{year}-0002", f"PO-{year}-0001")
    assert first.currency == tenant_a.relationship.currency and first.lines[0].unit_price == tenant_a.item.unit_price
