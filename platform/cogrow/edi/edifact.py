"""EDIFACT D96A: DELFOR, ORDERS, ORDRSP and DESADV read into and written from the neutral documents, and CONTRL.

pydifact does the syntax: the UNA service string advice (custom separators), the release character, CR/LF
after segment terminators; this module strips a BOM and checks that the separators UNA (or the partner's
settings) declare are the ones the data uses. pydifact does no message-level checking, so the envelope
(UNB/UNZ control reference and message count, UNH/UNT reference and segment count, the sender and receiver
against the partner) and the segment rules are here. The codes of each message are the tables in
`edifact_tables`. Every problem is an `EdiError` naming the segment tag, its 1-based position in the
interchange (UNA counts when present) and the element ("DTM01.3": element 1, component 3).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from pydifact.control import Characters
from pydifact.exceptions import EDISyntaxError
from pydifact.parser import Parser
from pydifact.segments import Segment, SegmentFactory
from pydifact.serializer import Serializer

from cogrow.edi import registry
from cogrow.edi.documents import (
    AckDoc,
    AckedMessage,
    AsnDoc,
    AsnLine,
    AsnOrder,
    Authorization,
    Bucket,
    Doc,
    EdiError,
    Envelope,
    ForecastDoc,
    ForecastItem,
    FunctionalAckDoc,
    LineChange,
    OrderLine,
    PurchaseOrderDoc,
)
from cogrow.edi.edifact_tables import (
    CONTRL_ACCEPTED,
    CONTRL_ERROR_INVALID_VALUE,
    CONTRL_ERROR_UNSPECIFIED,
    CONTRL_RECEIVED,
    CONTRL_REJECTED,
    DATE_FORMATS,
    DELFOR,
    DESADV,
    ORDERS,
    ORDRSP,
    PERIOD_FORMATS,
    TABLES,
    MessageTable,
)
from cogrow.edi.periods import split_period

if TYPE_CHECKING:
    from cogrow.edi.models import PartnerSettings

VERSION = "D96A"
CONTRL = "CONTRL"
_FTX_PART = 70            # FTX 4440: five components of an..70
_SERVICE_TAGS = ("UNA", "UNB", "UNH", "UNT", "UNZ")


# ---------------------------------------------------------------- syntax: pydifact, wrapped


class _Factory(SegmentFactory):
    """Builds plain segments numbered by their position; pydifact's XML validation has no D96A directory and
    would only warn, so it is skipped."""

    def __init__(self) -> None:
        self.count = 0

    def create_segment(self, name, *elements, validate=True, version="", directory=""):
        self.count += 1
        if not name:
            raise EdiError(_("(empty)"), self.count, None, _("An empty segment: two terminators in a row."))
        if len(name) != 3 or not name.isalnum() or not name.isupper():
            raise EdiError(name[:3], self.count, None,
                           _("“%(tag)s” is not a segment tag: the separators the data uses are not the ones "
                             "declared.", tag=name[:12]))
        if not elements and name != "UNA":
            raise EdiError(name, self.count, None, _("The segment %(tag)s is empty.", tag=name))
        segment = Segment(name, *elements)
        segment.position = self.count
        return segment


def _characters(partner: PartnerSettings) -> Characters:
    return Characters(component_separator=partner.component_separator, data_separator=partner.element_separator,
                      decimal_point=".", escape_character=partner.release_character, reserved=" ",
                      segment_terminator=partner.segment_terminator)


def _segments(text: str, partner: PartnerSettings, head: int = 0) -> list[Segment]:
    """The interchange's segments, UNA included when present (only the first `head` after UNA, if given). A BOM
    and leading blank lines are dropped; CR/LF after a terminator is pydifact's. Checks the separators against
    the start of the data."""
    text = text.lstrip("\ufeff").lstrip(" \t\r\n")
    has_una = text.startswith("UNA")
    if has_una:
        if len(text) < 9:
            raise EdiError("UNA", 1, None, _("The interchange is truncated."))
        chars = Characters.from_str(text[:9])
        body, first = text[9:].lstrip("\r\n"), 2
        declared = ["UNA01", "UNA02", "UNA04", "UNA06"]
    else:
        chars = _characters(partner)
        body, first = text, 1
        declared = [None] * 4
    marks = [chars.component_separator, chars.data_separator, chars.escape_character, chars.segment_terminator]
    if len(set(marks)) != 4:
        raise EdiError("UNA" if has_una else "UNB", 1, declared[0],
                       _("The separators must be four different characters."))
    if not body.startswith("UNB"):
        raise EdiError(body[:3] or "UNB", first, None, _("An interchange starts with UNB."))
    if body[3:4] != chars.data_separator:
        raise EdiError("UNB", first, declared[1],
                       _("UNB is followed by “%(found)s”, but the data element separator is “%(declared)s”.",
                         found=body[3:4], declared=chars.data_separator))
    if chars.segment_terminator not in body:
        raise EdiError("UNB", first, declared[3],
                       _("The segment terminator “%(declared)s” does not occur: the interchange is truncated or "
                         "uses another terminator.", declared=chars.segment_terminator))
    if head:
        body = body[:_head_end(body, chars, head)]
    factory = _Factory()
    source = (text[:9] if has_una else chars.service_string_advice) + body
    end = body.rstrip(" \t\r\n")
    released = len(end[:-1]) - len(end[:-1].rstrip(chars.escape_character))
    truncated = not end.endswith(chars.segment_terminator) or released % 2 == 1
    shift = 0 if has_una else 1                       # a UNA we add is not a segment of the sender's
    out: list[Segment] = []
    try:
        for segment in Parser(factory=factory, characters=chars).parse(source):
            if shift:
                segment.position -= shift
                if segment.tag == "UNA":
                    continue
            out.append(segment)
    except EdiError as exc:
        exc.position -= shift
        raise
    except (EDISyntaxError, IndexError, ValueError) as exc:
        raise _truncated(end, chars, factory.count - shift) from exc
    if truncated:                              # pydifact drops a last segment that has no terminator
        raise _truncated(end, chars, len(out))
    return out


def _head_end(body: str, chars: Characters, count: int) -> int:
    """Where the first `count` segments of `body` end (after their unreleased terminators)."""
    at = 0
    while count:
        at = body.find(chars.segment_terminator, at)
        if at < 0:
            return len(body)
        released = len(body[:at]) - len(body[:at].rstrip(chars.escape_character))
        count -= released % 2 == 0
        at += 1
    return at


def _truncated(end: str, chars: Characters, complete: int) -> EdiError:
    """The error for an interchange that stops inside a segment, after `complete` whole segments."""
    tail = end.rsplit(chars.segment_terminator, 1)[-1].lstrip(" \r\n")
    return EdiError(tail[:3] or "UNZ", complete + 1, None,
                    _("The interchange is truncated or malformed after segment %(position)s.", position=complete))


def _serialize(segments: list[Segment], partner: PartnerSettings) -> str:
    return Serializer(_characters(partner)).serialize(segments, with_una_header=True)


# ---------------------------------------------------------------- element access and values


@lru_cache(maxsize=256)
def _split(name: str) -> tuple[int, int | None]:
    """"DTM01.3" -> (1, 3); "BGM02" -> (2, None)."""
    number, _sep, component = name[3:].partition(".")
    return int(number), int(component) if component else None


def _value(segment: Segment, name: str) -> str:
    """The element (or component) `name` of a segment, "" when absent."""
    index, component = _split(name)
    elements = segment.elements
    value = elements[index - 1] if len(elements) >= index else ""
    if isinstance(value, str):
        return value if component in (None, 1) else ""
    if component is None:
        return value[0] if value else ""
    return value[component - 1] if len(value) >= component else ""


class _Reader:
    """Reads values of one message, raising EdiErrors that name where."""

    def __init__(self, table: MessageTable | None, partner: PartnerSettings, reference: str, start: int = 0) -> None:
        self.table, self.partner, self.reference, self.start = table, partner, reference, start

    def fail(self, segment: Segment, element: str | None, message: str):
        error = EdiError(segment.tag, segment.position, element, message)
        # For CONTRL's message-level report: the message's reference and the segment's position in it (UNH = 1).
        error.message_reference = self.reference
        error.message_position = segment.position - self.start + 1 if self.start else None
        raise error

    def required(self, segment: Segment, name: str) -> str:
        value = _value(segment, name)
        if not value:
            self.fail(segment, name, _("%(element)s is missing.", element=name))
        return value

    def code(self, segment: Segment, name: str) -> str:
        """What the qualifier at `name` means in this message (unknown codes are refused)."""
        value = _value(segment, name)
        meaning = self.table.meaning(name, value)
        if meaning is None:
            self.fail(segment, name, _("%(element)s: the code “%(code)s” is not one Cogrow accepts here.",
                                       element=name, code=value))
        return meaning

    def number(self, segment: Segment, name: str) -> Decimal:
        raw = self.required(segment, name)
        try:
            value = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value < 0:
            self.fail(segment, name, _("%(element)s: “%(value)s” is not a quantity.", element=name, value=raw))
        return value

    def uom(self, segment: Segment, name: str) -> str:
        code = _value(segment, name)
        uom = self.partner.uom_from_edi(code) if code else None
        if uom is None:
            self.fail(segment, name, _("%(element)s: the unit “%(code)s” is not in the partner's code list.",
                                       element=name, code=code))
        return uom

    def period(self, segment: Segment) -> tuple[date, date]:
        """The DTM's date or period as inclusive (start, end): 102/203/204 a day, 616 an ISO week, 718 a range."""
        value, fmt = self.required(segment, "DTM01.2"), _value(segment, "DTM01.3")
        if fmt not in DATE_FORMATS and fmt not in PERIOD_FORMATS:
            self.fail(segment, "DTM01.3", _("DTM01.3: the date format “%(code)s” is not one Cogrow reads "
                                            "(102, 203, 204, 616, 718).", code=fmt))
        pattern, length = DATE_FORMATS.get(fmt) or PERIOD_FORMATS[fmt]
        try:
            if len(value) != length or not value.replace("-", "").isdigit():
                raise ValueError(value)
            if fmt == "616":
                start = date.fromisocalendar(int(value[:4]), int(value[4:]), 1)
                return start, start + timedelta(days=6)
            start, end = (datetime.strptime(part, pattern).date() for part in (value.split("-") * 2)[:2])
            if end < start:
                raise ValueError(value)
            return start, end
        except ValueError:
            self.fail(segment, "DTM01.2", _("DTM01.2: “%(value)s” is not a date in format %(code)s.",
                                            value=value, code=fmt))

    def date(self, segment: Segment) -> date:
        start, end = self.period(segment)
        if start != end:
            self.fail(segment, "DTM01.3", _("DTM01.3: a single date is expected here, not a period."))
        return start


