"""The worker's side of auto-send (cogrow.edi.auto): an outbox row becomes a logged interchange, posted to the
webhooks of the organisation that published the object."""
from __future__ import annotations

import logging

from celery import shared_task

from cogrow.core import outbox
from cogrow.core.models import OutboxEvent
from cogrow.edi import auto, delivery, outbound, services
from cogrow.edi.models import Interchange
from cogrow.extensions import db
from cogrow.forecasts.models import ForecastPublication
from cogrow.orders.models import PurchaseOrder
from cogrow.relationships.models import SupplyRelationship
from cogrow.shipments.models import Shipment

logger = logging.getLogger("cogrow.edi")

TASK = "cogrow.edi.send"
# Per event kind: the message family and the side that sends it (its organisation receives the webhook).
FAMILIES = {"forecast": ("forecast", "prime"), "order": ("order", "prime"), "ack": ("ack", "supplier"),
            "asn": ("asn", "supplier")}
MODELS = {"forecast": ForecastPublication, "order": PurchaseOrder, "ack": PurchaseOrder, "asn": Shipment}


def export(event: OutboxEvent) -> tuple[Interchange, int] | None:
    """Write and log the event's interchange (no commit): (the interchange, the organisation to post it to), or
    None when there is nothing to send any more (settings removed, auto-send turned off, object gone)."""
    kind = (event.payload or {}).get("kind")
    if kind not in auto.KINDS or event.relationship_id is None:
        return None
    rel = db.session.get(SupplyRelationship, event.relationship_id)
    partner = services.partner_of(event.relationship_id)
    if rel is None or partner is None or not partner.auto_send:
        return None
    obj = db.session.get(MODELS[kind], int(event.payload["id"]))
    if obj is None or obj.relationship_id != rel.id:
        return None
    family, side = FAMILIES[kind]
    if kind == "forecast":
        doc = outbound.forecast_doc(rel, obj)
        reference = doc.reference
        if not doc.items:
            return None
    elif kind == "order":
        doc, reference = outbound.order_doc(rel, obj), obj.number
    elif kind == "ack":
        doc, reference = outbound.ack_doc(obj), obj.number
    else:
        doc, reference = outbound.asn_doc(rel, obj), obj.number
    row = services.write_outbound(None, partner, side, family, [doc], reference)
    return row, rel.prime_id if side == "prime" else rel.supplier_id


@shared_task(name=TASK)
def send_task(outbox_id: int) -> dict[int, str]:
    """Export the event's interchange and mark the row done in one transaction, then post it."""
    event = db.session.get(OutboxEvent, outbox_id)
    if event is None or event.done_at is not None:
        db.session.rollback()
        return {}
    try:
        sent = export(event)
    except Exception:  # noqa: BLE001 - a message that cannot be written (e.g. a separator in a value) is logged, not retried
        db.session.rollback()
        logger.exception("EDI auto-send of outbox row %s failed", outbox_id)
        sent = None
    outbox.stamp_done([outbox_id])
    db.session.commit()
    if sent is None:
        return {}
    row, organisation_id = sent
    outcomes = delivery.deliver(row.id, organisation_id)
    if any(v != "delivered" and not v.startswith("refused") for v in outcomes.values()):
        delivery.queue(row, organisation_id, countdown=120)
    return outcomes
