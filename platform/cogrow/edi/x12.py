"""X12 004010: a small tokenizer, the envelope checks, and one declarative table per transaction set.

Why not pyx12: it is a HIPAA validator whose maps cover 830 and 997 but not 850/855/856/862, and it has no
writer for building transactions; the subset Cogrow speaks is small enough to read and write from tables.

Each transaction set has a table of segment specs {tag: (El, ...)}: an element's position, the field it
fills, its type, whether it is required and its allowed codes. `read` checks a segment against the table
and gives a dict; `segment` builds a segment from a dict with the same table, so reading and writing
cannot disagree about where an element goes. The loop structure (LIN loops, HL levels) is small code per
set on top of the tables.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _

from cogrow.edi import registry
from cogrow.edi.documents import (AckDoc, AckedMessage, AsnDoc, AsnLine, AsnOrder, Authorization, Bucket, Doc,
                                  EdiError, Envelope, ForecastDoc, ForecastItem, FunctionalAckDoc, LineChange,
                                  OrderLine, PurchaseOrderDoc)
from cogrow.core.weeks import week_start
from cogrow.edi.periods import month_of, split_period

if TYPE_CHECKING:
    from cogrow.edi.models import PartnerSettings

ISA_LENGTH = 106
# ISA05/ISA07 interchange ID qualifiers (X12.5): DUNS, DUNS+4, phone, UCC EDI, SCAC, X.121, mutually defined, ...
QUALIFIERS = ("01", "02", "03", "04", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
              "27", "28", "29", "30", "31", "32", "33", "34", "NR", "ZZ")
FUNCTIONAL_IDS = {"830": "PS", "862": "SS", "850": "PO", "855": "PR", "856": "SH", "997": "FA"}
MESSAGES = {"forecast": "830", "shipping_schedule": "862", "order": "850", "ack": "855", "asn": "856",
            "functional_ack": "997"}
# Segments a partner may send that carry nothing Cogrow keeps (names, addresses, notes, carrier details).
IGNORED = frozenset(("N1", "N2", "N3", "N4", "REF", "PER", "PID", "MEA", "NTE", "TD1", "TD3", "TD4", "TD5", "FOB",
                     "ITD", "SDP", "PKG", "PRS", "QTY", "TDS", "SAC", "MAN", "PO4", "MSG", "AMT", "TAX"))


@dataclass(frozen=True)
class El:
    index: int                       # 1-based element position (BFR06 -> 6)
    name: str
    type: str = "an"                 # an (text), id (code), r (decimal), n (integer), dt (CCYYMMDD), tm (HHMM)
    required: bool = True
    codes: tuple[str, ...] = ()


Spec = dict[str, tuple[El, ...]]

T830: Spec = {
    "BFR": (El(1, "purpose", "id", codes=("00", "05")), El(2, "reference"),
            El(4, "schedule_type", "id", codes=("DL", "SH")), El(5, "quantity_type", "id", codes=("A", "C")),
            El(6, "horizon_start", "dt"), El(7, "horizon_end", "dt"), El(8, "issued", "dt")),
    "LIN": (El(1, "line", required=False), El(2, "qualifier", "id", codes=("BP",)), El(3, "part_number")),
    "UIT": (El(1, "uom"),),
    "FST": (El(1, "quantity", "r"), El(2, "qualifier", "id", codes=("C", "D")),
            El(3, "timing", "id", codes=("D", "W", "F", "M")), El(4, "start", "dt"), El(5, "end", "dt", False)),
    "ATH": (El(1, "kind", "id", codes=("FI", "MT")), El(2, "through", "dt", False), El(3, "quantity", "r"),
            El(5, "cum_start", "dt")),
    "SHP": (El(1, "qualifier", "id", codes=("01", "02")), El(2, "quantity", "r"),
            El(3, "date_qualifier", "id", codes=("011", "050", "051")), El(4, "date", "dt"),
            El(6, "end", "dt", False)),
    "CTT": (El(1, "count", "n"),),
}
T862: Spec = {
    "BSS": (El(1, "purpose", "id", codes=("00", "05")), El(2, "reference"), El(3, "issued", "dt"),
            El(4, "schedule_type", "id", codes=("DL", "SH")), El(5, "horizon_start", "dt"),
            El(6, "horizon_end", "dt")),
    "LIN": T830["LIN"],
    "UIT": T830["UIT"],
    "FST": (El(1, "quantity", "r"), El(2, "qualifier", "id", codes=("C",)),
            El(3, "timing", "id", codes=("D", "W", "F")), El(4, "start", "dt"), El(5, "end", "dt", False)),
    "CTT": T830["CTT"],
}
T850: Spec = {
    "BEG": (El(1, "purpose", "id", codes=("00",)), El(2, "type", "id", codes=("SA", "NE", "KN", "RL", "BK")),
            El(3, "number"), El(5, "date", "dt")),
    "CUR": (El(1, "entity", "id", codes=("BY", "SE")), El(2, "currency")),
    "PO1": (El(1, "line_no", "n"), El(2, "quantity", "r"), El(3, "uom"), El(4, "unit_price", "r"),
            El(6, "qualifier", "id", codes=("BP",)), El(7, "part_number")),
    "DTM": (El(1, "qualifier", "id", codes=("002",)), El(2, "date", "dt")),
    "CTT": T830["CTT"],
}
T855: Spec = {
    "BAK": (El(1, "purpose", "id", codes=("00",)), El(2, "type", "id", codes=("AC", "AD", "AK", "RD", "RJ")),
            El(3, "po_number"), El(4, "date", "dt")),
    "NTE": (El(1, "code", required=False), El(2, "text")),
    "PO1": (El(1, "line_no", "n"), El(2, "quantity", "r", False), El(3, "uom", required=False),
            El(6, "qualifier", "id", False, ("BP",)), El(7, "part_number", required=False)),
    "ACK": (El(1, "status", "id", codes=("IA", "IR", "IC", "DR", "IQ")), El(2, "quantity", "r", False),
            El(3, "uom", required=False), El(4, "date_qualifier", "id", False, ("067", "068", "002")),
            El(5, "date", "dt", False)),
    "CTT": T830["CTT"],
}
T856: Spec = {
    "BSN": (El(1, "purpose", "id", codes=("00",)), El(2, "shipment_id"), El(3, "date", "dt"),
            El(4, "time", "tm", False), El(5, "structure", "id", False, ("0001", "0002", "0004"))),
    "HL": (El(1, "id", "n"), El(2, "parent", "n", False), El(3, "level", "id", codes=("S", "O", "I", "P", "T"))),
    "DTM": (El(1, "qualifier", "id", codes=("011", "017", "067")), El(2, "date", "dt")),
    "PRF": (El(1, "po_number"),),
    "LIN": (El(1, "line_no", "n"), El(2, "qualifier", "id", codes=("BP",)), El(3, "part_number")),
    "SN1": (El(1, "assigned", required=False), El(2, "quantity", "r"), El(3, "uom")),
    "CTT": T830["CTT"],
}
T997: Spec = {
    "AK1": (El(1, "functional_id", "id", codes=tuple(FUNCTIONAL_IDS.values())), El(2, "group_control")),
    "AK2": (El(1, "set_id", "id", codes=tuple(FUNCTIONAL_IDS)), El(2, "set_control")),
    "AK3": (El(1, "segment"), El(2, "position", "n"), El(3, "loop", required=False),
            El(4, "code", required=False)),
    "AK4": (El(1, "element"), El(2, "reference", required=False), El(3, "code"), El(4, "data", required=False)),
    "AK5": (El(1, "status", "id", codes=("A", "E", "R")),),
    "AK9": (El(1, "status", "id", codes=("A", "E", "P", "R")), El(2, "included", "n"), El(3, "received", "n"),
            El(4, "accepted", "n")),
}
TABLES: dict[str, Spec] = {"830": T830, "862": T862, "850": T850, "855": T855, "856": T856, "997": T997}


# ---------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class Seg:
    tag: str
    elements: list[str]              # elements[0] is the tag, elements[i] is element i
    position: int                    # 1-based, in the interchange

    def get(self, index: int) -> str:
        return self.elements[index] if index < len(self.elements) else ""


@dataclass(frozen=True)
class Separators:
    element: str
    component: str
    segment: str
    repetition: str = "U"


def _err(seg: Seg | None, element: int | None, message: str, tag: str | None = None) -> EdiError:
    tag = tag or (seg.tag if seg else "ISA") or _("(empty)")  # an empty segment (two terminators in a row)
    return EdiError(tag, seg.position if seg else 1, f"{tag}{element:02d}" if element else None, message)


def detect(text: str) -> bool:
    return text.lstrip("\ufeff \t\r\n").startswith("ISA")


def tokenize(text: str) -> tuple[Separators, list[Seg]]:
    """Segments from an interchange: separators read from the fixed-width ISA; a BOM, leading blanks and CR/LF
    or LF after each segment are tolerated."""
    text = text.lstrip("\ufeff \t\r\n")
    if not text.startswith("ISA"):
        raise EdiError("ISA", 1, None, _("An X12 interchange starts with an ISA segment."))
    if len(text) < ISA_LENGTH:
        raise EdiError("ISA", 1, None, _("The ISA segment is cut short: an interchange of %(n)s characters.",
                                         n=len(text)))
    element, component, terminator = text[3], text[104], text[105]
    if element.isalnum() or element.isspace() or text[:105].count(element) != 16 \
            or component.isalnum() or component == element or terminator.isalnum() or terminator == element:
        raise EdiError("ISA", 1, "ISA16", _("The ISA segment is not 106 characters with 16 elements: the "
                                            "element separator (4th character), the component separator "
                                            "(ISA16) or the segment terminator (after ISA16) is wrong."))
    seps = Separators(element, component, terminator, text[82])
    segments: list[Seg] = []
    for raw in text.split(terminator):
        raw = raw.strip("\r\n") if terminator not in "\r\n" else raw.strip("\r")
        if not raw.strip():
            continue
        parts = raw.split(element)
        segments.append(Seg(parts[0], parts, len(segments) + 1))
    return seps, segments


@functools.lru_cache(maxsize=4096)
def _date(text: str) -> date:
    """CCYYMMDD (an interchange repeats a few dozen dates many thousand times)."""
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        raise ValueError(text)
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def _value(seg: Seg, el: El) -> Any:
    raw = seg.get(el.index).split("\x00")[0]
    text = raw.strip()
    if not text:
        if el.required:
            raise _err(seg, el.index, _("%(element)s is required.", element=f"{seg.tag}{el.index:02d}"))
        return None
    try:
        if el.type == "id":
            if el.codes and text not in el.codes:
                raise _err(seg, el.index, _("%(element)s: '%(code)s' is not a known code here (expected %(codes)s).",
                                            element=f"{seg.tag}{el.index:02d}", code=text[:20],
                                            codes=", ".join(el.codes)))
            return text
        if el.type == "r":  # X12 R: digits, an optional sign and decimal point; no exponent
            if len(text) > 18 or not text.isascii() or not text.lstrip("-").replace(".", "", 1).isdigit():
                raise InvalidOperation
            return Decimal(text)
        if el.type == "n":
            if not text.isascii() or not text.isdigit() or len(text) > 9:
                raise ValueError
            return int(text)
        if el.type == "dt":
            return _date(text)
        if el.type == "tm":
            if len(text) not in (4, 6, 8) or not text.isdigit():
                raise ValueError
            return datetime.strptime(text[:4], "%H%M").time()
    except (ValueError, InvalidOperation):
        kinds = {"r": _("a number"), "n": _("a whole number"), "dt": _("a date CCYYMMDD"), "tm": _("a time HHMM")}
        raise _err(seg, el.index, _("%(element)s: '%(value)s' is not %(kind)s.", element=f"{seg.tag}{el.index:02d}",
                                    value=text[:20], kind=kinds[el.type])) from None
    if len(text) > 80:
        raise _err(seg, el.index, _("%(element)s is longer than 80 characters.", element=f"{seg.tag}{el.index:02d}"))
    return text


def read(seg: Seg, spec: Spec) -> dict[str, Any]:
    """A segment's fields by its table, or an EdiError naming the element."""
    if seg.tag not in spec:
        raise _err(seg, None, _("%(tag)s is not expected here.", tag=seg.tag[:10]))
    return {el.name: _value(seg, el) for el in spec[seg.tag]}


