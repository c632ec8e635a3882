"""What the API answers for the forecast reliability. Ratios are decimals as text (0.1234 = 12.34 %), null when
nothing was ordered in the window (undefined)."""
from __future__ import annotations

from pydantic import Field

from cogrow.core.schema import Amount, Date, Query, Quantity, Resource, SignedQuantity, int_type
from cogrow.reliability.services import DEFAULT_WINDOW_WEEKS, MAX_WINDOW_WEEKS


class WindowQuery(Query):
    weeks: int_type(minimum=1, maximum=MAX_WINDOW_WEEKS) = Field(  # type: ignore[valid-type]
        DEFAULT_WINDOW_WEEKS, description="How many weeks that ended before the current week to compare.")


class LagFiguresOut(Resource):
    """The sums of one lag over the window: WAPE = abs_error / actual, bias = (forecast − actual) / actual."""

    lag: int
    weeks: int = Field(description="Target weeks with a forecast at this lag.")
    observations: int = Field(description="(item, week) pairs with a forecast or an order at this lag.")
    forecast: Quantity
    actual: Quantity
    abs_error: Quantity
    wape: Quantity | None
    bias: SignedQuantity | None


class BuildShareOut(Resource):
    """Ordered / forecast at the lags from `from_lag` (the material fence) to 12, clamped to [0, 1]."""

    share: Quantity | None
    from_lag: int
    observations: int
    weeks: int
    forecast: Quantity
    actual: Quantity


class CutTotalsOut(Resource):
    """Firm cuts of the versions published in the window: units lowered and their amount at the unit price."""

    units: Quantity
    amount: Amount
    currency: str
    cells: int


class ItemReliability(Resource):
    item_id: int
    prime_part_number: str
    firm: LagFiguresOut = Field(description="At the lag of the firm fence.")
    material: LagFiguresOut = Field(description="At the lag of the material fence.")
    lags: list[LagFiguresOut] = Field(description="Every lag with a forecast or an order in the window.")
    cut_units: Quantity
    cut_amount: Amount


class RelationshipReliability(Resource):
    """The relationship's forecast reliability over target weeks first_week..last_week. `prime_lags` (the prime's
    roll-up over all its suppliers) is given to the prime's side only, null for the supplier."""

    relationship_id: int
    first_week: Date
    last_week: Date
    stored_through: Date | None = Field(description="The last target week computed; later weeks are added nightly.")
    firm_lag: int
    material_lag: int
    lags: list[LagFiguresOut]
    build_share: BuildShareOut
    cuts: CutTotalsOut
    items: list[ItemReliability]
    prime_lags: list[LagFiguresOut] | None
