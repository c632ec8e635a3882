"""Each user's choice of alert e-mail: one per alert event, a daily digest, or none."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from cogrow.alerts.models import EMAIL_MODES, NotificationPreference
from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import Forbidden, ValidationFailed
from cogrow.core.types import utcnow
from cogrow.extensions import db

DEFAULT_MODE = "each"


def email_mode(actor: Actor) -> str:
    if actor.user_id is None:
        return DEFAULT_MODE
    mode = db.session.scalar(select(NotificationPreference.email_mode)
                             .where(NotificationPreference.user_id == actor.user_id))
    return mode or DEFAULT_MODE


def set_email_mode(actor: Actor, mode: str) -> None:
    if actor.user_id is None:
        raise Forbidden(_("Notification settings belong to people, not API tokens."))
    if mode not in EMAIL_MODES:
        raise ValidationFailed(_("Some fields are not valid."), fields={"email_mode": _("Unknown choice.")})
    pref = db.session.get(NotificationPreference, actor.user_id)
    before = pref.email_mode if pref else DEFAULT_MODE
    if pref is None:
        pref = NotificationPreference(user_id=actor.user_id, email_mode=mode, updated_at=utcnow())
        db.session.add(pref)
    else:
        pref.email_mode, pref.updated_at = mode, utcnow()
    audit.record(actor, "notification_preference.changed", object_type="user_account", object_id=actor.user_id,
                 detail={"from": before, "to": mode})
    db.session.commit()
