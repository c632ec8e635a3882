"""The planner home page: its work queue (proposals to decide, unacknowledged POs, commits below forecast,
firm-zone cuts, authorizations near their quantity), each entry linking to where the work is done."""
from __future__ import annotations

from cogrow.catalog import services as catalog
from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.home import queues
from cogrow.relationships import services as relationships


def context(actor) -> dict:
    now = utcnow()
    today = local_today(now)
    bounds = queues.fence_bounds(actor, today)
    unacknowledged = queues.unacknowledged_pos(actor, now)
    return {"relationships": relationships.list_relationships(actor),
            "item_counts": catalog.count_items_by_relationship(actor),
            "proposals": queues.open_proposals(actor),
            "unacknowledged": unacknowledged,
            "unacknowledged_overdue": queues.unacknowledged_overdue_count(actor, now),
            "below_forecast": queues.commits_below_forecast(actor, today, bounds),
            "firm_cuts": queues.firm_cuts(actor, today, bounds),
            "authorizations": queues.authorizations_near_limit(actor),
            "open_po_value": queues.open_po_value_by_supplier(actor),
            "near_pct": int(queues.NEAR_AUTHORIZATION * 100),
            "now": now, **queues.template_helpers()}
