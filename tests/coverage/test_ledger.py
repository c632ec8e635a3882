"""Every term of the coverage ledger against hand-computed numbers (domain.md, coverage.services)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from cogrow.coverage import services
from cogrow.coverage.models import CoverageLedger
from tests.coverage import builders as b
from tests.coverage.builders import CW, NOW, D, ledger_of, week, weeks_of

PERIOD_START = CW - timedelta(days=53)  # an authorization period well under way in the run's week


def reconcile(it, now=NOW):
    return services.reconcile(it.relationship_id, [it.id], now)


def check(db, it, **expected):
    row = ledger_of(db, it)
    actual = {k: getattr(row, k) for k in expected}
    assert actual == {k: D(v) if isinstance(v, (int, str)) else v for k, v in expected.items()}


def test_a_po_and_a_firm_forecast_of_the_same_week_count_once(db):
    rel = b.relationship(firm=4, material=8)
    it = b.item(rel)
    b.po_line(it, 80, week(1) + timedelta(days=2))
    b.publication(rel, {it: {week(1): 100, week(2): 50}})
    reconcile(it)
    # week 1: PO 80 inside the 100 forecast → 20 uncovered; week 2: 50 uncovered.
    check(db, it, open_po=80, firm_forecast=150, firm_uncovered=70, guaranteed=150)
    weeks = weeks_of(db, it)
    assert weeks[week(1)].guaranteed_due == D(100) and weeks[week(2)].guaranteed_due == D(50)


def test_a_po_above_the_forecast_of_its_week_leaves_nothing_uncovered(db):
    rel = b.relationship()
    it = b.item(rel)
    b.po_line(it, 120, week(1))
    b.publication(rel, {it: {week(1): 100}})
    reconcile(it)
    check(db, it, open_po=120, firm_uncovered=0, guaranteed=120)


def test_a_fab_authorization_above_open_demand_sets_guaranteed(db):
    rel = b.relationship()
    it = b.item(rel)
    start = PERIOD_START
    b.po_line(it, 100, week(1))
    b.authorization(it, "FAB", 400, start)
    b.authorization(it, "FAB", 500, start)  # the high-water mark
    b.authorization(it, "FAB", 450, start)
    b.authorization(it, "FAB", 9000, PERIOD_START - timedelta(days=273))  # an older period does not count
    b.shipment(it, 150, start + timedelta(days=3))
    b.shipment(it, 40, start - timedelta(days=1))  # before the period
    b.shipment(it, 30, start + timedelta(days=5), status="cancelled")
    reconcile(it)
    check(db, it, fab_authorized=500, cum_shipped=150, cum_start_date=start, guaranteed=350)


def test_an_authorization_of_a_future_period_does_not_count_yet(db):
    rel = b.relationship()
    it = b.item(rel)
    b.authorization(it, "FAB", 300, PERIOD_START)
    b.authorization(it, "FAB", 999, CW + timedelta(days=39))
    reconcile(it)
    check(db, it, fab_authorized=300, guaranteed=300, cum_start_date=PERIOD_START)


def test_a_fence_change_between_versions_uses_the_latest_zones(db):
    rel = b.relationship(firm=2, material=4)
    it = b.item(rel)
    # Version 1 was published under 4/8 fences: weeks 2 and 3 firm. Version 2 under today's 2/4: material.
    b.publication(rel, {it: {week(0): 99, week(2): 40, week(3): 40}}, firm=4, material=8)
    b.publication(rel, {it: {week(2): 40, week(3): 40}}, firm=2, material=4)
    reconcile(it)
    check(db, it, firm_forecast=0, material_forecast=80, guaranteed=0)


def test_a_bucket_never_counts_as_less_binding_than_its_zone_today(db):
    rel = b.relationship(firm=4, material=8)
    it = b.item(rel)
    # Published with 1/2 fences: week 1 material, week 3 planning. Today's 4/8 fences make both firm.
    b.publication(rel, {it: {week(1): 10, week(3): 20, week(6): 30}}, firm=1, material=2)
    reconcile(it)
    check(db, it, firm_forecast=30, material_forecast=30, guaranteed=30)


def test_a_week_rolls_from_material_into_firm(db):
    rel = b.relationship(firm=2, material=6)
    it = b.item(rel)
    # Published two weeks ago: week(1) was 3 weeks out (material), week(3) 5 weeks out, week(5) 7 (planning).
    b.publication(rel, {it: {week(1): 10, week(3): 20, week(5): 40}}, base_week=week(-2))
    reconcile(it, now=NOW - timedelta(weeks=2))
    check(db, it, firm_forecast=0, material_forecast=30, guaranteed=0)
    reconcile(it, now=NOW)
    check(db, it, firm_forecast=10, material_forecast=60, guaranteed=10)


def test_partial_receipts_do_not_change_open_po(db):
    rel = b.relationship()
    it = b.item(rel)
    b.po_line(it, 100, week(1), shipped=60, received=40, status="partially_shipped")
    b.po_line(it, 50, week(2), shipped=70, status="partially_shipped")  # over-delivered: nothing open
    reconcile(it)
    check(db, it, open_po=40, guaranteed=40)


@pytest.mark.parametrize(("status", "counted"), [
    ("draft", False), ("issued", True), ("acknowledged", True), ("change_proposed", True), ("rejected", False),
    ("partially_shipped", True), ("closed", False), ("cancelled", False),
])
def test_only_binding_po_lines_are_open_demand(db, status, counted):
    rel = b.relationship()
    it = b.item(rel)
    b.po_line(it, 70, week(1), status=status)
    reconcile(it)
    check(db, it, open_po=70 if counted else 0)


def test_past_weeks_of_the_forecast_are_ignored_and_a_late_po_is_due_now(db):
    rel = b.relationship()
    it = b.item(rel)
    b.publication(rel, {it: {week(-1): 70, week(0): 30}})
    b.po_line(it, 25, week(-2))
    reconcile(it)
    check(db, it, open_po=25, firm_forecast=30, firm_uncovered=5, guaranteed=30)
    assert set(weeks_of(db, it)) == {week(0)}


def test_machine_production_after_the_report_counts_into_supply(db):
    rel = b.relationship()
    it = b.item(rel)
    b.report(it, fg=100, wip=20, as_of=NOW - timedelta(hours=1))
    b.machine(it, 10, NOW - timedelta(hours=2))  # already in the report
    b.machine(it, 7, NOW - timedelta(minutes=30))
    b.machine(it, 5, NOW - timedelta(minutes=10))
    reconcile(it)
    check(db, it, fg_on_hand=100, wip=20, produced_since_report=12, supply=132, excess=132)


def test_the_position_is_the_latest_report_and_its_plan(db):
    rel = b.relationship()
    it = b.item(rel)
    b.report(it, fg=500, as_of=NOW - timedelta(days=2), plan={week(0): 999}, position=False)
    b.report(it, fg=40, as_of=NOW - timedelta(hours=3), plan={week(1): 15, week(-1): 50})
    reconcile(it)
    check(db, it, supply=40)
    weeks = weeks_of(db, it)
    assert {w: r.planned_output for w, r in weeks.items()} == {week(1): D(15)}


@pytest.mark.parametrize(("raw", "material", "cover", "exposure"), [
    (400, 50, 200, 120000),  # RAW 400 − shipped 0 − guaranteed 100 = 300 ≥ excess 200: all covered
    (0, 50, 50, 180000),  # the material-zone forecast covers 50: 150 × 1000 + 50 × 0.6 × 1000
    (0, 0, 0, 200000),
    (150, 0, 50, 180000),  # RAW 150 − guaranteed 100 = 50
])
def test_material_cover_and_exposure(db, raw, material, cover, exposure):
    rel = b.relationship(firm=2, material=6, share="0.4")
    it = b.item(rel, price="1000")
    b.po_line(it, 100, week(1))
    if material:
        b.publication(rel, {it: {week(3): material}})
    if raw:
        b.authorization(it, "RAW", raw, PERIOD_START)
    b.report(it, fg=250, wip=50)
    reconcile(it)
    check(db, it, guaranteed=100, supply=300, excess=200, material_cover=cover, exposure_amount=exposure)


def test_no_excess_without_supply_beyond_guaranteed(db):
    rel = b.relationship()
    it = b.item(rel, price="1500")
    b.po_line(it, 300, week(1))
    b.report(it, fg=200, wip=50)
    reconcile(it)
    check(db, it, excess=0, material_cover=0, exposure_amount=0)


def test_projected_weeks_shortage_and_projected_excess(db):
    rel = b.relationship(firm=4, material=8)
    it = b.item(rel, lead_time_days=14)  # today is Wednesday of week 0: the lead time reaches into week 2
    b.po_line(it, 80, week(0))
    b.po_line(it, 40, week(2))
    b.report(it, fg=50, plan={week(0): 20, week(1): 30, week(3): 100})
    reconcile(it)
    weeks = weeks_of(db, it)
    table = {w: (r.guaranteed_due, r.planned_output, r.projected, r.shortage) for w, r in weeks.items()}
    assert table == {
        week(0): (D(80), D(20), D(-10), D(30)),
        week(1): (D(0), D(30), D(20), D(10)),
        week(2): (D(40), D(0), D(-20), D(20)),
        week(3): (D(0), D(100), D(80), D(20)),
    }
    assert [weeks[week(i)].in_lead_time for i in range(4)] == [True, True, True, False]
    # Planned output of the fence (150) brings supply 50 to 200 against guaranteed 120: 80 more than now.
    check(db, it, guaranteed=120, supply=50, excess=0, shortage_qty=30, shortage_week=week(0),
          projected_excess_qty=80, projected_excess_week=week(3))


def test_projected_excess_counts_only_the_firm_fence(db):
    rel = b.relationship(firm=2, material=4)
    it = b.item(rel)
    b.po_line(it, 100, week(0))
    b.report(it, fg=150, plan={week(1): 30, week(2): 500})
    reconcile(it)
    # Already 50 in excess; the fence (weeks 0-1) adds 30 more; week 2 is outside it.
    check(db, it, excess=50, projected_excess_qty=30, projected_excess_week=week(1), shortage_qty=0,
          shortage_week=None)


def test_an_item_with_no_inputs_has_a_zero_ledger(db):
    rel = b.relationship()
    it = b.item(rel)
    reconcile(it)
    check(db, it, open_po=0, guaranteed=0, supply=0, excess=0, exposure_amount=0, projected_excess_qty=0,
          projected_excess_week=None, shortage_qty=0, shortage_week=None, cum_start_date=None)
    assert ledger_of(db, it).computed_at == NOW


def test_reconcile_is_idempotent_and_touches_only_the_items_asked(db):
    rel = b.relationship()
    one, two = b.item(rel), b.item(rel)
    b.po_line(one, 10, week(1))
    b.po_line(two, 20, week(1))
    services.reconcile(rel.id, None, NOW)
    b.po_line(two, 5, week(2))
    assert reconcile(one) == 1
    assert reconcile(one) == 1
    check(db, one, open_po=10)
    check(db, two, open_po=20)  # not recomputed yet
    reconcile(two)
    check(db, two, open_po=25)
    assert db.session.query(CoverageLedger).filter_by(relationship_id=rel.id).count() == 2


def test_the_full_sweep_covers_active_relationships_only(db):
    active, suspended = b.relationship(), b.relationship(status="suspended")
    a, s = b.item(active), b.item(suspended)
    b.po_line(a, 10, week(1))
    b.po_line(s, 10, week(1))
    assert services.full_sweep(NOW) >= 1
    check(db, a, open_po=10)
    assert ledger_of(db, s) is None


def test_machine_production_without_any_report_is_all_supply(db):
    rel = b.relationship()
    it = b.item(rel)
    b.machine(it, 9, NOW - timedelta(days=3))
    b.machine(it, 4, NOW - timedelta(hours=1))
    reconcile(it)
    check(db, it, fg_on_hand=0, wip=0, produced_since_report=13, supply=13, position_as_of=None)
