"""Hand-computed cases for each term of the forecast reliability (services module docstring).

The scenario (cw = the current week; relationship fences firm 2, material 3; one item):
- v1 published on the Wednesday of cw-6: w1=cw-3: 100, w2=cw-2: 80, w3=cw-1: 60
- v2 published on the Thursday of cw-4: w1: 90, w3: 50 (no bucket for w2: a forecast of 0)
- v3 published at exactly 00:00 on the Monday of cw-2 (not *before* that week's start): w3: 40
- A(w1) = 70 issued + 30 acknowledged (a cancelled 50 and a draft 20 do not count) = 100
- A(w2) = 50; A(w3) = 0 (only a cancelled PO)
F by (week, lag), from the latest version published before the start of week w-L:
  w1: L1 v1 100, L2 v1 100, L3+ none (v1 came mid-week cw-6)
  w2: L1 v2 0 (missing bucket), L2 v1 80, L3 v1 80, L4+ none
  w3: L1 v2 50 (v3 is not before), L2 v2 50, L3 v1 60, L4 v1 60, L5+ none
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.forecasts.models import ForecastCut
from cogrow.reliability import services
from cogrow.reliability.models import ReliabilityProgress, ReliabilityWeek
from tests import factories as f
from tests.reliability.build import at, po_line, version, week

D = Decimal


@pytest.fixture
def scenario(db):
    rel = f.RelationshipFactory(firm_fence_weeks=2, material_fence_weeks=3)
    item = f.ItemFactory(supply_relationship=rel, unit_price=D("1500"))
    w1, w2, w3 = week(-3), week(-2), week(-1)
    version(rel, 1, at(week(-6), days=2, hours=10), {(item, w1): 100, (item, w2): 80, (item, w3): 60})
    v2 = version(rel, 2, at(week(-4), days=3, hours=15), {(item, w1): 90, (item, w3): 50})
    v3 = version(rel, 3, at(week(-2)), {(item, w3): 40})
    po_line(rel, item, w1 + timedelta(days=2), 70, "issued")
    po_line(rel, item, w1 + timedelta(days=6), 30, "acknowledged")
    po_line(rel, item, w1, 50, "cancelled")
    po_line(rel, item, w1, 20, "draft")
    po_line(rel, item, w2 + timedelta(days=4), 50, "partially_shipped")
    po_line(rel, item, w3, 25, "cancelled")
    db.session.add_all([
        ForecastCut(publication_id=v3.id, relationship_id=rel.id, item_id=item.id, week_start=w3,
                    previous_qty=D("50"), new_qty=D("40"), amount=D("15000")),
        ForecastCut(publication_id=v2.id, relationship_id=rel.id, item_id=item.id, week_start=week(-2),
                    previous_qty=D("80"), new_qty=D("0"), amount=D("120000")),
    ])
    db.session.commit()
    services.refresh([rel.id])
    return rel, item


def stored(db, rel):
    rows = db.session.execute(select(ReliabilityWeek.week_start, ReliabilityWeek.lag, ReliabilityWeek.forecast_qty,
                                     ReliabilityWeek.actual_qty).where(ReliabilityWeek.relationship_id == rel.id))
    return {(w, lag): (fc, a) for w, lag, fc, a in rows}


def test_forecast_is_the_latest_version_before_the_week_minus_lag_starts(db, scenario):
    rel, _item = scenario
    w1, w2, w3 = week(-3), week(-2), week(-1)
    assert stored(db, rel) == {
        (w1, 1): (D(100), D(100)), (w1, 2): (D(100), D(100)),
        (w2, 1): (D(0), D(50)), (w2, 2): (D(80), D(50)), (w2, 3): (D(80), D(50)),
        (w3, 1): (D(50), D(0)), (w3, 2): (D(50), D(0)), (w3, 3): (D(60), D(0)), (w3, 4): (D(60), D(0)),
    }


def test_wape_and_bias_by_lag_over_the_window(db, scenario):
    rel, _item = scenario
    figures = services.by_lag([rel.id], week(-3), week(-1))[rel.id]
    # lag 1: |100-100| + |0-50| + |50-0| = 100 over A = 150; bias (0 - 50 + 50) / 150 = 0
    assert (figures[1].wape, figures[1].bias) == (D("0.6667"), D("0.0000"))
    # lag 2: 0 + 30 + 50 = 80 over 150, all over-forecast
    assert (figures[2].wape, figures[2].bias) == (D("0.5333"), D("0.5333"))
    # lag 3: w1 has no version this early; |80-50| + |60-0| = 90 over 50
    assert (figures[3].wape, figures[3].bias) == (D("1.8000"), D("1.8000"))
    assert figures[3].observations == 2 and figures[3].weeks == 2
    # lag 4: only w3, whose demand is 0: the error counts but the ratio is undefined
    assert figures[4].abs_error == D(60) and figures[4].wape is None and figures[4].bias is None
    assert 5 not in figures


def test_a_week_with_no_demand_raises_wape_but_a_window_without_demand_has_none(db, scenario):
    rel, _item = scenario
    only_w3 = services.by_lag([rel.id], week(-1), week(-1))[rel.id]
    assert only_w3[1].actual == 0 and only_w3[1].abs_error == D(50)
    assert only_w3[1].wape is None and only_w3[1].bias is None
    with_w3 = services.by_lag([rel.id], week(-2), week(-1))[rel.id]
    without_w3 = services.by_lag([rel.id], week(-2), week(-2))[rel.id]
    assert with_w3[2].wape > without_w3[2].wape


def test_at_fences_reads_the_firm_and_material_fence_lags(db, scenario):
    rel, _item = scenario
    figures = services.at_fences([rel.id, 10**9], week(-3), week(-1))
    assert figures[rel.id] == services.FenceFigures(D("0.5333"), D("0.5333"), D("1.8000"), D("1.8000"))
    assert figures[10**9] == services.FenceFigures(None, None, None, None)


def test_fences_beyond_twelve_weeks_use_lag_twelve_and_a_zero_fence_lag_one(db, scenario):
    rel, _item = scenario
    rel.firm_fence_weeks, rel.material_fence_weeks = 0, 30
    db.session.commit()
    figures = services.at_fences([rel.id], week(-3), week(-1))[rel.id]
    assert (figures.wape_firm, figures.bias_firm) == (D("0.6667"), D("0.0000"))
    assert figures.wape_material is None


def test_build_share_is_demand_over_forecast_beyond_the_material_fence(db, scenario):
    rel, _item = scenario
    figures = services.by_lag([rel.id], week(-3), week(-1))[rel.id]
    share = services.build_share(figures, rel.material_fence_weeks)
    # lags 3..12: F = 80 + 60 + 60 = 200, A = 50 + 0 + 0 = 50
    assert (share.share, share.from_lag, share.observations) == (D("0.2500"), 3, 3)
    # Under-forecasting never suggests building more than the forecast
    assert services.build_share(figures, 1).share <= 1
    assert services.build_share({}, 3).share is None


def test_firm_cuts_count_versions_published_in_the_window(db, scenario):
    rel, _item = scenario
    totals = services.firm_cut_totals([rel.id], week(-3), week(-1))[rel.id]
    # v3 (published at the start of cw-2) is in the window; v2 (cw-4) is not
    assert totals == services.CutTotals(D("10"), D("15000"), "KRW", 1)
    wider = services.firm_cut_totals([rel.id], week(-4), week(-1))[rel.id]
    assert (wider.units, wider.amount, wider.cells) == (D("90"), D("135000"), 2)


def test_a_version_published_a_second_before_monday_counts_for_that_week(db):
    rel = f.RelationshipFactory()
    item = f.ItemFactory(supply_relationship=rel)
    version(rel, 1, at(week(-3)) - timedelta(seconds=1), {(item, week(-1)): 10})
    version(rel, 2, at(week(-3)), {(item, week(-1)): 99})
    db.session.commit()
    services.refresh([rel.id])
    # lag 2 of cw-1 is cut at the start of cw-3: v1 (Sunday 23:59:59 local) is before it, v2 is not
    assert stored(db, rel)[(week(-1), 2)] == (D(10), D(0))
    assert stored(db, rel)[(week(-1), 1)] == (D(99), D(0))


def test_the_current_week_is_never_stored(db, scenario):
    rel, item = scenario
    po_line(rel, item, week(0), 10)
    db.session.commit()
    services.refresh([rel.id])
    assert db.session.scalar(select(func.max(ReliabilityWeek.week_start))) == week(-1)
    assert services.stored_through(rel.id) == week(-1)
    assert db.session.get(ReliabilityProgress, rel.id).next_week == week(0)
