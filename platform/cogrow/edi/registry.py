"""Which syntax reads and writes which message: one entry per syntax (x12, edifact).

A syntax module registers itself with `register(Syntax(...))` at import time (cogrow.edi.x12,
cogrow.edi.edifact). The EDI core (cogrow.edi.services) only ever calls these four functions:

    parse(text: str, partner: PartnerSettings) -> tuple[Envelope, list[Doc]]
        Read a whole interchange (any of the syntax's messages; BOM, CR/LF or LF already tolerated by the
        syntax). Checks the envelope counts and control numbers. Unit codes go through
        `partner.uom_from_edi(code)`. Raises EdiError(segment, position, element, message) on the first
        problem; never any other exception for bad input.

    write(docs: Sequence[Doc], envelope: Envelope, partner: PartnerSettings) -> str
        One interchange holding `docs` (all of one family), addressed and numbered by `envelope` (built by
        the core: control number already allocated). Separators from the partner; units through
        `partner.uom_to_edi(uom)`.

    functional_ack(received: Envelope, accepted: bool, errors: Sequence[EdiError], envelope: Envelope,
                   partner: PartnerSettings) -> str
        The functional acknowledgement (X12 997, EDIFACT CONTRL) of the interchange `received`, accepted or
        rejected with its errors, in an interchange addressed and numbered by `envelope`.

    detect(text: str) -> bool
        Whether the text looks like this syntax's interchange (ISA..., UNA/UNB...).

    peek(text: str, partner: PartnerSettings) -> Envelope
        The envelope (with message_type, the first message's type) from the interchange's first segments
        only, without reading the rest: the web request uses it to pick the import kind and refuse a
        duplicate control number before a large interchange goes to the worker. Raises EdiError.

`messages` maps a document family to the syntax's message type; a family the syntax lacks is absent:
    "forecast" (830 / DELFOR), "shipping_schedule" (862), "order" (850 / ORDERS), "ack" (855 / ORDRSP),
    "asn" (856 / DESADV), "functional_ack" (997 / CONTRL).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cogrow.edi.documents import Doc, EdiError, Envelope

if TYPE_CHECKING:
    from cogrow.edi.models import PartnerSettings

FAMILIES = ("forecast", "shipping_schedule", "order", "ack", "asn", "functional_ack")


@dataclass(frozen=True)
class Syntax:
    name: str                                                                    # "x12" / "edifact"
    parse: Callable[[str, PartnerSettings], tuple[Envelope, list[Doc]]]
    write: Callable[[Sequence[Doc], Envelope, PartnerSettings], str]
    functional_ack: Callable[[Envelope, bool, Sequence[EdiError], Envelope, PartnerSettings], str]
    detect: Callable[[str], bool]
    peek: Callable[[str, PartnerSettings], Envelope]
    messages: dict[str, str] = field(default_factory=dict)                      # family -> message type
    versions: tuple[str, ...] = ()                                               # accepted versions
    # The interchange's segments as (position, tag, message reference): the reference is the ST02 / UNH01 of a
    # message's header segment, "" for the others. Places an error in its message for the 997 / CONTRL.
    outline: Callable[[str, PartnerSettings], list[tuple[int, str, str]]] | None = None


SYNTAXES: dict[str, Syntax] = {}


def register(syntax: Syntax) -> Syntax:
    SYNTAXES[syntax.name] = syntax
    return syntax


def get(name: str) -> Syntax:
    load()
    return SYNTAXES[name]


def load() -> dict[str, Syntax]:
    """Import the syntax modules (each registers itself); a syntax whose module is missing is simply absent."""
    import importlib

    for module in ("cogrow.edi.x12", "cogrow.edi.edifact"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # the EDIFACT module may not exist yet in a checkout
            if exc.name != module:
                raise
    return SYNTAXES


def family_of(syntax: str, message_type: str) -> str | None:
    for family, message in get(syntax).messages.items():
        if message == message_type:
            return family
    return None


def jsonable(value: Any) -> Any:
    """Docs hold Decimals and dates: a JSON-friendly copy for logs."""
    from dataclasses import asdict, is_dataclass
    from datetime import date
    from decimal import Decimal

    if is_dataclass(value):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
