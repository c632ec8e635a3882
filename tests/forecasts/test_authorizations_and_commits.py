"""Authorizations are high-water marks per cumulative period; commits answer the latest version's buckets."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.errors import Conflict, Forbidden, ValidationFailed
from cogrow.core.models import AuditLog, OutboxEvent
from cogrow.core.weeks import local_today
from cogrow.forecasts import services
from cogrow.forecasts.models import Authorization, ForecastBucket, ForecastCommit
from tests.forecasts.conftest import horizon, week

pytestmark = pytest.mark.usefixtures("request_ctx")

JAN = local_today() - timedelta(days=30)  # a period start in the past, with room for a later one
LATER = JAN + timedelta(days=1)
EARLIER = JAN - timedelta(days=1)

# (grants before, the new grant (kind, start, quantity), the field refused or None)
CASES = {
    "first grant": ([], ("FAB", JAN, "100"), None),
    "raise within the period": ([("FAB", JAN, "100")], ("FAB", JAN, "150"), None),
    "equal to the maximum": ([("FAB", JAN, "100")], ("FAB", JAN, "100"), None),
    "lower than the maximum": ([("FAB", JAN, "100")], ("FAB", JAN, "99.5"), "quantity"),
    "lower than an earlier maximum, not the last grant": (
        [("FAB", JAN, "100"), ("FAB", JAN, "300")], ("FAB", JAN, "200"), "quantity"),
    "a later start opens a new period": ([("FAB", JAN, "100")], ("FAB", LATER, "10"), None),
    "an earlier start is refused": ([("FAB", JAN, "100")], ("FAB", EARLIER, "500"), "cum_start_date"),
    "RAW and FAB are separate": ([("FAB", JAN, "100")], ("RAW", JAN, "10"), None),
    "a start in the future is refused": ([], ("FAB", local_today() + timedelta(days=1), "10"), "cum_start_date"),
    "a negative quantity is refused": ([], ("FAB", JAN, "-1"), "quantity"),
    "an unknown kind is refused": ([], ("ATH", JAN, "1"), "kind"),
}


@pytest.mark.parametrize("before,grant,refused", list(CASES.values()), ids=list(CASES))
def test_authorization_high_water_mark(db, tenant_a, planner, before, grant, refused):
    rel_id, item_id = tenant_a.relationship.id, tenant_a.item.id
    for kind, start, qty in before:
        services.grant_authorization(planner, rel_id, item_id, kind, start, Decimal(qty))
    count = db.session.scalar(select(func.count()).select_from(Authorization))
    kind, start, qty = grant
    if refused is None:
        row = services.grant_authorization(planner, rel_id, item_id, kind, start, Decimal(qty))
        assert row.quantity == Decimal(qty)
        return
    with pytest.raises(ValidationFailed) as exc:
        services.grant_authorization(planner, rel_id, item_id, kind, start, Decimal(qty))
    assert list(exc.value.fields) == [refused]
    assert db.session.scalar(select(func.count()).select_from(Authorization)) == count
    if refused == "quantity" and before:
        assert "300" in exc.value.fields["quantity"] or "100" in exc.value.fields["quantity"]


def test_lowering_names_the_current_maximum(db, tenant_a, planner):
    rel_id, item_id = tenant_a.relationship.id, tenant_a.item.id
    services.grant_authorization(planner, rel_id, item_id, "RAW", JAN, Decimal("1250.5"))
    with pytest.raises(ValidationFailed) as exc:
        services.grant_authorization(planner, rel_id, item_id, "RAW", JAN, Decimal("1000"))
    assert "1250.5" in exc.value.fields["quantity"]


def test_a_grant_is_audited_and_writes_its_outbox_row(db, tenant_a, planner):
    row = services.grant_authorization(planner, tenant_a.relationship.id, tenant_a.item.id, "FAB", JAN, Decimal("5"))
    event = db.session.scalars(select(OutboxEvent).where(OutboxEvent.relationship_id == tenant_a.relationship.id)).one()
    assert event.payload == {"item_ids": [tenant_a.item.id], "reason": "authorization.granted"}
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "authorization.granted")).one()
    assert audit.object_id == str(row.id) and audit.detail["quantity"] == "5"


def test_a_refused_grant_writes_no_outbox_row(db, tenant_a, planner):
    services.grant_authorization(planner, tenant_a.relationship.id, tenant_a.item.id, "FAB", JAN, Decimal("5"))
    with pytest.raises(ValidationFailed):
        services.grant_authorization(planner, tenant_a.relationship.id, tenant_a.item.id, "FAB", JAN, Decimal("4"))
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 1


def test_another_relationships_item_cannot_be_authorized(db, tenant_a, tenant_b, planner):
    with pytest.raises(ValidationFailed) as exc:
        services.grant_authorization(planner, tenant_a.relationship.id, tenant_b.item.id, "FAB", JAN, Decimal("5"))
    assert list(exc.value.fields) == ["item_id"]


def test_the_supplier_cannot_grant(db, tenant_a, production):
    with pytest.raises(Forbidden):
        services.grant_authorization(production, tenant_a.relationship.id, tenant_a.item.id, "FAB", JAN, Decimal("5"))


def test_the_summary_shows_the_latest_period_and_its_maximum(db, tenant_a, planner):
    rel_id, item_id = tenant_a.relationship.id, tenant_a.item.id
    for start, qty in ((JAN, "100"), (JAN, "300"), (LATER, "20")):
        services.grant_authorization(planner, rel_id, item_id, "FAB", start, Decimal(qty))
    [summary] = services.list_authorization_summary(planner, rel_id)
    assert (summary.cum_start_date, summary.maximum, summary.grants) == (LATER, Decimal("20"), 1)


# ---------------------------------------------------------------- commits

@pytest.fixture
def published(db, tenant_a, planner):
    """Version 1 of tenant A's item: 10 a week for 26 weeks."""
    return services.publish(planner, tenant_a.relationship.id, horizon([tenant_a.item.id], "10"))


