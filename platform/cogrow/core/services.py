"""Core use cases: health, heartbeats and the worker smoke check."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select, text

from cogrow.accounts.models import Organisation
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
    organisations = db.session.scalar(select(func.count()).select_from(Organisation)) or 0
    return {"token": token, "organisations": organisations, "dialect": db.engine.dialect.name}


def database_ok() -> bool:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()
    return True
