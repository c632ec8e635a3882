"""The coverage ledger: set-based reconciliation of binding demand against supply, and the outbox relay.

Definitions (per relationship × item, as of `now`; the current week `cw` is the ISO week of `now` in
Asia/Seoul, `today` its local date). Every term is computed by SQL over the input tables:

- **open PO lines**: lines of POs in a binding state (orders.models.BINDING_STATES), open quantity
  `max(0, quantity − shipped_qty)`. Receipts (`received_qty`) do not change what is open.
- **po_due[w]**: open quantity per week of the due date; a line already past due counts in `cw`.
- **po_cover[w]**: what covers the firm bucket of w: the ORDERED quantity (shipped part included) of the
  lines of binding or closed POs due in w, plus in `cw` the open quantity of past-due lines.
- **forecast buckets**: those of the relationship's latest publication (highest `version_no`) with
  `week_start >= cw`. A bucket's zone is the one fixed at publication, unless the relationship's
  fences today make it more binding (a week that the firm fence has since reached counts as firm,
  one the material fence has reached counts at least as material).
- **open_po** = Σ_w po_due[w]; **firm_forecast** = Σ firm buckets; **material_forecast** = Σ material buckets.
- **firm_uncovered** = Σ_w max(0, firm[w] − po_cover[w]) (a PO and a firm bucket of one week are one demand:
  what already shipped met it, so a firm 500 against a PO 500 with 200 shipped leaves 0 uncovered, 300 open).
- **authorizations**: the latest period is the latest `cum_start_date <= today` over the item's FAB and RAW
  rows; fab_authorized / raw_authorized are the highest quantity granted of that kind in that period
  (0 when none). **cum_shipped** = Σ quantity_shipped of non-cancelled shipments with
  `ship_date >= ` that period's start (0 without a period).
- **guaranteed** = max(open_po + firm_uncovered, fab_authorized − cum_shipped, 0).
- **supply** = fg_on_hand + wip of the item's position (its latest report) + produced_since_report,
  the machine production read after the position's `as_of`.
- **excess** = max(0, supply − guaranteed).
- **material_cover** = min(excess, max(material_forecast, raw_authorized − cum_shipped − guaranteed, 0)).
- **exposure_amount** = (excess − material_cover) × unit_price + material_cover × (1 − material_share) × unit_price,
  in the item's price currency (`currency`, its relationship's); never converted here. Totals across
  relationships convert with the prime's monthly rates (cogrow.money.services.convert_totals).
- **weeks**: a `coverage_week` row for every week w >= cw in which something is due or planned (weeks
  between change nothing). guaranteed_due[w] = po_due[w] + max(0, firm[w] − po_cover[w]);
  planned[w] = the planned output of the position's report for w.
  **projected[w]** = supply + Σ planned[..w] − Σ guaranteed_due[..w];
  **shortage[w]** = max(0, Σ guaranteed_due[..w] − supply − Σ planned[<w]).
- **projected_excess_qty** = max(0, supply + P − guaranteed) − excess, where P is the planned output of the
  weeks inside the relationship's firm fence: the excess that planned output adds within the fence.
  **projected_excess_week** = the first fence week at which cumulative planned output exceeds
  max(0, guaranteed − supply) (None when the quantity is 0).
- **shortage_qty** = the largest shortage[w] over the weeks due within the item's lead time
  (week_start <= today + lead_time_days); **shortage_week** = the first such week with a shortage.

The demand inputs (forecast buckets and PO lines) come in as a `Demand`: reconcile and the sweep read the published
rows (`PUBLISHED`); the what-if (coverage.whatif) passes a draft's rows in their place to the same statements, as a
SELECT that writes nothing (`ledger_select`).
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (Date, Integer, and_, bindparam, case, delete, func, insert, literal_column, not_, or_, select,
                        type_coerce, union_all, update)
from sqlalchemy.exc import IntegrityError

from cogrow.alerts import services as alerts
from cogrow.catalog.models import Item
from cogrow.core import audit, formatting, outbox
from cogrow.core.auth import Actor
from cogrow.core.errors import NotFound
from cogrow.core.fields import grouped_text
from cogrow.core.models import OutboxEvent
from cogrow.core.types import Quantity, UTCDateTime
from cogrow.core.weeks import current_week, local_today
from cogrow.coverage.models import CoverageLedger, CoverageWeek, ExposureSnapshot, ExposureWeek, PeriodicRun
from cogrow.coverage.sql import days_from, greatest, least, week_of
from cogrow.extensions import db
from cogrow.forecasts.models import Authorization, ForecastBucket, ForecastPublication
from cogrow.orders.models import BINDING_STATES, PurchaseOrder, PurchaseOrderLine
from cogrow.production.models import ItemPosition, MachineReading, PlannedOutput
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship
from cogrow.shipments.models import Shipment, ShipmentLine

logger = logging.getLogger("cogrow.coverage")

SWEEP_JOB = "coverage.sweep"
RELAY_BATCH = 500
# work_mem of the full sweep's transaction on PostgreSQL: the week aggregation of ref-M needs about 50 MB in memory.
SWEEP_WORK_MEM = "128MB"
RELAY_TOPICS = (outbox.RECONCILE, "notify", "import", "import.apply")
# A PO line of these states covers the firm bucket of its week: binding, or closed after shipping.
COVER_STATES = (*BINDING_STATES, "closed")
TASK_FOR_TOPIC = {outbox.RECONCILE: "cogrow.coverage.reconcile", "notify": "cogrow.alerts.dispatch",
                  "import": "cogrow.imports.parse",  # "import": an uploaded file for the worker to read (imports)
                  "import.apply": "cogrow.imports.apply"}  # a confirmed file for the worker to apply (imports)
RELAY_TOPICS, TASK_FOR_TOPIC["edi.send"] = (*RELAY_TOPICS, "edi.send"), "cogrow.edi.send"  # EDI auto-send (edi.auto)

_item = Item.__table__
_rel = SupplyRelationship.__table__
_pol = PurchaseOrderLine.__table__
_po = PurchaseOrder.__table__
_pub = ForecastPublication.__table__
_bucket = ForecastBucket.__table__
_auth = Authorization.__table__
_ship = Shipment.__table__
_shipline = ShipmentLine.__table__
_pos = ItemPosition.__table__
_plan = PlannedOutput.__table__
_machine = MachineReading.__table__
_ledger = CoverageLedger.__table__
_week = CoverageWeek.__table__
_snapshot = ExposureSnapshot.__table__
_exposure_week = ExposureWeek.__table__

ZERO = literal_column("0", Quantity)
# The parameters of every ledger statement (see _statements).
REL_ID = bindparam("rel_id", type_=Integer())
ITEM_IDS = bindparam("item_ids", expanding=True, type_=Integer())
CW = bindparam("cw", type_=Date())
TODAY = bindparam("today", type_=Date())
NOW = bindparam("now", type_=UTCDateTime())
TODAY_OFFSET = bindparam("today_offset", type_=Integer())


def _q(expr):
    """Round to the columns' scale: exact on PostgreSQL, and it removes float noise on SQLite."""
    return func.round(expr, 4)