def _text(value: Any, el: El) -> str:
    if value is None:
        return ""
    if el.type == "r":
        number = Decimal(value)
        return format(number.normalize() if number == number.to_integral() else number, "f")
    if el.type == "dt":
        return value.strftime("%Y%m%d")
    if el.type == "tm":
        return value.strftime("%H%M")
    return str(value)


def segment(tag: str, spec: Spec, values: dict[str, Any], seps: Separators) -> str:
    """A segment written by its table: each value at its element's position, trailing empties dropped."""
    elements = [tag]
    for el in spec[tag]:
        text = _text(values.get(el.name), el)
        if any(sep in text for sep in (seps.element, seps.component, seps.segment)):
            raise ValueError(f"{tag}{el.index:02d} holds a separator: {text!r}")
        elements.extend([""] * (el.index + 1 - len(elements)))
        elements[el.index] = text
    while len(elements) > 1 and not elements[-1]:
        elements.pop()
    return seps.element.join(elements)


# ---------------------------------------------------------------- envelope


def _two_digit_year(text: str) -> date:
    return datetime.strptime(text, "%y%m%d").date()


def _isa(seg: Seg, partner: PartnerSettings) -> tuple[str, str, str, str, str, date, time, bool]:
    for index in (5, 7):
        if seg.get(index).strip() not in QUALIFIERS:
            raise _err(seg, index, _("ISA%(n)02d: '%(code)s' is not an interchange ID qualifier.", n=index,
                                     code=seg.get(index).strip()[:4]))
    sender, receiver = seg.get(6).strip(), seg.get(8).strip()
    ours = {partner.prime_edi_id, partner.supplier_edi_id}
    if sender not in ours or receiver not in ours or sender == receiver:
        raise _err(seg, 6 if sender not in ours else 8,
                   _("ISA06/ISA08: %(sender)s to %(receiver)s are not this relationship's EDI identifiers.",
                     sender=sender[:15], receiver=receiver[:15]))
    try:
        stamp_date, stamp_time = _two_digit_year(seg.get(9)), datetime.strptime(seg.get(10), "%H%M").time()
    except ValueError:
        raise _err(seg, 9, _("ISA09/ISA10: '%(value)s' is not a date YYMMDD and a time HHMM.",
                             value=f"{seg.get(9)} {seg.get(10)}"[:20])) from None
    if seg.get(12) != partner.version[:5]:
        raise _err(seg, 12, _("ISA12: version %(got)s, the partner settings say %(want)s.", got=seg.get(12)[:6],
                              want=partner.version[:5]))
    control = seg.get(13)
    if len(control) != 9 or not control.isdigit():
        raise _err(seg, 13, _("ISA13: the control number must be 9 digits."))
    if seg.get(15) not in ("P", "T"):
        raise _err(seg, 15, _("ISA15: '%(code)s' is not P (production) or T (test).", code=seg.get(15)[:2]))
    return (sender, seg.get(5).strip(), receiver, seg.get(7).strip(), control, stamp_date, stamp_time,
            seg.get(15) == "T")


