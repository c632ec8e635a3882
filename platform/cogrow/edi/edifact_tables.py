"""The EDIFACT D96A mapping tables: one per message, the codes Cogrow reads and writes in each place.

A table maps an element (named as in errors: tag, element number, component number, e.g. "DTM01.1") to its
accepted codes and what each code means in Cogrow. The reader looks every qualifier up here, so a code that is
not listed is refused with an error naming the segment and the element; the writer takes the first code
listed for a meaning. Segments whose tag no table element names (NAD, UNS, IMD, PIA, LOC, ...) are carried
in the message but not read.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MessageTable:
    message: str                       # UNH S009 0065
    family: str                        # the registry's document family
    sender: str                        # which side sends it: "prime" or "supplier"
    document_code: str                 # BGM C002 1001
    codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def meaning(self, element: str, code: str) -> str | None:
        return self.codes.get(element, {}).get(code)

    def code_for(self, element: str, meaning: str) -> str:
        """The code written for a meaning: the first one the table lists."""
        for code, listed in self.codes[element].items():
            if listed == meaning:
                return code
        raise KeyError(f"{element}: no code for {meaning}")


# Item numbers are the prime's (buyer's) part numbers: LIN C212 7143 = IN.
_ITEM_NUMBER_TYPE = {"IN": "buyer"}

DELFOR = MessageTable(
    message="DELFOR", family="forecast", sender="prime", document_code="241",
    codes={
        "BGM01.1": {"241": "delivery_schedule"},
        "DTM01.1": {"137": "document", "158": "horizon_start", "159": "horizon_end",
                    "2": "period",                          # the delivery period of a scheduled quantity
                    "51": "cum_start"},                     # the start of a cumulative quantity
        # 4017, delivery plan commitment level: the bucket's zone, or (2 and 3) the authorization's kind
        "SCC01": {"1": "firm", "3": "material", "4": "planning", "2": "fab"},
        "QTY01.1": {"113": "scheduled", "1": "scheduled",  # quantity to be delivered / discrete quantity
                    "3": "cumulative",                      # cumulative authorized (under SCC 2 or 3)
                    "70": "received_cum"},                  # cumulative quantity received by the prime
        "LIN03.2": _ITEM_NUMBER_TYPE,
    },
)

ORDERS = MessageTable(
    message="ORDERS", family="order", sender="prime", document_code="220",
    codes={
        "BGM01.1": {"220": "order"},
        "DTM01.1": {"137": "document", "2": "due"},
        "CUX01.1": {"2": "reference"},
        "LIN03.2": _ITEM_NUMBER_TYPE,
        "QTY01.1": {"21": "ordered"},
        "PRI01.1": {"AAA": "net", "AAB": "gross"},
        "CNT01.1": {"2": "lines"},
    },
)

ORDRSP = MessageTable(
    message="ORDRSP", family="ack", sender="supplier", document_code="231",
    codes={
        "BGM01.1": {"231": "order_response"},
        # 1225, message function: 29 accepted without amendment, 27 not accepted, the amendment codes a proposal
        "BGM03": {"29": "acknowledge", "27": "reject", "30": "propose", "4": "propose", "28": "propose",
                  "34": "propose"},
        "DTM01.1": {"137": "document", "2": "due"},
        "RFF01.1": {"ON": "order"},
        # 1229, action request: 3 changed, 6 accepted with amendment, 5 accepted as ordered (no change)
        "LIN02": {"3": "change", "6": "change", "5": "unchanged"},
        "QTY01.1": {"21": "quantity", "113": "quantity"},
        "FTX01": {"AAI": "reason"},
    },
)

DESADV = MessageTable(
    message="DESADV", family="asn", sender="supplier", document_code="351",
    codes={
        "BGM01.1": {"351": "despatch_advice"},
        "DTM01.1": {"137": "document", "11": "ship", "132": "expected"},
        "LIN03.2": _ITEM_NUMBER_TYPE,
        "QTY01.1": {"12": "despatched"},
        "RFF01.1": {"ON": "order"},
        "CNT01.1": {"2": "lines"},
    },
)

TABLES: dict[str, MessageTable] = {table.message: table for table in (DELFOR, ORDERS, ORDRSP, DESADV)}

# CONTRL (syntax 3): 0083 action codes and the 0085 error code Cogrow writes.
CONTRL_ACCEPTED, CONTRL_REJECTED, CONTRL_RECEIVED = "7", "4", "8"
CONTRL_ERROR_INVALID_VALUE, CONTRL_ERROR_UNSPECIFIED = "12", "18"

# DTM 2379 formats (strptime pattern of one date, length of the value): a date, a date and time; an ISO week
# (CCYYWW) and a date range (CCYYMMDD-CCYYMMDD) are periods.
DATE_FORMATS = {"102": ("%Y%m%d", 8), "203": ("%Y%m%d%H%M", 12), "204": ("%Y%m%d%H%M%S", 14)}
PERIOD_FORMATS = {"616": ("", 6), "718": ("%Y%m%d", 17)}
