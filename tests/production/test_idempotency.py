"""Idempotency-Key on machine POSTs, as reliability.md says: replay, 422 on another body, 409 while running,
and a 5xx releases the key."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cogrow.core.idempotency import STALE_AFTER, purge
from cogrow.core.models import IdempotencyRecord
from cogrow.core.types import utcnow
from cogrow.production import services
from cogrow.production.models import ProductionReport
from tests.production.conftest import at, headers, report_body, reports_url


def _reports(db):
    return db.session.scalar(select(func.count()).select_from(ProductionReport))


def test_same_key_and_body_replays_the_first_response(client, db, tenant_a):
    body = report_body(tenant_a)
    h = headers(tenant_a, **{"Idempotency-Key": "gw-7:000123"})
    first = client.post(reports_url(tenant_a), json=body, headers=h)
    second = client.post(reports_url(tenant_a), json=body, headers=h)
    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _reports(db) == 1


def test_same_key_with_another_body_is_422(client, db, tenant_a):
    h = headers(tenant_a, **{"Idempotency-Key": "k-1"})
    assert client.post(reports_url(tenant_a), json=report_body(tenant_a), headers=h).status_code == 201
    other = client.post(reports_url(tenant_a), json=report_body(tenant_a, wip_qty="41"), headers=h)
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["error"]["fields"]
    assert _reports(db) == 1


def test_same_key_on_another_path_is_422(client, db, tenant_a):
    h = headers(tenant_a, **{"Idempotency-Key": "k-path"})
    assert client.post(reports_url(tenant_a), json=report_body(tenant_a), headers=h).status_code == 201
    assert client.post(reports_url(tenant_a, "/batch"), json=report_body(tenant_a), headers=h).status_code == 422


def test_key_is_per_principal(client, db, tenant_a):
    body = report_body(tenant_a)
    for key in ("supplier:production", "supplier:admin"):
        response = client.post(reports_url(tenant_a), json=body, headers=headers(tenant_a, key, **{"Idempotency-Key": "same"}))
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert _reports(db) == 2


def test_key_still_running_is_409(client, db, tenant_a):
    body = report_body(tenant_a)
    h = headers(tenant_a, **{"Idempotency-Key": "busy"})
    first = client.post(reports_url(tenant_a), json=body, headers=h)
    record = db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "busy"))
    record.state, record.response_status, record.response_body = "running", None, None
    db.session.commit()
    response = client.post(reports_url(tenant_a), json=body, headers=h)
    assert first.status_code == 201 and response.status_code == 409 and response.headers["Retry-After"] == "1"
    assert _reports(db) == 1


def test_a_stale_running_key_is_taken_over(client, db, tenant_a):
    body = report_body(tenant_a)
    h = headers(tenant_a, **{"Idempotency-Key": "crashed"})
    client.post(reports_url(tenant_a), json=body, headers=h)
    db.session.execute(ProductionReport.__table__.delete())  # as if the first request died before committing
    record = db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "crashed"))
    record.state, record.created_at = "running", utcnow() - STALE_AFTER - timedelta(seconds=1)
    db.session.commit()
    response = client.post(reports_url(tenant_a), json=body, headers=h)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert _reports(db) == 1


def test_a_4xx_first_response_is_replayed(client, db, tenant_a):
    h = headers(tenant_a, **{"Idempotency-Key": "bad"})
    body = report_body(tenant_a, wip_qty="-1")
    first = client.post(reports_url(tenant_a), json=body, headers=h)
    second = client.post(reports_url(tenant_a), json=body, headers=h)
    assert first.status_code == second.status_code == 422 and second.headers["Idempotent-Replayed"] == "true"


def test_a_5xx_releases_the_key_so_a_retry_runs(client, db, tenant_a, monkeypatch):
    h = headers(tenant_a, **{"Idempotency-Key": "flaky"})
    body = report_body(tenant_a)
    real = services.record_report

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "record_report", broken)
    assert client.post(reports_url(tenant_a), json=body, headers=h).status_code == 500
    assert db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "flaky")) is None
    monkeypatch.setattr(services, "record_report", real)
    retry = client.post(reports_url(tenant_a), json=body, headers=h)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert _reports(db) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "키", "a\tb"])
def test_malformed_keys_are_400(client, db, tenant_a, key):
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a),
                           headers=headers(tenant_a, **{"Idempotency-Key": key}))
    assert response.status_code == 400 and _reports(db) == 0


def test_without_a_key_every_post_counts(client, db, tenant_a):
    body = report_body(tenant_a)
    for _ in range(2):
        assert client.post(reports_url(tenant_a), json=body, headers=headers(tenant_a)).status_code == 201
    assert _reports(db) == 2


def test_batch_and_readings_accept_keys_too(client, db, tenant_a):
    h = headers(tenant_a, **{"Idempotency-Key": "batch-1"})
    body = {"reports": [report_body(tenant_a), report_body(tenant_a, as_of=at(5))]}
    assert client.post(reports_url(tenant_a, "/batch"), json=body, headers=h).status_code == 201
    assert client.post(reports_url(tenant_a, "/batch"), json=body, headers=h).headers["Idempotent-Replayed"] == "true"
    assert _reports(db) == 2


def test_purge_forgets_old_finished_keys(client, db, tenant_a):
    client.post(reports_url(tenant_a), json=report_body(tenant_a), headers=headers(tenant_a, **{"Idempotency-Key": "old"}))
    assert purge(now=utcnow() + timedelta(days=2)) == 1
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
