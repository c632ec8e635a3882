"""What-if: the coverage ledger computed over a draft, without writing anything (domain.md, "Liability and what-if").

The ledger's own statements (services.ledger_select) run twice as SELECTs over the same scope: once over the
published rows (before), once with a draft's rows in their place (after). A draft is either an unpublished forecast
version (forecast_draft_bucket stands in for the latest version's buckets) or PO lines marked for cancellation
(the PO lines less those). Nothing is written to the ledger tables; the figures per item are the ledger's terms,
and the liability is cogrow.coverage.liability.liability_of over them.

Per item the result tells:
- the change in guaranteed, excess, exposure and liability;
- `binding_removed`: the binding demand (open PO + uncovered firm forecast) the draft takes away;
- `fab_kept`: of those units, the ones the prime still pays for as finished goods through its FAB authorization
  (guaranteed falls by less than the binding demand does: the authorization holds it up);
- `raw_kept`: units whose raw material the prime now pays for through its RAW authorization (the liability's
  raw units grow);
- `supplier_loss`: units of stock that lose their guaranteed buyer (excess grows); `exposure_change` is what
  they are worth, their material share taken off where material cover pays it.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, bindparam, select

from cogrow.catalog.models import Item
from cogrow.coverage import services
from cogrow.coverage.liability import Liability, liability_of
from cogrow.coverage.services import CW, PUBLISHED, SHAPES, Demand, _Clock, _Scope, po_lines_of, published_buckets
from cogrow.extensions import db
from cogrow.forecasts.models import ForecastBucket, ForecastDraftBucket
from cogrow.orders.models import PoCancelDraftLine, PurchaseOrderLine

ZERO = Decimal("0")
DRAFT_ID = bindparam("draft_id", type_=Integer())
_draft_bucket = ForecastDraftBucket.__table__
_bucket = ForecastBucket.__table__
_cancel_line = PoCancelDraftLine.__table__
_pol = PurchaseOrderLine.__table__


def _draft_buckets(scope: _Scope):
    """A forecast draft's buckets in place of the latest version's (the same columns, from the current week)."""
    t = _draft_bucket
    return scope.narrow(select(t.c.relationship_id, t.c.item_id, t.c.week_start, t.c.quantity, t.c.zone)
                        .where(t.c.draft_id == DRAFT_ID, t.c.week_start >= CW, t.c.quantity > 0),
                        t).subquery("buckets")


def _lines_less_cancelled(scope: _Scope):
    """The PO lines without those a cancellation draft marks."""
    marked = select(_cancel_line.c.line_id).where(_cancel_line.c.draft_id == DRAFT_ID)
    return po_lines_of(scope, _pol.c.id.not_in(marked))


def _version_buckets(scope: _Scope):
    """The buckets of one given publication (its id bound as draft_id): an earlier version, for a notice's before."""
    t = _bucket
    return scope.narrow(select(t.c.relationship_id, t.c.item_id, t.c.week_start, t.c.quantity, t.c.zone)
                        .where(t.c.publication_id == DRAFT_ID, t.c.week_start >= CW, t.c.quantity > 0),
                        t).subquery("buckets")


FORECAST_DRAFT = Demand("forecast_draft", _draft_buckets, po_lines_of)
PO_CANCEL_DRAFT = Demand("po_cancel_draft", published_buckets, _lines_less_cancelled)
VERSION = Demand("version", _version_buckets, po_lines_of)
DEMANDS = {d.name: d for d in (PUBLISHED, FORECAST_DRAFT, PO_CANCEL_DRAFT, VERSION)}


@functools.lru_cache(maxsize=None)
def _statement(shape: str, demand: str):
    return services.ledger_select(SHAPES[shape], DEMANDS[demand])


@dataclass(frozen=True)
class Figures:
    """One item's ledger terms as the what-if reads them, with its liability."""

    open_po: Decimal
    firm_uncovered: Decimal
    guaranteed: Decimal
    supply: Decimal
    excess: Decimal
    material_cover: Decimal
    exposure: Decimal
    liability: Liability

    @property
    def binding(self) -> Decimal:
        return self.open_po + self.firm_uncovered


