"""The neutral documents that X12 and EDIFACT both map to and from.

A parser turns an interchange into an Envelope and a list of these documents; a writer turns documents
back into an interchange. Nothing here knows a syntax: part numbers are the prime's, quantities are in
Cogrow's unit of measure (the partner's code list already applied), dates are calendar dates.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

# ---------------------------------------------------------------- envelope and errors


@dataclass(frozen=True)
class Envelope:
    """One interchange's addressing: ISA/GS (X12) or UNB (EDIFACT)."""

    sender_id: str
    sender_qualifier: str
    receiver_id: str
    receiver_qualifier: str
    control_number: str          # ISA13 / UNB5: the interchange control reference
    date: date
    time: time
    standard: str                # "x12" or "edifact"
    version: str                 # "004010" / "D96A"
    test: bool = False           # ISA15 = T / UNB11 = 1
    group_control_number: str = ""   # GS06 (X12 only; empty for EDIFACT)
    message_type: str = ""       # "830", "850", ... or "DELFOR", "ORDERS", ... (the first message's)


class EdiError(Exception):
    """An interchange that cannot be read or mapped. Names where: the segment tag, its 1-based position in the
    interchange, and the element (e.g. "FST02"); `message` is translated."""

    def __init__(self, segment: str, position: int, element: str | None, message: str) -> None:
        super().__init__(message)
        self.segment, self.position, self.element, self.message = segment, position, element, message

    def where(self) -> str:
        return f"{self.segment} #{self.position}" + (f" {self.element}" if self.element else "")

    def as_dict(self) -> dict[str, object]:
        return {"segment": self.segment, "position": self.position, "element": self.element,
                "message": self.message}


# ---------------------------------------------------------------- forecast (830 / DELFOR, 862 firm only)

ZONES = ("firm", "material", "planning")


@dataclass(frozen=True)
class Bucket:
    week_start: date             # the Monday of the ISO week (periods already split into weeks)
    quantity: Decimal
    zone: str                    # firm / material / planning (material: from the relationship's fences)
    position: int = 0            # the segment the bucket came from (0 when written by Cogrow)


@dataclass(frozen=True)
class Authorization:
    kind: str                    # "FAB" (X12 ATH01 FI) or "RAW" (ATH01 MT)
    cum_start: date
    quantity: Decimal            # the cumulative authorized quantity from cum_start
    position: int = 0


@dataclass(frozen=True)
class ForecastItem:
    part_number: str             # the prime's part number
    uom: str                     # Cogrow's unit of measure
    buckets: tuple[Bucket, ...] = ()
    authorizations: tuple[Authorization, ...] = ()
    # What the prime says it has received cumulatively (X12 SHP, DELFOR QTY+70): checked against Cogrow's
    # cumulative shipped quantity and a mismatch reported (SAP SNC's alert 7803).
    shipped_cum: Decimal | None = None
    shipped_cum_start: date | None = None
    position: int = 0            # the LIN segment


@dataclass(frozen=True)
class ForecastDoc:
    """830 / DELFOR: a whole forecast publication; 862 (`firm_only`): firm buckets of a new version."""

    reference: str               # BFR02 / BGM document number
    horizon_start: date
    horizon_end: date
    items: tuple[ForecastItem, ...]
    firm_only: bool = False      # an 862 shipping schedule
    position: int = 0


# ---------------------------------------------------------------- purchase order (850 / ORDERS)


@dataclass(frozen=True)
class OrderLine:
    line_no: int
    part_number: str             # the prime's part number
    quantity: Decimal
    uom: str
    due_date: date
    unit_price: Decimal
    currency: str
    position: int = 0


@dataclass(frozen=True)
class PurchaseOrderDoc:
    number: str
    order_date: date
    lines: tuple[OrderLine, ...]
    currency: str = "KRW"
    position: int = 0


# ---------------------------------------------------------------- acknowledgement (855 / ORDRSP)

ACK_ACTIONS = ("acknowledge", "reject", "propose")


@dataclass(frozen=True)
class LineChange:
    line_no: int
    quantity: Decimal | None = None      # proposed quantity (None: unchanged)
    due_date: date | None = None         # proposed due date (None: unchanged)
    position: int = 0


@dataclass(frozen=True)
class AckDoc:
    po_number: str
    action: str                          # one of ACK_ACTIONS
    changes: tuple[LineChange, ...] = ()
    reason: str = ""
    position: int = 0


# ---------------------------------------------------------------- ship notice (856 / DESADV)


@dataclass(frozen=True)
class AsnLine:
    line_no: int                         # the PO line number
    part_number: str
    quantity: Decimal
    uom: str
    position: int = 0


@dataclass(frozen=True)
class AsnOrder:
    po_number: str
    lines: tuple[AsnLine, ...]
    position: int = 0


@dataclass(frozen=True)
class AsnDoc:
    shipment_id: str                     # BSN02 / BGM document number (the supplier's ASN number)
    ship_date: date
    orders: tuple[AsnOrder, ...]
    expected_date: date | None = None
    position: int = 0


# ---------------------------------------------------------------- functional acknowledgement (997 / CONTRL)


@dataclass(frozen=True)
class AckedMessage:
    control_number: str                  # ST02 / UNH1 of the acknowledged message
    accepted: bool
    message_type: str = ""


@dataclass(frozen=True)
class FunctionalAckDoc:
    """A partner's 997 / CONTRL about one of our interchanges (group control number for X12, the
    interchange reference for EDIFACT)."""

    control_number: str
    accepted: bool
    messages: tuple[AckedMessage, ...] = ()
    errors: tuple[str, ...] = ()         # "segment #position element: code" as received
    position: int = 0


Doc = ForecastDoc | PurchaseOrderDoc | AckDoc | AsnDoc | FunctionalAckDoc

# The document type of each message family (cogrow.edi.registry.FAMILIES).
DOC_TYPES: dict[str, type] = {"forecast": ForecastDoc, "shipping_schedule": ForecastDoc, "order": PurchaseOrderDoc,
                               "ack": AckDoc, "asn": AsnDoc, "functional_ack": FunctionalAckDoc}
