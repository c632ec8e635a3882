"""PO lines marked for cancellation as a draft: the what-if before cancelling (domain.md, "Liability and what-if").

The prime's planner marks lines of a PO that can still be cancelled; the what-if (coverage.whatif) reads the PO
lines without them. Cancelling for real is the normal path: the whole PO is cancelled when every line is marked,
else the PO is revised without the marked lines (which re-issues it, as any line change does). Either way, or on
discard, the draft is deleted. One draft per PO; marking again replaces it.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import NotFound, ValidationFailed
from cogrow.coverage import whatif
from cogrow.extensions import db
from cogrow.orders import services
from cogrow.orders.models import PoCancelDraft, PoCancelDraftLine, PurchaseOrder

logger = logging.getLogger("cogrow.orders")


def get_cancel_draft(actor: Actor, relationship_id: int, po_id: int) -> tuple[PurchaseOrder, PoCancelDraft]:
    """The PO and its cancellation draft, to the prime's side only (anyone else, or no draft: not found)."""
    po = services.get_po(actor, relationship_id, po_id)
    draft = db.session.scalar(select(PoCancelDraft).where(PoCancelDraft.purchase_order_id == po.id))
    if draft is None or actor.organisation_id != po.supply_relationship.prime_id:
        raise NotFound(_("No lines of this purchase order are marked for cancellation."))
    return po, draft


def marked_line_ids(draft: PoCancelDraft) -> set[int]:
    return set(db.session.scalars(select(PoCancelDraftLine.line_id).where(PoCancelDraftLine.draft_id == draft.id)))


def mark_lines(actor: Actor, relationship_id: int, po_id: int, line_ids: Iterable[int]) -> PoCancelDraft:
    """Mark these lines of the PO for cancellation (replacing an earlier mark); the PO must be one the prime can
    still cancel or revise. Commits."""
    po = services.get_po(actor, relationship_id, po_id)
    services.check_action(actor, po, "cancel", None)
    ids = {int(i) for i in line_ids}
    if not ids:
        raise ValidationFailed(_("Mark at least one line."), fields={"line_ids": _("Mark at least one line.")})
    unknown = ids - {line.id for line in po.lines}
    if unknown:
        raise ValidationFailed(_("Some lines are not valid."),
                               fields={"line_ids": _("No such line on this purchase order: %(ids)s.",
                                                     ids=", ".join(str(i) for i in sorted(unknown)))})
    db.session.execute(delete(PoCancelDraft.__table__).where(PoCancelDraft.purchase_order_id == po.id))
    draft = PoCancelDraft(relationship_id=po.relationship_id, purchase_order_id=po.id, created_by_id=actor.user_id)
    db.session.add(draft)
    db.session.flush()
    db.session.execute(insert(PoCancelDraftLine.__table__), [{"draft_id": draft.id, "line_id": i} for i in sorted(ids)])
    audit.record(actor, "po.cancel_draft_marked", po, detail={"line_ids": sorted(ids)})
    db.session.commit()
    return draft


def cancel_whatif(actor: Actor, relationship_id: int, po_id: int) -> whatif.WhatIf:
    """The what-if of cancelling the marked lines: the items of those lines, before and after."""
    po, draft = get_cancel_draft(actor, relationship_id, po_id)
    marked = marked_line_ids(draft)
    items = {line.item_id for line in po.lines if line.id in marked}
    return whatif.compute(po.relationship_id, whatif.PO_CANCEL_DRAFT, draft.id, item_ids=items)


def apply_cancel(actor: Actor, relationship_id: int, po_id: int, expected_version: int,
                 reason: str | None = None) -> PurchaseOrder:
    """Cancel the marked lines for real: the PO when all of its lines are marked, else a revision without them."""
    po, draft = get_cancel_draft(actor, relationship_id, po_id)
    marked = marked_line_ids(draft)
    kept = [line for line in po.lines if line.id not in marked]
    if not kept:
        db.session.delete(draft)
        return services.cancel_po(actor, relationship_id, po_id, expected_version, reason)
    services.check_action(actor, po, "revise", expected_version)
    lines = [{"index": i, "line_no": line.line_no, "item_id": line.item_id, "quantity": line.quantity,
              "due_date": line.due_date} for i, line in enumerate(kept)]
    detail = services.revise_lines(actor, po, lines, None, replace=True)
    audit.record(actor, "po.lines_cancelled", po, detail={"line_ids": sorted(marked), "reason": reason or None,
                                                          "revision": bool(detail)})
    db.session.delete(draft)
    services._commit()
    logger.info("PO %s: %s lines cancelled by %s", po.number, len(marked), actor)
    return po


def discard_cancel(actor: Actor, relationship_id: int, po_id: int) -> None:
    po, draft = get_cancel_draft(actor, relationship_id, po_id)
    audit.record(actor, "po.cancel_draft_discarded", po)
    db.session.delete(draft)
    db.session.commit()