def _dtm(day: date, qualifier: str) -> Segment:
    return Segment("DTM", [qualifier, day.strftime("%Y%m%d"), "102"])


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")


def _qty(qualifier: str, quantity: Decimal, uom: str | None) -> Segment:
    return Segment("QTY", [qualifier, _number(quantity)] + ([uom] if uom else []))


def _lin(line_no: int, part_number: str) -> Segment:
    return Segment("LIN", str(line_no), "", [part_number, "IN"])


def _part(reader: _Reader, segment: Segment) -> str:
    reader.code(segment, "LIN03.2")
    return reader.required(segment, "LIN03.1")


def _line_no(reader: _Reader, segment: Segment, name: str) -> int:
    raw = reader.required(segment, name)
    if not raw.isdigit():
        reader.fail(segment, name, _("%(element)s: “%(value)s” is not a line number.", element=name, value=raw))
    return int(raw)


def _missing(reader: _Reader, segment: Segment, what: str):
    reader.fail(segment, None, _("%(what)s is missing from the message.", what=what))


# ---------------------------------------------------------------- DELFOR <-> ForecastDoc


def _read_delfor(reader: _Reader, body: list[Segment], trailer: Segment) -> ForecastDoc:
    header: dict[str, date] = {}
    reference, position = "", 0
    items: list[dict] = []
    scc: str | None = None
    pending: tuple[Segment, str, Decimal] | None = None    # a QTY waiting for its DTM

    def close_pending() -> None:
        if pending is not None:
            reader.fail(pending[0], "DTM", _("The quantity has no DTM giving its date."))

    for seg in body:
        tag = seg.tag
        if tag == "BGM":
            reader.code(seg, "BGM01.1")
            reference, position = reader.required(seg, "BGM02"), seg.position
        elif tag == "LIN":
            close_pending()
            items.append({"part": _part(reader, seg), "uom": None, "buckets": [], "auths": [], "cum": None,
                          "cum_start": None, "position": seg.position})
            scc = None
        elif tag == "SCC":
            close_pending()
            if not items:
                reader.fail(seg, None, _("%(tag)s before any LIN.", tag=tag))
            scc = reader.code(seg, "SCC01")
        elif tag == "QTY":
            close_pending()
            if not items:
                reader.fail(seg, None, _("%(tag)s before any LIN.", tag=tag))
            item, kind = items[-1], reader.code(seg, "QTY01.1")
            quantity = reader.number(seg, "QTY01.2")
            if _value(seg, "QTY01.3"):
                uom = reader.uom(seg, "QTY01.3")
                if item["uom"] not in (None, uom):
                    reader.fail(seg, "QTY01.3", _("QTY01.3: the unit differs from the item's other quantities."))
                item["uom"] = uom
            if kind == "scheduled" and scc not in ("firm", "material", "planning"):
                reader.fail(seg, "QTY01.1", _("A scheduled quantity belongs under SCC 1, 3 or 4."))
            if kind == "cumulative" and scc not in ("fab", "material"):
                reader.fail(seg, "QTY01.1", _("An authorized cumulative quantity belongs under SCC 2 or 3."))
            pending = (seg, kind, quantity)
        elif tag == "DTM":
            what = reader.code(seg, "DTM01.1")
            if what in ("document", "horizon_start", "horizon_end"):
                header[what] = reader.date(seg)
                continue
            if pending is None:
                reader.fail(seg, "DTM01.1", _("This DTM belongs after a QTY."))
            qty_seg, kind, quantity = pending
            item = items[-1]
            if kind == "scheduled" and what == "period":
                start, end = reader.period(seg)
                item["buckets"] += [Bucket(week, part, scc, qty_seg.position)
                                    for week, part in split_period(start, end, quantity)]
            elif kind == "cumulative" and what == "cum_start":
                item["auths"].append(Authorization("FAB" if scc == "fab" else "RAW", reader.date(seg), quantity,
                                                   qty_seg.position))
            elif kind == "received_cum" and what == "cum_start":
                item["cum"], item["cum_start"] = quantity, reader.date(seg)
            else:
                reader.fail(seg, "DTM01.1", _("DTM01.1: this date qualifier does not fit the quantity before it."))
            pending = None
    close_pending()
    if not reference:
        _missing(reader, trailer, "BGM")
    for what in ("horizon_start", "horizon_end"):
        if what not in header:
            _missing(reader, trailer, "DTM+158" if what == "horizon_start" else "DTM+159")
    built = []
    for item in items:
        if item["uom"] is None:
            reader.fail(trailer, None, _("The item %(part)s has no quantity with a unit.", part=item["part"]))
        built.append(ForecastItem(item["part"], item["uom"], tuple(item["buckets"]), tuple(item["auths"]),
                                  item["cum"], item["cum_start"], item["position"]))
    return ForecastDoc(reference, header["horizon_start"], header["horizon_end"], tuple(built), position=position)


