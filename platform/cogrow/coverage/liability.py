"""Liability: what the prime owes if it stopped buying now (domain.md, "Liability and what-if").

One formula, used by the what-if, the liability statement and the firm-cut notice, so that every page that shows a
liability figure shows the same one. It is written over the ledger's own terms:

    finished_units = guaranteed                      (max(open_po + firm_uncovered, fab_authorized − cum_shipped, 0):
                                                      binding POs, firm buckets and authorized finished goods,
                                                      each unit counted once)
    raw_units      = max(raw_authorized − cum_shipped − guaranteed, 0)
                                                     (material authorized beyond what is already owed as finished)
    liability      = finished_units × price + raw_units × material_share × price

With no PO and no firm bucket, guaranteed = max(fab − cum_shipped, 0), and raw_units reduces to the domain's
max(raw − max(fab, cum_shipped), 0), so this is the domain formula extended to the binding documents.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0")


@dataclass(frozen=True)
class Liability:
    finished_units: Decimal
    raw_units: Decimal
    finished_amount: Decimal
    raw_amount: Decimal

    @property
    def amount(self) -> Decimal:
        return self.finished_amount + self.raw_amount


def liability_of(*, guaranteed: Decimal, raw_authorized: Decimal, cum_shipped: Decimal, unit_price: Decimal,
                 material_share: Decimal) -> Liability:
    finished = max(guaranteed, ZERO)
    raw = max(raw_authorized - cum_shipped - finished, ZERO)
    return Liability(finished_units=finished, raw_units=raw, finished_amount=finished * unit_price,
                     raw_amount=raw * material_share * unit_price)
