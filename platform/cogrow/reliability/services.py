"""The prime's forecast reliability: WAPE and bias by lag, and firm cuts, per relationship × item and rolled up.

For other domains (the scorecards and the home pages read these; none of them needs more):
- `at_fences(relationship_ids, first_week, last_week) -> {relationship_id: FenceFigures}`: WAPE and bias at the
  lag of the relationship's firm fence and at that of its material fence (lags clamped to 1..12), over the target
  weeks first_week..last_week (Mondays). Figures are Decimal or None (no demand in the window).
- `firm_cut_totals(relationship_ids, first_week, last_week) -> {relationship_id: CutTotals}`: firm cuts whose
  version was published from the Monday of first_week to the end of last_week, in units and in the relationship's
  currency.
  Neither checks tenancy: the caller passes only relationships its actor may see.
- The panel: `relationship_panel(actor, relationship_id)` and `actor_panel(actor)` build a `ReliabilityPanel`;
  render it with `{% include "reliability/_panel.html" %}` where the template context holds it as
  `reliability_panel`.

Definitions (shared/design/domain.md, "Measures of the partnership"):
- Target week w is an ISO week (its Monday, as forecast_bucket.week_start); lag L is 1..12.
- F_L(w) is the bucket quantity for w in the latest version published before the start of week w − L, that is
  before Monday 00:00 of that week in the business time zone (core.weeks). A version that has no bucket for the
  item and week forecasts 0 there. When no version was published before that instant, the week has no F_L: it is
  left out of the lag's sums (not counted as a forecast of 0).
- A(w) is the ordered quantity of the PO lines due in w whose PO counts as demand: issued, acknowledged, change
  proposed, partly shipped or closed (the ledger's states: a draft was never sent, a rejected or cancelled PO is
  not demand). Shipped or not, the ordered quantity counts.
- Over the target weeks of a window: WAPE_L = Σ|F_L − A| / ΣA and bias_L = Σ(F_L − A) / ΣA, summed over items and
  weeks. A week with A = 0 still counts: its whole forecast is error (it raises WAPE and bias). When ΣA = 0 over
  the window the ratios are undefined: None here, null in the API, "—" on the pages, never a division.
- The default window is the 13 weeks that ended before the current week.
- Suggested build share: at the lags at or beyond the material fence (the planning zone's reach), ΣA / ΣF_L, the
  same as 1 / (1 + bias), clamped to [0, 1]. It says how much of a planning-zone forecast was, in the end,
  ordered.

Storage: the weeks that have ended never change (versions are immutable, and A(w) is taken once the week is over),
so each finished week's F and A are stored per (relationship, item, week, lag) in `reliability_week` once, by
INSERT … SELECT … ON CONFLICT DO NOTHING, and `reliability_progress` says from which week a relationship still
needs computing. An (item, week, lag) whose F and A are both 0 is not stored: it adds nothing to either sum.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import (Date, SmallInteger, and_, delete, func, literal, literal_column, or_, select, true, union_all,
                        update, values)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import column

from cogrow.accounts.models import Organisation
from cogrow.catalog.models import Item
from cogrow.core.auth import Actor
from cogrow.core.types import UTCDateTime, utcnow
from cogrow.core.weeks import business_zone, current_week, local_today, week_start
from cogrow.coverage.models import PeriodicRun
from cogrow.coverage.services import COVER_STATES
from cogrow.extensions import db
from cogrow.forecasts.models import ForecastBucket, ForecastCut, ForecastPublication
from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship
from cogrow.reliability.models import MAX_LAG, ReliabilityProgress, ReliabilityWeek

logger = logging.getLogger("cogrow.reliability")

LAGS = tuple(range(1, MAX_LAG + 1))
DEFAULT_WINDOW_WEEKS = 13
MAX_WINDOW_WEEKS = 104
# Target weeks per INSERT … SELECT when a relationship's history is computed for the first time: keeps the bound
# parameters of the (week, lag, cutoff) list well under every driver's limit.
SPAN_WEEKS = 26
RATIO_PLACES = Decimal("0.0001")
ZERO = Decimal("0")

_week = ReliabilityWeek.__table__
_progress = ReliabilityProgress.__table__
_pub = ForecastPublication.__table__
_bucket = ForecastBucket.__table__
_pol = PurchaseOrderLine.__table__
_po = PurchaseOrder.__table__
_cut = ForecastCut.__table__
_rel = SupplyRelationship.__table__


# ---------------------------------------------------------------- weeks

def starts_at(day: date) -> datetime:
    """The instant `day` starts (00:00 in the business time zone), in UTC: for a Monday, the start of its week."""
    return datetime.combine(day, time(0), tzinfo=business_zone()).astimezone(timezone.utc)


def default_window(weeks: int = DEFAULT_WINDOW_WEEKS, now: datetime | None = None) -> tuple[date, date]:
    """(first, last) target week of the `weeks` weeks that ended before the current week."""
    last = current_week(now) - timedelta(weeks=1)
    return last - timedelta(weeks=weeks - 1), last


def clamp_lag(weeks: int) -> int:
    return min(max(int(weeks), 1), MAX_LAG)


# ---------------------------------------------------------------- computing the finished weeks

def _upsert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    return upsert


def _span_statement(dialect: str, weeks: Sequence[date], relationship_ids: Sequence[int] | None, now: datetime):
    """INSERT the F and A of target `weeks` for the relationships in scope whose progress has not passed them."""
    p = _progress.c
    targets = values(column("week_start", Date), column("lag", SmallInteger), column("cut_at", UTCDateTime),
                     name="targets").data(
        [(w, lag, starts_at(w - timedelta(weeks=lag))) for w in weeks for lag in LAGS]).cte("targets")
    target_weeks = values(column("week_start", Date), column("week_end", Date), name="target_weeks").data(
        [(w, w + timedelta(weeks=1)) for w in weeks]).cte("target_weeks")
    t, tw = targets.c, target_weeks.c

    def in_scope(rel_column):
        return rel_column.in_(relationship_ids) if relationship_ids is not None else true()

    # The latest version published before each target week's cutoff, per relationship, week and lag.
    latest = (select(_pub.c.relationship_id, t.week_start, t.lag, func.max(_pub.c.version_no).label("version_no"))
              .select_from(_pub.join(targets, _pub.c.published_at < t.cut_at)
                           .join(_progress, and_(p.relationship_id == _pub.c.relationship_id,
                                                 p.next_week <= t.week_start)))
              .where(in_scope(_pub.c.relationship_id))
              .group_by(_pub.c.relationship_id, t.week_start, t.lag).cte("latest"))
    chosen = (select(latest.c.relationship_id, latest.c.week_start, latest.c.lag, _pub.c.id.label("publication_id"))
              .join(_pub, and_(_pub.c.relationship_id == latest.c.relationship_id,
                               _pub.c.version_no == latest.c.version_no)).cte("chosen"))
    c = chosen.c
    demand = (select(_pol.c.relationship_id, _pol.c.item_id, tw.week_start, func.sum(_pol.c.quantity).label("qty"))
              .select_from(_pol.join(_po, _po.c.id == _pol.c.purchase_order_id)
                           .join(target_weeks, and_(_pol.c.due_date >= tw.week_start, _pol.c.due_date < tw.week_end)))
              .where(_po.c.status.in_(COVER_STATES), in_scope(_pol.c.relationship_id))
              .group_by(_pol.c.relationship_id, _pol.c.item_id, tw.week_start).cte("demand"))
    d = demand.c
    zero = literal_column("0")
    forecast_rows = (select(c.relationship_id, _bucket.c.item_id, c.week_start, c.lag,
                            _bucket.c.quantity.label("f"), zero.label("a"))
                     .join(_bucket, and_(_bucket.c.publication_id == c.publication_id,
                                         _bucket.c.week_start == c.week_start)))
    # Demand counts at every lag that has a version, whether or not that version had a bucket (then F = 0).
    demand_rows = (select(d.relationship_id, d.item_id, d.week_start, c.lag, zero.label("f"), d.qty.label("a"))
                   .join(chosen, and_(c.relationship_id == d.relationship_id, c.week_start == d.week_start)))
    both = union_all(forecast_rows, demand_rows).subquery("both")
    b = both.c
    f_sum, a_sum = func.sum(b.f), func.sum(b.a)
    rows = (select(b.relationship_id, b.item_id, b.week_start, b.lag, f_sum.label("forecast_qty"),
                   a_sum.label("actual_qty"))
            .group_by(b.relationship_id, b.item_id, b.week_start, b.lag)
            .having(or_(f_sum > 0, a_sum > 0)).subquery("rows"))
    r = rows.c
    # The WHERE settles SQLite's parse of INSERT … SELECT … ON CONFLICT.
    source = select(r.relationship_id, r.item_id, r.week_start, r.lag, r.forecast_qty, r.actual_qty,
                    literal(now, UTCDateTime).label("computed_at")).where(true())
    statement = _upsert(dialect)(_week).from_select(
        ["relationship_id", "item_id", "week_start", "lag", "forecast_qty", "actual_qty", "computed_at"], source)
    return statement.on_conflict_do_nothing(
        index_elements=["relationship_id", "item_id", "week_start", "lag"])


def _start_progress(relationship_ids: Sequence[int] | None, now: datetime) -> None:
    """A progress row for each relationship in scope that has versions and none yet: it starts at the week after
    its first version's week (no earlier week can have a forecast at lag 1)."""
    query = (select(_pub.c.relationship_id, func.min(_pub.c.published_at))
             .where(~_pub.c.relationship_id.in_(select(_progress.c.relationship_id)))
             .group_by(_pub.c.relationship_id))
    if relationship_ids is not None:
        query = query.where(_pub.c.relationship_id.in_(relationship_ids))
    rows = [{"relationship_id": rel_id, "next_week": week_start(local_today(first)) + timedelta(weeks=1),
             "updated_at": now} for rel_id, first in db.session.execute(query)]
    if rows:
        dialect = db.session.get_bind().dialect.name
        db.session.execute(_upsert(dialect)(_progress).values(rows).on_conflict_do_nothing(
            index_elements=["relationship_id"]))