def _write_delfor(doc: ForecastDoc, envelope: Envelope, partner: PartnerSettings) -> list[Segment]:
    t = DELFOR
    out = [Segment("BGM", [t.document_code], doc.reference, "9"), _dtm(envelope.date, "137"),
           _dtm(doc.horizon_start, "158"), _dtm(doc.horizon_end, "159"), Segment("UNS", "D"),
           Segment("NAD", "SU", [envelope.receiver_id])]
    for line_no, item in enumerate(doc.items, start=1):
        uom = partner.uom_to_edi(item.uom)
        out.append(_lin(line_no, item.part_number))
        if item.shipped_cum is not None:
            out += [_qty(t.code_for("QTY01.1", "received_cum"), item.shipped_cum, uom),
                    _dtm(item.shipped_cum_start, "51")]
        for kind in ("FAB", "RAW"):
            auths = [a for a in item.authorizations if a.kind == kind]
            if auths:
                out.append(Segment("SCC", t.code_for("SCC01", "fab" if kind == "FAB" else "material")))
                for auth in auths:
                    out += [_qty(t.code_for("QTY01.1", "cumulative"), auth.quantity, uom),
                            _dtm(auth.cum_start, "51")]
        zone = None
        for bucket in item.buckets:
            if bucket.zone != zone:
                zone = bucket.zone
                out.append(Segment("SCC", t.code_for("SCC01", zone)))
            year, week, _day = bucket.week_start.isocalendar()
            out += [_qty(t.code_for("QTY01.1", "scheduled"), bucket.quantity, uom),
                    Segment("DTM", ["2", f"{year:04d}{week:02d}", "616"])]
    return out