def _sets(segments: list[Seg], partner: PartnerSettings) -> tuple[Envelope, list[tuple[str, list[Seg]]]]:
    """Check ISA/IEA, GS/GE and ST/SE (counts and control numbers); the transaction sets' bodies."""
    isa = segments[0]
    sender, sq, receiver, rq, control, day, moment, test = _isa(isa, partner)
    sets: list[tuple[str, list[Seg]]] = []
    groups, index, group_control, version = 0, 1, "", partner.version
    end = len(segments)
    while index < end and segments[index].tag == "GS":
        gs = segments[index]
        groups += 1
        group_control, version = gs.get(6), gs.get(8) or partner.version
        if not group_control.isdigit():
            raise _err(gs, 6, _("GS06: the group control number must be digits."))
        if version != partner.version:
            raise _err(gs, 8, _("GS08: version %(got)s, the partner settings say %(want)s.", got=version[:12],
                                want=partner.version))
        index += 1
        count = 0
        while index < end and segments[index].tag == "ST":
            st = segments[index]
            kind = st.get(1)
            if kind not in TABLES:
                raise _err(st, 1, _("ST01: transaction set %(set)s is not one Cogrow reads (830, 862, 850, 855, "
                                    "856, 997).", set=kind[:6]))
            if FUNCTIONAL_IDS[kind] != gs.get(1):
                raise _err(gs, 1, _("GS01: %(code)s does not hold %(set)s transaction sets.", code=gs.get(1)[:4],
                                    set=kind))
            body_start = index + 1
            while index < end and segments[index].tag not in ("SE", "GE", "IEA"):
                index += 1
            if index >= end or segments[index].tag != "SE":
                raise _err(segments[index] if index < end else segments[-1], None,
                           _("Transaction set %(control)s has no SE: the interchange is cut short or malformed.",
                             control=st.get(2)[:9]), tag="SE")
            se = segments[index]
            if se.get(1) != str(index - body_start + 2):
                raise _err(se, 1, _("SE01 says %(said)s segments, the set has %(n)s.", said=se.get(1)[:9],
                                    n=index - body_start + 2))
            if se.get(2) != st.get(2) or not st.get(2):
                raise _err(se, 2, _("SE02 %(se)s does not match ST02 %(st)s.", se=se.get(2)[:9], st=st.get(2)[:9]))
            sets.append((kind, segments[body_start:index]))
            count += 1
            index += 1
        if index >= end or segments[index].tag != "GE":
            raise _err(segments[index] if index < end else segments[-1], None,
                       _("Functional group %(control)s has no GE: the interchange is cut short or malformed.",
                         control=group_control[:9]), tag="GE")
        ge = segments[index]
        if ge.get(1) != str(count):
            raise _err(ge, 1, _("GE01 says %(said)s transaction sets, the group has %(n)s.", said=ge.get(1)[:9],
                                n=count))
        if ge.get(2) != group_control:
            raise _err(ge, 2, _("GE02 %(ge)s does not match GS06 %(gs)s.", ge=ge.get(2)[:9], gs=group_control[:9]))
        index += 1
    if index >= end or segments[index].tag != "IEA":
        if index < end and segments[index].tag not in ("GS", "IEA"):
            raise _err(segments[index], None, _("%(tag)s is not a segment expected here: are the separators the "
                                                "ones the ISA declares?", tag=segments[index].tag[:12]))
        raise _err(segments[-1], None, _("The interchange has no IEA: it is cut short."), tag="IEA")
    iea = segments[index]
    if iea.get(1) != str(groups):
        raise _err(iea, 1, _("IEA01 says %(said)s functional groups, the interchange has %(n)s.",
                             said=iea.get(1)[:9], n=groups))
    if iea.get(2) != control:
        raise _err(iea, 2, _("IEA02 %(iea)s does not match ISA13 %(isa)s.", iea=iea.get(2)[:9], isa=control))
    if index + 1 < end:
        raise _err(segments[index + 1], None, _("Segments after the IEA."))
    if not sets:
        raise _err(iea, None, _("The interchange holds no transaction set."), tag="ST")
    kinds = {kind for kind, _body in sets}
    if len(kinds) > 1:
        raise _err(segments[1], 1, _("One interchange holds one kind of message; this one mixes %(kinds)s.",
                                     kinds=", ".join(sorted(kinds))), tag="GS")
    envelope = Envelope(sender_id=sender, sender_qualifier=sq, receiver_id=receiver, receiver_qualifier=rq,
                        control_number=control, date=day, time=moment, standard="x12", version=version, test=test,
                        group_control_number=group_control, message_type=sets[0][0])
    return envelope, sets


