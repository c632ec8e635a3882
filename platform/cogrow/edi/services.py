"""The EDI core: partner settings, control numbers, envelopes and the interchange log.

Inbound interchanges go through the import pipeline (cogrow.edi.importers registers one import kind per
message family); this module receives the bytes, refuses a duplicate interchange early, and logs what was
applied or sent. Outbound messages are built from Cogrow's objects (cogrow.edi.outbound) and logged here.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from cogrow.core.weeks import business_zone
from cogrow.edi import registry
from cogrow.edi.documents import Doc, EdiError, Envelope
from cogrow.edi.models import DEFAULT_SEPARATORS, DEFAULT_VERSIONS, ControlCounter, Interchange, PartnerSettings
from cogrow.extensions import db
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.edi")

KIND_PREFIX = "edi_"
CHUNK_CHARS = 30_000          # an interchange is stored as JSON rows of this many characters (under a cell's cap)
# Each message family's import kind, the side that sends it, and the roles that may upload it.
FAMILY_SIDES = {"forecast": "prime", "shipping_schedule": "prime", "order": "prime", "ack": "supplier",
                "asn": "supplier"}
MAX_LOG = 200


def kind_name(family: str) -> str:
    """The import kind of a message family (cogrow.edi.importers registers them)."""
    return KIND_PREFIX + family


# ---------------------------------------------------------------- partner settings


def partner_of(relationship_id: int) -> PartnerSettings | None:
    return db.session.scalar(select(PartnerSettings).where(PartnerSettings.relationship_id == relationship_id))


def get_partner(actor: Actor, relationship_id: int) -> tuple[SupplyRelationship, PartnerSettings | None]:
    rel = relationships.get_relationship(actor, relationship_id)
    return rel, partner_of(rel.id)


def _check_admin(actor: Actor) -> None:
    if actor.role != "admin":
        audit.record_denied(actor, "edi.settings_saved", "role")
        raise Forbidden(_("Only an administrator of either side changes the EDI settings."))


def _check_values(values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    standard = values.get("standard")
    if standard not in DEFAULT_VERSIONS:
        errors["standard"] = _("Choose X12 or EDIFACT.")
        return errors
    for name in ("prime_edi_id", "supplier_edi_id"):
        text = values.get(name) or ""
        limit = 15 if standard == "x12" else 35
        if not text or len(text) > limit or not text.isprintable() or not text.isascii():
            errors[name] = _("1 to %(n)s printable ASCII characters.", n=limit)
    if not errors and values["prime_edi_id"] == values["supplier_edi_id"]:
        errors["supplier_edi_id"] = _("The two sides need different identifiers.")
    for name in ("prime_qualifier", "supplier_qualifier"):
        text = values.get(name) or ""
        if not text or len(text) > 4 or not text.isalnum() or not text.isascii():
            errors[name] = _("1 to 4 letters or digits.")
    for name in ("prime_group_id", "supplier_group_id"):
        text = values.get(name) or ""
        if len(text) > 15 or not text.isascii() or not text.isprintable():
            errors[name] = _("At most 15 printable ASCII characters.")
    seps = [values.get(n) or "" for n in ("element_separator", "component_separator", "segment_terminator",
                                          "repetition_separator")]
    for name, sep in zip(("element_separator", "component_separator", "segment_terminator",
                          "repetition_separator"), seps):
        if len(sep) != 1 or sep.isalnum() or sep == " " or not sep.isascii() or not (sep.isprintable() or sep == "\n"):
            errors[name] = _("One character that is not a letter, a digit or a space.")
    if not errors and len(set(seps)) != 4:
        errors["element_separator"] = _("The separators must all differ.")
    if values.get("version") not in (DEFAULT_VERSIONS[standard],):
        errors["version"] = _("Cogrow speaks %(version)s for this standard.", version=DEFAULT_VERSIONS[standard])
    codes = values.get("uom_codes") or {}
    if not isinstance(codes, dict) or len(codes) > 200 or any(
            not isinstance(k, str) or not isinstance(v, str) or not k or not v or len(k) > 8 or len(v) > 16
            for k, v in codes.items()):
        errors["uom_codes"] = _("Pairs of an EDI code (up to 8 characters) and a Cogrow unit (up to 16).")
    elif len(set(codes.values())) != len(codes):
        errors["uom_codes"] = _("Each Cogrow unit may have one EDI code only.")
    return errors


def defaults(standard: str = "x12") -> dict[str, Any]:
    element, component, segment, repetition = DEFAULT_SEPARATORS[standard]
    return {"standard": standard, "version": DEFAULT_VERSIONS[standard], "prime_qualifier": "ZZ",
            "prime_edi_id": "", "prime_group_id": "", "supplier_qualifier": "ZZ", "supplier_edi_id": "",
            "supplier_group_id": "", "element_separator": element, "component_separator": component,
            "segment_terminator": segment, "repetition_separator": repetition, "uom_codes": {}, "test_mode": False,
            "auto_send": False}


def save_partner(actor: Actor, relationship_id: int, values: dict[str, Any]) -> PartnerSettings:
    """Create or change a relationship's EDI settings (an administrator of either side); 422 naming the field."""
    rel = relationships.get_relationship(actor, relationship_id)
    _check_admin(actor)
    partner = partner_of(rel.id)
    if values.get("standard") is not None and values["standard"] not in DEFAULT_VERSIONS:
        raise ValidationFailed(_("Some EDI settings are not valid."), fields={"standard": _("Choose X12 or EDIFACT.")})
    merged = {**defaults(values.get("standard") or (partner.standard if partner else "x12")),
              **({k: getattr(partner, k) for k in defaults()} if partner else {}), **values}
    if partner is not None and values.get("standard") and values["standard"] != partner.standard:
        merged = {**defaults(values["standard"]), **values}
    errors = _check_values(merged)
    if errors:
        raise ValidationFailed(_("Some EDI settings are not valid."), fields=errors)
    if partner is None:
        partner = PartnerSettings(relationship_id=rel.id)
        db.session.add(partner)
    for key in defaults():
        setattr(partner, key, merged[key])
    db.session.flush()
    audit.record(actor, "edi.settings_saved", partner, detail={
        k: merged[k] for k in ("standard", "version", "prime_edi_id", "supplier_edi_id")})
    db.session.commit()
    return partner


