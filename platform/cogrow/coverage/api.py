"""JSON API for the coverage ledger: routes attach to the shared /api/v1 blueprint."""
from __future__ import annotations


from flask import g, url_for

from cogrow.core.api import bp, operation, page_of
from cogrow.core.auth import requires
from cogrow.core.schema import PageQuery
from cogrow.coverage import services
from cogrow.coverage.schemas import (
    CoverageLedger, CoverageLedgerRow, CoverageRecompute, CoverageRecomputeQueued, CoverageWeek, ItemLedger,
)
from cogrow.relationships import services as relationships


@bp.get("/relationships/<int:relationship_id>/items/<int:item_id>/ledger")
@requires(api=True)
@operation("getItemLedger", tag="coverage", response=ItemLedger)
def ledger_show(relationship_id: int, item_id: int):
    """One item's ledger and its projected weeks; `ledger` is null until it is first computed."""
    item, ledger, weeks = services.item_ledger(g.actor, relationship_id, item_id)
    return ItemLedger(item_id=item.id, ledger=CoverageLedger.model_validate(ledger) if ledger is not None else None,
                      # pending: a change to the item is not in this ledger yet (a reconcile is queued or running)
                      pending=services.is_pending(item.relationship_id, item.id),
                      computed_at=ledger.computed_at if ledger is not None else None,
                      explanation=services.explanation(ledger) if ledger is not None else None,
                      weeks=[CoverageWeek.model_validate(w) for w in services.projected_weeks(ledger, weeks)])


@bp.get("/relationships/<int:relationship_id>/ledger")
@requires(api=True)
@operation("listLedger", tag="coverage", query=PageQuery, response=page_of(CoverageLedgerRow))
def ledger_index(relationship_id: int, query: PageQuery):
    """A page of the relationship's ledger, the largest exposure first (then by item id)."""
    rows = services.relationship_ledger(g.actor, relationship_id, limit=query.limit, offset=query.offset)
    every, pending = services.pending_items(relationship_id)
    data = [CoverageLedgerRow(**CoverageLedger.model_validate(ledger).model_dump(),
                              prime_part_number=item.prime_part_number, pending=every or item.id in pending)
            for ledger, item in rows]
    return page_of(CoverageLedgerRow)(data=data, limit=query.limit, offset=query.offset)


@bp.post("/relationships/<int:relationship_id>/ledger/recompute")
@requires(api=True)
@operation("recomputeLedger", tag="coverage", body=CoverageRecompute, body_optional=True,
           response=CoverageRecomputeQueued, status=202,
           links={"ListLedger": {"operationId": "listLedger",
                                 "parameters": {"relationship_id": "$response.body#/relationship_id"}}})
def ledger_recompute(relationship_id: int, body: CoverageRecompute):
    """Queue a reconcile of the relationship's ledger, or of the items in an optional JSON body's `item_ids`; 202
    with the outbox row's id, and the ledger's address in Location."""
    relationships.get_relationship(g.actor, relationship_id)
    event = services.request_relationship_recompute(g.actor, relationship_id, body.item_ids)
    answer = CoverageRecomputeQueued(outbox_id=event.id, relationship_id=relationship_id,
                                     item_ids=(event.payload or {}).get("item_ids"), pending=True)
    return answer, {"Location": url_for("api.ledger_index", relationship_id=relationship_id)}