PEEK_CHARS = 4096


def peek(text: str, partner: PartnerSettings) -> Envelope:
    """ISA, GS and the first ST of an interchange, read from its first few kilobytes only."""
    head = text.lstrip("\ufeff \t\r\n")[:PEEK_CHARS]
    _seps, segments = tokenize(head)
    sender, sq, receiver, rq, control, day, moment, test = _isa(segments[0], partner)
    gs = next((s for s in segments[1:3] if s.tag == "GS"), None)
    st = next((s for s in segments[1:4] if s.tag == "ST"), None)
    if gs is None or st is None:
        raise _err(segments[1] if len(segments) > 1 else segments[0], None,
                   _("The interchange must go on with GS and ST: is it cut short, or are the separators wrong?"),
                   tag="GS")
    return Envelope(sender_id=sender, sender_qualifier=sq, receiver_id=receiver, receiver_qualifier=rq,
                    control_number=control, date=day, time=moment, standard="x12", version=gs.get(8), test=test,
                    group_control_number=gs.get(6), message_type=st.get(1))


def parse(text: str, partner: PartnerSettings) -> tuple[Envelope, list[Doc]]:
    _seps, segments = tokenize(text)
    envelope, sets = _sets(segments, partner)
    reader = READERS[envelope.message_type]
    return envelope, [reader(body, partner) for _kind, body in sets]


# ---------------------------------------------------------------- readers, one per transaction set


def _uom(seg: Seg, index: int, code: str | None, partner: PartnerSettings) -> str:
    if code is None:
        return ""
    uom = partner.uom_from_edi(code.split("\x00")[0])
    if uom is None:
        raise _err(seg, index, _("%(element)s: unit '%(code)s' is not in the partner's code list.",
                                 element=f"{seg.tag}{index:02d}", code=code[:8]))
    return uom


def _first(body: list[Seg], tag: str, spec: Spec) -> dict[str, Any]:
    if not body or body[0].tag != tag:
        raise _err(body[0] if body else None, None, _("The transaction set must begin with %(tag)s.", tag=tag),
                   tag=tag)
    return read(body[0], spec)


