"""The transactional outbox: a change and the work it causes are written in one transaction.

A relay task (coverage.tasks) publishes pending rows to Celery and marks them sent, so a task
never runs before the data it reads is committed, and a broker that loses its queue loses nothing.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from cogrow.celery import KICK_HEADER
from cogrow.core.models import OutboxEvent
from cogrow.extensions import db

RECONCILE = "reconcile"


def enqueue_reconcile(relationship_id: int, item_ids: Iterable[int] | None, reason: str) -> OutboxEvent:
    """Ask for the ledger of these items (all items of the relationship when None) to be recomputed.

    The row joins the caller's transaction: it commits, or rolls back, with the change itself.
    """
    ids = sorted({int(i) for i in item_ids}) if item_ids is not None else None
    event = OutboxEvent(topic=RECONCILE, relationship_id=relationship_id,
                        payload={"item_ids": ids, "reason": reason})
    db.session.add(event)
    return event


def enqueue(topic: str, payload: dict[str, Any], relationship_id: int | None = None) -> OutboxEvent:
    event = OutboxEvent(topic=topic, relationship_id=relationship_id, payload=payload)
    db.session.add(event)
    return event


def mark_done(outbox_ids: Sequence[int] | None) -> None:
    """The task that consumed these rows finished: the relay never publishes them again. Commits."""
    if not outbox_ids:
        return
    stamp_done(outbox_ids)
    db.session.commit()


def stamp_done(outbox_ids: Sequence[int]) -> None:
    """Mark these rows done inside the caller's transaction, so the work and its receipt commit together."""
    table = OutboxEvent.__table__
    db.session.execute(update(table).where(table.c.id.in_([int(i) for i in outbox_ids]), table.c.done_at.is_(None))
                       .values(done_at=datetime.now(timezone.utc)))


# The kick: a commit that wrote outbox rows asks for a relay at once ------------------------------------------------
#
# Without it a report waits for the beat's next relay (OUTBOX_RELAY_SECONDS, 2 s: p95 about 2 s from a production
# report to its alert). After any commit that wrote an OutboxEvent row, the process publishes one relay message
# (cogrow.coverage.relay, on the reconcile queue); the worker's relay claims the rows and publishes their tasks, as
# the beat's would. Only the relay ever publishes the rows' own tasks, so nothing is published twice: a kick whose
# rows a newer relay already drained is skipped by the relay itself (its sent-at stamp, coverage.tasks).
# Publishing one small message is cheaper for the request than claiming the rows here (BEGIN, SELECT ... FOR UPDATE,
# UPDATE, COMMIT on the application's database, and on SQLite its write lock while the worker reconciles).
# The beat's relay stays the safety net: a kick that fails, expires or is lost costs at most one relay period.

RELAY_TASK = "cogrow.coverage.relay"
_WROTE = "cogrow_outbox_written"
_SKIP = "cogrow_outbox_no_kick"
# A kick left unread this long is dropped by the worker: the rows stay pending and the beat relays them.
KICK_EXPIRES_SECONDS = 10.0
# Connecting and sending to a broker that does not answer gives up after this long, without retries.
KICK_TIMEOUT_SECONDS = 0.5
# After a failed kick, the process leaves the broker alone this long (the beat relays meanwhile), so that a broker
# that is down slows no request beyond the first one.
KICK_BACKOFF_SECONDS = 5.0

logger = logging.getLogger("cogrow.outbox")


