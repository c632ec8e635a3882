"""The what-if: the ledger's own SQL over a draft, against hand-computed numbers, and nothing written."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from cogrow.core.weeks import zone_for
from cogrow.coverage import whatif
from cogrow.coverage.models import CoverageLedger, CoverageWeek
from cogrow.extensions import db as _db
from cogrow.forecasts.models import ForecastDraft, ForecastDraftBucket
from cogrow.orders.models import PoCancelDraft, PoCancelDraftLine
from tests.coverage import builders as b
from tests.coverage.builders import CW, NOW, D, week

PERIOD_START = CW - timedelta(days=53)


def forecast_draft(rel, buckets: dict) -> ForecastDraft:
    """A draft of `{item: {week: qty}}`, zoned as publishing it now would zone it."""
    draft = ForecastDraft(relationship_id=rel.id, note="", bucket_count=0, base_version_no=0)
    _db.session.add(draft)
    _db.session.flush()
    for it, by_week in buckets.items():
        for wk, qty in by_week.items():
            zone = zone_for((wk - CW).days // 7, rel.firm_fence_weeks, rel.material_fence_weeks)
            _db.session.add(ForecastDraftBucket(draft_id=draft.id, relationship_id=rel.id, item_id=it.id,
                                                week_start=wk, quantity=D(qty), zone=zone))
    _db.session.flush()
    return draft


def cancel_draft(line) -> PoCancelDraft:
    draft = PoCancelDraft(relationship_id=line.relationship_id, purchase_order_id=line.purchase_order_id)
    _db.session.add(draft)
    _db.session.flush()
    _db.session.add(PoCancelDraftLine(draft_id=draft.id, line_id=line.id))
    _db.session.flush()
    return draft


def ledger_rows() -> int:
    return (_db.session.scalar(select(func.count()).select_from(CoverageLedger))
            + _db.session.scalar(select(func.count()).select_from(CoverageWeek)))


def one(result, it) -> whatif.ItemChange:
    return next(c for c in result.items if c.item_id == it.id)


def test_a_draft_equal_to_the_published_version_changes_nothing(db):
    rel = b.relationship(firm=4, material=8, share="0.4")
    items = [b.item(rel, price=str(100 * (n + 1))) for n in range(3)]
    plan = {it: {week(1): 100 + n, week(3): 50, week(6): 70, week(12): 30} for n, it in enumerate(items)}
    b.publication(rel, plan)
    b.po_line(items[0], 80, week(1))
    b.authorization(items[1], "FAB", 400, PERIOD_START)
    b.authorization(items[1], "RAW", 900, PERIOD_START)
    b.report(items[2], fg=500, wip=40, plan={week(2): 30})
    draft = forecast_draft(rel, plan)
    before = ledger_rows()
    result = whatif.compute(rel.id, whatif.FORECAST_DRAFT, draft.id, now=NOW)
    assert len(result.items) == 3 and result.changed == []
    assert all(c.liability_change == 0 and c.exposure_change == 0 for c in result.items)
    assert ledger_rows() == before  # read only


def test_a_firm_cut_turns_built_stock_into_the_suppliers_loss(db):
    rel = b.relationship(firm=4, material=8, share="0.4")
    it = b.item(rel, price="1000")
    b.publication(rel, {it: {week(1): 300, week(2): 200}})
    b.report(it, fg=500)
    draft = forecast_draft(rel, {it: {week(1): 300, week(2): 50}})  # week 2 cut by 150
    change = one(whatif.compute(rel.id, whatif.FORECAST_DRAFT, draft.id, now=NOW), it)
    # Before: guaranteed 500 = supply, no excess. After: guaranteed 350, excess 150 with no cover.
    assert (change.before.guaranteed, change.after.guaranteed) == (D(500), D(350))
    assert (change.excess_change, change.supplier_loss, change.exposure_change) == (D(150), D(150), D(150000))
    assert (change.binding_removed, change.fab_kept, change.raw_kept) == (D(150), D(0), D(0))
    assert (change.before.liability.amount, change.after.liability.amount) == (D(500000), D(350000))
    assert change.liability_change == D(-150000)


def test_cancelling_a_po_line_takes_its_open_quantity_off_the_guarantee(db):
    rel = b.relationship(firm=4, material=8, share="0.5")
    it = b.item(rel, price="200")
    kept = b.po_line(it, 100, week(1))
    cut = b.po_line(it, 60, week(2), shipped=20)  # 40 still open
    b.publication(rel, {it: {week(6): 80}})  # material zone: 80 units of material cover
    b.report(it, fg=170)
    draft = cancel_draft(cut)
    change = one(whatif.compute(rel.id, whatif.PO_CANCEL_DRAFT, draft.id, item_ids=[it.id], now=NOW), it)
    # Before: open PO 140, guaranteed 140, excess 30, material cover 30 → exposure 30 × 200 × 0.5 = 3,000.
    # After: open PO 100, guaranteed 100, excess 70, cover min(70, 80) = 70 → exposure 70 × 100 = 7,000.
    assert (change.before.open_po, change.after.open_po) == (D(140), D(100))
    assert (change.before.exposure, change.after.exposure) == (D(3000), D(7000))
    assert (change.supplier_loss, change.binding_removed, change.fab_kept) == (D(40), D(40), D(0))
    assert change.liability_change == D(-8000)  # 40 × 200
    assert kept.id != cut.id


def test_a_cut_under_a_fab_authorization_is_still_paid_by_the_prime(db):
    rel = b.relationship(firm=4, material=8, share="0.4")
    it = b.item(rel, price="1000")
    b.publication(rel, {it: {week(1): 300, week(2): 300}})
    b.authorization(it, "FAB", 500, PERIOD_START)
    b.authorization(it, "RAW", 800, PERIOD_START)
    b.shipment(it, 100, PERIOD_START + timedelta(days=2))  # FAB left: 500 − 100 = 400
    b.report(it, fg=600)
    draft = forecast_draft(rel, {it: {week(1): 300, week(2): 0}})
    change = one(whatif.compute(rel.id, whatif.FORECAST_DRAFT, draft.id, now=NOW), it)
    # Firm demand falls 600 → 300, but FAB − shipped = 400 holds guaranteed at 400: 100 of the 300 cut units
    # are still the prime's finished goods; RAW 800 − 100 − 400 = 300 units of material (was 100).
    assert (change.before.guaranteed, change.after.guaranteed) == (D(600), D(400))
    assert (change.binding_removed, change.fab_kept, change.raw_kept) == (D(300), D(100), D(200))
    # Liability: before 600 × 1000 + 100 × 0.4 × 1000 = 640,000; after 400,000 + 300 × 400 = 520,000.
    assert (change.before.liability.amount, change.after.liability.amount) == (D(640000), D(520000))
    assert change.supplier_loss == D(200)


def test_an_item_the_draft_leaves_out_loses_its_forecast(db):
    rel = b.relationship()
    kept, dropped = b.item(rel), b.item(rel)
    b.publication(rel, {kept: {week(1): 10}, dropped: {week(1): 40}})
    draft = forecast_draft(rel, {kept: {week(1): 10}})
    result = whatif.compute(rel.id, whatif.FORECAST_DRAFT, draft.id, now=NOW)
    assert [c.item_id for c in result.changed] == [dropped.id]
    assert one(result, dropped).guaranteed_change == D(-40)


def test_the_what_if_after_is_the_ledger_that_publishing_the_draft_writes(db):
    """Over seeded random inputs, the draft's what-if equals the stored ledger once the same buckets are published."""
    import random

    from cogrow.coverage import services

    rng = random.Random(13)
    rel = b.relationship(firm=3, material=6, share="0.35")
    items = [b.item(rel, price=str(rng.randrange(100, 900))) for _ in range(6)]
    b.publication(rel, {items[0]: {week(k): rng.randrange(0, 80) for k in range(10)}})  # an older version
    b.publication(rel, {it: {week(k): rng.randrange(0, 80) for k in range(10)} for it in items})
    for it in items:
        b.po_line(it, rng.randrange(10, 90), week(rng.randrange(0, 5)), shipped=rng.choice([0, 5]))
        b.authorization(it, "FAB", rng.randrange(0, 300), PERIOD_START)
        b.authorization(it, "RAW", rng.randrange(0, 600), PERIOD_START)
        b.report(it, fg=rng.randrange(0, 400), wip=rng.randrange(0, 50), plan={week(1): rng.randrange(0, 40)})
    plan = {it: {week(k): rng.randrange(0, 80) for k in range(10) if rng.random() > 0.2} for it in items[:5]}
    draft = forecast_draft(rel, plan)
    result = whatif.compute(rel.id, whatif.FORECAST_DRAFT, draft.id, now=NOW)
    b.publication(rel, plan)
    services.reconcile(rel.id, None, NOW)
    for change in result.items:
        row = b.ledger_of(db, next(it for it in items if it.id == change.item_id))
        assert (change.after.guaranteed, change.after.excess, change.after.exposure) == (
            row.guaranteed, row.excess, row.exposure_amount), change.part_number
