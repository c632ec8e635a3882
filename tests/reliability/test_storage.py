"""Finished weeks are stored once: a second run computes only the weeks that ended since, stored weeks never change,
the nightly run takes its day once, and a publication queues a refresh only after its commit."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from cogrow.reliability import services, tasks
from cogrow.reliability.models import ReliabilityProgress, ReliabilityWeek
from tests import factories as f
from tests.conftest import frozen_now
from tests.reliability.build import at, po_line, version, week


@pytest.fixture
def rel(db):
    rel = f.RelationshipFactory()
    item = f.ItemFactory(supply_relationship=rel)
    version(rel, 1, at(week(-5), days=1), {(item, week(w)): 40 for w in range(-4, 3)})
    for w in range(-4, 1):
        po_line(rel, item, week(w), 30)
    db.session.commit()
    rel.test_item = item
    return rel


def _rows(db, rel):
    return {(r.week_start, r.lag): (r.forecast_qty, r.actual_qty, r.computed_at) for r in db.session.scalars(
        select(ReliabilityWeek).where(ReliabilityWeek.relationship_id == rel.id))}


def test_a_second_run_computes_only_the_weeks_that_ended_since(db, rel):
    now = frozen_now()
    assert services.refresh([rel.id], now) == 4  # weeks -4..-1: from the week after the first version's
    first = _rows(db, rel)
    # week -4 has no forecast at any lag: version 1 came on the Tuesday of week -5, after its lag-1 cutoff
    assert {w for w, _lag in first} == {week(n) for n in range(-3, 0)}

    # Later changes to stored weeks do not rewrite them: their demand is the demand the week ended with.
    po_line(rel, rel.test_item, week(-2), 500)
    version(rel, 2, at(week(0), days=1), {(rel.test_item, week(0)): 0})
    db.session.commit()
    assert services.refresh([rel.id], now) == 0
    assert _rows(db, rel) == first

    later = now + timedelta(weeks=1)
    assert services.refresh([rel.id], later) == 1
    second = _rows(db, rel)
    new = {key: value for key, value in second.items() if key not in first}
    assert {w for w, _lag in new} == {week(0)}
    assert all(second[key] == value for key, value in first.items())
    # week 0 at lag 1 reads version 1 (version 2 came after the start of week -1): 40 against 30
    assert new[(week(0), 1)][:2] == (Decimal(40), Decimal(30))
    assert db.session.get(ReliabilityProgress, rel.id).next_week == week(1)


def test_running_a_stored_span_again_inserts_nothing(db, rel):
    services.refresh([rel.id])
    before = _rows(db, rel)
    # As a concurrent run would: the progress row says nothing was done, the rows are already there.
    db.session.get(ReliabilityProgress, rel.id).next_week = week(-4)
    db.session.commit()
    assert services.refresh([rel.id]) == 4
    assert _rows(db, rel) == before


def test_a_relationship_without_versions_stores_nothing(db):
    rel = f.RelationshipFactory()
    po_line(rel, f.ItemFactory(supply_relationship=rel), week(-2), 10)
    db.session.commit()
    assert services.refresh([rel.id]) == 0
    assert db.session.get(ReliabilityProgress, rel.id) is None


def test_the_nightly_run_takes_its_day_once(db, rel):
    now = frozen_now()
    assert services.locked_nightly(now) >= 4
    assert services.locked_nightly(now) is None  # a second beat's copy on the same day
    assert services.stored_through(rel.id) == week(-1)
    assert services.locked_nightly(now + timedelta(days=1)) is not None  # the next day runs again


@pytest.fixture
def queued(app, monkeypatch):
    sent = []
    monkeypatch.setitem(app.config, "CELERY_TASK_ALWAYS_EAGER", False)
    monkeypatch.setattr(tasks.refresh, "apply_async", lambda args, **options: sent.append(args))
    return sent


def test_a_publication_queues_the_refresh_after_its_commit(db, tenant_a, queued):
    from cogrow.core.auth import Actor
    from cogrow.forecasts import services as forecasts

    planner = Actor(organisation_id=tenant_a.prime.id, org_kind="prime", role="planner",
                    user_id=tenant_a.users["prime:planner"].id)
    buckets = [(tenant_a.item.id, week(n), Decimal(10)) for n in range(26)]
    forecasts.publish(planner, tenant_a.relationship.id, buckets, commit=False)
    assert queued == []  # not before the version is committed
    db.session.commit()
    assert queued == [[[tenant_a.relationship.id]]]


def test_a_rolled_back_publication_queues_nothing(db, rel, queued):
    tasks.refresh_after_commit(rel.id)
    db.session.rollback()
    db.session.commit()
    assert queued == []


def test_the_refresh_task_stores_the_weeks(db, rel):
    assert tasks.refresh.run([rel.id]) == 4
    assert services.stored_through(rel.id) == week(-1)


def test_the_demo_network_has_weeks_to_compare(app, db):
    from cogrow.demo import load_demo
    from cogrow.relationships.models import SupplyRelationship

    assert load_demo() is True
    ids = list(db.session.scalars(select(SupplyRelationship.id)))
    first, last = services.default_window()
    figures = services.at_fences(ids, first, last)
    assert all(fig.wape_firm is not None and fig.bias_material is not None for fig in figures.values()), figures
    # the primes lean different ways: some relationships over-forecast, some under
    assert {fig.bias_material > 0 for fig in figures.values()} == {True, False}