def require_partner(relationship_id: int) -> PartnerSettings:
    partner = partner_of(relationship_id)
    if partner is None or not partner.prime_edi_id or not partner.supplier_edi_id:
        raise Conflict(_("This relationship has no EDI settings yet: an administrator sets them on the EDI tab."))
    return partner


# ---------------------------------------------------------------- control numbers and envelopes


def next_control_number(partner: PartnerSettings, direction: str = "out") -> int:
    """The next control number of the partner's outbound (or inbound) series, under a row lock."""
    counter = db.session.scalar(select(ControlCounter).where(
        ControlCounter.partner_id == partner.id, ControlCounter.direction == direction).with_for_update())
    if counter is None:
        counter = ControlCounter(partner_id=partner.id, direction=direction, last_number=0)
        db.session.add(counter)
        db.session.flush()
    number = counter.last_number % 999_999_999 + 1
    db.session.execute(update(ControlCounter).where(ControlCounter.id == counter.id).values(last_number=number))
    counter.last_number = number
    return number


def note_inbound_number(partner: PartnerSettings, control_number: str) -> None:
    """Keep the highest inbound control number seen (the page shows it)."""
    if not control_number.isdigit():
        return
    counter = db.session.scalar(select(ControlCounter).where(
        ControlCounter.partner_id == partner.id, ControlCounter.direction == "in").with_for_update())
    if counter is None:
        db.session.add(ControlCounter(partner_id=partner.id, direction="in", last_number=int(control_number)))
    elif int(control_number) > counter.last_number:
        counter.last_number = int(control_number)


def outbound_envelope(partner: PartnerSettings, from_side: str, message_type: str,
                      now: datetime | None = None) -> Envelope:
    """The envelope of a new interchange from one side to the other, with the next control number."""
    now = (now or datetime.now(business_zone())).astimezone(business_zone())
    sender_q, sender, _g = partner.side(from_side)
    receiver_q, receiver, _h = partner.side("supplier" if from_side == "prime" else "prime")
    number = next_control_number(partner)
    return Envelope(sender_id=sender, sender_qualifier=sender_q, receiver_id=receiver,
                    receiver_qualifier=receiver_q, control_number=str(number).zfill(9), date=now.date(),
                    time=now.time().replace(second=0, microsecond=0), standard=partner.standard,
                    version=partner.version, test=partner.test_mode, group_control_number=str(number),
                    message_type=message_type)


