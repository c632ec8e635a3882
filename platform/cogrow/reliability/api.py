"""JSON routes of the reliability domain, on the shared API blueprint."""
from __future__ import annotations

from flask import g

from cogrow.core.api import bp, operation
from cogrow.core.auth import requires
from cogrow.reliability import services
from cogrow.reliability.schemas import (BuildShareOut, CutTotalsOut, ItemReliability, LagFiguresOut,
                                        RelationshipReliability, WindowQuery)


def _lag(f: services.LagFigures) -> LagFiguresOut:
    return LagFiguresOut(lag=f.lag, weeks=f.weeks, observations=f.observations, forecast=f.forecast, actual=f.actual,
                         abs_error=f.abs_error, wape=f.wape, bias=f.bias)


@bp.get("/relationships/<int:relationship_id>/reliability")
@requires(api=True)
@operation("getForecastReliability", tag="reliability", query=WindowQuery, response=RelationshipReliability)
def reliability_show(relationship_id: int, query: WindowQuery):
    """The prime's forecast reliability in this relationship over the last `weeks` weeks that ended: WAPE and bias
    by lag 1..12, per item, the firm cuts and the suggested share of the planning-zone forecast to build to."""
    first, last = services.default_window(query.weeks)
    r = services.relationship_reliability(g.actor, relationship_id, first, last)
    s = r.share
    return RelationshipReliability(
        relationship_id=r.rel.id, first_week=r.first_week, last_week=r.last_week, stored_through=r.stored_through,
        firm_lag=r.firm_lag, material_lag=r.material_lag, lags=[_lag(f) for f in r.lags],
        build_share=BuildShareOut(share=s.share, from_lag=s.from_lag, observations=s.observations, weeks=s.weeks,
                                  forecast=s.forecast, actual=s.actual),
        cuts=CutTotalsOut(units=r.cuts.units, amount=r.cuts.amount, currency=r.cuts.currency, cells=r.cuts.cells),
        items=[ItemReliability(item_id=i.item_id, prime_part_number=i.part_number, firm=_lag(i.firm),
                               material=_lag(i.material), lags=[_lag(i.lags[lag]) for lag in sorted(i.lags)],
                               cut_units=i.cut_units, cut_amount=i.cut_amount) for i in r.items],
        prime_lags=[_lag(f) for f in r.prime_lags] if r.prime_lags is not None else None)
