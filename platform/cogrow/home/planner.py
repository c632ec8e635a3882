"""The planner home page: its work queue (proposals to decide, unacknowledged POs, commits below forecast,
firm-zone cuts, authorizations near their quantity), each entry linking to where the work is done."""
from __future__ import annotations

from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.home import queues


def context(actor) -> dict:
    now = utcnow()
    today = local_today(now)
    # The planner's work: POs not acknowledged within po_ack_days (the tile counts the same rows).
    unacknowledged = queues.unacknowledged_pos(actor, now, overdue_only=True)
    return {"proposals": queues.open_proposals(actor),
            "unacknowledged": unacknowledged,
            "below_forecast": queues.commits_below_forecast(actor, today),
            "firm_cuts": queues.firm_cuts(actor),
            "authorizations": queues.authorizations_near_limit(actor),
            "open_po_value": queues.open_po_value_by_supplier(actor),
            "near_pct": int(queues.NEAR_AUTHORIZATION * 100),
            "now": now, **queues.template_helpers()}