def syntax_of(partner: PartnerSettings) -> registry.Syntax:
    syntaxes = registry.load()
    if partner.standard not in syntaxes:
        raise Conflict(_("%(standard)s is not available on this server yet.", standard=partner.standard.upper()))
    return syntaxes[partner.standard]


def log_interchange(partner: PartnerSettings, direction: str, envelope: Envelope, text: str, *, status: str,
                    reference: str = "", documents: int = 0, import_id: int | None = None,
                    actor: Actor | None = None, errors: Sequence[EdiError] = ()) -> Interchange:
    row = Interchange(partner_id=partner.id, relationship_id=partner.relationship_id, direction=direction,
                      standard=partner.standard, message_type=envelope.message_type[:8],
                      control_number=envelope.control_number[:14], status=status, import_id=import_id,
                      reference=reference[:64], documents=documents, content=text.encode("utf-8"),
                      errors=[e.as_dict() for e in errors] or None,
                      created_by_id=actor.user_id if actor else None)
    db.session.add(row)
    db.session.flush()
    return row


def write_outbound(actor: Actor | None, partner: PartnerSettings, from_side: str, family: str, docs: Sequence[Doc],
                   reference: str) -> Interchange:
    """Write docs as one interchange from `from_side`, log it as sent (no commit). No actor: sent by itself
    (auto-send), audited under the sending side's organisation."""
    syntax = syntax_of(partner)
    message_type = syntax.messages.get(family)
    if message_type is None:
        raise NotFound(_("%(standard)s has no message for this.", standard=partner.standard.upper()))
    envelope = outbound_envelope(partner, from_side, message_type)
    try:
        text = syntax.write(docs, envelope, partner)
    except ValueError as exc:  # a value holding one of the partner's separators
        db.session.rollback()
        raise Conflict(_("This message cannot be written with the partner's separators: %(reason)s",
                         reason=str(exc)[:120]), fields={"element_separator": str(exc)[:120]}) from None
    row = log_interchange(partner, "out", envelope, text, status="sent", reference=reference, documents=len(docs),
                          actor=actor)
    rel = db.session.get(SupplyRelationship, partner.relationship_id)
    audit.record(actor, "edi.sent", row, organisation_id=None if actor else (
        rel.prime_id if from_side == "prime" else rel.supplier_id),
        detail={"message": message_type, "control_number": envelope.control_number, "reference": reference[:64],
                **({} if actor else {"auto": True})})
    return row


def functional_ack(partner: PartnerSettings, received: Envelope, accepted: bool,
                   errors: Sequence[EdiError]) -> tuple[Envelope, str]:
    """A 997 / CONTRL for `received`, from the side that received it, with the next control number."""
    syntax = syntax_of(partner)
    receiver_side = "prime" if received.receiver_id == partner.prime_edi_id else "supplier"
    envelope = outbound_envelope(partner, receiver_side, syntax.messages["functional_ack"])
    return envelope, syntax.functional_ack(received, accepted, errors, envelope, partner)


# ---------------------------------------------------------------- the interchange log


def list_interchanges(actor: Actor, relationship_id: int, limit: int = 100, offset: int = 0) -> list[Interchange]:
    rel = relationships.get_relationship(actor, relationship_id)
    return list(db.session.scalars(select(Interchange).where(Interchange.relationship_id == rel.id)
                                   .order_by(Interchange.id.desc()).limit(min(limit, MAX_LOG)).offset(offset)))


def get_interchange(actor: Actor, relationship_id: int, interchange_id: int) -> Interchange:
    rel = relationships.get_relationship(actor, relationship_id)
    row = db.session.scalar(select(Interchange).where(Interchange.id == interchange_id,
                                                      Interchange.relationship_id == rel.id))
    if row is None:
        raise NotFound(_("No such interchange."))
    return row


