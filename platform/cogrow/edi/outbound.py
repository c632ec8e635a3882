"""Outbound messages: Cogrow's objects as neutral documents, written in the partner's syntax and logged.

The prime's side gets the 830 / DELFOR and 862 of a forecast version and the 850 / ORDERS of an issued PO; the
supplier's side the 855 / ORDRSP of its answer to a PO and the 856 / DESADV of an ASN. Read back by the
importers, each gives the same objects again (tests/edi/test_round_trip.py).
"""
from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from cogrow.catalog.models import Item
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden
from cogrow.core.weeks import current_week, local_today, weeks_between
from cogrow.edi import services
from cogrow.edi.documents import (AckDoc, AsnDoc, AsnLine, AsnOrder, Authorization, Bucket, ForecastDoc,
                                  ForecastItem, LineChange, OrderLine, PurchaseOrderDoc)
from cogrow.edi.models import Interchange
from cogrow.extensions import db
from cogrow.forecasts import services as forecasts
from cogrow.forecasts.models import ForecastBucket, ForecastPublication
from cogrow.orders import services as orders
from cogrow.orders.models import ChangeProposal, PurchaseOrder, PurchaseOrderLine
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship
from cogrow.shipments import services as shipments
from cogrow.shipments.models import Shipment, ShipmentLine


def _side(actor: Actor, rel: SupplyRelationship, side: str) -> None:
    if actor.organisation_id != (rel.prime_id if side == "prime" else rel.supplier_id):
        raise Forbidden(_("This message is sent by the prime's side.") if side == "prime"
                        else _("This message is sent by the supplier's side."))


def forecast_doc(rel: SupplyRelationship, pub: ForecastPublication, firm_only: bool = False) -> ForecastDoc:
    """A version's buckets from the current week on (an 862: its firm weeks only), with each item's current
    authorizations and cumulative shipped quantity since the FAB cumulative start."""
    base = current_week()
    parts = dict(db.session.execute(select(Item.id, Item.prime_part_number).where(Item.relationship_id == rel.id)).all())
    uoms = dict(db.session.execute(select(Item.id, Item.uom).where(Item.relationship_id == rel.id)).all())
    per_item: dict[int, list[Bucket]] = {}
    for item_id, week, quantity, zone in db.session.execute(
            select(ForecastBucket.item_id, ForecastBucket.week_start, ForecastBucket.quantity, ForecastBucket.zone)
            .where(ForecastBucket.publication_id == pub.id, ForecastBucket.week_start >= base)
            .order_by(ForecastBucket.item_id, ForecastBucket.week_start)):
        if firm_only and weeks_between(base, week) >= rel.firm_fence_weeks:
            continue
        per_item.setdefault(item_id, []).append(Bucket(week, quantity, zone))
    maxima = {} if firm_only else forecasts.authorization_maxima(rel.id, list(per_item))
    items = []
    for item_id in sorted(per_item, key=lambda i: parts[i]):
        auths = tuple(Authorization(kind, *maxima[(item_id, kind)]) for kind in ("FAB", "RAW")
                      if (item_id, kind) in maxima)
        fab = maxima.get((item_id, "FAB"))
        shipped = shipments.cum_shipped(rel.id, item_id, fab[0]) if fab else None
        items.append(ForecastItem(parts[item_id], uoms[item_id], tuple(per_item[item_id]), auths, shipped,
                                  fab[0] if fab else None))
    weeks = [b.week_start for buckets in per_item.values() for b in buckets]
    start = min(weeks, default=base)
    end = max(weeks, default=base) + timedelta(days=6)
    return ForecastDoc(reference=f"R{rel.id}V{pub.version_no}" + ("F" if firm_only else ""), horizon_start=start,
                       horizon_end=end, items=tuple(items), firm_only=firm_only)


def order_doc(rel: SupplyRelationship, po: PurchaseOrder) -> PurchaseOrderDoc:
    items = {i.id: i for i in db.session.scalars(select(Item).where(Item.relationship_id == rel.id))}
    lines = tuple(OrderLine(line.line_no, items[line.item_id].prime_part_number, line.quantity,
                            items[line.item_id].uom, line.due_date, line.unit_price, po.currency)
                  for line in sorted(po.lines, key=lambda ln: ln.line_no))
    issued = po.issued_at or po.created_at
    return PurchaseOrderDoc(number=po.number, order_date=local_today(issued), lines=lines, currency=po.currency)