def _bucket(db, pub, n):
    return db.session.scalar(select(ForecastBucket.id).where(ForecastBucket.publication_id == pub.id,
                                                             ForecastBucket.week_start == week(n)))


@pytest.mark.parametrize("quantity,reason", [("10", None), ("12", None), ("10", "OTHER"), ("4", "CAPACITY"),
                                             ("0", "MATERIAL")])
def test_a_commit_is_saved_with_a_reason_when_below(db, tenant_a, production, published, quantity, reason):
    result = services.commit_bucket(production, tenant_a.relationship.id, published.id, _bucket(db, published, 0),
                                    Decimal(quantity), reason)
    assert result["created"] == 1
    row = db.session.scalars(select(ForecastCommit)).one()
    assert (row.quantity, row.reason_code, row.week_start) == (Decimal(quantity), reason, week(0))


@pytest.mark.parametrize("reason,error", [(None, "required"), ("LAZY", "one of")])
def test_a_commit_below_the_forecast_needs_a_known_reason(db, tenant_a, production, published, reason, error):
    with pytest.raises(ValidationFailed) as exc:
        services.commit_bucket(production, tenant_a.relationship.id, published.id, _bucket(db, published, 0),
                               Decimal("9"), reason)
    assert list(exc.value.fields) == ["commits[0].reason_code"] and error in exc.value.fields["commits[0].reason_code"]
    assert db.session.scalar(select(func.count()).select_from(ForecastCommit)) == 0


def test_recommitting_updates_the_commit_and_is_audited(db, tenant_a, production, published):
    rel_id, bucket = tenant_a.relationship.id, _bucket(db, published, 1)
    services.commit_bucket(production, rel_id, published.id, bucket, Decimal("10"))
    result = services.commit_bucket(production, rel_id, published.id, bucket, Decimal("7"), "TOOLING")
    assert result == {"created": 0, "updated": 1, "unchanged": 0}
    db.session.expire_all()
    row = db.session.scalars(select(ForecastCommit)).one()
    assert (row.quantity, row.reason_code) == (Decimal("7"), "TOOLING")
    audits = db.session.scalars(select(AuditLog).where(AuditLog.action == "forecast.committed")
                                .order_by(AuditLog.id)).all()
    assert len(audits) == 2 and audits[1].detail["changes"] == [
        {"bucket_id": bucket, "from": "10", "to": "7", "reason_code": "TOOLING"}]
    again = services.commit_bucket(production, rel_id, published.id, bucket, Decimal("7"), "TOOLING")
    assert again == {"created": 0, "updated": 0, "unchanged": 1}


def test_commits_on_a_superseded_version_are_refused_with_409(db, tenant_a, planner, production, published):
    services.publish(planner, tenant_a.relationship.id, horizon([tenant_a.item.id], "20"))
    with pytest.raises(Conflict) as exc:
        services.commit_bucket(production, tenant_a.relationship.id, published.id, _bucket(db, published, 0),
                               Decimal("10"))
    assert exc.value.extra == {"latest_version_no": 2}


def test_commits_by_item_and_week_in_bulk(db, tenant_a, production, published):
    rows = [{"item_id": tenant_a.item.id, "week_start": week(n), "quantity": Decimal("10")} for n in range(26)]
    assert services.commit_buckets(production, tenant_a.relationship.id, published.id, rows)["created"] == 26


def test_a_bucket_outside_the_version_is_refused(db, tenant_a, production, published):
    rows = [{"item_id": tenant_a.item.id, "week_start": week(30), "quantity": Decimal("10")},
            {"bucket_id": 10**9, "quantity": Decimal("1")}]
    with pytest.raises(ValidationFailed) as exc:
        services.commit_buckets(production, tenant_a.relationship.id, published.id, rows)
    assert set(exc.value.fields) == {"commits[0].week", "commits[1].week"}


def test_the_prime_cannot_commit(db, tenant_a, planner, published):
    with pytest.raises(Forbidden):
        services.commit_bucket(planner, tenant_a.relationship.id, published.id, _bucket(db, published, 0), Decimal("1"))
