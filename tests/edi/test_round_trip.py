"""Interchanges through the import pipeline: each message exported by Cogrow and imported again gives the same
objects, duplicates are refused, and the functional acknowledgement is logged."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.errors import Conflict
from cogrow.core.weeks import local_today
from cogrow.edi import outbound, services, x12
from cogrow.edi.documents import AckDoc, AsnDoc, AsnLine, AsnOrder, LineChange, OrderLine, PurchaseOrderDoc
from cogrow.edi.models import Interchange
from cogrow.forecasts import services as forecasts
from cogrow.forecasts.models import Authorization, ForecastBucket
from cogrow.imports import services as imports
from cogrow.orders.models import ChangeProposal, PurchaseOrder
from cogrow.shipments.models import Shipment
from tests.conftest import sign_in
from tests.edi.conftest import horizon, week
from tests.edi.support import PRIME_ID, SUPPLIER_ID, envelope, unplaced

pytestmark = pytest.mark.usefixtures("in_request", "partner", "items")


def _buckets(db, rel_id, version_no):
    from cogrow.forecasts.models import ForecastPublication

    pub = db.session.scalar(select(ForecastPublication).where(
        ForecastPublication.relationship_id == rel_id, ForecastPublication.version_no == version_no))
    return sorted(db.session.execute(select(ForecastBucket.item_id, ForecastBucket.week_start,
                                            ForecastBucket.quantity, ForecastBucket.zone)
                                     .where(ForecastBucket.publication_id == pub.id)).all())


def _apply(actor, rel_id, text, reason=None):
    batch, rejection = services.receive(actor, rel_id, "in.edi", text.encode())
    assert batch.status == "preview", (batch.errors, rejection)
    return imports.confirm(actor, rel_id, batch.id, reason=reason)


def test_an_830_exported_and_imported_again_publishes_the_same_buckets_and_logs_a_997(db, tenant_a, planner, items):
    rel_id = tenant_a.relationship.id
    ids = [i.id for i in items]
    buckets = [(i, w, Decimal(q + n)) for n, (i, w, q) in enumerate(horizon(ids, "10"))]
    forecasts.publish(planner, rel_id, buckets)
    forecasts.grant_authorization(planner, rel_id, ids[0], "FAB", local_today().replace(day=1), Decimal(400))
    sent = outbound.export_forecast(planner, rel_id, 1)
    text = sent.content.decode()
    assert sent.direction == "out" and sent.message_type == "830" and "ATH*FI*" in text

    applied = _apply(planner, rel_id, text)
    assert applied.status == "applied" and applied.summary["result"]["version_no"] == 2
    assert applied.summary["result"]["edi"]["shipped_mismatches"] == 0
    assert _buckets(db, rel_id, 2) == _buckets(db, rel_id, 1)
    assert db.session.scalar(select(func.count()).select_from(Authorization)) == 1  # the same maximum: no new grant
    log = {(r.direction, r.message_type, r.status) for r in db.session.scalars(select(Interchange))}
    assert log == {("out", "830", "sent"), ("in", "830", "applied"), ("out", "997", "sent")}
    inbound = db.session.scalar(select(Interchange).where(Interchange.direction == "in"))
    ack = db.session.get(Interchange, inbound.acknowledged_by_id)
    env, (doc,) = x12.parse(ack.content.decode(), services.partner_of(rel_id))
    assert doc.accepted and env.sender_id == SUPPLIER_ID and int(ack.control_number) > int(sent.control_number)

    # The same interchange again: its control number was received, so it is refused before any parsing.
    with pytest.raises(Conflict) as caught:
        services.receive(planner, rel_id, "again.edi", text.encode())
    assert caught.value.extra["interchange_id"] == inbound.id


def test_an_830_whose_cumulative_shipped_quantity_differs_is_reported(db, tenant_a, planner, items):
    rel_id = tenant_a.relationship.id
    ids = [i.id for i in items]
    forecasts.publish(planner, rel_id, horizon(ids))
    forecasts.grant_authorization(planner, rel_id, ids[0], "FAB", local_today().replace(day=1), Decimal(400))
    text = outbound.export_forecast(planner, rel_id, 1).content.decode()
    shp = next(line for line in text.splitlines() if line.startswith("SHP*"))
    text = text.replace(shp, shp.replace("SHP*02*0*", "SHP*02*35*"))
    batch, _rejection = services.receive(planner, rel_id, "shp.edi", text.encode())
    assert batch.summary["edi"]["shipped_mismatches"] == 1
    line = next(line for line in batch.summary["lines"] if line[0] == items[0].prime_part_number)
    assert line[5:] == ["35", "0", "differs"]


def test_an_862_replaces_the_firm_weeks_it_names_and_exports_back(app, db, tenant_a, planner, items):
    rel_id = tenant_a.relationship.id
    ids = [i.id for i in items]
    forecasts.publish(planner, rel_id, horizon(ids, "10"))
    schedule = outbound.forecast_doc(tenant_a.relationship, forecasts.latest_of(rel_id), firm_only=True)
    first = schedule.items[0]
    changed = first.buckets[0].__class__(first.buckets[0].week_start, Decimal(77), "firm")
    doc = schedule.__class__(schedule.reference, schedule.horizon_start, schedule.horizon_end,
                             (first.__class__(first.part_number, first.uom, (changed,)),), firm_only=True)
    text = x12.write([doc], envelope("862", "000000900"), services.partner_of(rel_id))
    batch, _r = services.receive(planner, rel_id, "862.x12", text.encode())
    cuts = batch.summary["cuts"]
    assert cuts["count"] == tenant_a.relationship.firm_fence_weeks - 1 and cuts["lines"][0][3] == "0"
    client = app.test_client()
    sign_in(client, tenant_a.users["prime:planner"])
    page = client.get(f"/relationships/{rel_id}/imports/{batch.id}").get_data(as_text=True)
    assert 'data-test="preview-cuts"' in page and 'data-test="cut-reason"' in page
    imports.confirm(planner, rel_id, batch.id, reason="The line stops for maintenance")  # weeks left out: 0
    new = {(i, w): (q, z) for i, w, q, z in _buckets(db, rel_id, 2)}
    item_id = next(i.id for i in items if i.prime_part_number == first.part_number)
    assert new[(item_id, week(0))] == (Decimal(77), "firm")
    assert all(new[(item_id, week(n))][0] == 0 for n in range(1, tenant_a.relationship.firm_fence_weeks))
    assert new[(item_id, week(5))][0] == 10 and new[(ids[1] if ids[1] != item_id else ids[0], week(0))][0] == 10
    back = x12.parse(outbound.export_forecast(planner, rel_id, 2, firm_only=True).content.decode(),
                     services.partner_of(rel_id))[1][0]
    assert back.firm_only and back.items[[i.part_number for i in back.items].index(first.part_number)].buckets[0] \
        .quantity == 77


def _order(items, number="EDI-PO-1"):
    due = local_today() + timedelta(days=30)
    return PurchaseOrderDoc(number, local_today(), (
        OrderLine(1, items[0].prime_part_number, Decimal(100), "EA", due, Decimal(1500), "KRW"),
        OrderLine(2, items[1].prime_part_number, Decimal(40), "EA", due + timedelta(days=7), Decimal(900), "KRW")),
        "KRW")


def _issued_po(db, tenant_a, planner, items, number="EDI-PO-1"):
    text = x12.write([_order(items, number)], envelope("850", "000000300"), services.partner_of(tenant_a.relationship.id))
    applied = _apply(planner, tenant_a.relationship.id, text)
    assert applied.status == "applied"
    return db.session.scalar(select(PurchaseOrder).where(PurchaseOrder.number == number))


def test_an_850_imported_issues_the_order_and_exports_back_the_same(db, tenant_a, planner, items):
    po = _issued_po(db, tenant_a, planner, items)
    assert po.status == "issued" and [(ln.line_no, ln.quantity, ln.unit_price) for ln in
                                      sorted(po.lines, key=lambda ln: ln.line_no)] == \
        [(1, Decimal(100), Decimal(1500)), (2, Decimal(40), Decimal(900))]
    text = outbound.export_order(planner, tenant_a.relationship.id, po.id).content.decode()
    _env, docs = x12.parse(text, services.partner_of(tenant_a.relationship.id))
    assert unplaced(docs) == [_order(items)]


@pytest.mark.parametrize("answer", [
    AckDoc("EDI-PO-1", "acknowledge"),
    AckDoc("EDI-PO-1", "reject", reason="No capacity this quarter"),
    AckDoc("EDI-PO-1", "propose", (LineChange(1, Decimal(80), None),), reason="Steel arrives late"),
])
def test_an_855_answers_the_order_and_exports_back_the_same(db, tenant_a, planner, production, items, answer):
    po = _issued_po(db, tenant_a, planner, items)
    rel_id = tenant_a.relationship.id
    text = x12.write([answer], envelope("855", "000000400", SUPPLIER_ID, PRIME_ID), services.partner_of(rel_id))
    _apply(production, rel_id, text)
    db.session.refresh(po)
    assert po.status == {"acknowledge": "acknowledged", "reject": "rejected", "propose": "change_proposed"}[
        answer.action]
    if answer.action == "propose":
        proposal = db.session.scalar(select(ChangeProposal))
        assert (proposal.proposed_quantity, proposal.reason) == (Decimal(80), "Steel arrives late")
    back = x12.parse(outbound.export_ack(production, rel_id, po.id).content.decode(), services.partner_of(rel_id))
    assert unplaced(back[1]) == [answer]


def test_an_856_creates_the_asn_and_exports_back_the_same(db, tenant_a, planner, production, items):
    po = _issued_po(db, tenant_a, planner, items)
    rel_id = tenant_a.relationship.id
    asn = AsnDoc("EDI-ASN-1", local_today(), (AsnOrder(po.number, (
        AsnLine(1, items[0].prime_part_number, Decimal(60), "EA"),
        AsnLine(2, items[1].prime_part_number, Decimal(40), "EA"))),), local_today() + timedelta(days=2))
    text = x12.write([asn], envelope("856", "000000500", SUPPLIER_ID, PRIME_ID), services.partner_of(rel_id))
    applied = _apply(production, rel_id, text)
    shipment = db.session.scalar(select(Shipment).where(Shipment.number == "EDI-ASN-1"))
    assert applied.summary["result"]["shipment_id"] == shipment.id
    db.session.refresh(po)
    assert po.status == "partially_shipped"
    back = x12.parse(outbound.export_asn(production, rel_id, shipment.id).content.decode(),
                     services.partner_of(rel_id))
    assert unplaced(back[1]) == [asn]


def test_an_856_over_the_order_is_refused_by_the_over_ship_guard_naming_the_segment(db, tenant_a, planner,
                                                                                     production, items):
    po = _issued_po(db, tenant_a, planner, items)
    rel_id = tenant_a.relationship.id
    asn = AsnDoc("EDI-ASN-2", local_today(), (AsnOrder(po.number, (
        AsnLine(1, items[0].prime_part_number, Decimal(600), "EA"),)),))
    text = x12.write([asn], envelope("856", "000000501", SUPPLIER_ID, PRIME_ID), services.partner_of(rel_id))
    batch, _r = services.receive(production, rel_id, "over.edi", text.encode())
    with pytest.raises(Conflict) as caught:
        imports.confirm(production, rel_id, batch.id)
    assert "SN1 #" in str(caught.value.fields)
    assert db.session.scalar(select(func.count()).select_from(Shipment)) == 0
    assert db.session.scalar(select(func.count()).select_from(Interchange).where(Interchange.message_type == "856")) == 0
    db.session.refresh(batch)
    assert batch.status == "preview"  # nothing changed: the partner may send a corrected interchange


def test_a_997_from_the_partner_marks_our_interchange_accepted(db, tenant_a, planner, items):
    po = _issued_po(db, tenant_a, planner, items)
    rel_id = tenant_a.relationship.id
    partner = services.partner_of(rel_id)
    sent = outbound.export_order(planner, rel_id, po.id)
    received, _docs = x12.parse(sent.content.decode(), partner)
    ack = x12.functional_ack(received, False, [], envelope("997", "000000777", SUPPLIER_ID, PRIME_ID), partner)
    row, rejection = services.receive(planner, rel_id, "997.edi", ack.encode())
    db.session.refresh(sent)
    assert rejection is None and row.message_type == "997" and sent.status == "rejected"
    assert sent.acknowledged_by_id == row.id
