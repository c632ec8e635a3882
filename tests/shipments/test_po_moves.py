"""What an ASN does to its POs goes through the orders domain: orders.fulfilment and the state machine's table."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from cogrow.core.errors import Conflict
from cogrow.core.models import AuditLog
from cogrow.core.weeks import local_today
from cogrow.orders import fulfilment, services as orders, states
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from cogrow.shipments import services
from cogrow.shipments.models import Shipment
from tests.conftest import actor_of


@pytest.fixture
def ctx(app, db):
    """Services translate their messages: calling one directly needs a request (for the locale)."""
    with app.test_request_context("/"):
        yield


def _supplier(tenant):
    return actor_of(tenant.users["supplier:production"], tenant.supplier)


def _planner(tenant):
    return actor_of(tenant.users["prime:planner"], tenant.prime)


def _ship(tenant, *lines):
    return services.create_shipment(_supplier(tenant), tenant.relationship.id,
                                     {"ship_date": local_today(), "lines": [(lid, Decimal(q)) for lid, q in lines]})


def _po(db, po_id):
    db.session.expire_all()
    return db.session.get(PurchaseOrder, po_id)


def _po_audit(db, po_id):
    return db.session.scalars(select(AuditLog).where(AuditLog.object_type == "purchase_order",
                                                     AuditLog.object_id == str(po_id)).order_by(AuditLog.id)).all()


def _spy(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def _acknowledged(db, po):
    """The PO as the supplier's acknowledgement left it; returns its version."""
    acknowledged_at = po.created_at
    po.status, po.acknowledged_at = "acknowledged", acknowledged_at
    db.session.commit()
    return po.version


def test_an_asn_moves_the_po_by_the_state_machine_and_audits_it_on_the_po(ctx, db, tenant_a, po, po_lines, monkeypatch):
    version = _acknowledged(db, po)
    moves = _spy(monkeypatch, states, "move")
    shipment = _ship(tenant_a, (po_lines[0].id, "10"))
    assert [(args[1], args[2]) for args, _kw in moves] == [("ship", "partially_shipped")]
    stored = _po(db, po.id)
    assert stored.status == "partially_shipped" and stored.version == version + 1
    [entry] = _po_audit(db, po.id)
    assert entry.action == "po.ship" and entry.organisation_id == tenant_a.supplier.id
    assert entry.detail == {"from": "acknowledged", "to": "partially_shipped", "lines": {"1": "10"},
                            "shipment": shipment.number}


def test_the_table_decides_which_pos_take_an_asn(ctx, db, tenant_a, po, po_lines, monkeypatch):
    """Take `acknowledged` out of the table's `ship` rows: an acknowledged PO then refuses ASNs, nothing else does."""
    _acknowledged(db, po)
    narrowed = tuple(states.Transition(t.action, tuple(s for s in t.from_states if s != "acknowledged"), t.to_state,
                                       t.who, t.label) if t.action == "ship" else t
                     for t in states.PO_TRANSITIONS)
    monkeypatch.setattr(states, "PO_TRANSITIONS", narrowed)
    assert "acknowledged" not in fulfilment.shippable_states()
    with pytest.raises(Conflict) as caught:
        _ship(tenant_a, (po_lines[0].id, "1"))
    assert caught.value.extra["state"] == "acknowledged" and "lines[0].po_line_id" in caught.value.fields
    assert services.open_po_lines(_supplier(tenant_a), tenant_a.relationship.id) == []


