"""The per-item coverage chart: projected inventory against guaranteed coverage, week by week, from the ledger rows.

Nothing here reads the database: the rows are the page's ledger row and its weeks (services.projected_weeks), so
the chart, its table and the ledger cannot disagree.

How guaranteed coverage is split by week and by source (coverage/services.py defines the terms):
  guaranteed = max(open_po + firm_uncovered, fab_authorized − cum_shipped, 0), where
  open_po = Σ_w po_due[w] and firm_uncovered = Σ_w (guaranteed_due[w] − po_due[w]) over the ledger's weeks.
The coverage that still stands at the end of week w is the guaranteed demand not yet due by then:
  remaining[w] = guaranteed − Σ guaranteed_due[..w]
and it splits, without overlap, into
  - PO:   open_po − Σ po_due[..w]                                (open PO lines due after w)
  - firm: firm_uncovered − Σ (guaranteed_due − po_due)[..w]      (firm buckets after w that no PO covers)
  - FAB:  max(0, fab_authorized − cum_shipped − open_po − firm_uncovered)
          the part of the guarantee that only the FAB authorization gives. It is not scheduled on any week, and
          every unit shipped against PO or firm demand also counts against the authorization, so this top-up
          stays the same in every week until the scheduled demand exceeds it.
  PO + firm + FAB = max(open_po + firm_uncovered, fab_authorized − cum_shipped) − Σ guaranteed_due[..w] = remaining[w]
  (guaranteed_due ≥ 0 so open_po + firm_uncovered ≥ 0, and the max with 0 changes nothing).
Projected inventory at the end of w is the ledger's projected[w] = supply + Σ planned[..w] − Σ guaranteed_due[..w];
"supply" on the chart is supply + Σ planned[..w] (stock and WIP plus the planned output made by then, before
deliveries). What the projected inventory holds beyond the coverage still standing is excess:
  excess[w] = max(0, projected[w] − remaining[w]) = max(0, supply + Σ planned[..w] − guaranteed),
so the first week shows the ledger's excess plus that week's planned output, and the last firm-fence week shows
excess + projected_excess_qty, as the ledger defines them. Shortage weeks are the ledger's shortage[w] > 0.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cogrow.coverage.models import CoverageLedger
from cogrow.coverage.services import WeekRow

ZERO = Decimal("0")


@dataclass(frozen=True)
class ChartWeek:
    week_start: date
    row: WeekRow  # the ledger's week as the page shows it
    cover_po: Decimal
    cover_firm: Decimal
    cover_fab: Decimal
    supply: Decimal
    projected: Decimal
    excess: Decimal
    shortage: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.cover_po + self.cover_firm + self.cover_fab


def chart_weeks(ledger: CoverageLedger | None, rows: Sequence[WeekRow]) -> list[ChartWeek]:
    """One point per week of `rows` (in week order), decomposed as the module docstring says."""
    if ledger is None:
        return []
    fab_only = max(ZERO, ledger.fab_authorized - ledger.cum_shipped - ledger.open_po - ledger.firm_uncovered)
    cum_po = cum_firm = cum_planned = ZERO
    out: list[ChartWeek] = []
    for row in rows:
        cum_po += row.po_due
        cum_firm += row.guaranteed_due - row.po_due
        cum_planned += row.planned_output
        supply = ledger.supply + cum_planned
        cover_po = max(ZERO, ledger.open_po - cum_po)
        cover_firm = max(ZERO, ledger.firm_uncovered - cum_firm)
        remaining = cover_po + cover_firm + fab_only
        out.append(ChartWeek(row.week_start, row, cover_po, cover_firm, fab_only, supply, row.projected,
                             max(ZERO, row.projected - remaining), row.shortage))
    return out
