"""The production home page: its work queue (POs to acknowledge, new forecast versions and what changed, items
at risk per customer, stale production reports, PO lines due this week), each entry linking to the work."""
from __future__ import annotations

from cogrow.catalog import services as catalog
from cogrow.core.types import utcnow
from cogrow.core.weeks import current_week, local_today
from cogrow.home import queues
from cogrow.relationships import services as relationships


def context(actor) -> dict:
    now = utcnow()
    to_acknowledge, ack_counts = queues.pos_to_acknowledge(actor, now)
    versions, changes = queues.new_forecast_versions(actor, now)
    at_risk, risk_by_customer = queues.items_at_risk(actor)
    return {"relationships": relationships.list_relationships(actor),
            "item_counts": catalog.count_items_by_relationship(actor),
            "to_acknowledge": to_acknowledge, "ack_counts": ack_counts, "ack_groups": queues.ACK_GROUPS,
            "versions": versions, "changes": changes, "new_version_days": queues.NEW_VERSION_DAYS,
            "at_risk": at_risk, "risk_by_customer": risk_by_customer,
            "stale": queues.stale_reports(actor, now), "stale_days": queues.STALE_REPORT_DAYS,
            "due": queues.lines_due_this_week(actor, local_today(now)), "this_week": current_week(now),
            "now": now, **queues.template_helpers()}
