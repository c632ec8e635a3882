"""The embedded broker's worker polls fast only while work flows: after a kick or a task, not after the beat's
idle relay, so a report's second hop (relay -> reconcile) is not paced by the idle interval and an idle worker
costs what it did."""
from __future__ import annotations

from queue import Empty
from types import SimpleNamespace

import pytest

from cogrow import celery as cogrow_celery

KICK = {"headers": {"task": "cogrow.coverage.relay", cogrow_celery.KICK_HEADER: 1}}
BEAT_RELAY = {"headers": {"task": "cogrow.coverage.relay"}}
RECONCILE = {"headers": {"task": "cogrow.coverage.reconcile"}}


@pytest.fixture
def poll(monkeypatch):
    """Run the transport's loop over a script (a message, or None for an empty poll) on a fake clock; returns the
    pauses taken after empty polls."""
    now = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(cogrow_celery, "_monotonic", lambda: now[0])
    monkeypatch.setattr(cogrow_celery, "_sleep", sleep)
    cls = cogrow_celery._embedded_transport()

    def run(script: list) -> list[float]:
        transport = cls.__new__(cls)  # no broker: only the polling loop runs
        delivered = []
        transport._deliver = lambda message, _queue: delivered.append(message)

        def get(callback, timeout=None):
            message = script.pop(0) if script else None
            if message is None:
                raise Empty()
            callback(message, "reconcile")

        transport.cycle = SimpleNamespace(get=get)
        expected = sum(1 for m in script if m is not None)
        while len(delivered) < expected:
            transport.drain_events(None)
        return pauses

    return run


def test_after_a_kick_the_next_hop_is_polled_fast(poll):
    assert poll([KICK, None, None, RECONCILE]) == [cogrow_celery.EMBEDDED_BUSY_POLL_SECONDS] * 2


def test_the_beats_idle_relay_keeps_the_idle_interval(poll):
    assert poll([BEAT_RELAY, None, RECONCILE]) == [cogrow_celery.EMBEDDED_POLL_SECONDS]


def test_fast_polling_ends_after_the_busy_window(poll):
    busy = round(cogrow_celery.EMBEDDED_BUSY_WINDOW_SECONDS / cogrow_celery.EMBEDDED_BUSY_POLL_SECONDS)
    pauses = poll([RECONCILE, *[None] * (busy + 3), RECONCILE])
    assert set(pauses[:busy - 1]) == {cogrow_celery.EMBEDDED_BUSY_POLL_SECONDS}
    assert pauses[-3:] == [cogrow_celery.EMBEDDED_POLL_SECONDS] * 3


def test_the_embedded_broker_url_selects_this_transport(app):
    from kombu import Connection

    assert app.config["CELERY_BROKER_URL"].startswith("sqla+")  # the tests run on the embedded default
    assert isinstance(Connection(app.config["CELERY_BROKER_URL"]).transport, cogrow_celery._embedded_transport())