def refresh(relationship_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Store F and A of every finished target week not stored yet, for these relationships (all when None); commits.

    Idempotent: a week already stored is skipped by its key, and two runs at once insert each row once. Returns how
    many target weeks were computed (summed over relationships).
    """
    now = now or utcnow()
    ids = sorted({int(i) for i in relationship_ids}) if relationship_ids is not None else None
    if ids == []:
        return 0
    stop = current_week(now)  # the current week has not ended: it is never stored
    _start_progress(ids, now)
    pending = select(_progress.c.relationship_id, _progress.c.next_week).where(_progress.c.next_week < stop)
    if ids is not None:
        pending = pending.where(_progress.c.relationship_id.in_(ids))
    todo = db.session.execute(pending).all()
    if not todo:
        db.session.commit()
        return 0
    dialect = db.session.get_bind().dialect.name
    first = min(next_week for _rel_id, next_week in todo)
    todo_ids = sorted(rel_id for rel_id, _next_week in todo)
    scope = todo_ids if ids is not None or len(todo_ids) <= 1000 else None
    span_start = first
    while span_start < stop:
        weeks = [span_start + timedelta(weeks=i) for i in range(SPAN_WEEKS)
                 if span_start + timedelta(weeks=i) < stop]
        db.session.execute(_span_statement(dialect, weeks, scope, now))
        span_start = weeks[-1] + timedelta(weeks=1)
    db.session.execute(update(_progress).where(_progress.c.relationship_id.in_(todo_ids),
                                               _progress.c.next_week < stop)
                       .values(next_week=stop, updated_at=now))
    db.session.commit()
    computed = sum((stop - next_week).days // 7 for _rel_id, next_week in todo)
    logger.info("reliability: %s target weeks of %s relationships stored up to %s", computed, len(todo), stop)
    return computed


def stored_through(relationship_id: int) -> date | None:
    """The last target week stored for the relationship (None before its first computation)."""
    next_week = db.session.scalar(select(_progress.c.next_week).where(_progress.c.relationship_id == relationship_id))
    return next_week - timedelta(weeks=1) if next_week is not None else None


# ---------------------------------------------------------------- reading the figures

def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator / denominator to four places; None when the denominator is 0 (no demand: undefined)."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class LagFigures:
    """The sums of one lag over a window; `observations` counts the (item, week) pairs stored for it."""

    lag: int
    observations: int = 0
    weeks: int = 0
    forecast: Decimal = ZERO
    actual: Decimal = ZERO
    abs_error: Decimal = ZERO

    @property
    def error(self) -> Decimal:
        return self.forecast - self.actual

    @property
    def wape(self) -> Decimal | None:
        return ratio(self.abs_error, self.actual)

    @property
    def bias(self) -> Decimal | None:
        return ratio(self.error, self.actual)

    def __add__(self, other: LagFigures) -> LagFigures:
        return LagFigures(self.lag, self.observations + other.observations, max(self.weeks, other.weeks),
                          self.forecast + other.forecast, self.actual + other.actual, self.abs_error + other.abs_error)


def _lag_sums(group: Sequence[Any], where: Sequence[Any], first_week: date, last_week: date):
    w = _week.c
    query = (select(*group, w.lag, func.count(), func.count(func.distinct(w.week_start)), func.sum(w.forecast_qty),
                    func.sum(w.actual_qty), func.sum(func.abs(w.forecast_qty - w.actual_qty)))
             .where(w.week_start >= first_week, w.week_start <= last_week, *where)
             .group_by(*group, w.lag))
    for row in db.session.execute(query):
        *keys, lag, count, weeks, forecast, actual, abs_error = row
        yield tuple(keys), LagFigures(lag, count, weeks, Decimal(forecast or 0), Decimal(actual or 0),
                                      Decimal(abs_error or 0))


def by_lag(relationship_ids: Sequence[int], first_week: date, last_week: date, per: str = "relationship"
           ) -> dict[Any, dict[int, LagFigures]]:
    """{key: {lag: figures}}: key is the relationship id (per="relationship"), (relationship id, item id)
    (per="item"), or None for all of them together (per="all"). One GROUP BY query."""
    if not relationship_ids:
        return {}
    w = _week.c
    group = {"relationship": (w.relationship_id,), "item": (w.relationship_id, w.item_id), "all": ()}[per]
    out: dict[Any, dict[int, LagFigures]] = {}
    for keys, figures in _lag_sums(group, (w.relationship_id.in_(list(relationship_ids)),), first_week, last_week):
        key = None if per == "all" else keys[0] if per == "relationship" else keys
        out.setdefault(key, {})[figures.lag] = figures
    return out


def pooled(figures: dict[int, LagFigures], lags: Iterable[int]) -> LagFigures:
    """The sums of several lags as one (lag 0); an observation of each lag counts once per lag."""
    total = LagFigures(0)
    for lag in lags:
        if lag in figures:
            total = total + figures[lag]
    return total


@dataclass(frozen=True)
class BuildShare:
    """ΣA / ΣF at the lags from the material fence to 12, clamped to [0, 1]; None when nothing was forecast there."""

    share: Decimal | None
    from_lag: int
    observations: int
    weeks: int
    forecast: Decimal
    actual: Decimal


def build_share(figures: dict[int, LagFigures], material_fence_weeks: int) -> BuildShare:
    start = clamp_lag(material_fence_weeks)
    total = pooled(figures, range(start, MAX_LAG + 1))
    share = None
    if total.forecast > 0:
        # 1 / (1 + bias) = ΣA / ΣF: defined even when ΣA = 0 (then build nothing of it).
        share = min(Decimal(1), max(ZERO, ratio(total.actual, total.forecast) or ZERO))
    return BuildShare(share, start, total.observations, total.weeks, total.forecast, total.actual)


@dataclass(frozen=True)
class FenceFigures:
    """WAPE and bias at the firm fence's lag and at the material fence's lag (None: no demand in the window)."""

    wape_firm: Decimal | None
    bias_firm: Decimal | None
    wape_material: Decimal | None
    bias_material: Decimal | None


def _fence_figures(figures: dict[int, LagFigures], rel_fences: tuple[int, int]) -> FenceFigures:
    firm = figures.get(clamp_lag(rel_fences[0]), LagFigures(0))
    material = figures.get(clamp_lag(rel_fences[1]), LagFigures(0))
    return FenceFigures(firm.wape, firm.bias, material.wape, material.bias)


def _fences_of(relationship_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    rows = db.session.execute(select(_rel.c.id, _rel.c.firm_fence_weeks, _rel.c.material_fence_weeks)
                              .where(_rel.c.id.in_(list(relationship_ids))))
    return {rel_id: (firm, material) for rel_id, firm, material in rows}


def at_fences(relationship_ids: list[int], first_week: date, last_week: date) -> dict[int, FenceFigures]:
    """WAPE and bias at lag = firm fence weeks and at lag = material fence weeks (clamped to 1..12) of each
    relationship, over the target weeks first_week..last_week; every id asked for is in the answer. Two queries."""
    ids = sorted({int(i) for i in relationship_ids})
    if not ids:
        return {}
    fences = _fences_of(ids)
    figures = by_lag(ids, first_week, last_week)
    return {rel_id: _fence_figures(figures.get(rel_id, {}), fences.get(rel_id, (1, 1))) for rel_id in ids}


@dataclass(frozen=True)
class CutTotals:
    units: Decimal
    amount: Decimal
    currency: str
    cells: int = 0  # how many (item, week) cells were cut


def _cut_sums(group: Sequence[Any], relationship_ids: Sequence[int], first_week: date, last_week: date):
    """Firm cuts of versions published from the Monday of first_week to the end of last_week."""
    cut = _cut.c
    query = (select(*group, func.sum(cut.previous_qty - cut.new_qty), func.sum(cut.amount), func.count())
             .join(_pub, _pub.c.id == cut.publication_id)
             .where(cut.relationship_id.in_(list(relationship_ids)),
                    _pub.c.published_at >= starts_at(first_week),
                    _pub.c.published_at < starts_at(last_week + timedelta(weeks=1)))
             .group_by(*group))
    return db.session.execute(query).all()


def firm_cut_totals(relationship_ids: list[int], first_week: date, last_week: date) -> dict[int, CutTotals]:
    """Firm cuts (units lowered inside the firm fence, and their amount at the unit price) per relationship, of the
    versions published in weeks first_week..last_week; every id asked for is in the answer. Two queries."""
    ids = sorted({int(i) for i in relationship_ids})
    if not ids:
        return {}
    currencies = dict(db.session.execute(select(_rel.c.id, _rel.c.currency).where(_rel.c.id.in_(ids))).all())
    sums = {rel_id: (units, amount, count)
            for rel_id, units, amount, count in _cut_sums((_cut.c.relationship_id,), ids, first_week, last_week)}
    out = {}
    for rel_id in ids:
        units, amount, count = sums.get(rel_id, (ZERO, ZERO, 0))
        out[rel_id] = CutTotals(Decimal(units or 0), Decimal(amount or 0), currencies.get(rel_id, "KRW"), count)
    return out


def item_cut_totals(relationship_id: int, first_week: date, last_week: date) -> dict[int, tuple[Decimal, Decimal]]:
    """item id -> (units, amount) of the firm cuts of versions published in the window."""
    return {item_id: (Decimal(units or 0), Decimal(amount or 0)) for item_id, units, amount, _count
            in _cut_sums((_cut.c.item_id,), [relationship_id], first_week, last_week)}


# ---------------------------------------------------------------- pages and API

@dataclass
class ItemRow:
    item_id: int
    part_number: str
    description: str
    lags: dict[int, LagFigures]
    firm: LagFigures
    material: LagFigures
    cut_units: Decimal = ZERO
    cut_amount: Decimal = ZERO


@dataclass
class RelationshipReliability:
    """Everything the relationship's reliability page and API show, for one window."""

    rel: SupplyRelationship
    first_week: date
    last_week: date
    side: str  # "prime" or "supplier": the prime's side also sees its roll-up over all its suppliers
    lags: list[LagFigures]  # 1..12, zero figures where nothing was stored
    firm_lag: int
    material_lag: int
    share: BuildShare
    cuts: CutTotals
    items: list[ItemRow]
    prime_lags: list[LagFigures] | None  # the prime's own roll-up, only for the prime's side
    stored_through: date | None

    @property
    def fences(self) -> FenceFigures:
        by = {f.lag: f for f in self.lags}
        return _fence_figures(by, (self.firm_lag, self.material_lag))


def _full(figures: dict[int, LagFigures]) -> list[LagFigures]:
    return [figures.get(lag, LagFigures(lag)) for lag in LAGS]


def relationship_reliability(actor: Actor, relationship_id: int, first_week: date, last_week: date
                             ) -> RelationshipReliability:
    """The relationship's figures by lag, per item, its firm cuts and build share (404 outside the actor's
    relationships); for the prime's side, also the prime's roll-up over all its relationships. Six queries."""
    rel = relationships.get_relationship(actor, relationship_id)
    side = rel.side_of(actor.organisation_id) or "supplier"
    rel_figures = by_lag([rel.id], first_week, last_week).get(rel.id, {})
    per_item = by_lag([rel.id], first_week, last_week, per="item")
    firm_lag, material_lag = clamp_lag(rel.firm_fence_weeks), clamp_lag(rel.material_fence_weeks)
    cuts = firm_cut_totals([rel.id], first_week, last_week)[rel.id]
    item_cuts = item_cut_totals(rel.id, first_week, last_week)
    item_ids = {item_id for _rel_id, item_id in per_item} | set(item_cuts)
    items = []
    if item_ids:
        for item_id, part, description in db.session.execute(
                select(Item.id, Item.prime_part_number, Item.description)
                .where(Item.relationship_id == rel.id, Item.id.in_(item_ids)).order_by(Item.prime_part_number)):
            lags = per_item.get((rel.id, item_id), {})
            units, amount = item_cuts.get(item_id, (ZERO, ZERO))
            items.append(ItemRow(item_id, part, description, lags, lags.get(firm_lag, LagFigures(firm_lag)),
                                 lags.get(material_lag, LagFigures(material_lag)), units, amount))
    prime_lags = None
    if side == "prime":
        prime_ids = list(db.session.scalars(select(_rel.c.id).where(_rel.c.prime_id == rel.prime_id)))
        prime_lags = _full(by_lag(prime_ids, first_week, last_week, per="all").get(None, {}))
    return RelationshipReliability(rel, first_week, last_week, side, _full(rel_figures), firm_lag, material_lag,
                                   build_share(rel_figures, rel.material_fence_weeks), cuts, items, prime_lags,
                                   stored_through(rel.id))


@dataclass(frozen=True)
class PanelRow:
    relationship_id: int
    counterpart: str
    firm_lag: int
    material_lag: int
    fences: FenceFigures
    share: BuildShare
    cuts: CutTotals


@dataclass
class ReliabilityPanel:
    """The rows of reliability/_panel.html: one per relationship, named by the other side."""

    first_week: date
    last_week: date
    rows: list[PanelRow]
    side: str


def _panel(actor: Actor, rels: Sequence[SupplyRelationship], first_week: date, last_week: date) -> ReliabilityPanel:
    ids = [r.id for r in rels]
    figures = by_lag(ids, first_week, last_week) if ids else {}
    cuts = firm_cut_totals(ids, first_week, last_week)
    names = dict(db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({r.prime_id for r in rels} | {r.supplier_id for r in rels}))).all()) if rels else {}
    rows = []
    for rel in rels:
        mine = figures.get(rel.id, {})
        other = rel.supplier_id if rel.prime_id == actor.organisation_id else rel.prime_id
        rows.append(PanelRow(rel.id, names.get(other, ""), clamp_lag(rel.firm_fence_weeks),
                             clamp_lag(rel.material_fence_weeks),
                             _fence_figures(mine, (rel.firm_fence_weeks, rel.material_fence_weeks)),
                             build_share(mine, rel.material_fence_weeks), cuts[rel.id]))
    side = "prime" if actor.is_prime else "supplier"
    return ReliabilityPanel(first_week, last_week, rows, side)