def ack_doc(po: PurchaseOrder) -> AckDoc:
    """The supplier's answer as it stands: acknowledged, rejected, or its open change proposals."""
    if po.status == "change_proposed":
        by_line = {line.id: line.line_no for line in po.lines}
        proposals = db.session.scalars(select(ChangeProposal).where(
            ChangeProposal.purchase_order_id == po.id, ChangeProposal.status == "open").order_by(ChangeProposal.id))
        changes, reasons = [], []
        for p in proposals:
            changes.append(LineChange(by_line[p.line_id], p.proposed_quantity, p.proposed_due_date))
            reasons.append(p.reason)
        return AckDoc(po.number, "propose", tuple(changes), reason=reasons[0] if len(set(reasons)) == 1 else "")
    if po.status == "rejected":
        return AckDoc(po.number, "reject", reason=po.status_reason or "")
    if po.acknowledged_at is not None and po.status not in ("draft", "issued", "cancelled"):
        return AckDoc(po.number, "acknowledge")
    raise Conflict(_("PO %(number)s has no answer from the supplier yet.", number=po.number), state=po.status)


def asn_doc(rel: SupplyRelationship, shipment: Shipment) -> AsnDoc:
    rows = db.session.execute(
        select(ShipmentLine.quantity_shipped, PurchaseOrder.number, PurchaseOrderLine.line_no, Item.prime_part_number,
               Item.uom)
        .join(PurchaseOrderLine, PurchaseOrderLine.id == ShipmentLine.po_line_id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .join(Item, Item.id == ShipmentLine.item_id)
        .where(ShipmentLine.shipment_id == shipment.id).order_by(ShipmentLine.id)).all()
    by_po: dict[str, list[AsnLine]] = {}
    for quantity, po_number, line_no, part, uom in rows:
        by_po.setdefault(po_number, []).append(AsnLine(line_no, part, quantity, uom))
    return AsnDoc(shipment_id=shipment.number, ship_date=shipment.ship_date,
                  orders=tuple(AsnOrder(n, tuple(lines)) for n, lines in by_po.items()),
                  expected_date=shipment.expected_date)


# ---------------------------------------------------------------- exports (logged, committed)


def _sent(actor: Actor, row: Interchange, webhook: bool) -> Interchange:
    """Commit the logged interchange; with `webhook`, hand it to the organisation's webhooks too."""
    db.session.commit()
    if webhook:
        from cogrow.edi import delivery

        delivery.queue(row, actor.organisation_id)
    return row


def export_forecast(actor: Actor, relationship_id: int, version_no: int, firm_only: bool = False,
                    webhook: bool = False) -> Interchange:
    rel = relationships.get_relationship(actor, relationship_id)
    _side(actor, rel, "prime")
    partner = services.require_partner(rel.id)
    pub = forecasts.get_publication(actor, rel.id, version_no)
    doc = forecast_doc(rel, pub, firm_only)
    if not doc.items:
        raise Conflict(_("Version %(n)s has no bucket from the current week on.", n=version_no))
    family = "shipping_schedule" if firm_only else "forecast"
    row = services.write_outbound(actor, partner, "prime", family, [doc], doc.reference)
    return _sent(actor, row, webhook)


def export_order(actor: Actor, relationship_id: int, po_id: int, webhook: bool = False) -> Interchange:
    rel = relationships.get_relationship(actor, relationship_id)
    _side(actor, rel, "prime")
    partner = services.require_partner(rel.id)
    po = orders.get_po(actor, rel.id, po_id)
    if po.status == "draft":
        raise Conflict(_("A draft is not sent: issue the PO first."), state=po.status)
    row = services.write_outbound(actor, partner, "prime", "order", [order_doc(rel, po)], po.number)
    return _sent(actor, row, webhook)


def export_ack(actor: Actor, relationship_id: int, po_id: int, webhook: bool = False) -> Interchange:
    rel = relationships.get_relationship(actor, relationship_id)
    _side(actor, rel, "supplier")
    partner = services.require_partner(rel.id)
    po = orders.get_po(actor, rel.id, po_id)
    row = services.write_outbound(actor, partner, "supplier", "ack", [ack_doc(po)], po.number)
    return _sent(actor, row, webhook)


def export_asn(actor: Actor, relationship_id: int, shipment_id: int, webhook: bool = False) -> Interchange:
    rel = relationships.get_relationship(actor, relationship_id)
    _side(actor, rel, "supplier")
    partner = services.require_partner(rel.id)
    shipment = shipments.get_shipment(actor, rel.id, shipment_id)
    row = services.write_outbound(actor, partner, "supplier", "asn", [asn_doc(rel, shipment)], shipment.number)
    return _sent(actor, row, webhook)

