"""A firm bucket and a PO line of one week are one demand: the PO's shipped part already met it (issue 9, §3)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cogrow.coverage import services
from cogrow.coverage.models import CoverageLedger
from tests.coverage import builders as b
from tests.coverage import reference
from tests.coverage.builders import CW, NOW, D, ledger_of, week, weeks_of


def test_the_shipped_part_of_a_po_is_not_counted_again_as_uncovered_firm_demand(db):
    rel = b.relationship(firm=4, material=8)
    it = b.item(rel, price="10")
    b.po_line(it, 500, week(1), shipped=200, status="partially_shipped")
    b.publication(rel, {it: {week(1): 500}})
    services.reconcile(rel.id, [it.id], NOW)
    row = ledger_of(db, it)
    assert (row.open_po, row.firm_forecast, row.firm_uncovered, row.guaranteed) == (D(300), D(500), D(0), D(300))
    wk = weeks_of(db, it)[week(1)]
    assert (wk.po_due, wk.guaranteed_due, wk.cum_due, wk.shortage) == (D(300), D(300), D(300), D(300))


def test_the_firm_bucket_above_the_ordered_quantity_stays_uncovered(db):
    rel = b.relationship(firm=4, material=8)
    it = b.item(rel)
    b.po_line(it, 500, week(1), shipped=200, status="partially_shipped")
    b.publication(rel, {it: {week(1): 650}})
    services.reconcile(rel.id, [it.id], NOW)
    row = ledger_of(db, it)
    assert (row.open_po, row.firm_uncovered, row.guaranteed) == (D(300), D(150), D(450))


def test_a_po_closed_after_shipping_in_full_still_covers_its_firm_week(db):
    rel = b.relationship(firm=4, material=8)
    it = b.item(rel)
    b.po_line(it, 500, week(1), shipped=500, status="closed")
    b.po_line(it, 40, week(2), shipped=40, status="partially_shipped")  # fully shipped, not closed yet
    b.publication(rel, {it: {week(1): 500, week(2): 100}})
    b.report(it, fg=60)
    services.reconcile(rel.id, [it.id], NOW)
    row = ledger_of(db, it)
    assert (row.open_po, row.firm_uncovered, row.guaranteed, row.excess) == (D(0), D(60), D(60), D(0))
    assert set(weeks_of(db, it)) == {week(1), week(2)}
    assert weeks_of(db, it)[week(1)].guaranteed_due == D(0)


@pytest.mark.parametrize("status", ["draft", "rejected", "cancelled"])
def test_a_po_that_never_bound_or_no_longer_binds_covers_nothing(db, status):
    rel = b.relationship(firm=4, material=8)
    it = b.item(rel)
    b.po_line(it, 500, week(1), status=status)
    b.publication(rel, {it: {week(1): 500}})
    services.reconcile(rel.id, [it.id], NOW)
    row = ledger_of(db, it)
    assert (row.open_po, row.firm_uncovered, row.guaranteed) == (D(0), D(500), D(500))


def test_a_past_due_line_covers_the_current_week_with_what_it_still_owes(db):
    rel = b.relationship(firm=4, material=8)
    it = b.item(rel)
    b.po_line(it, 500, week(-2), shipped=400, status="partially_shipped")  # 100 late
    b.po_line(it, 90, week(-1), shipped=90, status="closed")  # history: covers nothing now
    b.publication(rel, {it: {week(0): 300}})
    services.reconcile(rel.id, [it.id], NOW)
    row = ledger_of(db, it)
    assert (row.open_po, row.firm_uncovered, row.guaranteed) == (D(100), D(200), D(300))
    assert set(weeks_of(db, it)) == {week(0)}


def test_a_material_week_the_firm_fence_has_reached_is_covered_the_same_way(db):
    rel = b.relationship(firm=3, material=6)
    it = b.item(rel)
    # Published two weeks ago with the same fences: week(1) was 3 weeks out (material); today it is firm.
    b.publication(rel, {it: {week(1): 400}}, base_week=week(-2))
    b.po_line(it, 400, week(1), shipped=150, status="partially_shipped")
    services.reconcile(rel.id, [it.id], NOW)
    row = ledger_of(db, it)
    assert (row.firm_forecast, row.material_forecast, row.firm_uncovered, row.guaranteed) == \
        (D(400), D(0), D(0), D(250))


statuses = st.sampled_from(["issued", "acknowledged", "change_proposed", "partially_shipped", "closed", "cancelled",
                            "draft"])
lines = st.lists(st.tuples(st.integers(-2, 5), st.integers(0, 6), st.integers(1, 300), st.integers(0, 330),
                           statuses), min_size=1, max_size=6)
firm_weeks = st.dictionaries(st.integers(0, 5), st.integers(1, 400), max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(po=lines, forecast=firm_weeks, fg=st.integers(0, 600), fab=st.integers(0, 900), shift=st.integers(0, 4))
def test_varying_shipped_quantities_agree_with_the_reference(db, po, forecast, fg, fab, shift):
    rel = b.relationship(firm=6, material=8)
    it = b.item(rel, price="7", lead_time_days=21)
    for offset, weekday, quantity, shipped, status in po:
        b.po_line(it, quantity, week(offset) + timedelta(days=weekday), shipped=shipped, status=status)
    b.publication(rel, {it: {week(w): q for w, q in forecast.items()}})
    b.authorization(it, "FAB", fab, CW - timedelta(days=30))
    b.report(it, fg=fg)
    now = NOW + timedelta(days=shift)  # Wednesday to Sunday of the same week
    services.reconcile(rel.id, [it.id], now)
    db.session.expire_all()
    expected, expected_weeks = reference.ledger(db.session, it.id, now)
    row = db.session.get(CoverageLedger, it.id)
    assert {k: getattr(row, k) for k in expected} == expected
    stored = weeks_of(db, it)
    assert set(stored) == set(expected_weeks)
    for wk, terms in expected_weeks.items():
        assert {k: getattr(stored[wk], k) for k in terms} == terms
    # Against the rule stated directly: every firm week is covered by what was ordered for it.
    ordered = {}
    for offset, weekday, quantity, shipped, status in po:
        if status in ("issued", "acknowledged", "change_proposed", "partially_shipped", "closed") and offset >= 0:
            ordered[week(offset)] = ordered.get(week(offset), 0) + quantity
        elif status in ("issued", "acknowledged", "change_proposed", "partially_shipped") and shipped < quantity:
            ordered[CW] = ordered.get(CW, 0) + quantity - shipped  # past due: what is still owed covers now
    assert row.firm_uncovered == D(sum(max(0, q - ordered.get(week(w), 0)) for w, q in forecast.items()))
