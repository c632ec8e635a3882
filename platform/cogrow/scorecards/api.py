"""JSON routes of the scorecards domain, on the shared API blueprint."""
from __future__ import annotations

from flask import g

from cogrow.core.api import bp, operation
from cogrow.core.auth import requires
from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.scorecards import services
from cogrow.scorecards.schemas import ForecastMonth, MeasureFigures, MonthFigure, Scorecard, ScorecardQuery


def _month(card: services.Scorecard, key: str, label: str) -> MonthFigure:
    fig = card.figure(key, label or None)
    return MonthFigure(month=label, numerator=fig.num, denominator=fig.den, value=services.rounded(fig.value))


def _forecast(card: services.Scorecard, label: str, currency: str) -> ForecastMonth:
    figures = card.forecast_of(label or None)
    values = {key: services.rounded(figures.value(key)) if figures else None for key, _ in services.FORECAST_ROWS}
    cuts = figures.cuts if figures else None
    return ForecastMonth(month=label, **values, firm_cut_units=cuts.units if cuts else None,
                         firm_cut_amount=cuts.amount if cuts else None, currency=currency)


@bp.get("/relationships/<int:relationship_id>/scorecard")
@requires(api=True)
@operation("getScorecard", tag="scorecards", query=ScorecardQuery, response=Scorecard)
def scorecard_show(relationship_id: int, query: ScorecardQuery) -> Scorecard:
    """Both scorecards of a relationship, month by month and over the period (both sides read both)."""
    now = utcnow()
    card = services.scorecard(g.actor, relationship_id, query.start, query.end, local_today(now), now)
    labels = [m.label for m in card.period.months]
    measures = [MeasureFigures(key=m.key, side=m.side, kind=m.kind, better=m.better, label=str(m.label),
                               months=[_month(card, m.key, label) for label in labels],
                               period=_month(card, m.key, ""))
                for m in services.MEASURES.values()]
    currency = card.relationship.currency
    return Scorecard(relationship_id=card.relationship.id, start=card.period.first.label, end=card.period.last.label,
                     measures=measures, forecast=[_forecast(card, label, currency) for label in [*labels, ""]])
