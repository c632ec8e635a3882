"""What the scorecard API accepts and answers."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema

from cogrow.core.schema import Amount, Query, Resource, SignedQuantity, decimal_type, refuse
from cogrow.scorecards.periods import parse_month

Figure = decimal_type(minimum=None, scale=6)  # a share (0..1), a mean in days, a count, a WAPE or a bias


def _month(value: Any) -> str:
    if not isinstance(value, str):
        raise refuse("Give a month as YYYY-MM.")
    try:
        return parse_month(value).label
    except ValueError:
        raise refuse("Must be a month written as YYYY-MM.") from None


Month = Annotated[str | None, PlainValidator(_month),
                  WithJsonSchema({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"})]


class ScorecardQuery(Query):
    """The period, from `start` to `end` (months, YYYY-MM); by default the six months ending with this one."""

    start: Month = None
    end: Month = None


class MonthFigure(Resource):
    """One month's figure (`month` empty: the whole period): `value` is numerator / denominator (a share or a mean
    in days) or the numerator itself for a count; null when nothing was counted."""

    month: str
    numerator: SignedQuantity
    denominator: SignedQuantity
    value: Figure | None


class MeasureFigures(Resource):
    key: str
    side: str
    kind: str
    better: str
    label: str
    months: list[MonthFigure]
    period: MonthFigure


class ForecastMonth(Resource):
    """The prime's forecast reliability over the weeks of a month (`month` empty: the period): WAPE and bias at
    the lags of the firm and material fences (null: no demand), and firm cuts of versions published then."""

    month: str
    wape_firm: Figure | None
    bias_firm: Figure | None
    wape_material: Figure | None
    bias_material: Figure | None
    firm_cut_units: SignedQuantity | None
    firm_cut_amount: Amount | None
    currency: str


class Scorecard(Resource):
    """Both scorecards of a relationship: the supplier's delivery performance and the prime's planning discipline."""

    relationship_id: int
    start: str
    end: str
    measures: list[MeasureFigures]
    forecast: list[ForecastMonth]
