"""Celery bound to the Flask app: every task runs inside an application context."""
from __future__ import annotations

import logging
import time
from queue import Empty

from celery import Celery, Task
from celery.signals import before_task_publish
from flask import Flask
from kombu import Queue

# Reconciliation (the relay, reconcile, the sweep) has a queue of its own, served by its own worker node
# (Procfile `worker`), so it never waits behind e-mails, webhooks or imports (Procfile `notify`).
RECONCILE_QUEUE = "reconcile"
NOTIFY_QUEUE = "notify"
IMPORTS_QUEUE = "imports"
DEFAULT_QUEUE = "default"
QUEUES = (RECONCILE_QUEUE, NOTIFY_QUEUE, IMPORTS_QUEUE, DEFAULT_QUEUE)
TASK_ROUTES = {
    "cogrow.coverage.*": {"queue": RECONCILE_QUEUE},
    # Fanning an alert event out is database work (inbox and delivery rows, ~50 ms): it must not wait behind
    # e-mails that hang for MAIL_TIMEOUT_SECONDS, so it runs beside reconciliation; the sends themselves do not.
    "cogrow.alerts.dispatch": {"queue": RECONCILE_QUEUE},
    "cogrow.alerts.*": {"queue": NOTIFY_QUEUE},
    "cogrow.imports.*": {"queue": IMPORTS_QUEUE},
    "cogrow.forecasts.*": {"queue": NOTIFY_QUEUE},  # notices of firm cuts and commits below forecast: e-mail
}
# Periodic bookkeeping whose Celery lines ("received", "succeeded", beat's "Sending due task") say nothing at INFO.
QUIET_TASKS = frozenset({"cogrow.coverage.relay", "cogrow.heartbeat", "outbox-relay", "heartbeat"})
# The relay's messages carry the sender's wall clock, so a relay can tell that a newer run already did its work.
SENT_AT_HEADER = "cogrow_sent_at"
STAMPED_TASKS = frozenset({"cogrow.coverage.relay"})
# How often a worker asks the embedded (kombu SQLAlchemy) broker for work. kombu sleeps a fixed interval after every
# empty poll (its default 1 s); that also paces a busy worker (with prefetch 1 a child that finished waits for the
# next poll) and every hop of a chain: report -> relay -> reconcile paid about one interval per hop.
# EmbeddedTransport polls every EMBEDDED_POLL_SECONDS when idle and every EMBEDDED_BUSY_POLL_SECONDS for
# EMBEDDED_BUSY_WINDOW_SECONDS after it received work, when the next hop of a chain is due. The beat's idle
# bookkeeping (QUIET_TASKS, every OUTBOX_RELAY_SECONDS) is not work unless it is a kick (KICK_HEADER, core.outbox):
# otherwise the window would never close and an idle worker would poll fast forever.
# Measured idle cost of one worker node's main process: 0.5% of a core at 1 s, 1.2% at 0.25 s, 3.2% at 0.1 s.
EMBEDDED_POLL_SECONDS = 0.25
EMBEDDED_BUSY_POLL_SECONDS = 0.02
EMBEDDED_BUSY_WINDOW_SECONDS = 1.0
# The header of a relay message sent right after a commit that wrote outbox rows (core.outbox), not by the beat.
KICK_HEADER = "cogrow_kick"
_CHATTY_LOGGERS = ("celery.worker.strategy", "celery.app.trace", "celery.beat", "celery.worker.request")


def celery_settings(app: Flask) -> dict:
    """Celery settings from the app's configuration, per reliability.md."""
    broker = app.config["CELERY_BROKER_URL"]
    backend = app.config["CELERY_RESULT_BACKEND"]
    on_redis = broker.startswith(("redis://", "rediss://"))
    visibility = {"visibility_timeout": app.config["CELERY_VISIBILITY_TIMEOUT"]}
    settings = {
        "broker_url": broker,
        "result_backend": backend,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_expires": 24 * 3600,
        "timezone": "UTC",
        "enable_utc": True,
        "broker_connection_retry_on_startup": True,
        "task_always_eager": app.config["CELERY_TASK_ALWAYS_EAGER"],
        "task_eager_propagates": True,
        "task_default_queue": DEFAULT_QUEUE,
        # A worker started without -Q consumes every queue (the tests' single worker does).
        "task_queues": [Queue(name) for name in QUEUES],
        "task_routes": TASK_ROUTES,
        "imports": ["cogrow.core.tasks", "cogrow.imports.tasks", "cogrow.production.tasks", "cogrow.coverage.tasks", "cogrow.alerts.tasks",
                    "cogrow.forecasts.tasks", "cogrow.reliability.tasks", "cogrow.edi.sending", "cogrow.edi.delivery"],
    }
    if on_redis:
        settings["broker_transport_options"] = dict(visibility)
    else:
        # kombu's SQLAlchemy transport hands its options to create_engine: only engine options here.
        # It has no visibility timeout; a lost message there is caught by the outbox relay instead.
        settings["broker_transport_options"] = {"connect_args": {"timeout": 30}}
    if backend.startswith(("redis://", "rediss://")):
        settings["result_backend_transport_options"] = dict(visibility)
    elif backend.startswith("db+sqlite"):
        settings["database_engine_options"] = {"connect_args": {"timeout": 30}}
    return settings


