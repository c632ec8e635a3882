"""Auto-send: with the partner's `auto_send` on, publishing, issuing, answering and shipping each write one outbox
row in their own transaction; the worker's task exports the interchange and posts it, signed, to the sending
side's webhooks, and the body reads back to the same documents. With it off, nothing is queued."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from cogrow.alerts import webhooks
from cogrow.core.models import OutboxEvent
from cogrow.core.weeks import local_today
from cogrow.coverage import services as coverage
from cogrow.edi import auto, outbound, sending, services, x12
from cogrow.edi.models import Interchange
from cogrow.forecasts import services as forecasts
from cogrow.orders import services as orders
from cogrow.shipments import services as shipments
from tests.alerts.factories import WebhookEndpointFactory
from tests.edi.conftest import horizon
from tests.edi.support import unplaced

pytestmark = pytest.mark.usefixtures("in_request", "partner")


@pytest.fixture
def auto_on(db, tenant_a, prime_admin):
    return services.save_partner(prime_admin, tenant_a.relationship.id, {"auto_send": True})


@pytest.fixture
def receivers(app, db, tenant_a, monkeypatch):
    """An endpoint on each side; every POST is kept instead of sent."""
    endpoints = {side: WebhookEndpointFactory(organisation_id=org.id, url=f"http://127.0.0.1:9/{side}")
                 for side, org in (("prime", tenant_a.prime), ("supplier", tenant_a.supplier))}
    db.session.commit()
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    seen: list[tuple[str, dict, bytes]] = []

    def post(target, body, headers, timeout, client=None):
        seen.append((target.url, dict(headers), body))
        return httpx.Response(204)

    monkeypatch.setattr(webhooks, "post", post)
    return endpoints, seen


def _events(db):
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == auto.TOPIC)
                                   .order_by(OutboxEvent.id)))


def _relay_and_run(db, receivers, side):
    """The relay publishes the pending row to the send task; running it posts once, to `side`'s endpoint."""
    endpoints, seen = receivers
    published: list[tuple[str, list]] = []
    coverage.relay_outbox(topics=(auto.TOPIC,), publish=lambda name, args: published.append((name, args)))
    (event,) = _events(db)
    assert published == [(sending.TASK, [event.id])]
    seen.clear()
    outcomes = sending.send_task(event.id)
    endpoint = endpoints[side]
    assert outcomes == {endpoint.id: "delivered"} and len(seen) == 1
    target, headers, body = seen[0]
    assert target.endswith(f"/{side}")
    assert headers["webhook-signature"] == webhooks.sign(endpoint.secret, headers["webhook-id"],
                                                         int(headers["webhook-timestamp"]), body)
    db.session.refresh(event)
    assert event.done_at is not None
    assert sending.send_task(event.id) == {}  # a repeated message sends nothing twice
    data = json.loads(body)["data"]
    row = db.session.get(Interchange, int(headers["webhook-id"].removeprefix("edi-")))
    assert (row.direction, row.status, data["control_number"]) == ("out", "sent", row.control_number)
    return x12.parse(data["content"], services.partner_of(event.relationship_id))[1]


def _weeks(doc):
    """A forecast's quantities per part and week (X12's FST02 says firm or planning, not the material zone)."""
    return {(item.part_number, b.week_start): b.quantity for item in doc.items for b in item.buckets}


def _po(tenant_a, planner, items):
    due = local_today() + timedelta(days=30)
    po = orders.create_po(planner, tenant_a.relationship.id, {"lines": [
        {"index": 0, "item_id": items[0].id, "quantity": Decimal(100), "due_date": due},
        {"index": 1, "item_id": items[1].id, "quantity": Decimal(40), "due_date": due}]})
    return orders.issue_po(planner, tenant_a.relationship.id, po.id, po.version)


def _clear(db):
    for event in _events(db):
        db.session.delete(event)
    db.session.commit()


def test_a_published_version_is_sent_to_the_primes_webhook(db, tenant_a, planner, items, auto_on, receivers):
    rel = tenant_a.relationship
    pub = forecasts.publish(planner, rel.id, horizon([i.id for i in items]))
    (event,) = _events(db)
    assert event.payload == {"kind": "forecast", "id": pub.id} and event.relationship_id == rel.id
    docs = _relay_and_run(db, receivers, "prime")
    assert _weeks(docs[0]) == _weeks(outbound.forecast_doc(rel, pub)) and len(docs[0].items) == len(items)


