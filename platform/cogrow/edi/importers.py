"""EDI import kinds: an interchange goes through the same pipeline as a file (preview, atomic apply, errors,
duplicate refusal), then into the services that the forms and CSV imports use.

The pipeline reads CSV/XLSX/JSON rows; an interchange travels as JSON rows of text chunks (edi.services.wrap),
so the pipeline's size limits, worker hand-off for large bodies and same-file refusal apply unchanged. Each
kind's `validate` joins the chunks, parses them with the partner's syntax and maps the documents onto what
the domain services take. Errors name the segment: the row number of a RowError is the segment's position
in the interchange, its column the segment and element (e.g. "FST04").
"""
from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import exists, select

from cogrow.catalog.models import Item
from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import AppError
from cogrow.core.fields import decimal_text
from cogrow.core.weeks import current_week, iso_label, local_today, weeks_between
from cogrow.edi import auto, registry, services
from cogrow.edi.documents import AckDoc, AsnDoc, Doc, EdiError, Envelope, ForecastDoc, PurchaseOrderDoc
from cogrow.edi.models import PartnerSettings
from cogrow.extensions import db
from cogrow.forecasts import services as forecasts
from cogrow.forecasts import tasks as forecast_tasks
from cogrow.imports.registry import Column, ImportKind, ParsedRow, RowError, register
from cogrow.orders import importers as order_imports
from cogrow.orders import services as orders
from cogrow.orders import states
from cogrow.orders.models import PurchaseOrder
from cogrow.relationships.models import SupplyRelationship
from cogrow.shipments import schemas as shipment_schemas
from cogrow.shipments import services as shipments
from cogrow.shipments.models import Shipment

logger = logging.getLogger("cogrow.edi")
MAX_CUT_LINES = 500


def _chunk(text: str | None) -> str | None:
    return text  # kept verbatim: blanks and line ends belong to the interchange


COLUMNS = (Column("interchange", ("Interchange", "interchange", "EDI"), _chunk, example="ISA*00*..."),)


@dataclass
class Received:
    partner_id: int
    envelope: Envelope
    docs: list[Doc]
    text: str


def _row_error(error: EdiError) -> RowError:
    return RowError(max(error.position, 1), error.element or error.segment, f"{error.where()}: {error.message}")


_LAST_PARSED: dict[tuple[int, tuple[Any, ...], str], tuple[Envelope, list[Doc]]] = {}