def relationship_panel(actor: Actor, relationship_id: int, weeks: int = DEFAULT_WINDOW_WEEKS) -> ReliabilityPanel:
    """The panel of one relationship (404 outside the actor's relationships), over the last `weeks` ended weeks."""
    rel = relationships.get_relationship(actor, relationship_id)
    first, last = default_window(weeks)
    return _panel(actor, [rel], first, last)


def actor_panel(actor: Actor, weeks: int = DEFAULT_WINDOW_WEEKS, limit: int = 500) -> ReliabilityPanel:
    """The panel of every relationship the actor sees (at most `limit`), over the last `weeks` ended weeks."""
    first, last = default_window(weeks)
    return _panel(actor, relationships.list_relationships(actor, limit=limit), first, last)


# ---------------------------------------------------------------- the nightly run

NIGHTLY_JOB = "reliability.nightly"


def locked_nightly(now: datetime | None = None) -> int | None:
    """`refresh` of every relationship, once per business day whatever the number of beats: the (job, day) row is
    the lock. None when that day's run was already taken."""
    now = now or utcnow()
    day = starts_at(local_today(now))
    db.session.add(PeriodicRun(job=NIGHTLY_JOB, period_start=day, started_at=utcnow()))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        logger.info("reliability run of %s already taken", day.isoformat())
        return None
    runs = PeriodicRun.__table__
    try:
        count = refresh(None, now)
    except Exception:
        db.session.rollback()  # free the day so that the task's retry can take it
        db.session.execute(delete(runs).where(runs.c.job == NIGHTLY_JOB, runs.c.period_start == day))
        db.session.commit()
        raise
    db.session.execute(update(runs).where(runs.c.job == NIGHTLY_JOB, runs.c.period_start == day)
                       .values(finished_at=utcnow(), items=count))
    db.session.commit()
    return count
