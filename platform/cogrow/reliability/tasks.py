"""Background tasks of reliability: thin wrappers around the services, and the hook a publication calls.

The tasks go to the default queue (served by the `worker` node beside reconciliation). They are registered when
cogrow.reliability.services' callers import this module, which every app does through its blueprints.
"""
from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from cogrow.coverage.tasks import RETRY
from cogrow.extensions import db
from cogrow.reliability import services

logger = logging.getLogger("cogrow.reliability")

_PENDING = "cogrow_reliability_pending"


@shared_task(name="cogrow.reliability.refresh", ignore_result=True, **RETRY)
def refresh(relationship_ids: list[int]) -> int:
    """Store the finished weeks not stored yet of these relationships; running it twice stores nothing more."""
    return services.refresh(relationship_ids)


@shared_task(name="cogrow.reliability.nightly", ignore_result=True, **RETRY)
def nightly() -> int | None:
    """Store the weeks that ended, for every relationship, once per business day."""
    return services.locked_nightly()


def refresh_after_commit(relationship_id: int) -> None:
    """Queue `refresh` of the relationship once the caller's transaction commits (never before: the task reads what
    it wrote), and nothing if it rolls back. A broker that is down loses nothing: the nightly run stores the weeks."""
    _install()
    db.session.info.setdefault(_PENDING, set()).add(int(relationship_id))


def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None or _PENDING not in session.info:
        return
    ids = sorted(session.info.pop(_PENDING))
    # Eager tasks (tests, a development server without a worker) would run inside this commit; the nightly run
    # and the pages' own reads do without.
    if not has_app_context() or current_app.config.get("CELERY_TASK_ALWAYS_EAGER"):
        return
    try:
        refresh.apply_async(args=[ids], retry=False)
    except Exception:  # noqa: BLE001 - the nightly run stores these weeks anyway
        logger.warning("could not queue the reliability refresh of relationships %s", ids, exc_info=True)


def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


_installed = False


def _install() -> None:
    """Listen to the app's sessions once per process (as core.outbox does for its kick)."""
    global _installed
    if _installed:
        return
    factory = db.session.session_factory
    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_transaction_end", _after_transaction_end)
    _installed = True