# ---------------------------------------------------------------- ORDERS <-> PurchaseOrderDoc


def _count_check(reader: _Reader, seg: Segment, expected: int) -> None:
    reader.code(seg, "CNT01.1")
    if reader.number(seg, "CNT01.2") != expected:
        reader.fail(seg, "CNT01.2", _("CNT01.2 says %(said)s lines, the message has %(counted)s.",
                                      said=_value(seg, "CNT01.2"), counted=expected))


def _read_orders(reader: _Reader, body: list[Segment], trailer: Segment) -> PurchaseOrderDoc:
    number, position, order_date, currency = "", 0, None, "KRW"
    lines: list[dict] = []
    for seg in body:
        tag = seg.tag
        if tag == "BGM":
            reader.code(seg, "BGM01.1")
            number, position = reader.required(seg, "BGM02"), seg.position
        elif tag == "DTM":
            what = reader.code(seg, "DTM01.1")
            if what == "document":
                order_date = reader.date(seg)
            elif not lines:
                reader.fail(seg, "DTM01.1", _("A due date belongs after a LIN."))
            else:
                lines[-1]["due"] = reader.date(seg)
        elif tag == "CUX":
            reader.code(seg, "CUX01.1")
            code = reader.required(seg, "CUX01.2")
            if lines:
                lines[-1]["currency"] = code
            else:
                currency = code
        elif tag == "LIN":
            lines.append({"no": _line_no(reader, seg, "LIN01"), "part": _part(reader, seg), "position": seg.position,
                          "seg": seg})
        elif tag in ("QTY", "PRI"):
            if not lines:
                reader.fail(seg, None, _("%(tag)s before any LIN.", tag=tag))
            reader.code(seg, f"{tag}01.1")
            if tag == "QTY":
                lines[-1]["qty"] = reader.number(seg, "QTY01.2")
                lines[-1]["uom"] = reader.uom(seg, "QTY01.3")
            else:
                lines[-1]["price"] = reader.number(seg, "PRI01.2")
        elif tag == "CNT":
            _count_check(reader, seg, len(lines))
    if not number:
        _missing(reader, trailer, "BGM")
    if order_date is None:
        _missing(reader, trailer, "DTM+137")
    built = []
    for line in lines:
        for key, what in (("qty", "QTY+21"), ("due", "DTM+2"), ("price", "PRI")):
            if key not in line:
                reader.fail(line["seg"], None, _("The line has no %(what)s.", what=what))
        built.append(OrderLine(line["no"], line["part"], line["qty"], line["uom"], line["due"], line["price"],
                               line.get("currency", currency), line["position"]))
    return PurchaseOrderDoc(number, order_date, tuple(built), currency, position)


def _write_orders(doc: PurchaseOrderDoc, envelope: Envelope, partner: PartnerSettings) -> list[Segment]:
    out = [Segment("BGM", [ORDERS.document_code], doc.number, "9"), _dtm(doc.order_date, "137"),
           Segment("CUX", ["2", doc.currency, "9"])]
    for line in doc.lines:
        out += [_lin(line.line_no, line.part_number), _qty("21", line.quantity, partner.uom_to_edi(line.uom)),
                _dtm(line.due_date, "2"), Segment("PRI", ["AAA", _number(line.unit_price)])]
        if line.currency != doc.currency:
            out.append(Segment("CUX", ["2", line.currency, "9"]))
    return out + [Segment("UNS", "S"), Segment("CNT", ["2", str(len(doc.lines))])]


# ---------------------------------------------------------------- ORDRSP <-> AckDoc


