"""The admin home page: members, tokens, workers; on a supplier, the stock no customer has promised to buy."""
from __future__ import annotations

from cogrow.accounts import services as accounts
from cogrow.catalog import services as catalog
from cogrow.core import services
from cogrow.relationships import services as relationships


def context(actor) -> dict:
    return {"relationships": relationships.list_relationships(actor),
            "item_counts": catalog.count_items_by_relationship(actor),
            "members": accounts.list_members(actor),
            "tokens": [t for t in accounts.list_tokens(actor) if t.revoked_at is None],
            "heartbeats": services.heartbeats()}