@dataclass(frozen=True)
class _Scope:
    """Which items a computation covers: one relationship (some or all of its items), or every active one."""

    relationship_id: int | None
    item_ids: tuple[int, ...] | None

    @property
    def shape(self) -> str:
        if self.relationship_id is None:
            return "all"
        return "relationship" if self.item_ids is None else "items"

    @property
    def params(self) -> dict[str, Any]:
        return {"rel_id": self.relationship_id, "item_ids": list(self.item_ids or ())}

    def narrow(self, query, table, item_column: str | None = "item_id"):
        """Filter an input table by relationship and items, so that indexes keep the cost per item."""
        if self.relationship_id is not None:
            query = query.where(table.c.relationship_id == REL_ID)
        if self.item_ids is not None and item_column is not None:
            query = query.where(table.c[item_column].in_(ITEM_IDS))
        return query


@dataclass(frozen=True)
class _Clock:
    now: datetime
    today: date
    week: date

    @property
    def params(self) -> dict[str, Any]:
        return {"cw": self.week, "today": self.today, "now": self.now, "today_offset": (self.today - self.week).days}

    @classmethod
    def at(cls, now: datetime | None) -> _Clock:
        now = now or datetime.now(timezone.utc)
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return cls(now=now, today=local_today(now), week=current_week(now))


def _scope_items(scope: _Scope):
    """The items to compute, with the terms their formulas need."""
    query = (select(_item.c.id.label("item_id"), _item.c.relationship_id, _item.c.unit_price, _item.c.lead_time_days,
                    _item.c.currency, _rel.c.firm_fence_weeks, _rel.c.material_fence_weeks, _rel.c.material_share)
             .join(_rel, _rel.c.id == _item.c.relationship_id))
    if scope.relationship_id is None:
        query = query.where(_rel.c.status == "active")
    return scope.narrow(query, _item, "id").subquery("scope")


@dataclass(frozen=True)
class Demand:
    """Where the ledger reads its demand inputs: the published rows, or a draft in their place (coverage.whatif).

    Each function takes the scope and returns a subquery already narrowed by it (so that indexes keep the cost
    per item), with fixed columns:
    - `buckets`: relationship_id, item_id, week_start, quantity, zone: the forecast buckets that count, from the
      current week (CW) on, quantity > 0;
    - `po_lines`: item_id, due_date, quantity, shipped_qty, status (the PO's): lines of POs in COVER_STATES.
    """

    name: str
    buckets: Callable[[_Scope], Any]
    po_lines: Callable[[_Scope], Any]


def published_buckets(scope: _Scope):
    """The buckets of each relationship's latest publication (highest version_no), from the current week on."""
    latest = scope.narrow(select(_pub.c.relationship_id, func.max(_pub.c.version_no).label("version_no"))
                          .group_by(_pub.c.relationship_id), _pub, None).subquery("latest")
    latest_ids = select(_pub.c.id).join(latest, and_(_pub.c.relationship_id == latest.c.relationship_id,
                                                     _pub.c.version_no == latest.c.version_no))
    return scope.narrow(
        select(_bucket.c.relationship_id, _bucket.c.item_id, _bucket.c.week_start, _bucket.c.quantity,
               _bucket.c.zone)
        .where(_bucket.c.publication_id.in_(latest_ids), _bucket.c.week_start >= CW, _bucket.c.quantity > 0),
        _bucket).subquery("buckets")


def po_lines_of(scope: _Scope, *where):
    """PO lines of POs in COVER_STATES with their PO's status, narrowed by the scope (and `where`)."""
    return scope.narrow(
        select(_pol.c.item_id, _pol.c.due_date, _pol.c.quantity, _pol.c.shipped_qty, _po.c.status)
        .join(_po, _po.c.id == _pol.c.purchase_order_id)
        .where(_po.c.status.in_(COVER_STATES), *where), _pol).subquery("po_lines")


PUBLISHED = Demand("published", published_buckets, po_lines_of)


