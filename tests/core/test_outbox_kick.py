"""The outbox kick: a commit that wrote outbox rows asks the worker for a relay at once, and nothing else does.

The publish is recorded instead of sent (the app's Celery `send_task` is replaced), so no broker is needed.
"""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import insert

from cogrow.accounts.services import create_organisation
from cogrow.celery import KICK_HEADER
from cogrow.core import outbox
from cogrow.core.models import OutboxEvent
from tests.production.conftest import headers, report_body, reports_url


@pytest.fixture
def sent(app, db, monkeypatch):
    """The relay messages the process published; the kick is on, as it is outside the test suite."""
    calls: list[tuple[str, dict]] = []
    celery_app = app.extensions["celery"]
    monkeypatch.setitem(app.config, "OUTBOX_KICK", True)
    monkeypatch.setattr(celery_app, "send_task", lambda name, **kwargs: calls.append((name, kwargs)))
    monkeypatch.setattr(outbox._kicker, "_connection_for", lambda _celery_app: "connection")
    outbox._kicker.reset()
    yield calls
    outbox._kicker.reset()


def _names(calls):
    return [name for name, _kwargs in calls]


def test_a_commit_that_wrote_an_outbox_row_publishes_the_relay_once(db, sent):
    outbox.enqueue(outbox.RECONCILE, {"item_ids": [1], "reason": "test"})
    outbox.enqueue("notify", {"event_id": 1})
    db.session.commit()
    assert _names(sent) == [outbox.RELAY_TASK]
    options = sent[0][1]
    assert options["retry"] is False and 0 < options["expires"] <= 60 and options["ignore_result"] is True
    assert options["headers"] == {KICK_HEADER: 1}  # an embedded worker polls fast for the hop that follows
    db.session.commit()  # the next transaction wrote nothing: nothing more is asked for
    assert len(sent) == 1


def test_a_commit_without_outbox_rows_publishes_nothing(db, sent):
    create_organisation("No Outbox Org", "prime")
    db.session.commit()
    assert sent == []


def test_a_rollback_publishes_nothing_and_forgets_its_rows(db, sent):
    outbox.enqueue(outbox.RECONCILE, {"item_ids": None, "reason": "test"})
    db.session.flush()
    db.session.rollback()
    create_organisation("After Rollback Org", "prime")
    db.session.commit()
    assert sent == []


def test_a_savepoint_waits_for_the_outer_commit(db, sent):
    with db.session.begin_nested():
        outbox.enqueue(outbox.RECONCILE, {"item_ids": None, "reason": "test"})
    assert sent == []  # released, not committed
    db.session.commit()
    assert _names(sent) == [outbox.RELAY_TASK]


def test_a_caller_that_relays_its_own_rows_can_skip_the_kick_of_one_transaction(db, sent):
    outbox.enqueue("notify", {"event_id": 1})
    outbox.skip_kick()
    db.session.commit()
    assert sent == []
    outbox.enqueue("notify", {"event_id": 2})  # the next transaction kicks again
    db.session.commit()
    assert _names(sent) == [outbox.RELAY_TASK]


def test_rows_inserted_by_statement_also_kick(db, sent):
    db.session.execute(insert(OutboxEvent), [{"topic": outbox.RECONCILE, "relationship_id": None, "payload": {}}])
    db.session.commit()
    assert _names(sent) == [outbox.RELAY_TASK]


def test_a_production_report_over_the_api_kicks_the_relay(client, tenant_a, sent):
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a), headers=headers(tenant_a))
    assert response.status_code == 201, response.get_json()
    assert _names(sent) == [outbox.RELAY_TASK]


def test_a_broker_that_raises_does_not_fail_the_request(app, client, tenant_a, sent, monkeypatch, caplog):
    def refuse(name, **kwargs):
        sent.append((name, kwargs))
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(app.extensions["celery"], "send_task", refuse)
    with caplog.at_level(logging.WARNING, logger="cogrow.outbox"):
        first = client.post(reports_url(tenant_a), json=report_body(tenant_a),
                            headers=headers(tenant_a, **{"Idempotency-Key": "kick-down-1"}))
        second = client.post(reports_url(tenant_a), json=report_body(tenant_a, good_qty="121"),
                             headers=headers(tenant_a, **{"Idempotency-Key": "kick-down-2"}))
    assert first.status_code == 201 and second.status_code == 201
    # The outbox rows are committed for the beat's relay; the process left the broker alone after the failure.
    assert len(sent) == 1
    assert db_pending(tenant_a) >= 2
    assert any(r.levelno == logging.WARNING and "relay" in r.getMessage() for r in caplog.records)


def db_pending(tenant) -> int:
    from cogrow.extensions import db

    return db.session.query(OutboxEvent).filter(OutboxEvent.relationship_id == tenant.relationship.id,
                                                OutboxEvent.published_at.is_(None)).count()


def test_off_in_eager_mode(app, db, sent, monkeypatch):
    monkeypatch.setitem(app.config, "CELERY_TASK_ALWAYS_EAGER", True)
    outbox.enqueue(outbox.RECONCILE, {"item_ids": None, "reason": "test"})
    db.session.commit()
    assert sent == []


def test_a_redis_that_refuses_connections_is_tried_once_and_left_alone(caplog):
    """A real refused connection (nothing listens on port 1): one try, no retry loop, a warning, no exception."""
    from celery import Celery

    down = Celery("kick-down", broker="redis://127.0.0.1:1/0", set_as_current=False)
    kicker = outbox._Kicker()
    with caplog.at_level(logging.WARNING, logger="cogrow.outbox"):
        assert kicker.kick(down) is False
        assert kicker.kick(down) is False  # within the back-off: the broker is not asked again
    assert len([r for r in caplog.records if r.name == "cogrow.outbox"]) == 1
    assert kicker._connection is None