def received_before(partner: PartnerSettings, control_number: str) -> Interchange | None:
    return db.session.scalar(select(Interchange).where(
        Interchange.partner_id == partner.id, Interchange.direction == "in",
        Interchange.control_number == control_number).limit(1))


def wrap(text: str) -> bytes:
    """The interchange as the import pipeline's JSON rows: chunks of text, in order."""
    rows = [{"interchange": text[i:i + CHUNK_CHARS]} for i in range(0, len(text), CHUNK_CHARS)]
    return json.dumps({"rows": rows}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(data: bytes) -> str:
    """An uploaded interchange's text: UTF-8 (a BOM is fine), else Latin-1 as X12 and UNOA/UNOB allow."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# ---------------------------------------------------------------- inbound


def max_bytes() -> int:
    """The largest interchange taken: under the import pipeline's file limit, with room for the JSON wrapping."""
    from cogrow.imports import services as imports

    return imports.setting("EDI_MAX_BYTES", imports.setting("IMPORT_MAX_BYTES", imports.DEFAULT_MAX_BYTES) * 9 // 10)


def receive(actor: Actor, relationship_id: int, filename: str | None, data: bytes) -> tuple[Any, str | None]:
    """Take an interchange into the import pipeline: (the import batch, a rejecting 997/CONTRL or None).

    Only the envelope is read here (the syntax's `peek`): it picks the import kind and refuses a control number
    already received (409). The pipeline reads the rest, in this request when small, in the worker when large.
    A batch found invalid here comes back with the functional acknowledgement that rejects it (nothing logged,
    nothing changed); an applied one logs the interchange and an accepting acknowledgement.
    """
    from cogrow.imports import services as imports
    from cogrow.imports.reader import PayloadTooLarge

    rel = relationships.get_relationship(actor, relationship_id)
    partner = require_partner(rel.id)
    limit = max_bytes()
    if len(data) > limit:
        raise PayloadTooLarge(_("The interchange is larger than the limit of %(kb)s KB.", kb=limit // 1024),
                              fields={"file": _("Too large.")})
    text = decode(data)
    syntax = syntax_of(partner)
    if not text.strip() or not syntax.detect(text):
        raise ValidationFailed(_("This is not an %(standard)s interchange, which the EDI settings of this "
                                 "relationship name.", standard=partner.standard.upper()),
                               fields={"file": _("Not an %(standard)s interchange.",
                                                 standard=partner.standard.upper())})
    try:
        envelope = syntax.peek(text, partner)
    except EdiError as exc:
        raise ValidationFailed(f"{exc.where()}: {exc.message}", fields={exc.element or exc.segment: exc.message},
                               segment=exc.segment, position=exc.position, element=exc.element) from None
    family = registry.family_of(partner.standard, envelope.message_type)
    if family == "functional_ack":
        return receive_functional_ack(actor, rel, partner, text), None
    if family not in FAMILY_SIDES:
        raise ValidationFailed(_("Cogrow does not take %(message)s messages.", message=envelope.message_type[:8]),
                               fields={"file": _("Unknown message.")})
    earlier = received_before(partner, envelope.control_number)
    if earlier is not None:
        raise Conflict(_("Interchange %(number)s was already received (log #%(id)s): a duplicate interchange is "
                         "refused.", number=envelope.control_number, id=earlier.id), interchange_id=earlier.id,
                       import_id=earlier.import_id)
    name = filename or f"{envelope.message_type}-{envelope.control_number}.edi"
    batch = imports.upload(actor, rel.id, kind_name(family), name, wrap(text), content_type="application/json")
    rejection = None
    if batch.status == "invalid":
        rejection = syntax.functional_ack(envelope, False, rejected_errors(syntax, partner, text, batch.errors),
                                          _rejection_envelope(partner, envelope), partner)
    return batch, rejection


def rejected_errors(syntax: registry.Syntax, partner: PartnerSettings, text: str,
                    rows: Sequence[dict[str, Any]] | None) -> list[EdiError]:
    """The errors a rejecting 997 / CONTRL names, each with its segment tag, position and element.

    An interchange that does not parse gives the parser's own EdiError (EDIFACT's knows its message and its
    position in it). Otherwise the batch's row errors (row = segment position, column = element, e.g. "QTY01.3")
    are placed: the segment tag is the one found at that position (the element is kept when it belongs to that
    segment), and the message is the one whose header (ST / UNH) precedes the position."""
    try:
        syntax.parse(text, partner)
    except EdiError as exc:
        return [place(syntax, partner, text, [exc])[0]]
    except Exception:  # noqa: BLE001 - a reader's bug: the batch's own errors still say where
        logger.exception("EDI parse failed while naming the errors of a rejected interchange")
    errors = []
    for row in (rows or [])[:20]:
        column = str(row.get("column") or "")
        errors.append(EdiError("", int(row.get("row") or 0), column if _ELEMENT.fullmatch(column) else None,
                               str(row.get("message") or "")))
    placed = place(syntax, partner, text, errors)
    for error in placed:  # an element of another segment than the one at that position would point wrong
        match = _ELEMENT.fullmatch(error.element or "")
        if match and match.group(1) != error.segment:
            error.element = None
    return placed


_ELEMENT = re.compile(r"([A-Z][A-Z0-9]{1,2}?)[0-9]{2}(\.[0-9]+)?")


def place(syntax: registry.Syntax, partner: PartnerSettings, text: str, errors: list[EdiError]) -> list[EdiError]:
    """Give each error the tag of its segment when it has none, and its message's reference and position in
    that message (header = 1) when the syntax did not (attributes `message_reference`, `message_position`)."""
    if syntax.outline is None or not errors:
        return errors
    try:
        segments = syntax.outline(text, partner)
    except EdiError:
        return errors
    tags = {position: tag for position, tag, _ref in segments}
    for error in errors:
        if not error.segment or not error.segment.isalnum():
            error.segment = tags.get(error.position, error.segment)
        if getattr(error, "message_reference", ""):
            continue
        header = max(((position, reference) for position, _tag, reference in segments
                      if reference and position <= error.position), default=None)
        if header is not None:
            error.message_reference = header[1]
            error.message_position = error.position - header[0] + 1
    return errors


def _rejection_envelope(partner: PartnerSettings, received: Envelope) -> Envelope:
    """The envelope of a rejecting acknowledgement: not logged, so it takes no number of the outbound series
    (it answers with the received interchange's own number)."""
    return Envelope(sender_id=received.receiver_id, sender_qualifier=received.receiver_qualifier,
                    receiver_id=received.sender_id, receiver_qualifier=received.sender_qualifier,
                    control_number=received.control_number, date=received.date, time=received.time,
                    standard=received.standard, version=received.version, test=received.test,
                    group_control_number=received.group_control_number,
                    message_type=syntax_of(partner).messages["functional_ack"])


def receive_functional_ack(actor: Actor, rel: SupplyRelationship, partner: PartnerSettings, text: str) -> Interchange:
    """A partner's 997 / CONTRL about one of our interchanges: logged, and the interchange it answers marked
    accepted or rejected."""
    from cogrow.edi.documents import FunctionalAckDoc

    syntax = syntax_of(partner)
    try:
        envelope, docs = syntax.parse(text, partner)
    except EdiError as exc:
        raise ValidationFailed(f"{exc.where()}: {exc.message}", fields={exc.element or exc.segment: exc.message},
                               segment=exc.segment, position=exc.position, element=exc.element) from None
    if received_before(partner, envelope.control_number) is not None:
        raise Conflict(_("Interchange %(number)s was already received: a duplicate interchange is refused.",
                         number=envelope.control_number))
    row = log_interchange(partner, "in", envelope, text, status="applied", documents=len(docs), actor=actor)
    for doc in docs:
        if not isinstance(doc, FunctionalAckDoc):
            continue
        number = doc.control_number.lstrip("0") or "0"
        target = db.session.scalar(select(Interchange).where(
            Interchange.partner_id == partner.id, Interchange.direction == "out",
            Interchange.control_number.in_([doc.control_number, number.zfill(9)])).limit(1))
        if target is not None:
            target.status = "accepted" if doc.accepted else "rejected"
            target.acknowledged_by_id = row.id
            row.reference = f"{target.message_type} {target.control_number}"[:64]
    audit.record(actor, "edi.received", row, detail={"message": envelope.message_type,
                                                      "control_number": envelope.control_number})
    note_inbound_number(partner, envelope.control_number)
    db.session.commit()
    return row
