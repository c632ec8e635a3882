"""The audit log: every change and every denied attempt, with actor, organisation, object and UTC time."""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from sqlalchemy import insert

from cogrow.core.models import AuditLog
from cogrow.core.types import utcnow
from cogrow.extensions import db

if TYPE_CHECKING:
    from cogrow.core.auth import Actor

logger = logging.getLogger("cogrow.audit")


def _ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def record(actor: Actor | None, action: str, obj: Any = None, *, object_type: str | None = None,
           object_id: Any = None, organisation_id: int | None = None, outcome: str = "ok",
           detail: dict[str, Any] | None = None) -> None:
    """Add an audit row to the current transaction; it commits (or rolls back) with the change."""
    if obj is not None:
        object_type = object_type or getattr(obj, "__tablename__", type(obj).__name__)
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    db.session.add(AuditLog(
        organisation_id=organisation_id if organisation_id is not None else (actor.organisation_id if actor else None),
        user_id=actor.user_id if actor else None,
        token_id=actor.token_id if actor else None,
        action=action,
        outcome=outcome,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        ip=_ip(),
        detail=detail,
    ))


def row(actor: Actor | None, action: str, *, object_type: str | None, object_id: Any,
        organisation_id: int | None = None, outcome: str = "ok", detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """The values of the audit row `record` would add, for a hot path that inserts it with Core (see `write`)."""
    return {"at": utcnow(),
            "organisation_id": organisation_id if organisation_id is not None else (actor.organisation_id if actor else None),
            "user_id": actor.user_id if actor else None, "token_id": actor.token_id if actor else None,
            "action": action, "outcome": outcome, "object_type": object_type,
            "object_id": str(object_id) if object_id is not None else None, "ip": _ip(), "detail": detail}


def write(actor: Actor | None, action: str, *, object_type: str | None, object_id: Any,
          detail: dict[str, Any] | None = None) -> None:
    """The same row as `record`, sent at once as one Core INSERT in the current transaction: no ORM object and no
    flush of the unit of work (the ingest paths write one per request, at thousands of requests a second)."""
    db.session.execute(insert(TABLE), row(actor, action, object_type=object_type, object_id=object_id, detail=detail))


TABLE = AuditLog.__table__


def record_denied(actor: Actor | None, action: str, reason: str, message: str = "",
                  organisation_id: int | None = None) -> None:
    """Write a denied attempt on its own: whatever the request had begun is rolled back first."""
    db.session.rollback()
    detail = {"reason": reason}
    if message:
        detail["message"] = message[:200]
    if has_request_context():
        detail["path"] = request.path[:200]
        detail["method"] = request.method
    record(actor, action, outcome="denied", organisation_id=organisation_id, detail=detail)
    db.session.commit()
    logger.info("denied %s for actor %s: %s", action, actor, reason)


def apply_changes(obj: Any, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set the given attributes and return what changed, as {field: {from, to}} ready for the log."""
    changes: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        old = getattr(obj, key)
        if old != value:
            changes[key] = {"from": _jsonable(old), "to": _jsonable(value)}
            setattr(obj, key, value)
    return changes


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def recent(actor: Actor, limit: int = 200) -> list[AuditLog]:
    """The latest audit rows of the actor's organisation, newest first."""
    from sqlalchemy import select

    return list(db.session.scalars(select(AuditLog).where(AuditLog.organisation_id == actor.organisation_id)
                                   .order_by(AuditLog.id.desc()).limit(limit)))
