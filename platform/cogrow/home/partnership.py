"""The partnership panel under the planner, procurement and production work queues: both scorecards per
counterpart over the last months, the organisation's monthly trend, and the forecast reliability panel.

A supplier sees how it delivers to each customer and how each customer plans; a prime sees its suppliers'
delivery and its own planning discipline. A fixed number of statements whatever the number of relationships.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.relationships.models import SupplyRelationship
from cogrow.reliability import services as reliability
from cogrow.scorecards import display
from cogrow.scorecards import services as scorecards
from cogrow.scorecards.periods import Month

MONTHS = 3
ROWS = 10  # counterparts listed, the weakest on time in full first
TREND = ("otif", "asn_accuracy", "commit_reliability", "late_proposals")


@dataclass(frozen=True)
class PartnerRow:
    relationship_id: int
    counterpart: str
    figures: dict[str, scorecards.Figure]


@dataclass(frozen=True)
class Partnership:
    side: str
    months: list[Month]
    rows: list[PartnerRow]
    more: int  # counterparts not listed
    totals: dict[str, scorecards.Figure]
    trend: dict[str, dict[str, scorecards.Figure]]  # measure -> month label -> the organisation's figure


def _order(row: PartnerRow) -> tuple[bool, Any, str]:
    value = row.figures["otif"].value
    return (value is None, value, row.counterpart)


def context(actor, rels: Sequence[SupplyRelationship] | None = None) -> dict[str, Any]:
    """The panel's context; `rels`, the actor's relationships when the page has already read them."""
    now = utcnow()
    months = scorecards.recent_months(local_today(now), MONTHS)
    rels, figs = scorecards.counterpart_figures(actor, months, local_today(now), now, rels)
    measures = scorecards.MEASURES
    rows = sorted((PartnerRow(rel.id, rel.counterpart(actor.organisation_id).name,
                              {k: scorecards.rollup(figs[k], m.kind, [rel.id]) for k, m in measures.items()})
                   for rel in rels), key=_order)
    trend = {k: {m.label: scorecards.rollup(figs[k], measures[k].kind, months=[m.label]) for m in months}
             for k in TREND}
    partnership = Partnership("prime" if actor.is_prime else "supplier", months, rows[:ROWS], max(0, len(rows) - ROWS),
                              {k: scorecards.rollup(figs[k], m.kind) for k, m in measures.items()}, trend)
    return {"partnership": partnership, "reliability_panel": reliability.actor_panel(actor),
            "measures": measures, "trend_keys": TREND, **display.helpers()}
