"""Core use cases: health, heartbeats and the worker smoke check."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select, text

from cogrow.core.models import Heartbeat
from cogrow.extensions import db


def beat_heartbeat(name: str) -> None:
    now = datetime.now(timezone.utc)
    row = db.session.get(Heartbeat, name)
    if row is None:
        db.session.add(Heartbeat(name=name, at=now))
    else:
        row.at = now
    db.session.commit()


def heartbeats() -> dict[str, datetime]:
    return {row.name: row.at for row in db.session.scalars(select(Heartbeat))}


def smoke_report(token: str) -> dict:
    # Core imports no domain: the table is found by name in the schema the app loaded (cogrow.models).
    organisations = db.session.scalar(select(func.count()).select_from(db.metadata.tables["organisation"])) or 0
    return {"token": token, "organisations": organisations, "dialect": db.engine.dialect.name}


def database_ok() -> bool:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()
    return True
