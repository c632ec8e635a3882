"""The set-based SQL ledger equals the slow reference (tests/coverage/reference.py) on random small networks."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cogrow.coverage import services
from cogrow.coverage.models import CoverageLedger, CoverageWeek
from cogrow.orders.models import PO_STATES
from tests.coverage import builders as b
from tests.coverage import reference
from tests.coverage.builders import CW, NOW, week

qty = st.integers(min_value=0, max_value=120)
item_index = st.integers(min_value=0, max_value=2)

po_lines = st.lists(st.tuples(item_index, st.sampled_from(PO_STATES), st.integers(1, 100), st.integers(0, 120),
                              st.integers(-20, 70)), max_size=6)
publications = st.lists(st.tuples(st.integers(-3, 0), st.integers(0, 4), st.integers(0, 4),
                                  st.lists(st.tuples(item_index, st.integers(-2, 10), qty), max_size=10)),
                        max_size=2)
authorizations = st.lists(st.tuples(item_index, st.sampled_from(["FAB", "RAW"]), st.sampled_from([-90, -30, 0, 20]),
                                    st.integers(0, 400)), max_size=5)
shipments = st.lists(st.tuples(item_index, st.sampled_from(["shipped", "received", "cancelled"]),
                               st.integers(-120, 0), st.integers(1, 60)), max_size=5)
positions = st.lists(st.one_of(st.none(), st.tuples(qty, qty, st.integers(1, 72),
                                                    st.lists(st.tuples(st.integers(-1, 8), qty), max_size=4))),
                     min_size=3, max_size=3)
readings = st.lists(st.tuples(item_index, st.integers(1, 96), st.integers(0, 30)), max_size=5)
network = st.fixed_dictionaries({
    "firm": st.integers(0, 4), "extra": st.integers(0, 4), "share": st.sampled_from(["0", "0.25", "0.4", "1"]),
    "items": st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 30)), min_size=1, max_size=3),
    "po_lines": po_lines, "publications": publications, "authorizations": authorizations,
    "shipments": shipments, "positions": positions, "readings": readings,
    "now_shift_days": st.integers(0, 6),
})


def build(spec):
    rel = b.relationship(firm=spec["firm"], material=spec["firm"] + spec["extra"], share=spec["share"])
    items = [b.item(rel, price=price, lead_time_days=lead) for price, lead in spec["items"]]

    def pick(index):
        return items[index % len(items)]

    for index, status, quantity, shipped, due in spec["po_lines"]:
        b.po_line(pick(index), quantity, CW + timedelta(days=due), shipped=shipped, status=status)
    for base, firm, extra, buckets in spec["publications"]:
        by_item: dict = {}
        for index, offset, quantity in buckets:
            by_item.setdefault(pick(index), {})[week(offset)] = quantity
        b.publication(rel, by_item, firm=firm, material=firm + extra, base_week=week(base))
    for index, kind, start, quantity in spec["authorizations"]:
        b.authorization(pick(index), kind, quantity, CW - timedelta(days=3 - start))
    for index, status, day, quantity in spec["shipments"]:
        b.shipment(pick(index), quantity, CW - timedelta(days=3 - day), status=status)
    for it, position in zip(items, spec["positions"]):
        if position is not None:
            fg, wip, hours, plan = position
            b.report(it, fg=fg, wip=wip, as_of=NOW - timedelta(hours=hours),
                     plan={week(offset): quantity for offset, quantity in plan})
    for n, (index, hours, produced) in enumerate(spec["readings"]):
        b.machine(pick(index), produced, NOW - timedelta(hours=hours, seconds=n))  # one reading per line and time
    return rel, items


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(spec=network)
def test_sql_ledger_matches_the_reference(db, spec):
    rel, items = build(spec)
    now = NOW + timedelta(days=spec["now_shift_days"])  # any day of the week
    services.reconcile(rel.id, None, now)
    db.session.expire_all()
    for it in items:
        expected, expected_weeks = reference.ledger(db.session, it.id, now)
        row = db.session.get(CoverageLedger, it.id)
        assert {k: getattr(row, k) for k in expected} == expected
        stored = db.session.scalars(select(CoverageWeek).where(CoverageWeek.item_id == it.id)).all()
        assert {w.week_start: {k: getattr(w, k) for k in next(iter(expected_weeks.values()))} for w in stored} \
            == expected_weeks
