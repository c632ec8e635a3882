"""JSON API for the coverage ledger: routes attach to the shared /api/v1 blueprint."""
from __future__ import annotations

from flask import g, jsonify, request, url_for
from flask_babel import gettext as _

from cogrow.core.api import bp, decimal_str, json_body, page_args
from cogrow.core.auth import requires
from cogrow.core.errors import ValidationFailed
from cogrow.coverage import services
from cogrow.coverage.models import CoverageLedger
from cogrow.relationships import services as relationships

MAX_ID = 2**63 - 1  # the largest id a BIGINT column stores

NUMBERS = ("unit_price", "material_share", "open_po", "firm_forecast", "firm_uncovered", "fab_authorized",
           "raw_authorized", "cum_shipped", "guaranteed", "fg_on_hand", "wip", "produced_since_report", "supply",
           "excess", "material_forecast", "material_cover", "exposure_amount", "projected_excess_qty", "shortage_qty")
DATES = ("current_week", "cum_start_date", "projected_excess_week", "shortage_week")


def ledger_json(ledger: CoverageLedger) -> dict:
    out: dict = {"item_id": ledger.item_id, "relationship_id": ledger.relationship_id,
                 "currency": ledger.currency,  # of unit_price and exposure_amount
                 "computed_at": ledger.computed_at.isoformat(),
                 "position_as_of": ledger.position_as_of.isoformat() if ledger.position_as_of else None}
    out.update({name: decimal_str(getattr(ledger, name)) for name in NUMBERS})
    out.update({name: getattr(ledger, name).isoformat() if getattr(ledger, name) else None for name in DATES})
    return out


def week_json(row: services.WeekRow) -> dict:
    return {"week_start": row.week_start.isoformat(), "po_due": decimal_str(row.po_due),
            "firm_forecast": decimal_str(row.firm_forecast), "planned_output": decimal_str(row.planned_output),
            "guaranteed_due": decimal_str(row.guaranteed_due), "projected": decimal_str(row.projected),
            "shortage": decimal_str(row.shortage), "in_firm_fence": row.in_firm_fence}


@bp.get("/relationships/<int:relationship_id>/items/<int:item_id>/ledger")
@requires(api=True)
def ledger_show(relationship_id: int, item_id: int):
    """One item's ledger and its projected weeks; `ledger` is null until it is first computed."""
    item, ledger, weeks = services.item_ledger(g.actor, relationship_id, item_id)
    return jsonify({"item_id": item.id, "ledger": ledger_json(ledger) if ledger is not None else None,
                    # pending: a change to the item is not in this ledger yet (a reconcile is queued or running)
                    "pending": services.is_pending(item.relationship_id, item.id),
                    "computed_at": ledger.computed_at.isoformat() if ledger is not None else None,
                    "explanation": services.explanation(ledger) if ledger is not None else None,
                    "weeks": [week_json(w) for w in services.projected_weeks(ledger, weeks)]})


@bp.get("/relationships/<int:relationship_id>/ledger")
@requires(api=True)
def ledger_index(relationship_id: int):
    """A page of the relationship's ledger, the largest exposure first."""
    limit, offset = page_args()
    rows = services.relationship_ledger(g.actor, relationship_id, limit=limit, offset=offset)
    every, pending = services.pending_items(relationship_id)
    return jsonify({"data": [{**ledger_json(ledger), "prime_part_number": item.prime_part_number,
                              "pending": every or item.id in pending}
                             for ledger, item in rows], "limit": limit, "offset": offset})


def _recompute_item_ids() -> list[int] | None:
    """`item_ids` from an optional JSON body: a list of item ids, or absent (or null) for every item."""
    if not request.get_data(cache=True):
        return None
    body = json_body()
    errors = {name: _("Unknown field.") for name in body if name != "item_ids"}
    ids = body.get("item_ids")
    # JSON integers only (a bool is an int to Python, and not an id), each one a storable row id.
    if ids is not None and (not isinstance(ids, list) or not 1 <= len(ids) <= services.MAX_RECOMPUTE_ITEMS
                            or any(type(i) is not int or not 1 <= i <= MAX_ID for i in ids)):
        errors["item_ids"] = _("A list of 1 to %(max)s item ids.", max=services.MAX_RECOMPUTE_ITEMS)
    if errors:
        raise ValidationFailed(_("Some fields are not valid."), fields=errors)
    return ids


@bp.post("/relationships/<int:relationship_id>/ledger/recompute")
@requires(api=True)
def ledger_recompute(relationship_id: int):
    """Queue a reconcile of the relationship's ledger (or of `item_ids`); 202 with the outbox row's id."""
    relationships.get_relationship(g.actor, relationship_id)  # a foreign relationship is 404 before any 422
    event = services.request_relationship_recompute(g.actor, relationship_id, _recompute_item_ids())
    response = jsonify({"outbox_id": event.id, "relationship_id": relationship_id,
                        "item_ids": (event.payload or {}).get("item_ids"), "pending": True})
    response.status_code = 202
    response.headers["Location"] = url_for("api.ledger_index", relationship_id=relationship_id)
    return response