def _parsed(syntax: registry.Syntax, text: str, partner: PartnerSettings) -> tuple[Envelope, list[Doc]]:
    """The syntax's parse, remembered for the last interchange: the preview and the confirm read the same text
    (the documents are immutable; the checks against the relationship run again each time)."""
    import hashlib

    settings = tuple(str(getattr(partner, name)) for name in services.defaults() if name != "uom_codes")
    key = (partner.id, settings + tuple(sorted((partner.uom_codes or {}).items())),
           hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
    known = _LAST_PARSED.get(key)
    if known is None:
        known = syntax.parse(text, partner)
        _LAST_PARSED.clear()
        _LAST_PARSED[key] = known
    return known[0], list(known[1])


def receive(rel: SupplyRelationship, rows: list[ParsedRow], family: str) -> tuple[Received | None, list[RowError]]:
    """Parse the interchange of the rows for `family`; (None, errors) when it cannot be used."""
    text = "".join(r.values.get("interchange") or "" for r in rows)
    partner = services.partner_of(rel.id)
    if partner is None or not partner.prime_edi_id or not partner.supplier_edi_id:
        return None, [RowError(1, None, _("This relationship has no EDI settings yet: an administrator sets them "
                                          "on the EDI tab."))]
    try:
        syntax = services.syntax_of(partner)
    except AppError as exc:
        return None, [RowError(1, None, exc.message)]
    if not syntax.detect(text):
        return None, [RowError(1, None, _("This is not an %(standard)s interchange, which the EDI settings of this "
                                          "relationship name.", standard=partner.standard.upper()))]
    try:
        envelope, docs = _parsed(syntax, text, partner)
    except EdiError as exc:
        return None, [_row_error(exc)]
    except Exception:  # a reader's bug must not become a 500 for the partner: it is logged and refused
        logger.exception("EDI parse failed for relationship %s", rel.id)
        return None, [RowError(1, None, _("The interchange could not be read."))]
    header = "ISA" if partner.standard == "x12" else "UNB"
    got = registry.family_of(partner.standard, envelope.message_type)
    if got != family:
        return None, [RowError(1, None, _("This interchange holds %(message)s messages, not the kind chosen.",
                                          message=envelope.message_type))]
    expected_sender = partner.side(services.FAMILY_SIDES[family])[1]
    if envelope.sender_id != expected_sender:
        return None, [RowError(1, f"{header} sender", _("%(message)s comes from the %(side)s's side (%(id)s), not "
                                                        "from %(sender)s.", message=envelope.message_type,
                                                        side=_("prime") if services.FAMILY_SIDES[family] == "prime"
                                                        else _("supplier"), id=expected_sender,
                                                        sender=envelope.sender_id))]
    earlier = services.received_before(partner, envelope.control_number)
    if earlier is not None:
        return None, [RowError(1, f"{header} control number", _(
            "Interchange %(number)s was already received (log #%(id)s): a duplicate interchange is refused.",
            number=envelope.control_number, id=earlier.id))]
    return Received(partner.id, envelope, docs, text), []


def _record(actor: Actor, received: Received, batch: Any, reference: str) -> dict[str, Any]:
    """Log the applied interchange and its functional acknowledgement (accepted), in the apply's transaction."""
    partner = db.session.get(PartnerSettings, received.partner_id)
    inbound = services.log_interchange(partner, "in", received.envelope, received.text, status="applied",
                                       reference=reference, documents=len(received.docs), import_id=batch.id,
                                       actor=actor)
    services.note_inbound_number(partner, received.envelope.control_number)
    envelope, ack = services.functional_ack(partner, received.envelope, True, ())
    outbound = services.log_interchange(partner, "out", envelope, ack, status="sent", reference=reference,
                                        actor=actor)
    inbound.acknowledged_by_id = outbound.id
    audit.record(actor, "edi.received", inbound, detail={"message": received.envelope.message_type,
                                                          "control_number": received.envelope.control_number})
    return {"interchange_id": inbound.id, "functional_ack_id": outbound.id,
            "edi": {"message": received.envelope.message_type, "control_number": received.envelope.control_number}}


def _envelope_facts(received: Received) -> dict[str, Any]:
    """What the preview and result say about the interchange itself, under "edi" (the import page lists the
    summary's own keys; these stay in the API's preview and result)."""
    return {"message": received.envelope.message_type, "control_number": received.envelope.control_number,
            "sender": received.envelope.sender_id, "test": received.envelope.test}


def _one(received: Received) -> tuple[Any, list[RowError]]:
    if len(received.docs) != 1:
        doc = received.docs[1]
        return None, [RowError(doc.position, None, _("One %(kind)s per interchange: this one holds %(n)s.",
                                                     kind=received.envelope.message_type, n=len(received.docs)))]
    return received.docs[0], []


def _uom_error(position: int, element: str, part: str, theirs: str, ours: str) -> RowError:
    return RowError(position, element, _("%(part)s is counted in %(ours)s in Cogrow, not %(theirs)s: add the code "
                                         "to the partner's unit list.", part=part, ours=ours, theirs=theirs))


# ---------------------------------------------------------------- forecasts (830 / DELFOR, 862)


@dataclass
class ForecastPlan:
    received: Received
    buckets: list[tuple[int, date, Decimal]]
    grants: list[tuple[int, str, date, Decimal]]
    parts: dict[int, str]
    shipped: list[tuple[str, date, Decimal, Decimal]] = field(default_factory=list)  # part, start, theirs, ours
    zones_differ: int = 0
    cuts: list[Any] = field(default_factory=list)  # forecasts.services.Cut: firm-zone cells this version lowers


def _fence_zone(rel: SupplyRelationship, week: date, base: date) -> str:
    ahead = weeks_between(base, week)
    return "firm" if ahead < rel.firm_fence_weeks else "material" if ahead < rel.material_fence_weeks else "planning"


def _merge_schedule(rel: SupplyRelationship, doc: ForecastDoc, wanted: dict[tuple[int, date], Decimal],
                    errors: list[RowError], base: date) -> list[tuple[int, date, Decimal]] | None:
    """An 862's firm buckets over the latest version: for the items it names, the weeks of its horizon take
    its quantities (a week it leaves out is 0); everything else is copied from the latest version."""
    latest = forecasts.latest_of(rel.id)
    if latest is None:
        errors.append(RowError(doc.position, None, _("A shipping schedule revises the firm weeks of a published "
                                                     "forecast: publish a forecast first.")))
        return None
    first, last = doc.horizon_start - timedelta(days=doc.horizon_start.weekday()), doc.horizon_end
    named = {item_id for item_id, _week in wanted}
    from cogrow.forecasts.models import ForecastBucket

    merged: dict[tuple[int, date], Decimal] = {}
    for item_id, week, quantity in db.session.execute(select(
            ForecastBucket.item_id, ForecastBucket.week_start, ForecastBucket.quantity).where(
            ForecastBucket.publication_id == latest.id, ForecastBucket.week_start >= base)):
        if item_id in named and first <= week <= last:
            continue
        merged[(item_id, week)] = quantity
    merged.update(wanted)
    for item_id in named:  # the schedule's horizon is complete for its items
        week = max(first, base)
        while week <= last:
            merged.setdefault((item_id, week), Decimal(0))
            week += timedelta(days=7)
    return [(item_id, week, quantity) for (item_id, week), quantity in sorted(merged.items())]


def _forecast_validate(family: str) -> Callable[[Actor, SupplyRelationship, list[ParsedRow]],
                                                 tuple[ForecastPlan | None, list[RowError]]]:
    def validate(actor: Actor, rel: SupplyRelationship, rows: list[ParsedRow]
                 ) -> tuple[ForecastPlan | None, list[RowError]]:
        received, errors = receive(rel, rows, family)
        if received is None:
            return None, errors
        doc, errors = _one(received)
        if doc is None:
            return None, errors
        base = current_week()
        items = {part: (item_id, uom) for item_id, part, uom in db.session.execute(
            select(Item.id, Item.prime_part_number, Item.uom).where(Item.relationship_id == rel.id))}
        buckets: list[tuple[int, date, Decimal]] = []
        where: list[int] = []
        grants: list[tuple[int, str, date, Decimal]] = []
        grant_where: list[int] = []
        plan = ForecastPlan(received, buckets, grants, {})
        seen: set[str] = set()
        zones: dict[date, str] = {}  # each week's zone by the fences, computed once
        for item in doc.items:
            known = items.get(item.part_number)
            if known is None or item.part_number in seen:
                errors.append(RowError(item.position, "LIN03", _("%(part)s is not a part number of this "
                                                                 "relationship.", part=item.part_number)
                                       if known is None else _("%(part)s appears twice.", part=item.part_number)))
                continue
            seen.add(item.part_number)
            item_id, uom = known
            plan.parts[item_id] = item.part_number
            if item.uom and item.uom != uom:
                errors.append(_uom_error(item.position, "UIT01", item.part_number, item.uom, uom))
            for bucket in item.buckets:
                if family == "shipping_schedule" and weeks_between(base, bucket.week_start) >= rel.firm_fence_weeks:
                    errors.append(RowError(bucket.position, "FST04", _(
                        "A shipping schedule holds firm weeks only: %(week)s is beyond the firm fence of %(n)s "
                        "weeks.", week=bucket.week_start.isoformat(), n=rel.firm_fence_weeks)))
                    continue
                buckets.append((item_id, bucket.week_start, bucket.quantity))
                where.append(bucket.position)
                fence = zones.get(bucket.week_start)
                if fence is None:
                    fence = zones[bucket.week_start] = _fence_zone(rel, bucket.week_start, base)
                if (bucket.zone == "firm") != (fence == "firm"):
                    plan.zones_differ += 1
            for auth in item.authorizations:
                grants.append((item_id, auth.kind, auth.cum_start, auth.quantity))
                grant_where.append(auth.position)
            if item.shipped_cum is not None and item.shipped_cum_start is not None:
                ours = shipments.cum_shipped(rel.id, item_id, item.shipped_cum_start)
                plan.shipped.append((item.part_number, item.shipped_cum_start, item.shipped_cum, ours))
        if errors:
            return None, errors
        if family == "shipping_schedule":
            merged = _merge_schedule(rel, doc, {(i, w): q for i, w, q in buckets}, errors, base)
            if merged is None:
                return None, errors
            index = {(i, w): p for (i, w, _q), p in zip(buckets, where)}
            plan.buckets = buckets = merged
            where = [index.get((i, w), doc.position) for i, w, _q in merged]
        for index, name, message in forecasts.check_buckets(forecasts.item_ids_of(rel.id), buckets, base):
            errors.append(RowError(where[index], "FST04" if name == "week" else "FST01", message))
        maxima = forecasts.authorization_maxima(rel.id, [g[0] for g in grants])
        raising = [(g, p) for g, p in zip(grants, grant_where)
                   if (g[0], g[1]) not in maxima or maxima[(g[0], g[1])] != (g[2], g[3])]
        plan.grants = [g for g, _p in raising]
        for index, name, message in forecasts.check_grants(rel.id, set(plan.parts), plan.grants, local_today()):
            element = {"cum_start_date": "ATH05", "quantity": "ATH03"}.get(name, "ATH01")
            errors.append(RowError(raising[index][1], element, message))
        if errors:
            errors.sort(key=lambda e: e.row)
            return None, errors
        plan.cuts = forecasts.firm_cuts(rel.id, buckets, forecasts.latest_of(rel.id))
        return plan, []

    return validate


def _forecast_preview(actor: Actor, rel: SupplyRelationship, plan: ForecastPlan) -> dict[str, Any]:
    totals: dict[int, Decimal] = defaultdict(Decimal)
    weeks: dict[int, int] = defaultdict(int)
    for item_id, _week, quantity in plan.buckets:
        totals[item_id] += quantity
        weeks[item_id] += 1
    grants = {(g[0], g[1]): g[3] for g in plan.grants}
    shipped = {part: (theirs, ours) for part, _start, theirs, ours in plan.shipped}
    latest = forecasts.latest_of(rel.id)
    lines = []
    for item_id, part in sorted(plan.parts.items(), key=lambda p: p[1]):
        theirs, ours = shipped.get(part, (None, None))
        lines.append([part, weeks.get(item_id, 0), decimal_text(totals.get(item_id, Decimal(0))),
                      decimal_text(grants.get((item_id, "FAB"))) or "", decimal_text(grants.get((item_id, "RAW"))) or "",
                      decimal_text(theirs) if theirs is not None else "", decimal_text(ours) if ours is not None else "",
                      _("differs") if theirs is not None and theirs != ours else ""])
    mismatches = sum(1 for _p, _s, theirs, ours in plan.shipped if theirs != ours)
    return {
        "summary": {"version_no": (latest.version_no if latest else 0) + 1, "items": len(plan.parts),
                    "buckets": len(plan.buckets), "total": decimal_text(sum(totals.values(), Decimal(0))),
                    "grants": len(plan.grants), "firm_cuts": len(plan.cuts)},
        "edi": {**_envelope_facts(plan.received), "shipped_mismatches": mismatches,
                "zones_differ": plan.zones_differ},
        "cuts": _cuts(rel, plan.cuts),
        "headers": [_("Part number"), _("Weeks"), _("Total"), _("FAB authorized"), _("RAW authorized"),
                    _("Shipped (partner)"), _("Shipped (Cogrow)"), _("Cumulative check")],
        "lines": lines,
    }


def _cuts(rel: SupplyRelationship, cuts: list[Any]) -> dict[str, Any]:
    """The firm-zone cells the version lowers, as the import page shows a forecast file's."""
    amount = sum((c.amount for c in cuts), Decimal(0))
    return {"count": len(cuts), "amount": decimal_text(amount), "currency": cuts[0].currency if cuts else rel.currency,
            "headers": [_("Part number"), _("Week"), _("Previous quantity"), _("New quantity"), _("Cut"),
                        _("Unit price"), _("Value no longer guaranteed")],
            "lines": [[c.part_number, iso_label(c.week), decimal_text(c.previous), decimal_text(c.new),
                       decimal_text(c.units), decimal_text(c.unit_price), decimal_text(c.amount)]
                      for c in cuts[:MAX_CUT_LINES]]}


def _forecast_apply(actor: Actor, rel: SupplyRelationship, plan: ForecastPlan, batch: Any,
                    progress: Callable[[int, int], None]) -> dict[str, Any]:
    envelope = plan.received.envelope
    note = _("EDI %(message)s interchange %(number)s (import #%(id)s)", message=envelope.message_type,
             number=envelope.control_number, id=batch.id)[:500]
    pub = forecasts.publish(actor, rel.id, plan.buckets, note=note, progress=progress, commit=False, checked=True,
                            reason=(batch.options or {}).get("reason"))
    if plan.grants:
        forecasts.grant_authorizations(actor, rel.id, plan.grants, commit=False)
    mismatches = [(part, start, theirs, ours) for part, start, theirs, ours in plan.shipped if theirs != ours]
    for part, start, theirs, ours in mismatches:  # SAP SNC's alert 7803: the cumulative quantities disagree
        audit.record(actor, "edi.shipped_mismatch", pub, detail={
            "part_number": part, "cum_start": start.isoformat(), "partner": str(theirs), "cogrow": str(ours)})
    result = {"version_no": pub.version_no, "publication_id": pub.id, "buckets": pub.bucket_count,
              "firm_cuts": pub.firm_cuts, "grants": len(plan.grants)}
    result.update(_record(actor, plan.received, batch, plan.received.docs[0].reference))
    result["edi"]["shipped_mismatches"] = len(mismatches)
    return result


def _forecast_confirm_check(batch: Any, options: dict[str, Any]) -> dict[str, str]:
    count = ((batch.summary or {}).get("cuts") or {}).get("count") or 0
    reason = options.get("reason") or ""
    if count and not reason.strip():
        return {"reason": _("This interchange cuts %(n)s firm-zone quantities: give a reason for the supplier.",
                            n=count)}
    return {}


def _after_forecast(batch: Any) -> None:
    if (((batch.summary or {}).get("result") or {}).get("firm_cuts") or 0) > 0:
        forecast_tasks.send_pending()


def _version_link(rel: SupplyRelationship, result: dict[str, Any]) -> tuple[str, str] | None:
    version_no = result.get("version_no")
    if not isinstance(version_no, int):
        return None
    return (_("Open forecast version %(n)s", n=version_no),
            url_for("forecasts.detail", relationship_id=rel.id, version_no=version_no))


# ---------------------------------------------------------------- purchase orders (850 / ORDERS)

ORDER_ELEMENTS = {"PO number": "BEG03", "Prime part number": "PO107", "Line": "PO101", "Quantity": "PO102",
                  "Due date": "DTM02", "Unit price": "PO104"}


@dataclass
class OrderPlan:
    received: Received
    plans: list[Any]


def _renamed(errors: list[RowError], elements: dict[str, str]) -> list[RowError]:
    return [RowError(e.row, elements.get(e.column or "", e.column), e.message) for e in errors]


def _order_validate(actor: Actor, rel: SupplyRelationship, rows: list[ParsedRow]
                    ) -> tuple[OrderPlan | None, list[RowError]]:
    received, errors = receive(rel, rows, "order")
    if received is None:
        return None, errors
    uoms = dict(db.session.execute(select(Item.prime_part_number, Item.uom).where(Item.relationship_id == rel.id)).all())
    lines: list[ParsedRow] = []
    for doc in received.docs:
        assert isinstance(doc, PurchaseOrderDoc)
        for line in doc.lines:
            if line.currency != rel.currency:
                errors.append(RowError(line.position, "CUR02", _(
                    "The order is in %(theirs)s; this relationship trades in %(ours)s.", theirs=line.currency,
                    ours=rel.currency)))
            if line.part_number in uoms and line.uom and line.uom != uoms[line.part_number]:
                errors.append(_uom_error(line.position, "PO103", line.part_number, line.uom, uoms[line.part_number]))
            lines.append(ParsedRow(line.position, {
                "po_number": doc.number, "line": Decimal(line.line_no), "prime_part_number": line.part_number,
                "quantity": line.quantity, "due_date": line.due_date, "unit_price": line.unit_price}))
    if errors:
        return None, errors
    plans, errors = order_imports.validate_po_lines(actor, rel, lines)
    if errors:
        return None, _renamed(errors, ORDER_ELEMENTS)
    return OrderPlan(received, plans), []


def _order_preview(actor: Actor, rel: SupplyRelationship, plan: OrderPlan) -> dict[str, Any]:
    return {**order_imports.preview_po_lines(actor, rel, plan.plans), "edi": _envelope_facts(plan.received)}


def _order_apply(actor: Actor, rel: SupplyRelationship, plan: OrderPlan, batch: Any,
                 progress: Callable[[int, int], None]) -> dict[str, Any]:
    """Draft the POs as the CSV import does, then issue them: an 850 is a binding order."""
    result = order_imports.apply_po_lines(actor, rel, plan.plans, batch, progress)
    numbers = [p.number for p in plan.plans]
    for po in db.session.scalars(select(PurchaseOrder).where(PurchaseOrder.relationship_id == rel.id,
                                                             PurchaseOrder.number.in_(numbers))):
        orders.check_action(actor, po, "issue", None)
        orders.transition(actor, po, "issue")
    result.update(_record(actor, plan.received, batch, ", ".join(numbers)))
    result["edi"]["issued_pos"] = len(numbers)
    return result


# ---------------------------------------------------------------- acknowledgements (855 / ORDRSP)

ACK_ELEMENTS = {"PO number": "BAK03", "Action": "BAK02", "Line": "PO101", "Quantity": "ACK02", "Due date": "ACK05",
                "Reason": "NTE02"}


@dataclass
class AckPlan:
    received: Received
    plans: list[Any]


def _ack_validate(actor: Actor, rel: SupplyRelationship, rows: list[ParsedRow]) -> tuple[AckPlan | None,
                                                                                        list[RowError]]:
    received, errors = receive(rel, rows, "ack")
    if received is None:
        return None, errors
    answers: list[ParsedRow] = []
    for doc in received.docs:
        assert isinstance(doc, AckDoc)
        if doc.action == "propose":
            for change in doc.changes:
                answers.append(ParsedRow(change.position, {
                    "po_number": doc.po_number, "line": Decimal(change.line_no), "action": "propose",
                    "quantity": change.quantity, "due_date": change.due_date,
                    "reason": doc.reason or _("Change proposed by EDI %(message)s",
                                              message=received.envelope.message_type)}))
        else:
            answers.append(ParsedRow(doc.position, {
                "po_number": doc.po_number, "action": doc.action,
                "reason": doc.reason or (_("Rejected by EDI %(message)s", message=received.envelope.message_type)
                                         if doc.action == "reject" else None)}))
    plans, errors = order_imports.validate_po_responses(actor, rel, answers)
    if errors:
        return None, _renamed(errors, ACK_ELEMENTS)
    return AckPlan(received, plans), []


def _ack_preview(actor: Actor, rel: SupplyRelationship, plan: AckPlan) -> dict[str, Any]:
    return {**order_imports.preview_po_responses(actor, rel, plan.plans), "edi": _envelope_facts(plan.received)}


def _ack_apply(actor: Actor, rel: SupplyRelationship, plan: AckPlan, batch: Any,
               progress: Callable[[int, int], None]) -> dict[str, Any]:
    result = order_imports.apply_po_responses(actor, rel, plan.plans, batch, progress)
    result.update(_record(actor, plan.received, batch, ", ".join(p.number for p in plan.plans)))
    return result


# ---------------------------------------------------------------- ship notices (856 / DESADV)


@dataclass
class AsnPlan:
    received: Received
    values: dict[str, Any]
    positions: list[int]              # the segment of each line, in values["lines"] order
    lines: list[list[Any]]


def _asn_validate(actor: Actor, rel: SupplyRelationship, rows: list[ParsedRow]) -> tuple[AsnPlan | None,
                                                                                        list[RowError]]:
    received, errors = receive(rel, rows, "asn")
    if received is None:
        return None, errors
    doc, errors = _one(received)
    if doc is None:
        return None, errors
    assert isinstance(doc, AsnDoc)
    head = "BSN" if received.envelope.standard == "x12" else "BGM"
    if db.session.scalar(select(exists().where(Shipment.supplier_id == rel.supplier_id,
                                               Shipment.number == doc.shipment_id))):
        errors.append(RowError(doc.position, f"{head}02", _("ASN %(number)s already exists.", number=doc.shipment_id)))
    for name, message in shipment_schemas.check_dates(doc.ship_date, doc.expected_date, local_today()).items():
        errors.append(RowError(doc.position, f"{head} {name}", message))
    numbers = {o.po_number for o in doc.orders}
    found = {po.number: po for po in db.session.scalars(select(PurchaseOrder).where(
        PurchaseOrder.relationship_id == rel.id, PurchaseOrder.number.in_(numbers)))}
    pairs: list[tuple[int, Decimal]] = []
    positions: list[int] = []
    shown: list[list[Any]] = []
    seen: set[int] = set()
    for order in doc.orders:
        po = found.get(order.po_number)
        if po is None or po.status == "draft":
            errors.append(RowError(order.position, "PRF01", _("No such purchase order: %(number)s.",
                                                              number=order.po_number)))
            continue
        if not states.can_act("ship", po.status):
            errors.append(RowError(order.position, "PRF01", _("PO %(number)s is %(state)s: it takes no shipments.",
                                                              number=po.number, state=po.status)))
            continue
        by_no = {line.line_no: line for line in po.lines}
        for line in order.lines:
            po_line = by_no.get(line.line_no)
            if po_line is None:
                errors.append(RowError(line.position, "LIN01", _("PO %(number)s has no line %(n)s.",
                                                                 number=po.number, n=line.line_no)))
                continue
            item = db.session.get(Item, po_line.item_id)
            if line.part_number != item.prime_part_number:
                errors.append(RowError(line.position, "LIN03", _(
                    "Line %(n)s of PO %(number)s is %(part)s, not %(given)s.", n=line.line_no, number=po.number,
                    part=item.prime_part_number, given=line.part_number)))
                continue
            if line.uom and line.uom != item.uom:
                errors.append(_uom_error(line.position, "SN103", line.part_number, line.uom, item.uom))
                continue
            if line.quantity <= 0 or po_line.id in seen:
                errors.append(RowError(line.position, "SN102", _("Must be more than 0.") if line.quantity <= 0
                                       else _("This PO line is already in this ship notice.")))
                continue
            seen.add(po_line.id)
            pairs.append((po_line.id, line.quantity))
            positions.append(line.position)
            shown.append([po.number, line.line_no, line.part_number, decimal_text(line.quantity)])
    if not pairs and not errors:
        errors.append(RowError(doc.position, None, _("The ship notice has no line.")))
    if errors:
        return None, errors
    values = {"number": doc.shipment_id, "ship_date": doc.ship_date, "expected_date": doc.expected_date,
              "carrier": None, "tracking": None, "lines": pairs}
    return AsnPlan(received, values, positions, shown), []


def _asn_preview(actor: Actor, rel: SupplyRelationship, plan: AsnPlan) -> dict[str, Any]:
    return {"summary": {"lines": len(plan.lines)},
            "edi": {**_envelope_facts(plan.received), "shipment": plan.values["number"]},
            "headers": [_("PO number"), _("Line"), _("Prime part number"), _("Quantity")], "lines": plan.lines}


def _asn_apply(actor: Actor, rel: SupplyRelationship, plan: AsnPlan, batch: Any,
               progress: Callable[[int, int], None]) -> dict[str, Any]:
    """create_shipment runs the over-ship guard and commits the ASN with this import (one ASN per
    interchange, so the import is still all or nothing); a refusal names the line's segment."""
    result = _record(actor, plan.received, batch, plan.values["number"])
    try:
        shipment = shipments.create_shipment(actor, rel.id, plan.values)
    except AppError as exc:
        fields = {}
        for name, message in (exc.fields or {}).items():
            index = int(name.split("[")[1].split("]")[0]) if name.startswith("lines[") else None
            if index is not None and index < len(plan.positions):
                fields[f"SN1 #{plan.positions[index]}"] = message
        raise type(exc)(f"{exc.message} ({', '.join(fields) or plan.received.envelope.message_type})",
                        fields=fields or exc.fields) from None
    progress(len(plan.lines), len(plan.lines))
    result["edi"]["shipment"] = shipment.number
    return {"shipment_id": shipment.id, "lines": len(plan.lines), **result}


def _shipment_link(rel: SupplyRelationship, result: dict[str, Any]) -> tuple[str, str] | None:
    if not isinstance(result.get("shipment_id"), int):
        return None
    return _("Open the ASN"), url_for("shipments.detail", relationship_id=rel.id, shipment_id=result["shipment_id"])


# ---------------------------------------------------------------- registration

LABELS = {"forecast": lambda: _("EDI forecast (830 / DELFOR)"),
          "shipping_schedule": lambda: _("EDI shipping schedule (862)"),
          "order": lambda: _("EDI purchase orders (850 / ORDERS)"),
          "ack": lambda: _("EDI order responses (855 / ORDRSP)"),
          "asn": lambda: _("EDI ship notice (856 / DESADV)")}


# The checks below name X12 elements; an EDIFACT interchange's errors name the EDIFACT element carrying the same
# value (per family: X12's LIN01 is an 856's PO line, which a DESADV carries in RFF+ON).
EDIFACT_ELEMENTS = {
    "forecast": {"LIN03": "LIN03.1", "UIT01": "QTY01.3", "FST01": "QTY01.2", "FST04": "DTM01.2",
                 "ATH01": "SCC01", "ATH03": "QTY01.2", "ATH05": "DTM01.2"},
    "order": {"BEG03": "BGM02", "PO101": "LIN01", "PO102": "QTY01.2", "PO103": "QTY01.3", "PO104": "PRI01.2",
              "PO107": "LIN03.1", "DTM02": "DTM01.2", "CUR02": "CUX01.2"},
    "ack": {"BAK02": "BGM03", "BAK03": "RFF01.2", "PO101": "LIN01", "ACK02": "QTY01.2", "ACK05": "DTM01.2",
            "NTE02": "FTX04.1"},
    "asn": {"PRF01": "RFF01.2", "LIN01": "RFF01.3", "LIN03": "LIN03.1", "SN102": "QTY01.2", "SN103": "QTY01.3"},
}
_LOCATED = re.compile(r"[A-Z0-9]{2,3} #\d+")   # a parser's error ("DTM #5 DTM01.3: ...") already names its element


def _in_syntax(family: str, validate: Callable[[Actor, SupplyRelationship, list[ParsedRow]], tuple[Any, list[RowError]]]
               ) -> Callable[[Actor, SupplyRelationship, list[ParsedRow]], tuple[Any, list[RowError]]]:
    """The kind's validate, its errors naming EDIFACT elements for an EDIFACT partner."""
    names = EDIFACT_ELEMENTS["forecast" if family == "shipping_schedule" else family]

    def checked(actor: Actor, rel: SupplyRelationship, rows: list[ParsedRow]) -> tuple[Any, list[RowError]]:
        plan, errors = validate(actor, rel, rows)
        partner = services.partner_of(rel.id)
        if errors and partner is not None and partner.standard == "edifact":
            errors = [e if _LOCATED.match(e.message) else RowError(e.row, names.get(e.column or "", e.column),
                                                                    e.message) for e in errors]
        if errors and partner is not None and not has_request_context():
            _log_rejection(partner, rows, errors)
        return plan, errors

    return checked


def _log_rejection(partner: PartnerSettings, rows: list[ParsedRow], errors: list[RowError]) -> None:
    """A large interchange the worker found invalid: its rejecting 997 / CONTRL is logged (in the worker's
    transaction that marks the batch invalid), since no request is there to return it. The interchange itself is
    not logged, so the partner may send it again corrected under the same control number."""
    text = "".join(r.values.get("interchange") or "" for r in rows)
    try:
        syntax = services.syntax_of(partner)
        received = syntax.peek(text, partner)
    except (AppError, EdiError):  # no envelope to answer
        return
    rows_of = [{"row": e.row, "column": e.column, "message": e.message} for e in errors]
    envelope, ack = services.functional_ack(partner, received, False,
                                            services.rejected_errors(syntax, partner, text, rows_of))
    row = services.log_interchange(partner, "out", envelope, ack, status="sent",
                                   reference=f"{received.message_type} {received.control_number}")
    rel = db.session.get(SupplyRelationship, partner.relationship_id)
    audit.record(None, "edi.rejected", row, organisation_id=rel.prime_id if envelope.sender_id == partner.prime_edi_id
                 else rel.supplier_id, detail={"message": received.message_type, "control_number": received.control_number,
                         "errors": len(errors)})


def _register() -> None:
    prime, supplier = ("prime", ("admin", "planner")), ("supplier", ("admin", "production"))
    kinds = {"forecast": (prime, _forecast_validate("forecast"), _forecast_preview, _forecast_apply),
             "shipping_schedule": (prime, _forecast_validate("shipping_schedule"), _forecast_preview, _forecast_apply),
             "order": (prime, _order_validate, _order_preview, _order_apply),
             "ack": (supplier, _ack_validate, _ack_preview, _ack_apply),
             "asn": (supplier, _asn_validate, _asn_preview, _asn_apply)}
    for family, ((side, roles), validate, preview, apply) in kinds.items():
        forecast = family in ("forecast", "shipping_schedule")
        register(ImportKind(
            name=services.kind_name(family), label=LABELS[family], org_kind=side, roles=roles, columns=COLUMNS,
            validate=_in_syntax(family, validate), preview=preview, apply=auto.applied_inbound(apply),
            confirm_check=_forecast_confirm_check if forecast else None,
            after_commit=_after_forecast if forecast else None,
            result_link=_version_link if forecast else _shipment_link if family == "asn" else None, own_page=True))

_register()