def _events(scope: _Scope, demand: Demand):
    """Demand and planned output per (item, week) as one UNION ALL: PO lines, zoned buckets, planned output."""
    cw = CW
    pol = demand.po_lines(scope)
    binding = pol.c.status.in_(BINDING_STATES)
    is_open = and_(binding, pol.c.quantity > pol.c.shipped_qty)
    open_qty = case((is_open, pol.c.quantity - pol.c.shipped_qty), else_=ZERO)
    # What covers the firm bucket of the line's week is its ordered quantity: the shipped part met that week's
    # demand. A past-due line covers the current week with what it still owes, since its shipped part met a
    # week that is gone.
    due_now_or_later = pol.c.due_date >= cw
    cover = case((due_now_or_later, pol.c.quantity), else_=open_qty)
    po_lines = (select(pol.c.item_id, greatest(week_of(pol.c.due_date), cw, type_=Date()).label("week_start"),
                       open_qty.label("po_due"), cover.label("po_cover"), ZERO.label("firm"), ZERO.label("material"),
                       ZERO.label("planned"))
                .where(or_(is_open, due_now_or_later)))

    bucket = demand.buckets(scope)
    days = days_from(cw, bucket.c.week_start)
    firm = or_(bucket.c.zone == "firm", days < _rel.c.firm_fence_weeks * 7)
    material = and_(not_(firm), or_(bucket.c.zone == "material", days < _rel.c.material_fence_weeks * 7))
    buckets = (select(bucket.c.item_id, bucket.c.week_start, ZERO.label("po_due"), ZERO.label("po_cover"),
                      case((firm, bucket.c.quantity), else_=ZERO).label("firm"),
                      case((material, bucket.c.quantity), else_=ZERO).label("material"), ZERO.label("planned"))
               .join(_rel, _rel.c.id == bucket.c.relationship_id)
               .where(or_(firm, material)))

    planned = scope.narrow(
        select(_pos.c.item_id, _plan.c.week_start, ZERO.label("po_due"), ZERO.label("po_cover"), ZERO.label("firm"),
               ZERO.label("material"), _plan.c.quantity.label("planned"))
        .join(_plan, _plan.c.report_id == _pos.c.report_id)
        .where(_plan.c.week_start >= cw, _plan.c.quantity > 0), _pos)
    events = union_all(po_lines, buckets, planned).subquery("events")
    e = events.c
    # A week where only shipped-out lines fall is due nothing and plans nothing: it gets no row.
    return (select(e.item_id, e.week_start, func.sum(e.po_due).label("po_due"), func.sum(e.po_cover).label("po_cover"),
                   func.sum(e.firm).label("firm"), func.sum(e.material).label("material"),
                   func.sum(e.planned).label("planned"))
            .group_by(e.item_id, e.week_start)
            .having(or_(func.sum(e.po_due) > 0, func.sum(e.firm) > 0, func.sum(e.material) > 0,
                        func.sum(e.planned) > 0))
            .subquery("weeks"))


def _positions(scope: _Scope, items):
    """Each scope item's position with the machine production read after it (every reading, without a report).

    The same rule as production.services.machine_produced_since_reports, as a subquery.
    """
    machine = scope.narrow(
        select(_machine.c.item_id, func.sum(_machine.c.produced).label("produced"))
        .select_from(_machine.outerjoin(_pos, _pos.c.item_id == _machine.c.item_id))
        .where(or_(_pos.c.as_of.is_(None), _machine.c.read_at > _pos.c.as_of))
        .group_by(_machine.c.item_id), _machine).subquery("machine")
    produced = func.coalesce(machine.c.produced, ZERO)
    return (select(items.c.item_id, _pos.c.as_of, func.coalesce(_pos.c.fg_on_hand, ZERO).label("fg_on_hand"),
                   func.coalesce(_pos.c.wip_qty, ZERO).label("wip_qty"), produced.label("produced"),
                   (func.coalesce(_pos.c.fg_on_hand, ZERO) + func.coalesce(_pos.c.wip_qty, ZERO) + produced).label("supply"))
            .select_from(items)
            .outerjoin(_pos, _pos.c.item_id == items.c.item_id)
            .outerjoin(machine, machine.c.item_id == items.c.item_id)).subquery("position")


WEEK_COLUMNS = ("item_id", "week_start", "relationship_id", "po_due", "firm_forecast", "material_forecast",
                "planned_output", "guaranteed_due", "cum_planned", "cum_due", "projected", "shortage", "in_firm_fence",
                "in_lead_time")


def _weeks_rows(scope: _Scope, demand: Demand):
    """The weekly projection (cumulative sums by window functions), one row per coverage_week column."""
    cw = CW
    items = _scope_items(scope)
    weeks = _events(scope, demand)
    position = _positions(scope, items)
    supply = func.coalesce(position.c.supply, ZERO)
    due = weeks.c.po_due + greatest(weeks.c.firm - weeks.c.po_cover, ZERO)
    window = {"partition_by": weeks.c.item_id, "order_by": weeks.c.week_start}
    days = days_from(cw, weeks.c.week_start)
    running = (select(weeks.c.item_id, weeks.c.week_start, items.c.relationship_id, weeks.c.po_due,
                      weeks.c.firm, weeks.c.material, weeks.c.planned, due.label("due"), supply.label("supply"),
                      func.sum(due).over(**window).label("cum_due"),
                      func.sum(weeks.c.planned).over(**window).label("cum_planned"),
                      (days < items.c.firm_fence_weeks * 7).label("in_firm_fence"),
                      (days <= items.c.lead_time_days + TODAY_OFFSET).label("in_lead_time"))
               .join(items, items.c.item_id == weeks.c.item_id)
               .outerjoin(position, position.c.item_id == weeks.c.item_id)).subquery("running")
    r = running.c
    values = (r.item_id, r.week_start, r.relationship_id, _q(r.po_due), _q(r.firm), _q(r.material),
              _q(r.planned), _q(r.due), _q(r.cum_planned), _q(r.cum_due),
              _q(r.supply + r.cum_planned - r.cum_due),
              _q(greatest(r.cum_due - r.supply - (r.cum_planned - r.planned), ZERO)),
              r.in_firm_fence, r.in_lead_time)
    return select(*(value.label(name) for value, name in zip(values, WEEK_COLUMNS)))