def _count(seg: Seg, spec: Spec, counted: int) -> None:
    said = read(seg, spec)["count"]
    if said != counted:
        raise _err(seg, 1, _("CTT01 says %(said)s, the set has %(n)s.", said=said, n=counted))


def _forecast_items(body: list[Seg], spec: Spec, partner: PartnerSettings) -> list[ForecastItem]:
    items: list[ForecastItem] = []
    current: dict[str, Any] | None = None

    def close() -> None:
        if current is not None:
            weeks: dict[date, tuple[Decimal, str, int]] = {}
            for week, qty, zone, pos in current["buckets"]:
                before = weeks.get(week)
                firmer = "firm" if zone == "firm" or (before and before[1] == "firm") else zone
                weeks[week] = ((before[0] if before else Decimal(0)) + qty, firmer, before[2] if before else pos)
            items.append(ForecastItem(
                part_number=current["part_number"], uom=current["uom"], position=current["position"],
                buckets=tuple(Bucket(w, q, z, p) for w, (q, z, p) in sorted(weeks.items())),
                authorizations=tuple(current["auths"]), shipped_cum=current["shipped"],
                shipped_cum_start=current["shipped_start"]))

    for seg in body[1:]:
        if seg.tag == "CTT":
            _count(seg, spec, len(items) + (current is not None))
            continue
        if seg.tag not in spec:
            if seg.tag in IGNORED:
                continue
            raise _err(seg, None, _("%(tag)s is not a segment expected here: are the separators the ones the ISA "
                                    "declares?", tag=seg.tag[:12]))
        values = read(seg, spec)
        if seg.tag == "LIN":
            close()
            current = {"part_number": values["part_number"], "uom": "", "position": seg.position, "buckets": [],
                       "auths": [], "shipped": None, "shipped_start": None}
            continue
        if current is None:
            raise _err(seg, None, _("%(tag)s comes before any LIN.", tag=seg.tag))
        if seg.tag == "UIT":
            current["uom"] = _uom(seg, 1, values["uom"], partner)
        elif seg.tag == "FST":
            current["buckets"].extend(_fst_weeks(seg, values))
        elif seg.tag == "ATH":
            current["auths"].append(Authorization("FAB" if values["kind"] == "FI" else "RAW", values["cum_start"],
                                                  values["quantity"], seg.position))
        elif seg.tag == "SHP" and values["qualifier"] == "02":
            if values["date_qualifier"] != "051":
                raise _err(seg, 3, _("SHP03: a cumulative quantity (SHP01 02) needs the date qualifier 051 "
                                     "(cumulative start)."))
            current["shipped"], current["shipped_start"] = values["quantity"], values["date"]
    close()
    return items


def _fst_weeks(seg: Seg, values: dict[str, Any]) -> list[tuple[date, Decimal, str, int]]:
    zone = "firm" if values["qualifier"] == "C" else "planning"
    quantity, start, timing = values["quantity"], values["start"], values["timing"]
    if quantity < 0:
        raise _err(seg, 1, _("FST01 is negative."))
    if timing == "F":
        if values["end"] is None or values["end"] < start:
            raise _err(seg, 5, _("FST05: a flexible period (FST03 F) needs an end date on or after FST04."))
        if (values["end"] - start).days > 366:
            raise _err(seg, 5, _("FST05: a flexible period longer than a year."))
        parts = split_period(start, values["end"], quantity)
    elif timing == "M":
        parts = split_period(*month_of(start), quantity)
    else:  # a day or a week: all of it to the week that holds the date
        return [(week_start(start), quantity, zone, seg.position)]
    return [(week, qty, zone, seg.position) for week, qty in parts]


def read_830(body: list[Seg], partner: PartnerSettings) -> ForecastDoc:
    head = _first(body, "BFR", T830)
    if head["horizon_end"] < head["horizon_start"]:
        raise _err(body[0], 7, _("BFR07: the horizon ends before it starts."))
    return ForecastDoc(reference=head["reference"], horizon_start=head["horizon_start"],
                       horizon_end=head["horizon_end"], items=tuple(_forecast_items(body, T830, partner)),
                       position=body[0].position)


def read_862(body: list[Seg], partner: PartnerSettings) -> ForecastDoc:
    head = _first(body, "BSS", T862)
    if head["horizon_end"] < head["horizon_start"]:
        raise _err(body[0], 6, _("BSS06: the horizon ends before it starts."))
    return ForecastDoc(reference=head["reference"], horizon_start=head["horizon_start"],
                       horizon_end=head["horizon_end"], items=tuple(_forecast_items(body, T862, partner)),
                       firm_only=True, position=body[0].position)


def read_850(body: list[Seg], partner: PartnerSettings) -> PurchaseOrderDoc:
    head = _first(body, "BEG", T850)
    currency, lines, current = "", [], None
    for seg in body[1:]:
        if seg.tag not in T850:
            if seg.tag in IGNORED:
                continue
            raise _err(seg, None, _("%(tag)s is not a segment expected here: are the separators the ones the ISA "
                                    "declares?", tag=seg.tag[:12]))
        values = read(seg, T850)
        if seg.tag == "CUR":
            currency = values["currency"]
        elif seg.tag == "PO1":
            if current is not None:
                lines.append(current)
            current = dict(values, uom=_uom(seg, 3, values["uom"], partner), position=seg.position, due=None)
        elif seg.tag == "DTM":
            if current is None:
                raise _err(seg, None, _("DTM comes before any PO1."))
            current["due"] = values["date"]
        elif seg.tag == "CTT":
            _count(seg, T850, len(lines) + (current is not None))
    if current is not None:
        lines.append(current)
    if not lines:
        raise _err(body[0], None, _("The purchase order has no PO1 line."), tag="PO1")
    out = []
    for line in lines:
        if line["due"] is None:
            raise EdiError("PO1", line["position"], "DTM02", _("PO1 line %(n)s has no DTM*002 due date.",
                                                               n=line["line_no"]))
        out.append(OrderLine(line["line_no"], line["part_number"], line["quantity"], line["uom"], line["due"],
                             line["unit_price"], currency or "KRW", line["position"]))
    return PurchaseOrderDoc(number=head["number"], order_date=head["date"], lines=tuple(out),
                            currency=currency or "KRW", position=body[0].position)


