"""What the API accepts and answers for the coverage ledger."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from pydantic import Field

from cogrow.alerts.schemas import id_list_type
from cogrow.core.schema import MAX_BIG_ID, Amount, Body, Date, Moment, Quantity, Resource, SignedQuantity
from cogrow.coverage.services import MAX_RECOMPUTE_ITEMS


class CoverageRecompute(Body):
    """Which items to reconcile; without `item_ids` (or with no body at all), every item of the relationship."""

    item_ids: id_list_type(_l("A list of 1 to %(max)s item ids.", max=MAX_RECOMPUTE_ITEMS), maximum=MAX_BIG_ID,
                           max_items=MAX_RECOMPUTE_ITEMS) | None = None


class CoverageRecomputeQueued(Resource):
    """The reconcile is queued in the outbox (row `outbox_id`); the ledger answers say `pending` until it is done."""

    outbox_id: int
    relationship_id: int
    item_ids: list[int] | None
    pending: bool


class CoverageLedger(Resource):
    """One item's coverage ledger. `unit_price` and `exposure_amount` are in `currency`, the item's price currency."""

    item_id: int
    relationship_id: int
    currency: str
    computed_at: Moment
    position_as_of: Moment | None
    unit_price: Amount
    material_share: Quantity
    open_po: Quantity
    firm_forecast: Quantity
    firm_uncovered: Quantity
    fab_authorized: Quantity
    raw_authorized: Quantity
    cum_shipped: Quantity
    guaranteed: Quantity
    fg_on_hand: Quantity
    wip: Quantity
    produced_since_report: Quantity
    supply: Quantity
    excess: Quantity
    material_forecast: Quantity
    material_cover: Quantity
    exposure_amount: Amount
    projected_excess_qty: Quantity
    shortage_qty: Quantity
    current_week: Date = Field(description="The Monday of the week the ledger was computed for.")
    cum_start_date: Date | None
    projected_excess_week: Date | None
    shortage_week: Date | None


class CoverageLedgerRow(CoverageLedger):
    """A row of the relationship's ledger; `pending` while a change to the item is not reconciled yet."""

    prime_part_number: str
    pending: bool


class CoverageWeek(Resource):
    """One week of the item's projection (weeks without a change carry the week before)."""

    week_start: Date
    po_due: Quantity
    firm_forecast: Quantity
    planned_output: Quantity
    guaranteed_due: Quantity
    projected: SignedQuantity
    shortage: Quantity
    in_firm_fence: bool


class ItemLedger(Resource):
    """An item's ledger (null until first computed) and its projected weeks; `pending` while a change to the item
    is not in this ledger yet (a reconcile is queued or running)."""

    item_id: int
    ledger: CoverageLedger | None
    pending: bool
    computed_at: Moment | None
    explanation: str | None
    weeks: list[CoverageWeek]