def _read_ordrsp(reader: _Reader, body: list[Segment], trailer: Segment) -> AckDoc:
    action, po_number, position, reason = "", "", 0, ""
    changes: list[dict] = []
    for seg in body:
        tag = seg.tag
        if tag == "BGM":
            reader.code(seg, "BGM01.1")
            action, position = reader.code(seg, "BGM03"), seg.position
        elif tag == "RFF":
            reader.code(seg, "RFF01.1")
            po_number = reader.required(seg, "RFF01.2")
        elif tag == "FTX":
            reader.code(seg, "FTX01")
            reason = "".join(_value(seg, f"FTX04.{part}") for part in range(1, 6))
        elif tag == "LIN":
            kind = reader.code(seg, "LIN02")
            changes.append({"no": _line_no(reader, seg, "LIN01"), "change": kind == "change",
                            "position": seg.position})
        elif tag in ("QTY", "DTM"):
            what = reader.code(seg, f"{tag}01.1")
            if what == "document":
                continue
            if not changes:
                reader.fail(seg, None, _("%(tag)s before any LIN.", tag=tag))
            if tag == "QTY":
                changes[-1]["quantity"] = reader.number(seg, "QTY01.2")
            else:
                changes[-1]["due"] = reader.date(seg)
    if not action:
        _missing(reader, trailer, "BGM")
    if not po_number:
        _missing(reader, trailer, "RFF+ON")
    built = tuple(LineChange(c["no"], c.get("quantity"), c.get("due"), c["position"]) for c in changes
                  if c["change"])
    return AckDoc(po_number, action, built, reason, position)


def _write_ordrsp(doc: AckDoc, envelope: Envelope, partner: PartnerSettings) -> list[Segment]:
    out = [Segment("BGM", [ORDRSP.document_code], doc.po_number, ORDRSP.code_for("BGM03", doc.action)),
           _dtm(envelope.date, "137"), Segment("RFF", ["ON", doc.po_number])]
    if doc.reason:
        parts = [doc.reason[i:i + _FTX_PART] for i in range(0, min(len(doc.reason), 5 * _FTX_PART), _FTX_PART)]
        out.append(Segment("FTX", "AAI", "", "", parts))
    for change in doc.changes:
        out.append(Segment("LIN", str(change.line_no), ORDRSP.code_for("LIN02", "change")))
        if change.quantity is not None:
            out.append(_qty("21", change.quantity, None))
        if change.due_date is not None:
            out.append(_dtm(change.due_date, "2"))
    return out


# ---------------------------------------------------------------- DESADV <-> AsnDoc (CPS: shipment > order > item)


def _read_desadv(reader: _Reader, body: list[Segment], trailer: Segment) -> AsnDoc:
    shipment_id, position, dates = "", 0, {}
    levels: dict[str, str | None] = {}         # CPS id -> parent id
    orders: list[dict] = []                    # one per order-level CPS
    line: dict | None = None
    count = 0

    def close_line() -> None:
        if line is None:
            return
        for key, what in (("qty", "QTY+12"), ("po", "RFF+ON")):
            if key not in line:
                reader.fail(line["seg"], None, _("The line has no %(what)s.", what=what))
        order = orders[-1]
        if order["po"] is None:
            order["po"] = line["po"]
        elif order["po"] != line["po"]:
            reader.fail(line["rff"], "RFF01.2", _("RFF01.2: the lines of one CPS must name the same order."))
        order["lines"].append(AsnLine(line["po_line"], line["part"], line["qty"], line["uom"], line["position"]))

    for seg in body:
        tag = seg.tag
        if tag == "BGM":
            reader.code(seg, "BGM01.1")
            shipment_id, position = reader.required(seg, "BGM02"), seg.position
        elif tag == "DTM" and line is None and not levels:
            dates[reader.code(seg, "DTM01.1")] = reader.date(seg)
        elif tag == "CPS":
            close_line()
            line = None
            number, parent = reader.required(seg, "CPS01"), _value(seg, "CPS02") or None
            if number in levels:
                reader.fail(seg, "CPS01", _("CPS01: the hierarchical id %(id)s is used twice.", id=number))
            if not levels and parent is not None:
                reader.fail(seg, "CPS02", _("CPS02: the first CPS is the shipment and has no parent."))
            if levels and parent not in levels:
                reader.fail(seg, "CPS02", _("CPS02: the parent %(id)s is not an earlier CPS.", id=parent or ""))
            if levels and levels[parent] is not None:
                reader.fail(seg, "CPS02", _("CPS02: an order-level CPS hangs from the shipment."))
            levels[number] = parent
            if parent is not None:
                orders.append({"po": None, "lines": [], "position": seg.position, "seg": seg})
        elif tag == "LIN":
            close_line()
            if not orders:
                reader.fail(seg, None, _("A LIN belongs under an order-level CPS."))
            line = {"part": _part(reader, seg), "position": seg.position, "seg": seg}
            count += 1
        elif tag in ("QTY", "RFF", "DTM"):
            if line is None:
                reader.fail(seg, None, _("%(tag)s before any LIN.", tag=tag))
            reader.code(seg, f"{tag}01.1")
            if tag == "QTY":
                line["qty"], line["uom"] = reader.number(seg, "QTY01.2"), reader.uom(seg, "QTY01.3")
            elif tag == "RFF":
                line["po"], line["rff"] = reader.required(seg, "RFF01.2"), seg
                line["po_line"] = _line_no(reader, seg, "RFF01.3")
        elif tag == "CNT":
            close_line()
            line = None
            _count_check(reader, seg, count)
    close_line()
    if not shipment_id:
        _missing(reader, trailer, "BGM")
    if not orders:
        _missing(reader, trailer, "CPS")
    if "ship" not in dates:
        _missing(reader, trailer, "DTM+11")
    for order in orders:
        if not order["lines"]:
            reader.fail(order["seg"], None, _("The order-level CPS has no lines."))
    return AsnDoc(shipment_id, dates["ship"],
                  tuple(AsnOrder(o["po"], tuple(o["lines"]), o["position"]) for o in orders),
                  dates.get("expected"), position)


