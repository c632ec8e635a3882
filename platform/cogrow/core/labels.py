"""Translated labels for stored codes (roles, statuses), used by templates, pages and messages.

Statuses live in one table, keyed by what the status belongs to: the same code can read differently
("pending" is an invitation waiting for an answer, but an import whose file is still being checked).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "planner": _l("Planner"),
    "procurement": _l("Procurement"),
    "production": _l("Production"),
}
STATUS_LABELS = {
    # Relationships, memberships and invitations: the templates' `status_label(code)` without a kind.
    "general": {
        "invited": _l("Invited"),
        "active": _l("Active"),
        "suspended": _l("Suspended"),
        "pending": _l("Pending"),
        "accepted": _l("Accepted"),
        "revoked": _l("Revoked"),
        "expired": _l("Expired"),
    },
    "import": {
        "pending": _l("Checking the file"),
        "preview": _l("Ready to confirm"),
        "invalid": _l("Has errors"),
        "queued": _l("Queued"),
        "running": _l("Running"),
        "applied": _l("Applied"),
        "failed": _l("Failed"),
        "discarded": _l("Discarded"),
    },
    "shipment": {
        "shipped": _l("Shipped"),
        "received": _l("Received"),
        "cancelled": _l("Cancelled"),
    },
    # Purchase orders and change proposals ("open" is the list filter for every state between issue and close).
    "po": {
        "open": _l("Open (issued, not yet closed)"), "draft": _l("Draft"), "issued": _l("Issued"),
        "acknowledged": _l("Acknowledged"), "change_proposed": _l("Change proposed"), "rejected": _l("Rejected"),
        "partially_shipped": _l("Partially shipped"), "closed": _l("Closed"), "cancelled": _l("Cancelled"),
        "accepted": _l("Accepted"), "withdrawn": _l("Withdrawn"),
    },
    # The zone a forecast bucket was fixed in when published (domain.md, "Forecast publication").
    "zone": {"firm": _l("firm"), "material": _l("material"), "planning": _l("planning")},
    "alert": {
        "open": _l("Open"),
        "acknowledged": _l("Acknowledged"),
        "snoozed": _l("Snoozed"),
        "resolved": _l("Resolved"),
    },
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def status_label(status: str, kind: str = "general") -> str:
    """The label of a `kind`'s status code (see STATUS_LABELS); an unknown code is shown as it is."""
    return str(STATUS_LABELS[kind].get(status, status))