class _Kicker:
    """One producer connection per process (recreated after a fork or a failure), used under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: tuple[int, str] | None = None
        self._connection: Any = None
        self._quiet_until = 0.0

    def kick(self, celery_app: Any) -> bool:
        """Publish one relay message; False (and a warning) when the broker refused it. Never raises."""
        with self._lock:
            if time.monotonic() < self._quiet_until:
                return False
            try:
                celery_app.send_task(RELAY_TASK, expires=KICK_EXPIRES_SECONDS, retry=False, ignore_result=True,
                                     add_to_parent=False, headers={KICK_HEADER: 1},
                                     connection=self._connection_for(celery_app))
            except Exception as exc:  # noqa: BLE001 - the change is committed; the beat's relay publishes its rows
                self._drop()
                self._quiet_until = time.monotonic() + KICK_BACKOFF_SECONDS
                # One line, no traceback: a broker that is down says so every KICK_BACKOFF_SECONDS per process.
                logger.warning("could not ask for an outbox relay now (%s: %s); the beat's relay will publish the rows",
                               type(exc).__name__, exc)
                return False
            return True

    def _connection_for(self, celery_app: Any) -> Any:
        broker = str(celery_app.conf.broker_url or "")
        owner = (os.getpid(), broker)
        if self._connection is None or self._owner != owner:
            # A connection inherited through fork is the parent's, and another app may use another broker.
            self._connection = None
            # kombu retries a failed connect for up to connect_timeout, sleeping 2 s between tries; one try only.
            options: dict[str, Any] = {"max_retries": 0, "interval_start": 0}
            if broker.startswith(("redis://", "rediss://")):
                options.update(socket_timeout=KICK_TIMEOUT_SECONDS, socket_connect_timeout=KICK_TIMEOUT_SECONDS)
            self._connection = celery_app.connection_for_write(connect_timeout=KICK_TIMEOUT_SECONDS,
                                                               transport_options=options)
            self._owner = owner
        return self._connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.release()

    def reset(self) -> None:
        with self._lock:
            self._drop()
            self._quiet_until = 0.0


_kicker = _Kicker()


def kick_relay() -> bool:
    """Ask the app's worker for a relay now; False when the broker refused (logged), never an exception."""
    return _kicker.kick(current_app.extensions["celery"])


def note_written(session: Session) -> None:
    """Outbox rows were written on this session other than through it (a raw connection): kick after its commit."""
    session.info[_WROTE] = True


def skip_kick() -> None:
    """The caller publishes this transaction's rows itself right after its commit (coverage's reconcile relays the
    notifications it caused): its commit asks for no relay. Forgotten when the transaction ends."""
    db.session.info[_SKIP] = True


def _kick_enabled() -> bool:
    if not has_app_context():
        return False
    app = current_app
    if app.config.get("CELERY_TASK_ALWAYS_EAGER"):
        return False  # eager tasks run in-process; there is no worker to wake
    return bool(app.config.get("OUTBOX_KICK", True))  # off in TestingConfig unless a test switches it on


def _after_flush(session: Session, _context: Any) -> None:
    if _WROTE not in session.info and any(isinstance(obj, OutboxEvent) for obj in session.new):
        session.info[_WROTE] = True


def _on_execute(state: ORMExecuteState) -> None:
    # Rows inserted with insert(OutboxEvent) (bulk paths) never pass through session.new.
    if state.is_insert and getattr(getattr(state.statement, "table", None), "name", None) == OutboxEvent.__tablename__:
        state.session.info[_WROTE] = True


def _after_commit(session: Session) -> None:
    # A savepoint's release fires this too: its rows are not committed until the outermost transaction is.
    if session.get_nested_transaction() is not None:
        return
    skip = session.info.pop(_SKIP, False)
    if session.info.pop(_WROTE, False) and not skip and _kick_enabled():
        kick_relay()


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended: after a rollback its rows are gone, and nothing is asked for.
    if transaction.parent is None:
        session.info.pop(_WROTE, None)
        session.info.pop(_SKIP, None)


_installed = False


def install_kick() -> None:
    """Listen to every session of the app's factory (once per process; each commit finds its own app)."""
    global _installed
    if _installed:
        return
    factory = db.session.session_factory
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "do_orm_execute", _on_execute)
    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_transaction_end", _after_transaction_end)
    _installed = True