def _write_desadv(doc: AsnDoc, envelope: Envelope, partner: PartnerSettings) -> list[Segment]:
    out = [Segment("BGM", [DESADV.document_code], doc.shipment_id, "9"), _dtm(envelope.date, "137"),
           _dtm(doc.ship_date, "11")]
    if doc.expected_date is not None:
        out.append(_dtm(doc.expected_date, "132"))
    out.append(Segment("CPS", "1"))
    count = 0
    for number, order in enumerate(doc.orders, start=2):
        out.append(Segment("CPS", str(number), "1"))
        for line in order.lines:
            count += 1
            out += [_lin(count, line.part_number), _qty("12", line.quantity, partner.uom_to_edi(line.uom)),
                    Segment("RFF", ["ON", order.po_number, str(line.line_no)])]
    return out + [Segment("CNT", ["2", str(count)])]


# ---------------------------------------------------------------- CONTRL -> FunctionalAckDoc (written by functional_ack)


def _read_contrl(reader: _Reader, body: list[Segment], trailer: Segment) -> FunctionalAckDoc:
    """UCI (the interchange: 7 accepted, 4 rejected, 8 received), UCM per message, UCS/UCD per error."""
    uci, messages, errors = None, [], []
    for seg in body:
        if seg.tag == "UCI":
            if uci is not None:
                reader.fail(seg, None, _("A CONTRL answers one interchange: one UCI."))
            uci = seg
            if _value(seg, "UCI04") not in (CONTRL_ACCEPTED, CONTRL_REJECTED, CONTRL_RECEIVED):
                reader.fail(seg, "UCI04", _("UCI04: the action code “%(code)s” is not 4, 7 or 8.",
                                            code=_value(seg, "UCI04")))
            if _value(seg, "UCI05"):
                errors.append(f"{_value(seg, 'UCI06') or 'UCI'}: {_value(seg, 'UCI05')}")
        elif seg.tag == "UCM":
            messages.append(AckedMessage(reader.required(seg, "UCM01"), _value(seg, "UCM03") != CONTRL_REJECTED,
                                         _value(seg, "UCM02.1")))
        elif seg.tag == "UCS":
            errors.append(f"#{int(reader.number(seg, 'UCS01'))}: {_value(seg, 'UCS02')}")
        elif seg.tag == "UCD" and errors:
            element = _value(seg, "UCD02.1") + (f".{_value(seg, 'UCD02.2')}" if _value(seg, "UCD02.2") else "")
            where, code = errors[-1].split(": ", 1)
            errors[-1] = f"{where} {element}: {code}"
    if uci is None:
        _missing(reader, trailer, "UCI")
    return FunctionalAckDoc(reader.required(uci, "UCI01"), _value(uci, "UCI04") != CONTRL_REJECTED,
                            tuple(messages), tuple(errors), uci.position)


READERS = {"DELFOR": _read_delfor, "ORDERS": _read_orders, "ORDRSP": _read_ordrsp, "DESADV": _read_desadv}
WRITERS = {ForecastDoc: _write_delfor, PurchaseOrderDoc: _write_orders, AckDoc: _write_ordrsp,
           AsnDoc: _write_desadv}
TABLE_OF = {ForecastDoc: DELFOR, PurchaseOrderDoc: ORDERS, AckDoc: ORDRSP, AsnDoc: DESADV}


# ---------------------------------------------------------------- the envelope


def _unb_date(reader: _Reader, segment: Segment) -> tuple[date, time]:
    raw_date, raw_time = _value(segment, "UNB04.1"), _value(segment, "UNB04.2")
    try:
        day = datetime.strptime(raw_date, "%y%m%d" if len(raw_date) == 6 else "%Y%m%d").date()
        moment = datetime.strptime(raw_time, "%H%M").time()
    except ValueError:
        reader.fail(segment, "UNB04", _("UNB04: “%(value)s” is not a date and time (YYMMDD:HHMM).",
                                        value=f"{raw_date}:{raw_time}"))
    return day, moment


def _sides(partner: PartnerSettings) -> dict[str, tuple[str, str]]:
    return {side: partner.side(side)[:2][::-1] for side in ("prime", "supplier")}   # side -> (id, qualifier)