def _weeks_statement(scope: _Scope):
    """INSERT … SELECT the weekly projection of the published rows."""
    return insert(_week).from_select(list(WEEK_COLUMNS), _weeks_rows(scope, PUBLISHED))


LEDGER_COLUMNS = ("item_id", "relationship_id", "computed_at", "current_week", "unit_price", "material_share",
                  "open_po", "firm_forecast", "firm_uncovered", "fab_authorized", "raw_authorized", "cum_start_date",
                  "cum_shipped", "guaranteed", "fg_on_hand", "wip", "produced_since_report", "position_as_of", "supply",
                  "excess", "material_forecast", "material_cover", "exposure_amount", "currency",
                  "projected_excess_qty", "projected_excess_week", "shortage_qty", "shortage_week")


def _ledger_rows(scope: _Scope, weeks):
    """One ledger row per item (one value per coverage_ledger column) from `weeks` (the coverage_week table, or the
    rows of _weeks_rows as a CTE of the same columns) and the other GROUP BYs."""
    items = _scope_items(scope)
    w = weeks.c
    demand = scope.narrow(
        select(w.item_id, func.sum(w.po_due).label("open_po"), func.sum(w.firm_forecast).label("firm"),
               func.sum(w.guaranteed_due - w.po_due).label("firm_uncovered"),  # the firm part of each week's due
               func.sum(w.material_forecast).label("material"),
               func.sum(case((w.in_firm_fence, w.planned_output), else_=ZERO)).label("fence_planned"),
               func.max(case((w.in_lead_time, w.shortage), else_=ZERO)).label("shortage_qty"),
               func.min(case((and_(w.in_lead_time, w.shortage > 0), w.week_start), else_=None)).label("shortage_week"))
        .group_by(w.item_id), weeks).subquery("demand")

    # Joins carry relationship_id as well as item_id, so that the (relationship_id, item_id, …) indexes are
    # searched by their whole prefix (SQLite would otherwise skip-scan every relationship per item).
    period = scope.narrow(select(_auth.c.relationship_id, _auth.c.item_id,
                                 func.max(_auth.c.cum_start_date).label("start"))
                          .where(_auth.c.cum_start_date <= TODAY)
                          .group_by(_auth.c.relationship_id, _auth.c.item_id), _auth).subquery("period")
    authorized = scope.narrow(
        select(_auth.c.item_id, func.max(case((_auth.c.kind == "FAB", _auth.c.quantity), else_=ZERO)).label("fab"),
               func.max(case((_auth.c.kind == "RAW", _auth.c.quantity), else_=ZERO)).label("raw"))
        .join(period, and_(period.c.relationship_id == _auth.c.relationship_id, period.c.item_id == _auth.c.item_id,
                           period.c.start == _auth.c.cum_start_date))
        .group_by(_auth.c.item_id), _auth).subquery("authorized")
    shipped = scope.narrow(
        select(_shipline.c.item_id, func.sum(_shipline.c.quantity_shipped).label("qty"))
        .join(period, and_(period.c.relationship_id == _shipline.c.relationship_id,
                           period.c.item_id == _shipline.c.item_id, _shipline.c.ship_date >= period.c.start))
        .join(_ship, _ship.c.id == _shipline.c.shipment_id)
        .where(_ship.c.status != "cancelled").group_by(_shipline.c.item_id), _shipline).subquery("shipped")
    position = _positions(scope, items)

    def zero(col):
        return func.coalesce(col, ZERO)

    base = (select(items.c.item_id, items.c.relationship_id, items.c.unit_price, items.c.currency, items.c.material_share,
                   zero(demand.c.open_po).label("open_po"), zero(demand.c.firm).label("firm"),
                   zero(demand.c.firm_uncovered).label("firm_uncovered"), zero(demand.c.material).label("material"),
                   zero(demand.c.fence_planned).label("fence_planned"), zero(demand.c.shortage_qty).label("shortage_qty"),
                   demand.c.shortage_week, zero(authorized.c.fab).label("fab"), zero(authorized.c.raw).label("raw"),
                   period.c.start.label("cum_start_date"), zero(shipped.c.qty).label("cum_shipped"),
                   zero(position.c.fg_on_hand).label("fg"), zero(position.c.wip_qty).label("wip"),
                   zero(position.c.produced).label("produced"), position.c.as_of, zero(position.c.supply).label("supply"))
            .select_from(items)
            .outerjoin(demand, demand.c.item_id == items.c.item_id)
            .outerjoin(period, period.c.item_id == items.c.item_id)
            .outerjoin(authorized, authorized.c.item_id == items.c.item_id)
            .outerjoin(shipped, shipped.c.item_id == items.c.item_id)
            .outerjoin(position, position.c.item_id == items.c.item_id)).subquery("base")
    b = base.c
    guaranteed = select(base, _q(greatest(b.open_po + b.firm_uncovered, b.fab - b.cum_shipped, ZERO)).label("guaranteed")
                        ).subquery("g")
    g = guaranteed.c
    with_excess = select(guaranteed, _q(greatest(g.supply - g.guaranteed, ZERO)).label("excess")).subquery("e")
    e = with_excess.c
    with_cover = select(with_excess, _q(least(e.excess, greatest(e.material, e.raw - e.cum_shipped - e.guaranteed, ZERO))
                                        ).label("material_cover")).subquery("m")
    m = with_cover.c
    first_excess_week = (select(func.min(w.week_start))
                         .where(w.item_id == m.item_id, w.in_firm_fence, w.cum_planned > greatest(m.guaranteed - m.supply, ZERO))
                         .scalar_subquery())
    projected_excess = _q(greatest(m.supply + m.fence_planned - m.guaranteed, ZERO) - m.excess)
    values = (
        m.item_id, m.relationship_id, NOW, CW, m.unit_price,
        m.material_share, _q(m.open_po), _q(m.firm), _q(m.firm_uncovered), _q(m.fab), _q(m.raw), m.cum_start_date,
        _q(m.cum_shipped), m.guaranteed, _q(m.fg), _q(m.wip), _q(m.produced), m.as_of, _q(m.supply), m.excess,
        _q(m.material), m.material_cover,
        _q((m.excess - m.material_cover) * m.unit_price + m.material_cover * (1 - m.material_share) * m.unit_price),
        m.currency, projected_excess, case((projected_excess > 0, first_excess_week), else_=None), _q(m.shortage_qty),
        m.shortage_week)
    # Typed as the ledger's columns, so that a SELECT of these rows (the what-if) reads them as the table would.
    return select(*(type_coerce(value, _ledger.c[name].type).label(name)
                    for value, name in zip(values, LEDGER_COLUMNS)))