CHANGE_CODES = {"IQ": (True, False), "DR": (False, True), "IC": (True, True)}


def read_855(body: list[Seg], partner: PartnerSettings) -> AckDoc:
    """BAK02 RJ/RD, or every line IR: a rejection. Any line IC/IQ/DR: a proposal of those lines' changes.
    Otherwise (AK/AD/AC with IA lines): an acknowledgement."""
    head = _first(body, "BAK", T855)
    reason, line_no, statuses, changes = "", None, [], []
    for seg in body[1:]:
        if seg.tag not in T855:
            if seg.tag in IGNORED:
                continue
            raise _err(seg, None, _("%(tag)s is not a segment expected here: are the separators the ones the ISA "
                                    "declares?", tag=seg.tag[:12]))
        values = read(seg, T855)
        if seg.tag == "NTE":
            reason = values["text"]
        elif seg.tag == "PO1":
            line_no = values["line_no"]
        elif seg.tag == "ACK":
            if line_no is None:
                raise _err(seg, None, _("ACK comes before any PO1."))
            statuses.append((values["status"], seg))
            wants = CHANGE_CODES.get(values["status"])
            if wants:
                if wants[0] and values["quantity"] is None:
                    raise _err(seg, 2, _("ACK02: %(code)s changes the quantity and needs one.", code=values["status"]))
                if wants[1] and values["date"] is None:
                    raise _err(seg, 5, _("ACK05: %(code)s changes the date and needs one.", code=values["status"]))
                changes.append(LineChange(line_no, values["quantity"] if wants[0] else None,
                                          values["date"] if wants[1] else None, seg.position))
        elif seg.tag == "CTT":
            _count(seg, T855, len({s.position for _c, s in statuses}))
    rejected = [seg for code, seg in statuses if code == "IR"]
    if head["type"] in ("RJ", "RD") or (statuses and len(rejected) == len(statuses)):
        action = "reject"
    elif rejected:
        raise _err(rejected[0], 1, _("ACK01 IR: Cogrow rejects a whole order; reject every line (or use BAK02 "
                                     "RJ), or propose a change of this line instead."))
    else:
        action = "propose" if changes else "acknowledge"
    return AckDoc(po_number=head["po_number"], action=action, changes=tuple(changes), reason=reason,
                  position=body[0].position)


def read_856(body: list[Seg], partner: PartnerSettings) -> AsnDoc:
    """HL levels: S (shipment) > O (order, PRF) > I (item, LIN + SN1); P/T (pack, tare) levels are passed
    through to their items."""
    head = _first(body, "BSN", T856)
    levels: dict[int, str] = {}
    expected, orders, order, item, hl_count = None, [], None, None, 0
    shipped_on = head["date"]

    def close_item() -> None:
        nonlocal item
        if item is not None:
            if item.get("quantity") is None:
                raise EdiError("HL", item["position"], "SN102", _("Item level HL %(id)s has no SN1 quantity.",
                                                                  id=item["hl"]))
            order["lines"].append(AsnLine(item["line_no"], item["part_number"], item["quantity"], item["uom"],
                                          item["position"]))
        item = None

    for seg in body[1:]:
        if seg.tag not in T856:
            if seg.tag in IGNORED:
                continue
            raise _err(seg, None, _("%(tag)s is not a segment expected here: are the separators the ones the ISA "
                                    "declares?", tag=seg.tag[:12]))
        values = read(seg, T856)
        if seg.tag == "HL":
            hl_count += 1
            hl_id, parent, level = values["id"], values["parent"], values["level"]
            if hl_id in levels:
                raise _err(seg, 1, _("HL01 %(id)s is used twice.", id=hl_id))
            wants_parent = {"S": None, "O": ("S",), "I": ("O", "P", "T"), "P": ("O", "T"), "T": ("O",)}[level]
            if (parent is None) != (wants_parent is None) or (parent is not None and levels.get(parent)
                                                              not in wants_parent):
                raise _err(seg, 2, _("HL02: a level %(level)s must hang under %(parents)s.", level=level,
                                     parents=", ".join(wants_parent or ()) or _("nothing")))
            levels[hl_id] = level
            close_item()
            if level == "O":
                order = {"po_number": None, "lines": [], "position": seg.position}
                orders.append(order)
            elif level == "I":
                item = {"hl": hl_id, "position": seg.position}
        elif seg.tag == "DTM":
            if values["qualifier"] == "011":
                shipped_on = values["date"]
            else:
                expected = values["date"]
        elif seg.tag == "PRF":
            if order is None or item is not None:
                raise _err(seg, None, _("PRF belongs to an order level (HL03 O)."))
            order["po_number"] = values["po_number"]
        elif seg.tag in ("LIN", "SN1"):
            if item is None:
                raise _err(seg, None, _("%(tag)s belongs to an item level (HL03 I).", tag=seg.tag))
            if seg.tag == "LIN":
                item.update(line_no=values["line_no"], part_number=values["part_number"])
            else:
                item.update(quantity=values["quantity"], uom=_uom(seg, 3, values["uom"], partner))
                if "line_no" not in item:
                    raise _err(seg, None, _("SN1 comes before the item's LIN."))
        elif seg.tag == "CTT":
            _count(seg, T856, hl_count)
    close_item()
    if not orders:
        raise _err(body[0], None, _("The ship notice has no order level (HL03 O)."), tag="HL")
    out = []
    for o in orders:
        if not o["po_number"]:
            raise EdiError("HL", o["position"], "PRF01", _("The order level has no PRF purchase order number."))
        out.append(AsnOrder(o["po_number"], tuple(o["lines"]), o["position"]))
    return AsnDoc(shipment_id=head["shipment_id"], ship_date=shipped_on, orders=tuple(out), expected_date=expected,
                  position=body[0].position)