def _unb(unb: Segment, partner: PartnerSettings) -> tuple[Envelope, str]:
    """The envelope UNB gives (message_type still empty) and the sending side, checked against the partner."""
    reader = _Reader(None, partner, "")
    syntax = _value(unb, "UNB01.1")
    if not (len(syntax) == 4 and syntax.startswith("UNO") and _value(unb, "UNB01.2").isdigit()):
        reader.fail(unb, "UNB01", _("UNB01: “%(value)s” is not a syntax identifier such as UNOC:3 (or the "
                                    "component separator is not the declared one).", value=syntax))
    sender = (reader.required(unb, "UNB02.1"), _value(unb, "UNB02.2"))
    receiver = (reader.required(unb, "UNB03.1"), _value(unb, "UNB03.2"))
    sides = _sides(partner)
    if (sender, receiver) == (sides["prime"], sides["supplier"]):
        side = "prime"
    elif (sender, receiver) == (sides["supplier"], sides["prime"]):
        side = "supplier"
    else:
        bad = "UNB02" if sender not in sides.values() else "UNB03"
        reader.fail(unb, bad, _("%(element)s: the sender and receiver (%(sender)s, %(receiver)s) are not this "
                                "partner's identifiers and qualifiers.", element=bad,
                                sender=":".join(sender), receiver=":".join(receiver)))
    day, moment = _unb_date(reader, unb)
    control = reader.required(unb, "UNB05")
    if len(control) > 14:
        reader.fail(unb, "UNB05", _("UNB05: the control reference is longer than 14 characters."))
    return Envelope(sender[0], sender[1], receiver[0], receiver[1], control, day, moment, "edifact", VERSION,
                    test=_value(unb, "UNB11") == "1"), side


def _envelope(segments: list[Segment], partner: PartnerSettings) -> tuple[Envelope, str, list[list[Segment]]]:
    """Checks UNB/UNZ and splits the messages (each UNH..UNT); returns the envelope, the sending side and them."""
    reader = _Reader(None, partner, "")
    at = 1 if segments[0].tag == "UNA" else 0
    envelope, side = _unb(segments[at], partner)
    control = envelope.control_number
    messages: list[list[Segment]] = []
    current: list[Segment] | None = None
    unz = None
    for seg in segments[at + 1:]:
        if unz is not None:
            reader.fail(seg, None, _("Nothing may follow UNZ."))
        tag = seg.tag
        if tag == "UNH":
            if current is not None:
                reader.fail(seg, None, _("A message starts before the previous one ended with UNT."))
            current = [seg]
        elif tag == "UNT":
            if current is None:
                reader.fail(seg, None, _("UNT without UNH."))
            current.append(seg)
            messages.append(current)
            current = None
        elif tag == "UNZ":
            if current is not None:
                reader.fail(seg, None, _("The interchange ends before the message's UNT."))
            unz = seg
        elif tag in ("UNB", "UNA", "UNG", "UNE"):
            reader.fail(seg, None, _("%(tag)s is not accepted here (one interchange, no functional groups).",
                                     tag=tag))
        elif current is None:
            reader.fail(seg, None, _("A segment outside any message (UNH..UNT)."))
        else:
            current.append(seg)
    if unz is None:
        last = segments[-1]
        raise EdiError("UNZ", last.position + 1, None, _("The interchange is truncated: UNZ is missing."))
    if reader.number(unz, "UNZ01") != len(messages):
        reader.fail(unz, "UNZ01", _("UNZ01 says %(said)s messages, the interchange has %(counted)s.",
                                    said=_value(unz, "UNZ01"), counted=len(messages)))
    if _value(unz, "UNZ02") != control:
        reader.fail(unz, "UNZ02", _("UNZ02 “%(found)s” does not match the control reference “%(control)s” of UNB.",
                                    found=_value(unz, "UNZ02"), control=control))
    if not messages:
        reader.fail(unz, "UNZ01", _("The interchange holds no message."))
    return dataclasses.replace(envelope, message_type=_value(messages[0][0], "UNH02.1")), side, messages


def _message(segments: list[Segment], side: str, partner: PartnerSettings) -> Doc:
    """One UNH..UNT message read through its table."""
    unh, unt, body = segments[0], segments[-1], segments[1:-1]
    reference = _Reader(None, partner, "").required(unh, "UNH01")
    reader = _Reader(None, partner, reference, unh.position)
    kind = _value(unh, "UNH02.1")
    if kind != CONTRL and kind not in TABLES:
        reader.fail(unh, "UNH02.1", _("UNH02.1: Cogrow reads DELFOR, ORDERS, ORDRSP, DESADV and CONTRL, not "
                                      "“%(code)s”.", code=kind))
    version = f"{_value(unh, 'UNH02.2')}{_value(unh, 'UNH02.3')}"
    if kind != CONTRL and (version != VERSION or _value(unh, "UNH02.4") != "UN"):
        reader.fail(unh, "UNH02.3", _("UNH02: the message version is %(found)s, the partner's is %(version)s.",
                                      found=version, version=VERSION))
    if _value(unt, "UNT02") != reference:
        reader.fail(unt, "UNT02", _("UNT02 “%(found)s” does not match the message reference “%(ref)s” of UNH.",
                                    found=_value(unt, "UNT02"), ref=reference))
    if reader.number(unt, "UNT01") != len(segments):
        reader.fail(unt, "UNT01", _("UNT01 says %(said)s segments, the message has %(counted)s.",
                                    said=_value(unt, "UNT01"), counted=len(segments)))
    if kind == CONTRL:
        return _read_contrl(reader, body, unt)
    table = TABLES[kind]
    if table.sender != side:
        reader.fail(unh, "UNH02.1", _("UNH02.1: %(code)s comes from the other side of the relationship.",
                                      code=kind))
    reader.table = table
    return READERS[kind](reader, body, unt)