@dataclass(frozen=True)
class ItemChange:
    item_id: int
    part_number: str
    currency: str
    before: Figures
    after: Figures

    def _change(self, name: str) -> Decimal:
        return getattr(self.after, name) - getattr(self.before, name)

    @property
    def guaranteed_change(self) -> Decimal:
        return self._change("guaranteed")

    @property
    def excess_change(self) -> Decimal:
        return self._change("excess")

    @property
    def exposure_change(self) -> Decimal:
        return self._change("exposure")

    @property
    def liability_change(self) -> Decimal:
        return self.after.liability.amount - self.before.liability.amount

    @property
    def binding_removed(self) -> Decimal:
        return max(self.before.binding - self.after.binding, ZERO)

    @property
    def fab_kept(self) -> Decimal:
        return max(self.binding_removed - max(-self.guaranteed_change, ZERO), ZERO)

    @property
    def raw_kept(self) -> Decimal:
        return max(self.after.liability.raw_units - self.before.liability.raw_units, ZERO)

    @property
    def supplier_loss(self) -> Decimal:
        return max(self.excess_change, ZERO)

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class WhatIf:
    relationship_id: int
    items: list[ItemChange]  # every item of the scope, the changed ones first (largest liability change first)

    @property
    def changed(self) -> list[ItemChange]:
        return [c for c in self.items if c.changed]

    def total(self, name: str) -> Decimal:
        return sum((getattr(c, name) for c in self.items), ZERO)

    @property
    def currency(self) -> str:
        return self.items[0].currency if self.items else "KRW"


def _figures(row: Any) -> Figures:
    return Figures(open_po=row.open_po, firm_uncovered=row.firm_uncovered, guaranteed=row.guaranteed,
                   supply=row.supply, excess=row.excess, material_cover=row.material_cover,
                   exposure=row.exposure_amount,
                   liability=liability_of(guaranteed=row.guaranteed, raw_authorized=row.raw_authorized,
                                          cum_shipped=row.cum_shipped, unit_price=row.unit_price,
                                          material_share=row.material_share))


def _rows(scope: _Scope, demand: Demand, params: dict[str, Any]) -> dict[int, Any]:
    connection = db.session.connection()
    return {row.item_id: row for row in connection.execute(_statement(scope.shape, demand.name), params)}


def figures(relationship_id: int, item_ids: Iterable[int], demand: Demand = PUBLISHED, draft_id: int | None = None,
            now: datetime | None = None) -> dict[int, Figures]:
    """These items' ledger terms and liability over one demand (the published rows by default): one SELECT."""
    ids = tuple(sorted({int(i) for i in item_ids}))
    if not ids:
        return {}
    scope = _Scope(int(relationship_id), ids)
    params = {**scope.params, **_Clock.at(now).params, "draft_id": draft_id}
    return {item_id: _figures(row) for item_id, row in _rows(scope, demand, params).items()}


def compute(relationship_id: int, demand: Demand, draft_id: int | None = None,
            item_ids: Iterable[int] | None = None, now: datetime | None = None) -> WhatIf:
    """The ledger of a relationship's items (these items, or all of them) over the published rows and over
    `demand` with `draft_id`: two SELECTs, no write."""
    ids = tuple(sorted({int(i) for i in item_ids})) if item_ids is not None else None
    scope = _Scope(int(relationship_id), ids)
    params = {**scope.params, **_Clock.at(now).params, "draft_id": draft_id}
    if ids == ():
        return WhatIf(int(relationship_id), [])
    before = _rows(scope, PUBLISHED, params)
    after = _rows(scope, demand, params)
    parts = dict(db.session.execute(select(Item.id, Item.prime_part_number).where(Item.id.in_(list(before)))).all())
    items = [ItemChange(item_id, parts.get(item_id, str(item_id)), row.currency, _figures(row),
                        _figures(after[item_id])) for item_id, row in before.items()]
    items.sort(key=lambda c: (not c.changed, -abs(c.liability_change), -abs(c.exposure_change), c.part_number))
    return WhatIf(int(relationship_id), items)
