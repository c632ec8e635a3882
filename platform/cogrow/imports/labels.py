"""What the keys of an import's preview summary and result mean, in the user's language.

The stored summary keeps machine keys (the API returns them as they are); pages show these labels instead, and
leave out internal ids (`publication_id`, any `*_id`) and the NOTHING_CHANGED code, which the page words itself.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from cogrow.imports.effects import NOTHING_CHANGED

LABELS = {
    "version_no": _l("New version"), "previous_version_no": _l("Previous version"), "items": _l("Items"),
    "buckets": _l("Buckets"), "total": _l("Total quantity"), "grants": _l("Authorizations"),
    "commits": _l("Commits"), "below_forecast": _l("Below forecast"), "reports": _l("Production reports"),
    "created_pos": _l("New purchase orders"), "revised_pos": _l("Revised purchase orders"), "lines": _l("Lines"),
    "acknowledged": _l("Acknowledged"), "rejected": _l("Rejected"), "proposals": _l("Change proposals"),
    "created": _l("New"), "updated": _l("Changed"), "unchanged": _l("Unchanged"),
    "firm_cuts": _l("Firm-zone cuts"), "firm_cut_units": _l("Units cut in the firm zone"),
    "firm_cut_amount": _l("Value no longer guaranteed"), "updated_items": _l("Items updated"),
}
HIDDEN = {NOTHING_CHANGED, "currency", "cuts"}


def label(key: str) -> str:
    found = LABELS.get(key)
    if found is not None:
        return str(found)
    return key.replace("_", " ").strip().capitalize()


def facts(values: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """(label, value) pairs to show, without internal ids and codes."""
    out = []
    for key, value in (values or {}).items():
        if key in HIDDEN or key == "id" or key.endswith("_id") or isinstance(value, (dict, list)):
            continue
        out.append((label(key), "—" if value is None else value))
    return out