def _ledger_statement(scope: _Scope):
    """INSERT … SELECT one ledger row per item from the weeks just written."""
    return insert(_ledger).from_select(list(LEDGER_COLUMNS), _ledger_rows(scope, _week))


def ledger_select(scope: _Scope, demand: Demand):
    """The ledger rows of a scope computed over `demand` by the same statements as a reconcile, as one SELECT that
    writes nothing: the weekly projection is a CTE in place of the coverage_week table (the what-if reads it)."""
    return _ledger_rows(scope, _weeks_rows(scope, demand).cte("weeks_of_demand"))


def _clear_statements(scope: _Scope):
    out = []
    for table in (_week, _ledger):
        query = delete(table)
        if scope.relationship_id is None:
            active = select(_item.c.id).join(_rel, _rel.c.id == _item.c.relationship_id).where(_rel.c.status == "active")
            query = query.where(table.c.item_id.in_(active))
        out.append(scope.narrow(query, table))
    return out


# A scope of each shape with placeholder values: statements are built once per shape, the values are bound.
SHAPES = {"all": _Scope(None, None), "relationship": _Scope(0, None), "items": _Scope(0, (0,))}


@functools.lru_cache(maxsize=None)
def _statements(shape: str) -> tuple:
    """The statements of one scope shape, built once: every value is a bound parameter, so the compiled SQL is
    cached by SQLAlchemy and a one-item reconcile spends no time building statements."""
    scope = SHAPES[shape]
    # rowcount of INSERT … SELECT is -1 under psycopg 3; counting the scope is cheap and exact.
    count = select(func.count()).select_from(_scope_items(scope))
    return (*_clear_statements(scope), _weeks_statement(scope), _ledger_statement(scope), count)


@functools.lru_cache(maxsize=None)
def _snapshot_statement(shape: str, dialect: str):
    """Upsert the week's exposure snapshot of every item of the scope from its ledger row just written.

    One INSERT … SELECT … ON CONFLICT per batch (PostgreSQL and SQLite ≥ 3.24 spell it alike); the snapshot of the
    current ISO week (`cw`) is overwritten by each recompute in that week, so it holds the week's latest figures.
    """
    scope = SHAPES[shape]
    ledger = _ledger.c
    # The WHERE also settles SQLite's parse of INSERT … SELECT … ON CONFLICT (it needs one after the SELECT).
    rows = scope.narrow(select(ledger.item_id, CW.label("week_start"), ledger.relationship_id, ledger.exposure_amount,
                               ledger.currency, ledger.excess, ledger.shortage_qty, NOW.label("updated_at"))
                        .where(ledger.current_week == CW), _ledger)
    if scope.relationship_id is None:
        rows = rows.where(ledger.relationship_id.in_(select(_rel.c.id).where(_rel.c.status == "active")))
    statement = _upsert(dialect)(_snapshot).from_select(
        ["item_id", "week_start", "relationship_id", "exposure_amount", "currency", "excess_qty", "shortage_qty",
         "updated_at"], rows)
    return statement.on_conflict_do_update(
        index_elements=["item_id", "week_start"],
        set_={name: statement.excluded[name]
              for name in ("relationship_id", "exposure_amount", "currency", "excess_qty", "shortage_qty",
                           "updated_at")})


def _upsert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    return upsert


def _exposure_week_upsert(dialect: str, rows):
    statement = _upsert(dialect)(_exposure_week).from_select(
        ["relationship_id", "week_start", "exposure_amount", "currency", "excess_qty", "shortage_qty", "items_exposed",
         "updated_at"], rows)
    return statement.on_conflict_do_update(
        index_elements=["relationship_id", "week_start"],
        set_={name: statement.excluded[name]
              for name in ("exposure_amount", "currency", "excess_qty", "shortage_qty", "items_exposed",
                           "updated_at")})


def _week_sums(*where, week=None, updated=None):
    s = _snapshot.c
    # A relationship's items are priced in its one currency (the catalog keeps them so): max() only names it.
    return (select(s.relationship_id, week if week is not None else s.week_start, func.sum(s.exposure_amount),
                   func.max(s.currency), func.sum(s.excess_qty), func.sum(s.shortage_qty),
                   func.count(case((s.exposure_amount > 0, 1))), updated if updated is not None else func.max(s.updated_at))
            .where(*where))


@functools.lru_cache(maxsize=None)
def _exposure_week_statement(shape: str, dialect: str):
    """Re-sum this week's snapshots of the scope's relationships (all of their items, not only the recomputed)."""
    s = _snapshot.c
    where = [s.week_start == CW]
    if shape == "all":
        where.append(s.relationship_id.in_(select(_rel.c.id).where(_rel.c.status == "active")))
    else:
        where.append(s.relationship_id == REL_ID)
    return _exposure_week_upsert(dialect, _week_sums(*where, week=CW, updated=NOW).group_by(s.relationship_id))


