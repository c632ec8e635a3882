"""The set-based SQL (stored rows, WAPE and bias by lag) equals the slow reference on random small histories:
versions published on any day and hour (Monday 00:00 and Sunday 23:59 included), buckets left out of some versions,
PO lines in every state, and any instant of the current week."""
from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cogrow.orders.models import PO_STATES
from cogrow.reliability import services
from cogrow.reliability.models import ReliabilityWeek
from tests import factories as f
from tests.conftest import frozen_now
from tests.reliability import reference
from tests.reliability.build import at, po_line, version, week

HOURS = st.sampled_from([0, 0.5, 9, 23.999])  # 23.999 on day 6: a few seconds before the next Monday
versions = st.lists(st.tuples(st.integers(-15, -1), st.integers(0, 6), HOURS,
                              st.lists(st.tuples(st.integers(0, 2), st.integers(-13, 0), st.integers(0, 60)),
                                       max_size=12)),
                    min_size=1, max_size=5, unique_by=lambda v: v[:3])
lines = st.lists(st.tuples(st.integers(0, 2), st.integers(-13, 0), st.integers(0, 6), st.integers(1, 90),
                           st.sampled_from(PO_STATES)), max_size=10)
history = st.fixed_dictionaries({
    "items": st.integers(1, 3), "versions": versions, "lines": lines,
    "now_hours": st.integers(0, 200),  # from the frozen instant: any hour of this week or the next
    "window": st.tuples(st.integers(-14, 0), st.integers(0, 13)), "fences": st.tuples(st.integers(0, 6),
                                                                                     st.integers(0, 14)),
})


def build(spec):
    firm, extra = spec["fences"]
    rel = f.RelationshipFactory(firm_fence_weeks=firm, material_fence_weeks=firm + extra)
    items = [f.ItemFactory(supply_relationship=rel) for _n in range(spec["items"])]
    # Version numbers follow the publication instants, as publishing assigns them.
    ordered = sorted(spec["versions"], key=lambda v: (v[0], v[1], v[2]))
    for number, (offset, day, hours, buckets) in enumerate(ordered, start=1):
        cells = {(items[i % len(items)], week(w)): qty for i, w, qty in buckets}
        version(rel, number, at(week(offset), days=day, hours=hours), cells)
    for index, w, day, qty, status in spec["lines"]:
        po_line(rel, items[index % len(items)], week(w) + timedelta(days=day), qty, status)
    return rel


def four_places(value):
    return None if value is None else value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(spec=history)
def test_stored_weeks_and_ratios_match_the_reference(db, spec):
    rel = build(spec)
    db.session.commit()
    now = frozen_now() + timedelta(hours=spec["now_hours"])
    services.refresh([rel.id], now)
    db.session.expire_all()
    stored = {(r.item_id, r.week_start, r.lag): (r.forecast_qty, r.actual_qty) for r in db.session.scalars(
        select(ReliabilityWeek).where(ReliabilityWeek.relationship_id == rel.id))}
    expected = reference.rows(db.session, rel.id, now, week(-20))
    assert stored == expected

    back, length = spec["window"]
    first = week(back - length)
    last = week(back)
    figures = services.by_lag([rel.id], first, last).get(rel.id, {})
    for lag in range(1, 13):
        wape, bias = reference.ratios(expected, first, last, lag)
        got = figures.get(lag, services.LagFigures(lag))
        assert (got.wape, got.bias) == (four_places(wape), four_places(bias)), lag
    fences = services.at_fences([rel.id], first, last)[rel.id]
    firm_lag = min(max(rel.firm_fence_weeks, 1), 12)
    assert (fences.wape_firm, fences.bias_firm) == tuple(
        four_places(v) for v in reference.ratios(expected, first, last, firm_lag))