# ---------------------------------------------------------------- the registry's four functions


def detect(text: str) -> bool:
    head = text[:4096].lstrip("\ufeff").lstrip(" \t\r\n")
    return head.startswith(("UNA", "UNB"))


def peek(text: str, partner: PartnerSettings) -> Envelope:
    """The envelope from UNB and the first UNH only (the rest of the text is not tokenized)."""
    segments = [seg for seg in _segments(text, partner, head=2) if seg.tag != "UNA"]
    envelope, _side = _unb(segments[0], partner)
    kind = _value(segments[1], "UNH02.1") if len(segments) > 1 and segments[1].tag == "UNH" else ""
    return dataclasses.replace(envelope, message_type=kind)


def parse(text: str, partner: PartnerSettings) -> tuple[Envelope, list[Doc]]:
    """Reads a whole interchange into its documents (a CONTRL into a FunctionalAckDoc); the first problem raises
    EdiError."""
    envelope, side, messages = _envelope(_segments(text, partner), partner)
    return envelope, [_message(m, side, partner) for m in messages]


def _interchange(envelope: Envelope, partner: PartnerSettings, messages: list[tuple[str, list[Segment]]]) -> str:
    """UNB, each message inside UNH/UNT (numbered 1.. within the interchange), UNZ."""
    out = [Segment("UNB", ["UNOC", "3"], [envelope.sender_id, envelope.sender_qualifier],
                   [envelope.receiver_id, envelope.receiver_qualifier],
                   [envelope.date.strftime("%y%m%d"), envelope.time.strftime("%H%M")], envelope.control_number,
                   *(["", "", "", "", "", "1"] if envelope.test else []))]
    for number, (identifier, body) in enumerate(messages, start=1):
        reference = str(number)
        out.append(Segment("UNH", reference, identifier.split(":")))
        out += body
        out.append(Segment("UNT", str(len(body) + 2), reference))
    out.append(Segment("UNZ", str(len(messages)), envelope.control_number))
    return _serialize(out, partner)


def write(docs: Sequence[Doc], envelope: Envelope, partner: PartnerSettings) -> str:
    """One interchange holding `docs` (DELFOR/ORDERS from the prime, ORDRSP/DESADV from the supplier)."""
    messages = []
    for doc in docs:
        if isinstance(doc, ForecastDoc) and doc.firm_only:
            raise ValueError("EDIFACT carries no shipping schedule (DELJIT is not written): use a DELFOR")
        table = TABLE_OF[type(doc)]
        messages.append((f"{table.message}:D:96A:UN", WRITERS[type(doc)](doc, envelope, partner)))
    return _interchange(envelope, partner, messages)


def functional_ack(received: Envelope, accepted: bool, errors: Sequence[EdiError], envelope: Envelope,
                   partner: PartnerSettings) -> str:
    """CONTRL for the interchange `received`: UCI with 7 (accepted) or 4 (rejected); each error inside a
    message is a UCM (the message's reference, 4) with UCS (the segment's position) and UCD (the element);
    an error of the envelope is the UCI's error code and service segment tag."""
    message_errors = [e for e in errors if getattr(e, "message_reference", "")]
    envelope_errors = [e for e in errors if not getattr(e, "message_reference", "")]
    uci = Segment("UCI", received.control_number, [received.sender_id, received.sender_qualifier],
                  [received.receiver_id, received.receiver_qualifier],
                  CONTRL_ACCEPTED if accepted else CONTRL_REJECTED)
    if not accepted and envelope_errors:
        uci.elements.append(CONTRL_ERROR_UNSPECIFIED)
        if envelope_errors[0].segment in _SERVICE_TAGS:
            uci.elements.append(envelope_errors[0].segment)
    body = [uci]
    for error in message_errors:
        body.append(Segment("UCM", error.message_reference, [received.message_type, "D", "96A", "UN"],
                            CONTRL_REJECTED))
        position = getattr(error, "message_position", None) or error.position
        body.append(Segment("UCS", str(position), CONTRL_ERROR_INVALID_VALUE if error.element
                            else CONTRL_ERROR_UNSPECIFIED))
        if error.element and error.element[3:4].isdigit():
            index, component = _split(error.element)
            body.append(Segment("UCD", CONTRL_ERROR_INVALID_VALUE, [str(index)] + ([str(component)] if component
                                                                                    else [])))
    return _interchange(envelope, partner, [("CONTRL:D:3:UN", body)])


def outline(text: str, partner: PartnerSettings) -> list[tuple[int, str, str]]:
    """(position, tag, UNH01 of a UNH segment else "") of each segment."""
    return [(segment.position, segment.tag, str(segment.elements[0]) if segment.tag == "UNH" and segment.elements
             else "") for segment in _segments(text, partner) if getattr(segment, "position", None)]


registry.register(registry.Syntax(
    name="edifact", parse=parse, write=write, functional_ack=functional_ack, detect=detect, peek=peek,
    messages={**{table.family: table.message for table in TABLES.values()}, "functional_ack": CONTRL},
    versions=(VERSION,), outline=outline))