def rebuild_exposure_weeks() -> None:
    """Re-sum every (relationship, week) from the snapshots: after snapshots were written by other means
    (the demo's history, a benchmark's or a test's data)."""
    connection = db.session.connection()
    s = _snapshot.c
    rows = _week_sums(literal_column("1") == 1).group_by(s.relationship_id, s.week_start)
    connection.execute(_exposure_week_upsert(connection.dialect.name, rows))


def compute(scope: _Scope, clock: _Clock) -> int:
    """Recompute the ledger rows of a scope inside the caller's transaction, and the week's exposure snapshot of
    each of its items; returns the number of items."""
    *writes, count = _statements(scope.shape)
    params = {**scope.params, **clock.params}
    connection = db.session.connection()
    if scope.shape == "all" and connection.dialect.name == "postgresql":
        # The default work_mem spilled the sweep's week aggregation and its sort to disk at ref-M (48 MB in 265
        # batches, EXPLAIN ANALYZE in /work/notes/sweep.md). The setting ends with the sweep's transaction (SET
        # LOCAL); a one-item reconcile keeps the server's default.
        connection.exec_driver_sql(f"SET LOCAL work_mem = '{SWEEP_WORK_MEM}'")
    for statement in writes:
        connection.execute(statement, params)
    connection.execute(_snapshot_statement(scope.shape, connection.dialect.name), params)
    connection.execute(_exposure_week_statement(scope.shape, connection.dialect.name), params)
    return connection.execute(count, params).scalar() or 0


def open_ledger(relationship_id: int, item_ids: Iterable[int], now: datetime | None = None) -> int:
    """Compute these items' ledger rows in the caller's transaction (no commit, no alerts): a new item's first row."""
    ids = tuple(sorted({int(i) for i in item_ids}))
    return compute(_Scope(int(relationship_id), ids), _Clock.at(now)) if ids else 0


def _sync_alerts(relationship_id: int, item_ids: list[int] | None, now: datetime) -> None:
    alerts.sync_alerts(relationship_id, item_ids, now)


def reconcile(relationship_id: int, item_ids: Iterable[int] | None, now: datetime | None = None) -> int:
    """Recompute the ledger of these items (all of the relationship's when None), sync their alerts, commit."""
    clock = _Clock.at(now)
    ids = tuple(sorted({int(i) for i in item_ids})) if item_ids is not None else None
    if ids == ():
        return 0
    count = compute(_Scope(int(relationship_id), ids), clock)
    _sync_alerts(int(relationship_id), list(ids) if ids is not None else None, clock.now)
    db.session.commit()
    logger.info("reconciled %s items of relationship %s", count, relationship_id)
    return count


def full_sweep(now: datetime | None = None) -> int:
    """Recompute every item of every active relationship in one set-based pass, then sync their alerts in another;
    commit."""
    clock = _Clock.at(now)
    count = compute(_Scope(None, None), clock)
    # One set-based sync over every active relationship: the same statements as a report's reconcile, with the
    # whole network as their scope (alerts.services.sync_scope), never a loop over relationships.
    changes = alerts.sync_all_alerts(clock.now)
    db.session.commit()
    logger.info("swept %s items: %s alerts raised, %s updated, %s resolved", count, changes["raised"],
                changes["updated"], changes["resolved"])
    return count