def read_997(body: list[Seg], partner: PartnerSettings) -> FunctionalAckDoc:
    head = _first(body, "AK1", T997)
    messages, errors, current, status = [], [], None, None
    for seg in body[1:]:
        values = read(seg, T997)
        if seg.tag == "AK2":
            current = values
        elif seg.tag == "AK3":
            errors.append(f"{values['segment']} #{values['position']}")
        elif seg.tag == "AK4":
            errors.append(f"{values['element']}: {values['code']}")
        elif seg.tag == "AK5" and current is not None:
            messages.append(AckedMessage(current["set_control"], values["status"] != "R", current["set_id"]))
        elif seg.tag == "AK9":
            status = values["status"]
    if status is None:
        raise _err(body[-1] if body else None, None, _("The 997 has no AK9."), tag="AK9")
    return FunctionalAckDoc(control_number=head["group_control"], accepted=status in ("A", "E"),
                            messages=tuple(messages), errors=tuple(errors), position=body[0].position)


READERS = {"830": read_830, "862": read_862, "850": read_850, "855": read_855, "856": read_856, "997": read_997}


# ---------------------------------------------------------------- writers


class _Set:
    """Collects one transaction set's segments."""

    def __init__(self, spec: Spec, seps: Separators) -> None:
        self.spec, self.seps, self.lines = spec, seps, []

    def add(self, tag: str, **values: Any) -> None:
        self.lines.append(segment(tag, self.spec, values, self.seps))


def _write_forecast(doc: ForecastDoc, seps: Separators, partner: PartnerSettings,
                    envelope: Envelope) -> list[str]:
    spec = T862 if doc.firm_only else T830
    out = _Set(spec, seps)
    if doc.firm_only:
        out.add("BSS", purpose="00", reference=doc.reference, issued=doc.horizon_start, schedule_type="DL",
                horizon_start=doc.horizon_start, horizon_end=doc.horizon_end)
    else:
        out.add("BFR", purpose="00", reference=doc.reference, schedule_type="DL", quantity_type="A",
                horizon_start=doc.horizon_start, horizon_end=doc.horizon_end, issued=doc.horizon_start)
    for number, item in enumerate(doc.items, start=1):
        out.add("LIN", line=number, qualifier="BP", part_number=item.part_number)
        if item.uom:
            out.add("UIT", uom=partner.uom_to_edi(item.uom))
        for bucket in item.buckets:
            out.add("FST", quantity=bucket.quantity, qualifier="C" if bucket.zone == "firm" or doc.firm_only else "D",
                    timing="W", start=bucket.week_start)
        if not doc.firm_only:
            for auth in item.authorizations:
                out.add("ATH", kind="FI" if auth.kind == "FAB" else "MT", through=doc.horizon_end,
                        quantity=auth.quantity, cum_start=auth.cum_start)
            if item.shipped_cum is not None:
                out.add("SHP", qualifier="02", quantity=item.shipped_cum, date_qualifier="051",
                        date=item.shipped_cum_start, end=doc.horizon_start)
    out.add("CTT", count=len(doc.items))
    return out.lines


def _write_order(doc: PurchaseOrderDoc, seps: Separators, partner: PartnerSettings,
                 envelope: Envelope) -> list[str]:
    out = _Set(T850, seps)
    out.add("BEG", purpose="00", type="SA", number=doc.number, date=doc.order_date)
    out.add("CUR", entity="BY", currency=doc.currency)
    for line in doc.lines:
        out.add("PO1", line_no=line.line_no, quantity=line.quantity, uom=partner.uom_to_edi(line.uom),
                unit_price=line.unit_price, qualifier="BP", part_number=line.part_number)
        out.add("DTM", qualifier="002", date=line.due_date)
    out.add("CTT", count=len(doc.lines))
    return out.lines


def _write_ack(doc: AckDoc, seps: Separators, partner: PartnerSettings,
               envelope: Envelope) -> list[str]:
    out = _Set(T855, seps)
    kind = {"acknowledge": "AK", "reject": "RJ", "propose": "AC"}[doc.action]
    out.add("BAK", purpose="00", type=kind, po_number=doc.po_number, date=envelope.date)
    if doc.reason:
        out.add("NTE", code="GEN", text=doc.reason)
    for change in doc.changes:
        code = "IC" if change.quantity is not None and change.due_date is not None else \
            "IQ" if change.quantity is not None else "DR"
        out.add("PO1", line_no=change.line_no)
        out.add("ACK", status=code, quantity=change.quantity, date_qualifier="068" if change.due_date else None,
                date=change.due_date)
    if doc.changes:
        out.add("CTT", count=len(doc.changes))
    return out.lines


