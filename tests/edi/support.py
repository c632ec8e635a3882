"""Helpers of the EDI tests: a partner that needs no database, and docs compared without their positions."""
from __future__ import annotations

import dataclasses
from datetime import date, time
from typing import Any

from cogrow.edi.documents import Envelope
from cogrow.edi.models import PartnerSettings

PRIME_ID, SUPPLIER_ID = "PRIMEA", "SUPPLIERA"


def x12_partner(**changes: Any) -> PartnerSettings:
    values = dict(standard="x12", version="004010", prime_qualifier="ZZ", prime_edi_id=PRIME_ID,
                  prime_group_id="PRIMEAPP", supplier_qualifier="01", supplier_edi_id=SUPPLIER_ID,
                  supplier_group_id="", element_separator="*", component_separator=">", segment_terminator="~",
                  repetition_separator="^", uom_codes={"PC": "EA"}, test_mode=False)
    values.update(changes)
    return PartnerSettings(**values)


def envelope(message_type: str, control: str = "000000101", sender: str = PRIME_ID, receiver: str = SUPPLIER_ID,
             day: date = date(2026, 11, 18)) -> Envelope:
    qualifiers = {PRIME_ID: "ZZ", SUPPLIER_ID: "01"}
    return Envelope(sender_id=sender, sender_qualifier=qualifiers[sender], receiver_id=receiver,
                    receiver_qualifier=qualifiers[receiver], control_number=control, date=day, time=time(9, 30),
                    standard="x12", version="004010", group_control_number=str(int(control)),
                    message_type=message_type)


def unplaced(value: Any) -> Any:
    """A document with every `position` set to 0, to compare what was written with what was read back."""
    if dataclasses.is_dataclass(value):
        changes = {f.name: unplaced(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if "position" in changes:
            changes["position"] = 0
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(unplaced(v) for v in value)
    if isinstance(value, list):
        return [unplaced(v) for v in value]
    return value
