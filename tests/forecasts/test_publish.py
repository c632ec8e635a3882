"""Publishing forecast versions: zones fixed at publication, immutability, the horizon and past-week rules."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.errors import Forbidden, ValidationFailed
from cogrow.core.models import AuditLog, OutboxEvent
from cogrow.core.weeks import current_week
from cogrow.forecasts import services
from cogrow.forecasts.models import ForecastBucket, ForecastPublication
from tests.conftest import actor_of
from tests.forecasts.conftest import horizon, week

pytestmark = pytest.mark.usefixtures("request_ctx")


def _zones(db, pub):
    rows = db.session.execute(select(ForecastBucket.week_start, ForecastBucket.zone)
                              .where(ForecastBucket.publication_id == pub.id).distinct()).all()
    return {w: z for w, z in rows}


def _outbox(db, rel_id):
    return db.session.scalars(select(OutboxEvent).where(OutboxEvent.relationship_id == rel_id)).all()


def test_publication_fixes_each_bucket_zone_from_the_fences(db, tenant_a, planner, items):
    pub = services.publish(planner, tenant_a.relationship.id, horizon([i.id for i in items]), note="first")
    assert (pub.version_no, pub.base_week, pub.firm_fence_weeks, pub.material_fence_weeks) == (1, current_week(), 4, 8)
    assert pub.bucket_count == 78
    zones = _zones(db, pub)
    assert [zones[week(n)] for n in range(10)] == ["firm"] * 4 + ["material"] * 4 + ["planning"] * 2
    assert set(zones[week(n)] for n in range(8, 26)) == {"planning"}


def test_a_fence_change_between_versions_changes_only_the_new_versions_zones(db, tenant_a, planner, items):
    rel = tenant_a.relationship
    first = services.publish(planner, rel.id, horizon([i.id for i in items]))
    rel.firm_fence_weeks, rel.material_fence_weeks = 2, 12
    db.session.commit()
    second = services.publish(planner, rel.id, horizon([i.id for i in items]))
    old, new = _zones(db, first), _zones(db, second)
    assert [old[week(n)] for n in (1, 2, 3, 8, 11, 12)] == ["firm", "firm", "firm", "planning", "planning", "planning"]
    assert [new[week(n)] for n in (1, 2, 3, 8, 11, 12)] == ["firm", "material", "material", "material", "material",
                                                           "planning"]
    db.session.refresh(first)
    assert (first.firm_fence_weeks, first.material_fence_weeks) == (4, 8)
    assert (second.firm_fence_weeks, second.material_fence_weeks) == (2, 12)


def test_revising_publishes_the_next_version_and_leaves_the_old_one_as_it_was(db, tenant_a, planner, items):
    rel_id = tenant_a.relationship.id
    first = services.publish(planner, rel_id, horizon([items[0].id], "10"))
    before = db.session.execute(select(ForecastBucket.id, ForecastBucket.quantity, ForecastBucket.zone)
                                .where(ForecastBucket.publication_id == first.id).order_by(ForecastBucket.id)).all()
    second = services.publish(planner, rel_id, horizon([items[0].id], "25"))
    assert second.version_no == first.version_no + 1
    after = db.session.execute(select(ForecastBucket.id, ForecastBucket.quantity, ForecastBucket.zone)
                               .where(ForecastBucket.publication_id == first.id).order_by(ForecastBucket.id)).all()
    assert after == before and {q for _i, q, _z in after} == {Decimal("10")}


def test_no_route_or_service_updates_or_deletes_a_publication(app):
    for rule in app.url_map.iter_rules():
        if "forecasts" in rule.rule and "<int:version_no>" in rule.rule:
            writes = rule.methods & {"PUT", "PATCH", "DELETE", "POST"}
            # The only write under a version is the supplier's commits, which live in their own table.
            assert not writes or rule.rule.endswith("/commits"), rule.rule
    assert not [name for name in dir(services) if name.startswith(("update_pub", "delete", "edit", "revise"))]


def test_version_numbers_count_up_per_relationship(db, tenant_a, tenant_b, planner, items):
    other = actor_of(tenant_b.users["prime:planner"], tenant_b.prime)
    a1 = services.publish(planner, tenant_a.relationship.id, horizon([items[0].id]))
    b1 = services.publish(other, tenant_b.relationship.id, horizon([tenant_b.item.id]))
    a2 = services.publish(planner, tenant_a.relationship.id, horizon([items[0].id]))
    assert (a1.version_no, b1.version_no, a2.version_no) == (1, 1, 2)


@pytest.mark.parametrize("offset", [-1, -10])
def test_a_past_week_is_refused_naming_the_entry(db, tenant_a, planner, items, offset):
    buckets = horizon([items[0].id]) + [(items[0].id, week(offset), Decimal("5"))]
    with pytest.raises(ValidationFailed) as exc:
        services.publish(planner, tenant_a.relationship.id, buckets)
    assert list(exc.value.fields) == [f"buckets[{len(buckets) - 1}].week"]
    assert "past" in exc.value.fields[f"buckets[{len(buckets) - 1}].week"]
    assert db.session.scalar(select(func.count()).select_from(ForecastPublication)) == 0


def test_an_item_whose_forecast_stops_short_of_26_weeks_is_refused(db, tenant_a, planner, items):
    buckets = horizon([items[0].id]) + horizon([items[1].id], weeks=25)
    with pytest.raises(ValidationFailed) as exc:
        services.publish(planner, tenant_a.relationship.id, buckets)
    assert list(exc.value.fields) == [f"buckets[{len(buckets) - 1}].week"]  # the item's last entry
    assert "must reach" in next(iter(exc.value.fields.values()))


def test_weeks_left_out_inside_the_horizon_count_as_zero_and_are_accepted(db, tenant_a, planner, items):
    buckets = [(items[0].id, week(0), Decimal("7")), (items[0].id, week(25), Decimal("0"))]
    pub = services.publish(planner, tenant_a.relationship.id, buckets)
    assert pub.bucket_count == 2


def test_weeks_beyond_two_years_are_refused(db, tenant_a, planner, items):
    buckets = horizon([items[0].id]) + [(items[0].id, week(services.MAX_HORIZON_WEEKS + 1), Decimal("1"))]
    with pytest.raises(ValidationFailed) as exc:
        services.publish(planner, tenant_a.relationship.id, buckets)
    assert list(exc.value.fields) == [f"buckets[{len(buckets) - 1}].week"]


def test_duplicate_item_and_week_and_bad_quantities_are_all_reported(db, tenant_a, planner, items):
    buckets = horizon([items[0].id])
    buckets[3] = (items[0].id, week(3), Decimal("-1"))
    buckets[4] = (items[0].id, week(4), Decimal("NaN"))
    buckets.append((items[0].id, week(5), Decimal("1")))
    with pytest.raises(ValidationFailed) as exc:
        services.publish(planner, tenant_a.relationship.id, buckets)
    assert set(exc.value.fields) == {"buckets[3].quantity", "buckets[4].quantity", f"buckets[{len(buckets) - 1}].week"}


def test_another_relationships_item_is_refused(db, tenant_a, tenant_b, planner, items):
    buckets = horizon([items[0].id]) + horizon([tenant_b.item.id])[:1]
    with pytest.raises(ValidationFailed) as exc:
        services.publish(planner, tenant_a.relationship.id, buckets)
    assert list(exc.value.fields) == ["buckets[26].item_id"]


def test_an_empty_forecast_is_refused(db, tenant_a, planner):
    with pytest.raises(ValidationFailed) as exc:
        services.publish(planner, tenant_a.relationship.id, [])
    assert "buckets" in exc.value.fields


@pytest.mark.parametrize("key", ["supplier:production", "supplier:admin", "prime:procurement"])
def test_only_the_primes_planners_publish(db, tenant_a, items, key):
    side, _role = key.split(":")
    actor = actor_of(tenant_a.users[key], tenant_a.prime if side == "prime" else tenant_a.supplier)
    with pytest.raises(Forbidden):
        services.publish(actor, tenant_a.relationship.id, horizon([items[0].id]))


def test_the_outbox_row_is_written_with_the_publication(db, tenant_a, planner, items):
    rel_id = tenant_a.relationship.id
    pub = services.publish(planner, rel_id, horizon([items[0].id, items[1].id]))
    events = _outbox(db, rel_id)
    assert len(events) == 1 and events[0].topic == "reconcile"
    assert events[0].payload == {"item_ids": sorted([items[0].id, items[1].id]), "reason": "forecast.published"}
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "forecast.published")).one()
    assert audit.object_id == str(pub.id) and audit.detail["buckets"] == 52


def test_a_refused_publication_writes_no_outbox_row(db, tenant_a, planner, items):
    with pytest.raises(ValidationFailed):
        services.publish(planner, tenant_a.relationship.id, horizon([items[0].id], weeks=3))
    assert _outbox(db, tenant_a.relationship.id) == []


def test_the_outbox_row_rolls_back_with_the_publication(db, tenant_a, planner, items):
    services.publish(planner, tenant_a.relationship.id, horizon([items[0].id]), commit=False)
    assert len(_outbox(db, tenant_a.relationship.id)) == 1
    db.session.rollback()
    assert _outbox(db, tenant_a.relationship.id) == []
    assert db.session.scalar(select(func.count()).select_from(ForecastPublication)) == 0


def test_an_item_dropped_from_the_next_version_is_reconciled_too(db, tenant_a, planner, items):
    rel_id = tenant_a.relationship.id
    services.publish(planner, rel_id, horizon([items[0].id, items[1].id]))
    services.publish(planner, rel_id, horizon([items[0].id]), reason="FC-2 is discontinued")
    latest = _outbox(db, rel_id)[-1]
    assert latest.payload["item_ids"] == sorted([items[0].id, items[1].id])


def test_progress_is_reported_per_chunk(db, tenant_a, planner, items, monkeypatch):
    monkeypatch.setattr(services, "INSERT_CHUNK", 20)
    seen = []
    services.publish(planner, tenant_a.relationship.id, horizon([i.id for i in items]),
                     progress=lambda done, total: seen.append((done, total)))
    assert seen == [(20, 78), (40, 78), (60, 78), (78, 78)]
    assert db.session.scalar(select(func.count()).select_from(ForecastBucket)) == 78
