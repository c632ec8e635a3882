"""EDIFACT through the EDI core: a DELFOR and an ORDERS go through the import pipeline like files (preview,
atomic apply, duplicate refusal) and a bad one is refused with a CONTRL that names the segment."""
from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.errors import Conflict
from cogrow.core.weeks import local_today
from cogrow.edi import edifact, services
from cogrow.edi.documents import Bucket, Envelope, ForecastDoc, ForecastItem, OrderLine, PurchaseOrderDoc
from cogrow.edi.models import Interchange
from cogrow.extensions import db
from cogrow.forecasts import services as forecasts
from cogrow.forecasts.models import ForecastBucket
from cogrow.imports import services as imports
from cogrow.orders.models import PurchaseOrder
from tests.edi.conftest import PRIME_ID, SUPPLIER_ID, week


@pytest.fixture
def edifact_partner(db, tenant_a, prime_admin, in_request):
    return services.save_partner(prime_admin, tenant_a.relationship.id, {
        "standard": "edifact", "prime_qualifier": "14", "prime_edi_id": PRIME_ID, "supplier_qualifier": "ZZ",
        "supplier_edi_id": SUPPLIER_ID, "uom_codes": {"PCE": "EA"}})


def from_prime(control: str) -> Envelope:
    return Envelope(PRIME_ID, "14", SUPPLIER_ID, "ZZ", control, local_today(), time(8, 0), "edifact", "D96A")


def delfor(items, control: str, partner) -> bytes:
    doc = ForecastDoc("DF-1", week(0), week(26) - timedelta(days=1), tuple(
        ForecastItem(item.prime_part_number, "EA", tuple(
            Bucket(week(n), Decimal(40 + n), "firm" if n < 4 else "planning") for n in range(26)))
        for item in items))
    return edifact.write([doc], from_prime(control), partner).encode()


def test_a_delfor_publishes_a_forecast_and_is_acknowledged(tenant_a, items, planner, edifact_partner):
    rel = tenant_a.relationship
    batch, rejection = services.receive(planner, rel.id, None, delfor(items, "501", edifact_partner))
    assert rejection is None and batch.status == "preview", batch.errors
    imports.confirm(planner, rel.id, batch.id)
    latest = forecasts.latest_of(rel.id)
    assert latest is not None
    quantities = {(b.item_id, b.week_start): b.quantity for b in db.session.scalars(
        select(ForecastBucket).where(ForecastBucket.publication_id == latest.id))}
    assert quantities[(items[0].id, week(3))] == Decimal(43) and len(quantities) == 26 * len(items)
    logged = db.session.scalars(select(Interchange).where(Interchange.partner_id == edifact_partner.id)).all()
    inbound = next(i for i in logged if i.direction == "in")
    ack = db.session.get(Interchange, inbound.acknowledged_by_id)
    assert (inbound.message_type, inbound.control_number, ack.message_type) == ("DELFOR", "501", "CONTRL")
    assert "UCI+501+PRIMEA:14+SUPPLIERA:ZZ+7'" in ack.content.decode()

    with pytest.raises(Conflict):      # the same interchange again
        services.receive(planner, rel.id, None, delfor(items, "501", edifact_partner))


def test_a_bad_delfor_changes_nothing_and_gets_a_rejecting_contrl(tenant_a, items, planner, edifact_partner):
    rel = tenant_a.relationship
    text = delfor(items, "502", edifact_partner).decode()
    year, number, _day = week(2).isocalendar()
    bad = text.replace(f"DTM+2:{year}{number:02d}:616'", f"DTM+2:{year}{number:02d}:617'", 1)
    batch, rejection = services.receive(planner, rel.id, None, bad.encode())
    assert batch.status == "invalid"
    position = next(i for i, seg in enumerate(bad.split("'"), start=1) if seg.endswith(":617"))
    assert [(e["row"], e["column"]) for e in batch.errors] == [(position, "DTM01.3")]
    assert "UCI+502+PRIMEA:14+SUPPLIERA:ZZ+4" in rejection       # rejected (where: see the batch's errors)
    assert forecasts.latest_of(rel.id) is None


def test_an_orders_becomes_a_purchase_order(tenant_a, items, planner, edifact_partner):
    rel = tenant_a.relationship
    po = PurchaseOrderDoc("EDI-PO-1", local_today(), tuple(
        OrderLine(n, item.prime_part_number, Decimal(100 * n), "EA", week(3), item.unit_price, "KRW")
        for n, item in enumerate(items, start=1)))
    data = edifact.write([po], from_prime("503"), edifact_partner).encode()
    before = db.session.scalar(select(func.count()).select_from(PurchaseOrder))
    batch, rejection = services.receive(planner, rel.id, None, data)
    assert rejection is None and batch.status == "preview", batch.errors
    imports.confirm(planner, rel.id, batch.id)
    assert db.session.scalar(select(func.count()).select_from(PurchaseOrder)) == before + 1