def test_an_issued_po_and_each_answer_are_sent(db, tenant_a, planner, production, items, auto_on, receivers):
    rel_id = tenant_a.relationship.id
    po = _po(tenant_a, planner, items)
    (event,) = _events(db)
    assert event.payload == {"kind": "order", "id": po.id}
    assert unplaced(_relay_and_run(db, receivers, "prime")) == [unplaced(outbound.order_doc(tenant_a.relationship,
                                                                                             po))]
    _clear(db)
    line = min(po.lines, key=lambda ln: ln.line_no)
    # Two proposals in one round: one pending row, one 855 with both changes.
    orders.propose_change(production, rel_id, po.id, {"line_id": line.id, "quantity": Decimal(80), "reason": "late"},
                          po.version)
    orders.propose_change(production, rel_id, po.id, {
        "line_id": max(po.lines, key=lambda ln: ln.line_no).id, "quantity": Decimal(30), "reason": "late"},
        po.version)
    (docs,) = [_relay_and_run(db, receivers, "supplier")]
    assert [(d.action, len(d.changes)) for d in docs] == [("propose", 2)] and unplaced(docs) == [outbound.ack_doc(po)]
    _clear(db)
    orders.acknowledge_po(production, rel_id, po.id, po.version)
    assert [d.action for d in _relay_and_run(db, receivers, "supplier")] == ["acknowledge"]


def test_a_rejection_is_sent(db, tenant_a, planner, production, items, auto_on, receivers):
    po = _po(tenant_a, planner, items)
    _clear(db)
    orders.reject_po(production, tenant_a.relationship.id, po.id, po.version, "No capacity")
    docs = _relay_and_run(db, receivers, "supplier")
    assert [(d.action, d.reason) for d in docs] == [("reject", "No capacity")]


def test_a_shipment_is_sent_to_the_suppliers_webhook(db, tenant_a, planner, production, items, auto_on, receivers):
    po = _po(tenant_a, planner, items)
    _clear(db)
    line = min(po.lines, key=lambda ln: ln.line_no)
    shipment = shipments.create_shipment(production, tenant_a.relationship.id, {
        "ship_date": local_today(), "lines": [(line.id, Decimal(60))]})
    docs = _relay_and_run(db, receivers, "supplier")
    assert unplaced(docs) == [unplaced(outbound.asn_doc(tenant_a.relationship, shipment))]
    assert docs[0].orders[0].lines[0].quantity == 60


def test_with_auto_send_off_nothing_is_queued(db, tenant_a, planner, production, items, receivers):
    assert services.partner_of(tenant_a.relationship.id).auto_send is False
    forecasts.publish(planner, tenant_a.relationship.id, horizon([i.id for i in items]))
    po = _po(tenant_a, planner, items)
    orders.acknowledge_po(production, tenant_a.relationship.id, po.id, po.version)
    assert _events(db) == [] and receivers[1] == []


def test_turned_off_before_the_worker_runs_sends_nothing(db, tenant_a, planner, prime_admin, items, auto_on,
                                                         receivers):
    forecasts.publish(planner, tenant_a.relationship.id, horizon([i.id for i in items]))
    services.save_partner(prime_admin, tenant_a.relationship.id, {"auto_send": False})
    (event,) = _events(db)
    assert sending.send_task(event.id) == {} and receivers[1] == []
    db.session.refresh(event)
    assert event.done_at is not None


def test_what_a_partner_sent_by_edi_is_not_sent_back_to_it(db, tenant_a, planner, production, items, auto_on,
                                                           receivers):
    """An 850 received from the prime issues the PO without queueing an 850 back to the prime; a PO issued on the
    page still is."""
    from tests.edi.test_round_trip import _issued_po

    po = _issued_po(db, tenant_a, planner, items)
    assert po.status == "issued" and _events(db) == []
    _po(tenant_a, planner, items)
    assert [event.payload["kind"] for event in _events(db)] == ["order"]
