"""Concurrent writers on PostgreSQL: real threads, each with its own HTTP test client and database session.

These tests commit for real (no rolled-back `db` fixture: SQLite could not take a second writer inside it),
so each builds its own tenant and deletes everything it wrote afterwards.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from cogrow.extensions import db as _db
from cogrow.production.models import ItemPosition, MachineReading, ProductionReport
from tests.conftest import build_tenant

pytestmark = pytest.mark.postgres_only

_label = iter(range(10**6))


@pytest.fixture
def live_tenant(app):
    """A committed tenant, deleted with everything written for it when the test ends."""
    with app.app_context():
        tenant = build_tenant(f"C{next(_label)}")
        tenant.item.id, tenant.relationship.id  # load them before the objects leave the session  # noqa: B018
        ids = {"orgs": (tenant.prime.id, tenant.supplier.id), "rel": tenant.relationship.id,
               "users": tuple(u.id for u in tenant.users.values())}
        _db.session.expunge_all()
    yield tenant
    with app.app_context():
        _cleanup(ids)


def _cleanup(ids) -> None:
    params = {"orgs": list(ids["orgs"]), "rel": ids["rel"], "users": list(ids["users"])}
    statements = [
        "DELETE FROM item_position WHERE relationship_id = :rel",
        "DELETE FROM machine_reading WHERE relationship_id = :rel",
        "DELETE FROM production_line WHERE relationship_id = :rel",
        "DELETE FROM planned_output WHERE report_id IN (SELECT id FROM production_report WHERE relationship_id = :rel)",
        "DELETE FROM production_report WHERE relationship_id = :rel",
        "DELETE FROM outbox_event WHERE relationship_id = :rel",
        "DELETE FROM idempotency_record WHERE organisation_id = ANY(:orgs)",
        "DELETE FROM audit_log WHERE organisation_id = ANY(:orgs) OR user_id = ANY(:users)",
        "DELETE FROM item WHERE relationship_id = :rel",
        "DELETE FROM supply_relationship WHERE id = :rel",
        "DELETE FROM api_token WHERE organisation_id = ANY(:orgs)",
        "DELETE FROM membership WHERE organisation_id = ANY(:orgs)",
        "DELETE FROM user_account WHERE id = ANY(:users)",
        "DELETE FROM organisation WHERE id = ANY(:orgs)",
    ]
    _db.session.rollback()
    for statement in statements:
        _db.session.execute(text(statement), params)
    _db.session.commit()


def _body(tenant, as_of: datetime, fg: int):
    return {"item_id": tenant.item.id, "as_of": as_of.isoformat(), "good_qty": "1", "scrap_qty": "0",
            "wip_qty": "2", "fg_on_hand": str(fg)}


def _run_together(app, count: int, request):
    """Run `request(client, n)` from `count` threads released at once; returns the responses."""
    barrier = threading.Barrier(count)

    def one(n):
        client = app.test_client()
        barrier.wait(timeout=30)
        return request(client, n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_fifty_concurrent_reports_to_one_item_lose_nothing(app, live_tenant):
    tenant = live_tenant
    base = datetime.now(timezone.utc) - timedelta(hours=2)
    url = f"/api/v1/relationships/{tenant.relationship.id}/production-reports"
    auth = {"Authorization": f"Bearer {tenant.tokens['supplier:production']}"}
    order = list(range(50))
    order.reverse()  # the latest as_of is sent by the first thread: arrival order must not matter

    def post(client, n):
        minute = order[n]
        response = client.post(url, json=_body(tenant, base + timedelta(minutes=minute), fg=minute), headers=auth)
        return response.status_code

    statuses = _run_together(app, 50, post)
    assert statuses == [201] * 50
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(ProductionReport)
                                  .where(ProductionReport.item_id == tenant.item.id)) == 50
        position = _db.session.get(ItemPosition, tenant.item.id)
        assert position.as_of == base + timedelta(minutes=49) and int(position.fg_on_hand) == 49
        assert _db.session.scalar(text("SELECT count(*) FROM outbox_event WHERE relationship_id = :r"),
                                  {"r": tenant.relationship.id}) == 50


def test_concurrent_requests_with_one_key_store_one_report(app, live_tenant):
    tenant = live_tenant
    url = f"/api/v1/relationships/{tenant.relationship.id}/production-reports"
    headers = {"Authorization": f"Bearer {tenant.tokens['supplier:production']}", "Idempotency-Key": "gw-1:42"}
    body = _body(tenant, datetime.now(timezone.utc) - timedelta(minutes=5), fg=7)

    def post(client, _n):
        response = client.post(url, json=body, headers=headers)
        return response.status_code, response.headers.get("Idempotent-Replayed"), response.get_json()

    results = _run_together(app, 12, post)
    statuses = [status for status, _replayed, _json in results]
    assert set(statuses) <= {201, 409}, statuses
    ran = [r for r in results if r[0] == 201 and r[1] is None]
    replayed = [r for r in results if r[0] == 201 and r[1] == "true"]
    assert len(ran) == 1
    assert all(r[2] == ran[0][2] for r in replayed)
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(ProductionReport)
                                  .where(ProductionReport.item_id == tenant.item.id)) == 1
    # Once the first has finished, every retry is the replay.
    client = app.test_client()
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true" and again.get_json() == ran[0][2]


def test_concurrent_readings_of_one_line_give_the_in_order_total(app, live_tenant):
    tenant = live_tenant
    auth = {"Authorization": f"Bearer {tenant.tokens['supplier:production']}"}
    base = f"/api/v1/relationships/{tenant.relationship.id}/lines"
    client = app.test_client()
    assert client.post(base, json={"code": "L1", "item_id": tenant.item.id}, headers=auth).status_code == 201
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)
    counters = [n * 7 for n in range(40)]  # in time order: 273 produced after the baseline

    def post(client, n):
        reading = {"read_at": (start + timedelta(minutes=n)).isoformat(), "counter": counters[n]}
        return client.post(f"{base}/L1/readings", json={"readings": [reading, reading]}, headers=auth).status_code

    statuses = _run_together(app, 40, post)
    assert set(statuses) == {201}
    with app.app_context():
        total = _db.session.scalar(select(func.sum(MachineReading.produced))
                                   .where(MachineReading.relationship_id == tenant.relationship.id))
        assert int(total) == counters[-1] - counters[0]
