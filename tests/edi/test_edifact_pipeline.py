"""EDIFACT through the EDI core: DELFOR, ORDERS, ORDRSP and DESADV go through the import pipeline like files
(preview, atomic apply, duplicate refusal, an accepting CONTRL), what Cogrow exports imports again to the same
objects, a bad interchange is refused with a rejecting CONTRL, and a partner's CONTRL marks our interchange."""
from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.errors import Conflict
from cogrow.core.weeks import local_today
from cogrow.edi import edifact, outbound, services
from cogrow.edi.documents import (
    AckDoc,
    AsnDoc,
    AsnLine,
    AsnOrder,
    Bucket,
    Envelope,
    ForecastDoc,
    ForecastItem,
    LineChange,
    OrderLine,
    PurchaseOrderDoc,
)
from cogrow.edi.models import Interchange
from cogrow.forecasts import services as forecasts
from cogrow.forecasts.models import ForecastBucket, ForecastPublication
from cogrow.imports import services as imports
from cogrow.orders.models import PurchaseOrder
from cogrow.shipments.models import Shipment
from tests.edi.conftest import PRIME_ID, SUPPLIER_ID, horizon, week
from tests.edi.support import unplaced

SIDES = {PRIME_ID: "14", SUPPLIER_ID: "ZZ"}


@pytest.fixture
def edifact_partner(db, tenant_a, prime_admin, in_request):
    return services.save_partner(prime_admin, tenant_a.relationship.id, {
        "standard": "edifact", "prime_qualifier": SIDES[PRIME_ID], "prime_edi_id": PRIME_ID,
        "supplier_qualifier": SIDES[SUPPLIER_ID], "supplier_edi_id": SUPPLIER_ID, "uom_codes": {"PCE": "EA"}})


def sent_by(sender: str, control: str) -> Envelope:
    receiver = SUPPLIER_ID if sender == PRIME_ID else PRIME_ID
    return Envelope(sender, SIDES[sender], receiver, SIDES[receiver], control, local_today(), time(8, 0), "edifact",
                    "D96A")


def apply(actor, rel_id, text: str):
    batch, rejection = services.receive(actor, rel_id, None, text.encode())
    assert rejection is None and batch.status == "preview", batch.errors
    return imports.confirm(actor, rel_id, batch.id)


def buckets_of(db, rel_id, version_no):
    pub = db.session.scalar(select(ForecastPublication).where(
        ForecastPublication.relationship_id == rel_id, ForecastPublication.version_no == version_no))
    return sorted(db.session.execute(select(ForecastBucket.item_id, ForecastBucket.week_start,
                                            ForecastBucket.quantity, ForecastBucket.zone)
                                     .where(ForecastBucket.publication_id == pub.id)).all())


def test_a_delfor_exported_and_imported_again_publishes_the_same_buckets(db, tenant_a, planner, items,
                                                                          edifact_partner):
    rel_id = tenant_a.relationship.id
    ids = [i.id for i in items]
    forecasts.publish(planner, rel_id, [(i, w, Decimal(q + n)) for n, (i, w, q) in enumerate(horizon(ids, "10"))])
    forecasts.grant_authorization(planner, rel_id, ids[0], "FAB", local_today().replace(day=1), Decimal(400))
    sent = outbound.export_forecast(planner, rel_id, 1)
    text = sent.content.decode()
    assert sent.message_type == "DELFOR" and "SCC+2'QTY+3:400:PCE'" in text

    apply(planner, rel_id, text)
    assert buckets_of(db, rel_id, 2) == buckets_of(db, rel_id, 1)
    inbound = db.session.scalar(select(Interchange).where(Interchange.direction == "in"))
    ack = db.session.get(Interchange, inbound.acknowledged_by_id)
    assert (inbound.message_type, ack.message_type) == ("DELFOR", "CONTRL")
    _env, (doc,) = edifact.parse(ack.content.decode(), edifact_partner)
    assert doc.accepted and doc.control_number == sent.control_number

    with pytest.raises(Conflict):      # the same interchange again
        services.receive(planner, rel_id, None, text.encode())


