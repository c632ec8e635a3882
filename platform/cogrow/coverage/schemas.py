"""What the API accepts and answers for the coverage ledger."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from pydantic import Field

from cogrow.alerts.schemas import id_list_type
from cogrow.core.schema import MAX_BIG_ID, Amount, Body, Date, Moment, Quantity, Resource, SignedQuantity
from cogrow.coverage.services import MAX_RECOMPUTE_ITEMS

FOUR_PLACES = Decimal("0.0001")


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


class WhatIfItem(Resource):
    """One item before (the published rows) and after (the draft): amounts in `currency`. `binding_removed` is the
    binding demand the draft takes away; of it, `fab_kept` units the prime still pays as finished goods through
    its FAB authorization; `raw_kept` units of material it now pays through RAW; `supplier_loss` units of stock
    lose their guaranteed buyer."""

    item_id: int
    part_number: str
    currency: str
    guaranteed_before: SignedQuantity
    guaranteed_after: SignedQuantity
    excess_before: SignedQuantity
    excess_after: SignedQuantity
    exposure_before: SignedQuantity
    exposure_after: SignedQuantity
    liability_before: SignedQuantity
    liability_after: SignedQuantity
    binding_removed: SignedQuantity
    fab_kept: SignedQuantity
    raw_kept: SignedQuantity
    supplier_loss: SignedQuantity


class WhatIfResult(Resource):
    """The what-if of a draft: the items it changes (every item of the scope with `all`), and the totals."""

    relationship_id: int
    currency: str
    items_compared: int
    items_changed: int
    guaranteed_change: SignedQuantity
    excess_change: SignedQuantity
    exposure_change: SignedQuantity
    liability_change: SignedQuantity
    supplier_loss: SignedQuantity
    fab_kept: SignedQuantity
    raw_kept: SignedQuantity
    items: list[WhatIfItem]


def _r(value: Decimal) -> Decimal:
    return value.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def whatif_result(result) -> WhatIfResult:
    """The answer of a coverage.whatif.WhatIf: the changed items and the totals (amounts to 4 places)."""
    items = [WhatIfItem(item_id=c.item_id, part_number=c.part_number, currency=c.currency,
                        guaranteed_before=_r(c.before.guaranteed), guaranteed_after=_r(c.after.guaranteed),
                        excess_before=_r(c.before.excess), excess_after=_r(c.after.excess),
                        exposure_before=_r(c.before.exposure), exposure_after=_r(c.after.exposure),
                        liability_before=_r(c.before.liability.amount), liability_after=_r(c.after.liability.amount),
                        binding_removed=_r(c.binding_removed), fab_kept=_r(c.fab_kept), raw_kept=_r(c.raw_kept),
                        supplier_loss=_r(c.supplier_loss)) for c in result.changed]
    totals = ("guaranteed_change", "excess_change", "exposure_change", "liability_change", "supplier_loss",
              "fab_kept", "raw_kept")
    return WhatIfResult(relationship_id=result.relationship_id, currency=result.currency,
                        items_compared=len(result.items), items_changed=len(items),
                        **{name: _r(result.total(name)) for name in totals}, items=items)