def period_start(now: datetime, minutes: int) -> datetime:
    """The start of the `minutes`-long period holding `now` (periods are counted from the Unix epoch)."""
    seconds = max(int(minutes), 1) * 60
    stamp = int(now.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(stamp, timezone.utc)


def locked_sweep(minutes: int, now: datetime | None = None) -> int | None:
    """Run the full sweep once per period: the (job, period) row is the lock. None when it already ran."""
    clock = _Clock.at(now)
    start = period_start(clock.now, minutes)
    db.session.add(PeriodicRun(job=SWEEP_JOB, period_start=start, started_at=datetime.now(timezone.utc)))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        logger.info("sweep of period %s already taken", start.isoformat())
        return None
    try:
        count = full_sweep(clock.now)
    except Exception:
        # Free the period so that the task's retry can take it.
        db.session.rollback()
        db.session.execute(delete(PeriodicRun.__table__).where(PeriodicRun.job == SWEEP_JOB,
                                                               PeriodicRun.period_start == start))
        db.session.commit()
        raise
    db.session.execute(update(PeriodicRun.__table__).where(PeriodicRun.job == SWEEP_JOB, PeriodicRun.period_start == start)
                       .values(finished_at=datetime.now(timezone.utc), items=count))
    db.session.commit()
    return count


# The outbox relay -------------------------------------------------------------------------------------------

Publisher = Callable[[str, list[Any]], None]


def celery_publisher(task_name: str, args: list[Any]) -> None:
    """Send a task by name; a task registered in this process goes through apply_async (eager mode honours it)."""
    celery_app = current_app.extensions["celery"]
    task = celery_app.tasks.get(task_name)
    if task is None:  # a web process has not imported the task modules the worker loads (celery `imports`)
        celery_app.loader.import_default_modules()
        task = celery_app.tasks.get(task_name)
    if task is not None:
        task.apply_async(args=args)
    else:
        celery_app.send_task(task_name, args=args)


def _coalesce(events: Sequence[OutboxEvent]) -> list[tuple[str | None, list[Any], list[int]]]:
    """(task, args, outbox ids) to publish: reconcile events merge per relationship, notify events go one by one.

    A reconcile event without a relationship names no work: its task is None and it is only marked sent.
    """
    merged: dict[int, tuple[set[int] | None, list[int]]] = {}
    out: list[tuple[str | None, list[Any], list[int]]] = []
    for event in events:
        if event.topic != outbox.RECONCILE:
            out.append((TASK_FOR_TOPIC[event.topic], [event.id], [event.id]))
        elif event.relationship_id is None:
            out.append((None, [], [event.id]))
        else:
            ids, members = merged.get(event.relationship_id, (set(), []))
            wanted = (event.payload or {}).get("item_ids")
            ids = None if ids is None or wanted is None else ids | {int(i) for i in wanted}
            merged[event.relationship_id] = (ids, [*members, event.id])
    reconciles = [(TASK_FOR_TOPIC[outbox.RECONCILE], [rel_id, sorted(ids) if ids is not None else None, members],
                   members) for rel_id, (ids, members) in merged.items()]
    return reconciles + out


def relay_outbox(limit: int = RELAY_BATCH, topics: Sequence[str] = RELAY_TOPICS,
                 publish: Publisher | None = None) -> int:
    """Publish one batch of pending outbox rows and mark them sent; a row whose publish fails stays pending.

    On PostgreSQL concurrent relays claim disjoint rows (FOR UPDATE SKIP LOCKED); on SQLite the
    transaction's BEGIN IMMEDIATE write lock serialises them.
    """
    publish = publish or celery_publisher
    lease = timedelta(seconds=int(current_app.config.get("OUTBOX_LEASE_SECONDS", 300)))
    stale = datetime.now(timezone.utc) - lease
    events = list(db.session.scalars(
        select(OutboxEvent).where(
            or_(OutboxEvent.published_at.is_(None),
                and_(OutboxEvent.done_at.is_(None), OutboxEvent.published_at < stale)),
            OutboxEvent.topic.in_(topics))
        .order_by(OutboxEvent.id).limit(limit).with_for_update(skip_locked=True)))
    if not events:
        db.session.rollback()
        return 0
    sent: list[int] = []
    failed: list[int] = []
    no_work: list[int] = []
    for task_name, args, ids in _coalesce(events):
        if task_name is None:
            sent.extend(ids)
            no_work.extend(ids)
            continue
        try:
            publish(task_name, args)
        except Exception:  # noqa: BLE001 - any broker failure leaves the rows for the next run
            logger.warning("publishing %s%s failed; %s outbox rows stay pending", task_name, args, len(ids),
                           exc_info=True)
            failed.extend(ids)
        else:
            sent.extend(ids)
    table = OutboxEvent.__table__
    stamp = datetime.now(timezone.utc)
    if sent:
        db.session.execute(update(table).where(table.c.id.in_(sent))
                           .values(published_at=stamp, attempts=table.c.attempts + 1))
    if no_work:
        db.session.execute(update(table).where(table.c.id.in_(no_work)).values(done_at=stamp))
    if failed:
        db.session.execute(update(table).where(table.c.id.in_(failed)).values(attempts=table.c.attempts + 1))
    db.session.commit()
    return len(sent)


def relay_pending(limit: int = RELAY_BATCH, topics: Sequence[str] = RELAY_TOPICS, publish: Publisher | None = None,
                  max_batches: int = 20) -> int:
    """Relay batches until the outbox is drained (or `max_batches` ran); returns the rows published."""
    total = 0
    for _batch in range(max_batches):
        published = relay_outbox(limit, topics, publish)
        total += published
        if published < limit:
            break
    return total


# Reading the ledger (pages and API) ---------------------------------------------------------------------------

@dataclass
class WeekRow:
    week_start: date
    po_due: Decimal
    firm_forecast: Decimal
    planned_output: Decimal
    guaranteed_due: Decimal
    projected: Decimal
    shortage: Decimal
    in_firm_fence: bool
    stored: bool


def projected_weeks(ledger: CoverageLedger | None, weeks: Sequence[CoverageWeek], horizon: int = 26) -> list[WeekRow]:
    """Every week from the ledger's week on, the weeks without a stored row carried from the row before."""
    if ledger is None:
        return []
    stored = {w.week_start: w for w in weeks}
    last = max([ledger.current_week + timedelta(weeks=horizon - 1), *stored])
    out: list[WeekRow] = []
    zero = Decimal("0")
    cum_due = cum_planned = zero
    week = ledger.current_week
    while week <= last and len(out) < 104:
        row = stored.get(week)
        if row is not None:
            cum_due, cum_planned = row.cum_due, row.cum_planned
            out.append(WeekRow(week, row.po_due, row.firm_forecast, row.planned_output, row.guaranteed_due,
                               row.projected, row.shortage, row.in_firm_fence, True))
        else:
            shortage = max(zero, cum_due - ledger.supply - cum_planned)
            fence = ledger.current_week + timedelta(weeks=_fence_weeks(weeks, ledger))
            out.append(WeekRow(week, zero, zero, zero, zero, ledger.supply + cum_planned - cum_due, shortage,
                               week < fence, False))
        week += timedelta(weeks=1)
    return out


def _fence_weeks(weeks: Sequence[CoverageWeek], ledger: CoverageLedger) -> int:
    fence = [w.week_start for w in weeks if w.in_firm_fence]
    return ((max(fence) - ledger.current_week).days // 7 + 1) if fence else 0


def _visible_item(actor: Actor, relationship_id: int, item_id: int) -> Item:
    """The item, if it is in one of the actor's relationships (else not found). The catalog calls coverage when an
    item is created, so coverage reads the catalog's table, never its services (no import cycle)."""
    rel = relationships.get_relationship(actor, relationship_id)
    item = db.session.scalar(select(Item).where(Item.id == item_id, Item.relationship_id == rel.id))
    if item is None:
        raise NotFound(_("No such item in this relationship."))
    return item


def item_ledger(actor: Actor, relationship_id: int, item_id: int) -> tuple[Item, CoverageLedger | None, list[CoverageWeek]]:
    """The item's ledger row and its stored weeks; the item is checked against the actor's relationships."""
    item = _visible_item(actor, relationship_id, item_id)
    ledger = db.session.get(CoverageLedger, item.id)
    weeks = list(db.session.scalars(select(CoverageWeek).where(CoverageWeek.item_id == item.id)
                                    .order_by(CoverageWeek.week_start).limit(520)))
    return item, ledger, weeks


def relationship_ledger(actor: Actor, relationship_id: int, limit: int = 100,
                        offset: int = 0) -> list[tuple[CoverageLedger, Item]]:
    """A page of a relationship's ledger rows, the largest exposure first."""
    relationships.get_relationship(actor, relationship_id)
    rows = db.session.execute(
        select(CoverageLedger, Item).join(Item, Item.id == CoverageLedger.item_id)
        .where(CoverageLedger.relationship_id == relationship_id)
        .order_by(CoverageLedger.exposure_amount.desc(), CoverageLedger.item_id).limit(limit).offset(offset))
    return [(ledger, item) for ledger, item in rows]


def request_recompute(actor: Actor, relationship_id: int, item_id: int) -> OutboxEvent:
    """Ask for the item's ledger to be recomputed now, through the outbox like any other change."""
    item = _visible_item(actor, relationship_id, item_id)
    event = outbox.enqueue_reconcile(relationship_id, [item.id], "recompute requested")
    audit.record(actor, "coverage.recompute_requested", item)
    db.session.commit()
    logger.info("recompute of item %s requested by %s", item.id, actor)
    return event


MAX_RECOMPUTE_ITEMS = 500


def request_relationship_recompute(actor: Actor, relationship_id: int,
                                   item_ids: Sequence[int] | None = None) -> OutboxEvent:
    """Ask for the ledger of these items (every item of the relationship when None) to be recomputed, via the outbox.

    Every id must name an item of this relationship: any other is answered as not found, like a foreign item.
    """
    rel = relationships.get_relationship(actor, relationship_id)
    ids = sorted({int(i) for i in item_ids}) if item_ids is not None else None
    if ids is not None:
        found = set(db.session.scalars(select(Item.id).where(Item.relationship_id == rel.id, Item.id.in_(ids))))
        if len(found) != len(ids):
            raise NotFound(_("No such item in this relationship."))
    event = outbox.enqueue_reconcile(rel.id, ids, "recompute requested")
    audit.record(actor, "coverage.recompute_requested", rel, detail={"item_ids": ids})
    db.session.commit()
    logger.info("recompute of relationship %s (%s items) requested by %s", rel.id,
                "all" if ids is None else len(ids), actor)
    return event


def pending_items(relationship_id: int) -> tuple[bool, set[int]]:
    """Which ledgers of a relationship still wait for a reconcile: (every item, these item ids).

    An outbox reconcile row not yet done (its task has not finished) names the items whose changes the
    ledger may not show yet.
    """
    table = OutboxEvent.__table__
    payloads = db.session.scalars(select(table.c.payload).where(table.c.relationship_id == relationship_id,
                                                                table.c.topic == outbox.RECONCILE,
                                                                table.c.done_at.is_(None)))
    items: set[int] = set()
    for payload in payloads:
        wanted = (payload or {}).get("item_ids")
        if wanted is None:
            return True, set()
        items.update(int(i) for i in wanted)
    return False, items


def is_pending(relationship_id: int, item_id: int) -> bool:
    """Whether a change to the item may not be in its ledger yet (an outbox reconcile row for it is not done)."""
    every, items = pending_items(relationship_id)
    return every or item_id in items


def _n(value: Decimal | None) -> str:
    return "0" if value is None else grouped_text(value)


def explanation(ledger: CoverageLedger) -> str:
    """Why the ledger stands where it does, with the numbers (what alerts quote)."""
    supply = _("FG %(fg)s + WIP %(wip)s", fg=_n(ledger.fg_on_hand), wip=_n(ledger.wip))
    if ledger.produced_since_report:
        supply += " " + _("+ %(qty)s produced since the report", qty=_n(ledger.produced_since_report))
    basis = _("open PO %(po)s + firm forecast %(firm)s", po=_n(ledger.open_po), firm=_n(ledger.firm_uncovered))
    if ledger.fab_authorized - ledger.cum_shipped > ledger.open_po + ledger.firm_uncovered:
        basis = _("FAB authorization %(fab)s − shipped %(shipped)s", fab=_n(ledger.fab_authorized),
                  shipped=_n(ledger.cum_shipped))
    text = _("%(supply)s against guaranteed %(guaranteed)s (%(basis)s)", supply=supply,
             guaranteed=_n(ledger.guaranteed), basis=basis)
    if ledger.excess > 0:
        text += "; " + _("%(qty)s units, %(amount)s uncovered", qty=_n(ledger.excess),
                         amount=formatting.format_money(ledger.exposure_amount, ledger.currency))
        if ledger.material_cover > 0:
            text += " " + _("(%(qty)s of them material-covered)", qty=_n(ledger.material_cover))
    return text


# The end-to-end latency benchmark (production POST → alert visible) is added by another helper; it measures
# around this hook, which reports how long ago the item's ledger was last computed.
def ledger_age_seconds(item_id: int, now: datetime | None = None) -> float | None:
    """Seconds since the item's ledger was computed (None when never)."""
    computed = db.session.scalar(select(CoverageLedger.computed_at).where(CoverageLedger.item_id == item_id))
    if computed is None:
        return None
    return ((now or datetime.now(timezone.utc)) - computed).total_seconds()