def test_a_bad_delfor_changes_nothing_and_gets_a_rejecting_contrl(tenant_a, items, planner, edifact_partner):
    rel_id = tenant_a.relationship.id
    doc = ForecastDoc("DF-1", week(0), week(26) - timedelta(days=1), tuple(
        ForecastItem(item.prime_part_number, "EA", tuple(Bucket(week(n), Decimal(40), "planning") for n in range(26)))
        for item in items))
    text = edifact.write([doc], sent_by(PRIME_ID, "502"), edifact_partner)
    year, number, _day = week(2).isocalendar()
    bad = text.replace(f"DTM+2:{year}{number:02d}:616'", f"DTM+2:{year}{number:02d}:617'", 1)
    batch, rejection = services.receive(planner, rel_id, None, bad.encode())
    assert batch.status == "invalid"
    position = next(i for i, seg in enumerate(bad.split("'"), start=1) if seg.endswith(":617"))
    assert [(e["row"], e["column"]) for e in batch.errors] == [(position, "DTM01.3")]
    _env, (ack,) = edifact.parse(rejection, edifact_partner)
    assert (ack.control_number, ack.accepted) == ("502", False)
    assert forecasts.latest_of(rel_id) is None


def order(items) -> PurchaseOrderDoc:
    due = local_today() + timedelta(days=30)
    return PurchaseOrderDoc("EDI-PO-1", local_today(), (
        OrderLine(1, items[0].prime_part_number, Decimal(100), "EA", due, Decimal(1500), "KRW"),
        OrderLine(2, items[1].prime_part_number, Decimal(40), "EA", due + timedelta(days=7), Decimal(900), "KRW")),
        "KRW")


def issued_po(db, rel_id, planner, items) -> PurchaseOrder:
    apply(planner, rel_id, edifact.write([order(items)], sent_by(PRIME_ID, "300"), services.partner_of(rel_id)))
    return db.session.scalar(select(PurchaseOrder).where(PurchaseOrder.number == "EDI-PO-1"))


def test_an_orders_issues_the_order_and_exports_back_the_same(db, tenant_a, planner, items, edifact_partner):
    rel_id = tenant_a.relationship.id
    po = issued_po(db, rel_id, planner, items)
    assert po.status == "issued"
    back = edifact.parse(outbound.export_order(planner, rel_id, po.id).content.decode(), edifact_partner)[1]
    assert unplaced(back) == [order(items)]


@pytest.mark.parametrize("answer", [
    AckDoc("EDI-PO-1", "acknowledge"),
    AckDoc("EDI-PO-1", "reject", reason="No capacity this quarter"),
    AckDoc("EDI-PO-1", "propose", (LineChange(1, Decimal(80), None),), reason="Steel arrives late"),
])
def test_an_ordrsp_answers_the_order_and_exports_back_the_same(db, tenant_a, planner, production, items,
                                                                edifact_partner, answer):
    rel_id = tenant_a.relationship.id
    po = issued_po(db, rel_id, planner, items)
    apply(production, rel_id, edifact.write([answer], sent_by(SUPPLIER_ID, "400"), edifact_partner))
    db.session.refresh(po)
    assert po.status == {"acknowledge": "acknowledged", "reject": "rejected", "propose": "change_proposed"}[
        answer.action]
    back = edifact.parse(outbound.export_ack(production, rel_id, po.id).content.decode(), edifact_partner)[1]
    assert unplaced(back) == [answer]


def test_a_desadv_creates_the_asn_and_exports_back_the_same(db, tenant_a, planner, production, items,
                                                             edifact_partner):
    rel_id = tenant_a.relationship.id
    po = issued_po(db, rel_id, planner, items)
    asn = AsnDoc("EDI-ASN-1", local_today(), (AsnOrder(po.number, (
        AsnLine(1, items[0].prime_part_number, Decimal(60), "EA"),
        AsnLine(2, items[1].prime_part_number, Decimal(40), "EA"))),), local_today() + timedelta(days=2))
    apply(production, rel_id, edifact.write([asn], sent_by(SUPPLIER_ID, "500"), edifact_partner))
    shipment = db.session.scalar(select(Shipment).where(Shipment.number == "EDI-ASN-1"))
    db.session.refresh(po)
    assert po.status == "partially_shipped"
    back = edifact.parse(outbound.export_asn(production, rel_id, shipment.id).content.decode(), edifact_partner)[1]
    assert unplaced(back) == [asn]
    assert db.session.scalar(select(func.count()).select_from(Shipment)) == 1


def test_a_contrl_from_the_partner_marks_our_interchange(db, tenant_a, planner, items, edifact_partner):
    rel_id = tenant_a.relationship.id
    po = issued_po(db, rel_id, planner, items)
    sent = outbound.export_order(planner, rel_id, po.id)
    received, _docs = edifact.parse(sent.content.decode(), edifact_partner)
    contrl = edifact.functional_ack(received, False, [], sent_by(SUPPLIER_ID, "777"), edifact_partner)
    row, rejection = services.receive(planner, rel_id, None, contrl.encode())
    db.session.refresh(sent)
    assert rejection is None and row.message_type == "CONTRL" and sent.status == "rejected"
    assert sent.acknowledged_by_id == row.id
