"""Whether an apply changed anything that matters, for the result page: an import that writes rows but moves
nothing (every production report older than the item's current report, every commit equal to the saved one, a
forecast identical to the latest version) says so, instead of a bare "Applied".

A kind reports it by putting NOTHING_CHANGED -> a code of UNCHANGED_MESSAGES in its result. Kinds registered
outside this package that do not (production reports) are measured here before the apply, from their payload.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from cogrow.extensions import db

NOTHING_CHANGED = "nothing_changed"
UNCHANGED_MESSAGES = {
    "older_reports": _l("Every row is older than (or as old as) the item's current report: the reports were added "
                        "to the history, but no item's current stock changed."),
    "same_commits": _l("Every commit in the file equals the one already saved: nothing changed."),
    "same_forecast": _l("This version is identical to the previous one: no quantity changed."),
    "same_authorizations": _l("No authorized maximum changed: every grant equals the current maximum."),
}


def unchanged_message(code: str | None) -> str | None:
    return str(UNCHANGED_MESSAGES[code]) if code in UNCHANGED_MESSAGES else None


def before_apply(kind_name: str, relationship_id: int, payload: Any) -> str | None:
    """A NOTHING_CHANGED code known before the apply, for kinds that do not report one themselves."""
    if kind_name == "production" and isinstance(payload, list) and payload:
        return _older_reports(relationship_id, payload)
    return None


def _older_reports(relationship_id: int, reports: list[dict[str, Any]]) -> str | None:
    """'older_reports' when no report is newer than its item's current position: one query."""
    from cogrow.production.models import ItemPosition

    latest: dict[int, Any] = {}
    for report in reports:
        item_id, as_of = report.get("item_id"), report.get("as_of")
        if item_id is None or as_of is None:
            return None
        if item_id not in latest or as_of > latest[item_id]:
            latest[item_id] = as_of
    current = dict(db.session.execute(select(ItemPosition.item_id, ItemPosition.as_of).where(
        ItemPosition.relationship_id == relationship_id, ItemPosition.item_id.in_(list(latest)))).all())
    for item_id, as_of in latest.items():
        known = current.get(item_id)
        if known is None or _aware(as_of) > _aware(known):
            return None
    return "older_reports"


def _aware(moment: Any) -> Any:
    from datetime import timezone

    return moment.replace(tzinfo=timezone.utc) if getattr(moment, "tzinfo", 1) is None else moment