def _write_asn(doc: AsnDoc, seps: Separators, partner: PartnerSettings,
               envelope: Envelope) -> list[str]:
    out = _Set(T856, seps)
    out.add("BSN", purpose="00", shipment_id=doc.shipment_id, date=doc.ship_date, time=time(0, 0), structure="0001")
    out.add("HL", id=1, level="S")
    out.add("DTM", qualifier="011", date=doc.ship_date)
    if doc.expected_date:
        out.add("DTM", qualifier="017", date=doc.expected_date)
    hl = 1
    for order in doc.orders:
        hl += 1
        order_hl = hl
        out.add("HL", id=hl, parent=1, level="O")
        out.add("PRF", po_number=order.po_number)
        for line in order.lines:
            hl += 1
            out.add("HL", id=hl, parent=order_hl, level="I")
            out.add("LIN", line_no=line.line_no, qualifier="BP", part_number=line.part_number)
            out.add("SN1", quantity=line.quantity, uom=partner.uom_to_edi(line.uom))
    out.add("CTT", count=hl)
    return out.lines


WRITERS = {ForecastDoc: _write_forecast, PurchaseOrderDoc: _write_order, AckDoc: _write_ack, AsnDoc: _write_asn}


def _message_type(doc: Doc) -> str:
    if isinstance(doc, ForecastDoc):
        return "862" if doc.firm_only else "830"
    return {PurchaseOrderDoc: "850", AckDoc: "855", AsnDoc: "856", FunctionalAckDoc: "997"}[type(doc)]


def _separators(partner: PartnerSettings) -> Separators:
    return Separators(partner.element_separator or "*", partner.component_separator or ">",
                      partner.segment_terminator or "~", "U" if partner.version < "00402" else
                      (partner.repetition_separator or "^"))


def _interchange(kind: str, bodies: list[list[str]], envelope: Envelope, partner: PartnerSettings) -> str:
    seps = _separators(partner)
    e = seps.element
    control = envelope.control_number.zfill(9)[-9:]
    group = envelope.group_control_number or str(int(control))
    isa = e.join(["ISA", "00", " " * 10, "00", " " * 10, envelope.sender_qualifier.ljust(2)[:2],
                  envelope.sender_id.ljust(15)[:15], envelope.receiver_qualifier.ljust(2)[:2],
                  envelope.receiver_id.ljust(15)[:15], envelope.date.strftime("%y%m%d"),
                  envelope.time.strftime("%H%M"), seps.repetition, partner.version[:5], control, "0",
                  "T" if envelope.test else "P", seps.component])
    sender_group = partner.prime_group_id if envelope.sender_id == partner.prime_edi_id else partner.supplier_group_id
    receiver_group = partner.prime_group_id if envelope.receiver_id == partner.prime_edi_id \
        else partner.supplier_group_id
    lines = [isa, e.join(["GS", FUNCTIONAL_IDS[kind], sender_group or envelope.sender_id,
                          receiver_group or envelope.receiver_id, envelope.date.strftime("%Y%m%d"),
                          envelope.time.strftime("%H%M"), group, "X", partner.version])]
    for number, body in enumerate(bodies, start=1):
        st = f"{number:04d}"
        lines.append(e.join(["ST", kind, st]))
        lines.extend(body)
        lines.append(e.join(["SE", str(len(body) + 2), st]))
    lines.append(e.join(["GE", str(len(bodies)), group]))
    lines.append(e.join(["IEA", "1", control]))
    return "".join(line + seps.segment + "\n" for line in lines)


def write(docs: Sequence[Doc], envelope: Envelope, partner: PartnerSettings) -> str:
    if not docs:
        raise ValueError("nothing to write")
    kinds = {_message_type(doc) for doc in docs}
    if len(kinds) != 1:
        raise ValueError(f"one kind of message per interchange, not {sorted(kinds)}")
    seps = _separators(partner)
    return _interchange(kinds.pop(), [WRITERS[type(doc)](doc, seps, partner, envelope) for doc in docs], envelope, partner)


def functional_ack(received: Envelope, accepted: bool, errors: Sequence[EdiError], envelope: Envelope,
                   partner: PartnerSettings) -> str:
    """A 997 for the received interchange's group: AK5/AK9 A or R, and an AK3/AK4 per error."""
    seps = _separators(partner)
    out = _Set(T997, seps)
    kind = received.message_type if received.message_type in FUNCTIONAL_IDS else "830"
    out.add("AK1", functional_id=FUNCTIONAL_IDS[kind], group_control=received.group_control_number or "0")
    out.add("AK2", set_id=kind, set_control="0001")
    for error in errors:
        # AK302 counts from the transaction set's ST (= 1) when the error was placed in its set (services.place).
        out.add("AK3", segment=error.segment[:3], position=getattr(error, "message_position", None) or error.position)
        element = "".join(c for c in (error.element or "")[-2:] if c.isdigit())
        out.add("AK4", element=element or "1", code="7")
    out.add("AK5", status="A" if accepted else "R")
    out.add("AK9", status="A" if accepted else "R", included=1, received=1, accepted=1 if accepted else 0)
    return _interchange("997", [out.lines], envelope, partner)


def outline(text: str, partner: PartnerSettings) -> list[tuple[int, str, str]]:
    """(position, tag, ST02 of an ST segment else "") of each segment."""
    return [(seg.position, seg.tag, seg.get(2) if seg.tag == "ST" else "") for seg in tokenize(text)[1]]


registry.register(registry.Syntax(name="x12", parse=parse, write=write, functional_ack=functional_ack,
                                  detect=detect, peek=peek, messages=dict(MESSAGES), versions=("004010",),
                                  outline=outline))