@pytest.mark.parametrize("status", ["cancelled", "closed", "draft"])
def test_shipping_against_a_po_the_table_does_not_ship_is_409_and_changes_nothing(ctx, db, tenant_a, po, po_lines,
                                                                                  status):
    po.status = status
    db.session.commit()
    version = po.version
    with pytest.raises(Conflict) as caught:
        _ship(tenant_a, (po_lines[1].id, "1"), (po_lines[0].id, "1"))
    assert caught.value.status == 409 and caught.value.extra["state"] == status
    assert set(caught.value.fields) == {"lines[0].po_line_id"}  # the first line named: its PO is the one at fault
    stored = _po(db, po.id)
    assert (stored.status, stored.version) == (status, version)
    assert db.session.scalar(select(func.sum(PurchaseOrderLine.shipped_qty))
                             .where(PurchaseOrderLine.purchase_order_id == po.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(Shipment)) == 0 and _po_audit(db, po.id) == []


def test_a_po_cancelled_after_the_asn_read_it_is_refused_under_the_lock(ctx, db, tenant_a, po, po_lines):
    """The state is checked again on the locked row: a cancellation committed in between wins, and nothing ships."""
    db.session.execute(update(PurchaseOrder).where(PurchaseOrder.id == po.id).values(status="cancelled", version=2)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    stale = db.session.get(PurchaseOrder, po.id)
    set_committed_value(stale, "status", "issued")  # what this session read before the prime cancelled
    set_committed_value(stale, "version", 1)
    with pytest.raises(Conflict) as caught:
        fulfilment.record_shipment(_supplier(tenant_a), tenant_a.relationship, [(po_lines[0].id, Decimal("5"))])
    assert caught.value.extra["state"] == "cancelled" and "lines[0].po_line_id" in caught.value.fields
    stored = _po(db, po.id)
    assert (stored.status, stored.version) == ("cancelled", 2)
    assert db.session.get(PurchaseOrderLine, po_lines[0].id).shipped_qty == 0


def test_cancelling_the_only_asn_releases_it_through_orders_and_returns_the_po_to_acknowledged(
        ctx, db, tenant_a, po, po_lines, monkeypatch):
    version = _acknowledged(db, po)
    shipment = _ship(tenant_a, (po_lines[0].id, "10"), (po_lines[1].id, "2.5"))
    released = _spy(monkeypatch, fulfilment, "release_shipment")
    services.cancel_shipment(_supplier(tenant_a), tenant_a.relationship.id, shipment.id, shipment.version)
    [(args, kwargs)] = released
    assert sorted(args[2]) == sorted([(po_lines[0].id, Decimal("10")), (po_lines[1].id, Decimal("2.5"))])
    assert kwargs["reference"] == {"shipment": shipment.number}
    stored = _po(db, po.id)
    # One version for the ASN's move, one for the release: an editor holding either one gets 412.
    assert stored.status == "acknowledged" and stored.version == version + 2 and stored.acknowledged_at is not None
    assert [line.shipped_qty for line in stored.lines] == [0, 0]
    entry = _po_audit(db, po.id)[-1]
    assert entry.action == "po.release"
    assert entry.detail == {"from": "partially_shipped", "to": "acknowledged", "lines": {"1": "10", "2": "2.5"},
                            "shipment": shipment.number}
    # Nothing is shipped against it any more: the prime may revise or cancel it again.
    assert "cancel" in orders.allowed_actions(_planner(tenant_a), stored)


def test_cancelling_one_of_two_asns_keeps_the_po_partially_shipped_and_its_version(ctx, db, tenant_a, po, po_lines):
    _ship(tenant_a, (po_lines[0].id, "10"))
    second = _ship(tenant_a, (po_lines[0].id, "5"))
    version = _po(db, po.id).version
    services.cancel_shipment(_supplier(tenant_a), tenant_a.relationship.id, second.id, second.version)
    stored = _po(db, po.id)
    assert (stored.status, stored.version) == ("partially_shipped", version)
    assert stored.lines[0].shipped_qty == Decimal("10")
    entry = _po_audit(db, po.id)[-1]
    assert (entry.action, entry.detail["from"], entry.detail["to"]) == ("po.release", "partially_shipped",
                                                                        "partially_shipped")


def test_a_refused_cancellation_releases_nothing(ctx, db, tenant_a, po, po_lines):
    shipment = _ship(tenant_a, (po_lines[0].id, "100"), (po_lines[1].id, "50"))
    assert _po(db, po.id).status == "closed"
    with pytest.raises(Conflict) as caught:
        services.cancel_shipment(_supplier(tenant_a), tenant_a.relationship.id, shipment.id, shipment.version)
    assert caught.value.extra["state"] == "closed"
    stored = _po(db, po.id)
    assert stored.status == "closed" and [line.shipped_qty for line in stored.lines] == [100, 50]
    assert [e.action for e in _po_audit(db, po.id)] == ["po.ship"]
    assert db.session.get(Shipment, shipment.id).status == "shipped"
