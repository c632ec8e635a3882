"""The kinds of organisation and the roles their members and tokens hold: constants every layer reads.

They live in core, not in accounts, so that the route guards (core/auth.py) need no domain to know them.
"""
from __future__ import annotations

ORG_KINDS = ("prime", "supplier")
ROLES = ("admin", "planner", "procurement", "production")
ROLES_BY_KIND = {
    "prime": ("admin", "planner", "procurement"),
    "supplier": ("admin", "production"),
}