@before_task_publish.connect(weak=False)
def _stamp_sent_at(sender=None, headers=None, **_kwargs) -> None:
    if sender in STAMPED_TASKS and headers is not None:
        headers.setdefault(SENT_AT_HEADER, time.time())


class QuietPeriodicFilter(logging.Filter):
    """Demotes Celery's INFO lines about the idle periodic tasks (QUIET_TASKS) to DEBUG; other lines pass as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not _names_quiet_task(record.args):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def _names_quiet_task(args) -> bool:
    if isinstance(args, dict):
        return args.get("name") in QUIET_TASKS
    if isinstance(args, tuple):
        return any(isinstance(arg, str) and arg in QUIET_TASKS for arg in args)
    return False


def quiet_periodic_logs() -> None:
    """An idle worker and beat say nothing at INFO every few seconds; warnings and errors are untouched."""
    for name in _CHATTY_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, QuietPeriodicFilter) for f in target.filters):
            target.addFilter(QuietPeriodicFilter())


def _embedded_transport() -> type:
    """kombu's SQLAlchemy transport, polling fast only while work is flowing (see EMBEDDED_POLL_SECONDS)."""
    global _EMBEDDED_TRANSPORT
    if _EMBEDDED_TRANSPORT is not None:
        return _EMBEDDED_TRANSPORT
    from kombu.transport import sqlalchemy as sqla_transport

    class EmbeddedTransport(sqla_transport.Transport):
        polling_interval = EMBEDDED_POLL_SECONDS

        _busy_since = -1e9

        def drain_events(self, connection, timeout=None):
            # kombu's own loop (virtual.Transport.drain_events) with one change: the pause after an empty poll
            # is short while work arrived less than EMBEDDED_BUSY_WINDOW_SECONDS ago.
            started = _monotonic()
            while True:
                try:
                    self.cycle.get(self._deliver_noting_work, timeout=timeout)
                except Empty:
                    now = _monotonic()
                    if timeout is not None and now - started >= timeout:
                        raise TimeoutError from None  # socket.timeout: the worker loop polls again
                    busy = now - self._busy_since < EMBEDDED_BUSY_WINDOW_SECONDS
                    pause = EMBEDDED_BUSY_POLL_SECONDS if busy else self.polling_interval
                    _sleep(min(pause, timeout) if timeout else pause)
                else:
                    return

        def _deliver_noting_work(self, message, queue):
            headers = (message.get("headers") if isinstance(message, dict) else None) or {}
            if headers.get("task") not in QUIET_TASKS or headers.get(KICK_HEADER):
                self._busy_since = _monotonic()
            return self._deliver(message, queue)

    _EMBEDDED_TRANSPORT = EmbeddedTransport
    return EmbeddedTransport


_EMBEDDED_TRANSPORT: type | None = None
_monotonic, _sleep = time.monotonic, time.sleep  # the polling loop's clock (tests replace it)


def _tune_embedded_broker(broker: str) -> None:
    # kombu's SQLAlchemy transport hands every transport option to create_engine, so its polling_interval
    # option cannot be used there, and the URL's `sqla+` prefix chooses the transport by its alias: the aliases
    # name our subclass instead (kombu calls an alias that is callable and resolves what it returns).
    if broker.startswith(("sqla+", "sqlalchemy+")):
        from kombu.transport import TRANSPORT_ALIASES

        TRANSPORT_ALIASES["sqla"] = TRANSPORT_ALIASES["sqlalchemy"] = _embedded_transport


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app))
    _tune_embedded_broker(app.config["CELERY_BROKER_URL"])
    quiet_periodic_logs()
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
