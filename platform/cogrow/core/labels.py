"""Translated labels for stored codes (roles, statuses), used by templates."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "planner": _l("Planner"),
    "procurement": _l("Procurement"),
    "production": _l("Production"),
}
STATUS_LABELS = {
    "invited": _l("Invited"),
    "active": _l("Active"),
    "suspended": _l("Suspended"),
    "pending": _l("Pending"),
    "accepted": _l("Accepted"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))
