"""Outbound interchanges sent without a click: a partner whose `auto_send` is on gets its EDI by webhook.

The prime's side receives the 830 / DELFOR of each forecast version it publishes and the 850 / ORDERS of each PO
it issues; the supplier's side the 855 / ORDRSP of each answer it gives (acknowledge, reject, propose) and the
856 / DESADV of each shipment. The domains call `queue(...)` inside their own transaction: an outbox row (topic
TOPIC) commits or rolls back with the business change. The relay hands it to `send_task`, which exports the
interchange (logged, with the next control number), marks the row done in the same transaction, and posts it to
the organisation's webhooks (cogrow.edi.sending). This module imports no domain: the domains import it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import select

from cogrow.core import outbox
from cogrow.core.models import OutboxEvent
from cogrow.edi.models import PartnerSettings
from cogrow.extensions import db


TOPIC = "edi.send"
KINDS = ("forecast", "order", "ack", "asn")
PO_ACTIONS = {"issue": "order", "acknowledge": "ack", "reject": "ack", "propose": "ack"}
# Set while an inbound interchange is applied: what a partner sent us by EDI is not sent back to it.
_from_edi: ContextVar[bool] = ContextVar("cogrow_edi_inbound", default=False)


@contextmanager
def inbound() -> Iterator[None]:
    """Changes made inside come from a partner's own interchange: queue nothing for them."""
    token = _from_edi.set(True)
    try:
        yield
    finally:
        _from_edi.reset(token)


def applied_inbound(apply: Callable[..., Any]) -> Callable[..., Any]:
    """An import kind's apply, run as `inbound()`."""
    def run(*args: Any, **kwargs: Any) -> Any:
        with inbound():
            return apply(*args, **kwargs)
    return run


def queue(kind: str, relationship_id: int, object_id: int) -> OutboxEvent | None:
    """Ask for the interchange of this object when the relationship's partner sends by itself (no commit).

    One pending row per object: two proposals made in one transaction give one 855 (it is written from the PO's
    state when the worker runs)."""
    if _from_edi.get():
        return None
    partner = db.session.scalar(select(PartnerSettings).where(PartnerSettings.relationship_id == relationship_id))
    if partner is None or not partner.auto_send or not partner.prime_edi_id or not partner.supplier_edi_id:
        return None
    payload = {"kind": kind, "id": int(object_id)}
    pending = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.topic == TOPIC, OutboxEvent.relationship_id == relationship_id,
        OutboxEvent.published_at.is_(None)))
    if any(event.payload == payload for event in pending):
        return None
    return outbox.enqueue(TOPIC, payload, relationship_id)


def po_changed(po: Any, action: str) -> None:
    """A PO moved by `action`: its 850 when issued, the supplier's 855 when answered; nothing otherwise."""
    kind = PO_ACTIONS.get(action)
    if kind is not None:
        queue(kind, po.relationship_id, po.id)
