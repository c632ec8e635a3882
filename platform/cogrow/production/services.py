"""Production use cases: reports and the current position, production lines and their machine readings.

How production counts into supply (for the coverage ledger): the item's position is its latest report
by `as_of`; its FG + WIP are the stock the supplier holds at that moment. Machine readings taken
*after* that `as_of` add what the line has produced since (`machine_produced_since_report`), so

    supply = position.fg_on_hand + position.wip_qty + Σ machine_reading.produced (read_at > position.as_of)

A new report resets the machine contribution to what was read after it, because the report's own
FG + WIP already include what the machines made before it. A reading whose step spans the report's
`as_of` counts in full (readings are minutes apart; the error is one step at most). Items without a
report count every reading.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Integer, and_, any_, bindparam, case, func, insert, literal_column, or_, select, text, union_all, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from cogrow.catalog.models import Item
from cogrow.core import audit, outbox
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from cogrow.core.models import OutboxEvent
from cogrow.core.types import utcnow
from cogrow.core.validation import parse_id
from cogrow.core.weeks import business_zone, week_start
from cogrow.extensions import db
from cogrow.production import counters
from cogrow.production.models import ItemPosition, MachineReading, PlannedOutput, ProductionLine, ProductionReport
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.production")

WRITER_ROLES = ("admin", "production")
_REPORTS = ProductionReport.__table__
_PLANS = PlannedOutput.__table__
_POSITIONS = ItemPosition.__table__
_READINGS = MachineReading.__table__
_RELATIONSHIPS = SupplyRelationship.__table__
_ITEMS = Item.__table__
_LINES = ProductionLine.__table__
_OUTBOX = OutboxEvent.__table__
_POSITION_COLUMNS = ("relationship_id", "report_id", "as_of", "good_qty", "scrap_qty", "wip_qty", "fg_on_hand",
                     "raw_on_hand", "updated_at")


# --- who may write -----------------------------------------------------------------------------------------

def _writable(actor: Actor, relationship_id: int) -> SupplyRelationship:
    """The relationship, if the actor is its supplier with a production or admin role and it is active."""
    rel = relationships.get_relationship(actor, relationship_id)
    _refuse_writer(actor, rel.supplier_id, rel.status)
    return rel


def _refuse_writer(actor: Actor, supplier_id: int, status: str) -> None:
    """403 unless the actor is the supplier with a writer role; 409 unless the relationship is active."""
    if actor.organisation_id != supplier_id or actor.role not in WRITER_ROLES:
        raise Forbidden(_("Only the supplier's production users and admins report production."))
    if status != "active":
        raise Conflict(_("The relationship is %(status)s: production cannot be reported.", status=status),
                       state=status)


def _ingest_context_query(dialect: str):
    """Tenancy, the writer's rights, the items and what they carry forward, in one round trip: the relationship as the
    actor sees it (no row: 404), joined to the named items of that relationship, each with its current position and
    the position's planned weeks. Built once; the ingest paths run it with bound parameters."""
    rel, item, p, plan = _RELATIONSHIPS, _ITEMS, _POSITIONS, _PLANS
    org = bindparam("org")
    # PostgreSQL takes the ids as one array parameter: a thousand-item IN list costs more to render and parse
    # than the query costs to run.
    named = (item.c.id == any_(bindparam("item_ids", type_=ARRAY(Integer))) if dialect == "postgresql"
             else item.c.id.in_(bindparam("item_ids", expanding=True)))
    return (select(rel.c.supplier_id, rel.c.status, item.c.id.label("item_id"), p.c.report_id, p.c.as_of,
                   p.c.wip_qty, p.c.fg_on_hand, p.c.raw_on_hand, plan.c.week_start, plan.c.quantity)
            .select_from(rel.outerjoin(item, and_(item.c.relationship_id == rel.c.id, named))
                         .outerjoin(p, and_(p.c.item_id == item.c.id, p.c.relationship_id == rel.c.id))
                         .outerjoin(plan, plan.c.report_id == p.c.report_id))
            .where(rel.c.id == bindparam("relationship_id"), or_(rel.c.prime_id == org, rel.c.supplier_id == org)))


_INGEST_CONTEXT = {dialect: _ingest_context_query(dialect) for dialect in ("postgresql", "sqlite")}


def _writable_items(actor: Actor, relationship_id: int,
                    item_ids: Iterable[int]) -> tuple[set[int], dict[int, dict[str, Any]]]:
    """`_writable`, the items' membership of the relationship (`resolve_items` for ids) and their `current_bases`,
    in one query: the ids among `item_ids` that are the relationship's, and their bases."""
    rows = _core().execute(_INGEST_CONTEXT[_dialect()], {"relationship_id": relationship_id, "org": actor.organisation_id,
                                                "item_ids": sorted(set(item_ids))}).all()
    if not rows:
        raise NotFound("No such relationship.")
    _refuse_writer(actor, rows[0].supplier_id, rows[0].status)
    known: set[int] = set()
    bases: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row.item_id is None:
            continue
        known.add(row.item_id)
        if row.report_id is None:
            continue
        base = bases.setdefault(row.item_id, {"report_id": row.report_id, "as_of": row.as_of, "wip_qty": row.wip_qty,
                                              "fg_on_hand": row.fg_on_hand, "raw_on_hand": row.raw_on_hand,
                                              "plan": {}})
        if row.week_start is not None:
            base["plan"][row.week_start] = row.quantity
    return known, bases


def _checked_reports(actor: Actor, relationship_id: int, reports: Sequence[dict[str, Any]],
                     prefix: str) -> dict[int, dict[str, Any]] | None:
    """Who may write, and which items: 404/403/409 as `_writable`, then a 422 naming every unknown item or part
    number (as `resolve_items`). Returns the items' bases, or None when part numbers were resolved (the writer then
    reads the bases itself). One query for reports by item id, three when part numbers name items."""
    if any(r.get("item_id") is None for r in reports):
        rel = _writable(actor, relationship_id)
        errors = resolve_items(rel.id, reports, prefix)
        bases = None
    else:
        known, bases = _writable_items(actor, relationship_id, (r["item_id"] for r in reports))
        errors = {f"{prefix.format(i=index)}item_id": _("No such item in this relationship.")
                  for index, r in enumerate(reports) if r["item_id"] not in known}
    if errors:
        raise ValidationFailed(_("Some reports are not valid; nothing was saved."), fields=errors)
    return bases


def can_write(actor: Actor, rel: SupplyRelationship) -> bool:
    return actor.organisation_id == rel.supplier_id and actor.role in WRITER_ROLES and rel.status == "active"


# --- reports -----------------------------------------------------------------------------------------------

def resolve_items(relationship_id: int, reports: Sequence[dict[str, Any]], prefix: str = "") -> dict[str, str]:
    """Fill `item_id` from `part_number` and check every item belongs to the relationship (two queries at most).

    Returns errors keyed `<prefix>item_id` / `<prefix>part_number` (prefix may hold `{i}` for the index).
    """
    ids = {r["item_id"] for r in reports if r.get("item_id") is not None}
    parts = {r["part_number"] for r in reports if r.get("part_number") is not None}
    known_ids: set[int] = set()
    by_part: dict[str, int] = {}
    if ids:
        known_ids = set(db.session.scalars(select(Item.id).where(Item.relationship_id == relationship_id,
                                                                 Item.id.in_(ids))))
    if parts:
        for item_id, prime_pn, supplier_pn in db.session.execute(
                select(Item.id, Item.prime_part_number, Item.supplier_part_number)
                .where(Item.relationship_id == relationship_id,
                       or_(Item.prime_part_number.in_(parts), Item.supplier_part_number.in_(parts)))):
            if supplier_pn in parts:
                by_part.setdefault(supplier_pn, item_id)
            by_part[prime_pn] = item_id  # the prime's part number wins when the two coincide
    errors: dict[str, str] = {}
    for index, report in enumerate(reports):
        at = prefix.format(i=index)
        if report.get("item_id") is not None:
            if report["item_id"] not in known_ids:
                errors[f"{at}item_id"] = _("No such item in this relationship.")
        elif report.get("part_number") is not None:
            item_id = by_part.get(report["part_number"])
            if item_id is None:
                errors[f"{at}part_number"] = _("No such part number in this relationship.")
            else:
                report["item_id"] = item_id
    return errors


def record_reports(actor: Actor, relationship_id: int, reports: Sequence[dict[str, Any]], source: str = "api",
                   prefix: str = "reports[{i}].") -> list[int]:
    """Append reports (parsed by schemas.parse_report) in one transaction; all or nothing. Returns their ids."""
    bases = _checked_reports(actor, relationship_id, reports, prefix)
    ids = write_reports(actor, relationship_id, reports, source, prefix=prefix, bases=bases)
    db.session.commit()
    return ids


@dataclass(frozen=True)
class StoredPlan:
    week_start: date
    quantity: Decimal


@dataclass(frozen=True)
class StoredReport:
    """A report as stored, built from what was written (no ORM object, no second read on the hot path)."""

    id: int
    relationship_id: int
    item_id: int
    as_of: datetime
    good_qty: Decimal
    scrap_qty: Decimal
    wip_qty: Decimal
    fg_on_hand: Decimal
    raw_on_hand: Decimal | None
    plan: list[StoredPlan]
    source: str
    note: str
    reported_by_id: int | None
    token_id: int | None
    received_at: datetime


def record_report(actor: Actor, relationship_id: int, values: dict[str, Any], source: str = "api") -> StoredReport:
    """Append one report; errors name the fields themselves (item_id, not reports[0].item_id).

    Returns what was stored, built from the values (no second read on the hot path).
    """
    now = utcnow()
    bases = _checked_reports(actor, relationship_id, [values], "")
    report_id = write_reports(actor, relationship_id, [values], source, now=now, prefix="", bases=bases)[0]
    db.session.commit()
    return StoredReport(
        id=report_id, relationship_id=relationship_id, item_id=values["item_id"], as_of=values["as_of"],
        good_qty=values["good_qty"], scrap_qty=values["scrap_qty"], wip_qty=values["wip_qty"],
        fg_on_hand=values["fg_on_hand"], raw_on_hand=values.get("raw_on_hand"), source=source,
        note=values.get("note") or "", reported_by_id=actor.user_id, token_id=actor.token_id, received_at=now,
        plan=[StoredPlan(week_start=week, quantity=qty) for week, qty in sorted(values.get("plan") or ())])


_CARRIED = ("wip_qty", "fg_on_hand", "raw_on_hand")
_NEEDS_BASE = ("wip_qty", "fg_on_hand")
MAX_PLAN_WEEKS = 26  # planned output reaches at most this many weeks past the report's week (schemas checks it)


def _report_week(as_of: datetime, zone: Any = None) -> date:
    return week_start(as_of.astimezone(zone or business_zone()).date())


def current_bases(relationship_id: int, item_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each item's current position with its planned output, in one query: what a new report carries forward."""
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    p, plan = _POSITIONS, _PLANS
    bases: dict[int, dict[str, Any]] = {}
    for row in db.session.execute(
            select(p.c.item_id, p.c.report_id, p.c.as_of, p.c.wip_qty, p.c.fg_on_hand, p.c.raw_on_hand,
                   plan.c.week_start, plan.c.quantity)
            .select_from(p.outerjoin(plan, plan.c.report_id == p.c.report_id))
            .where(p.c.relationship_id == relationship_id, p.c.item_id.in_(ids))):
        base = bases.setdefault(row.item_id, {"report_id": row.report_id, "as_of": row.as_of, "wip_qty": row.wip_qty,
                                              "fg_on_hand": row.fg_on_hand, "raw_on_hand": row.raw_on_hand,
                                              "plan": {}})
        if row.week_start is not None:
            base["plan"][row.week_start] = row.quantity
    return bases


def report_bases(relationship_id: int, report_of: dict[int, int | None]) -> dict[int, dict[str, Any]]:
    """The reports a page pre-filled its cells from ({item_id: report_id}), with their plans, in one query.
    A report id that is not that item's report in this relationship is ignored (a forged or stale field)."""
    wanted = {report_id: item_id for item_id, report_id in report_of.items() if report_id is not None}
    if not wanted:
        return {}
    r, plan = _REPORTS, _PLANS
    bases: dict[int, dict[str, Any]] = {}
    for row in db.session.execute(
            select(r.c.id, r.c.item_id, r.c.as_of, r.c.wip_qty, r.c.fg_on_hand, r.c.raw_on_hand,
                   plan.c.week_start, plan.c.quantity)
            .select_from(r.outerjoin(plan, plan.c.report_id == r.c.id))
            .where(r.c.relationship_id == relationship_id, r.c.id.in_(sorted(wanted)))):
        if wanted.get(row.id) != row.item_id:
            continue
        base = bases.setdefault(row.item_id, {"report_id": row.id, "as_of": row.as_of, "wip_qty": row.wip_qty,
                                              "fg_on_hand": row.fg_on_hand, "raw_on_hand": row.raw_on_hand,
                                              "plan": {}})
        if row.week_start is not None:
            base["plan"][row.week_start] = row.quantity
    return bases


def has_position(item_id: int) -> bool:
    return db.session.scalar(select(_POSITIONS.c.item_id).where(_POSITIONS.c.item_id == item_id)) is not None


def planned_weeks(report_ids: Iterable[int]) -> dict[int, dict[date, Decimal]]:
    """{report_id: {week_start: quantity}} for the given reports, in one query."""
    ids = sorted(set(report_ids))
    if not ids:
        return {}
    out: dict[int, dict[date, Decimal]] = {}
    for report_id, week, quantity in db.session.execute(
            select(_PLANS.c.report_id, _PLANS.c.week_start, _PLANS.c.quantity).where(_PLANS.c.report_id.in_(ids))):
        out.setdefault(report_id, {})[week] = quantity
    return out


def fill_unchanged(relationship_id: int, reports: Sequence[dict[str, Any]],
                   bases: dict[int, dict[str, Any]] | None = None) -> dict[tuple[int, str], str]:
    """Fill, in place, what each report leaves unchanged from the item's report just before it by `as_of`.

    - `wip_qty`, `fg_on_hand`, `raw_on_hand` given as None (or absent) keep the earlier report's value; WIP and
      finished goods of an item that has no earlier report are an error (returned, keyed (index, field));
    - `plan` is a list of (week, quantity) for the weeks the report names (None: none): every other week of the
      earlier report's plan, from the new report's week on, is kept. An explicit 0 clears a week.
    The earlier report is the item's current position when it is not later than the new report, or an earlier
    report of the same request; a report older than the position carries only from earlier reports of the request.
    One query (the positions with their plans) unless `bases` is given.
    """
    if bases is None:
        bases = current_bases(relationship_id, (r["item_id"] for r in reports))
    errors: dict[tuple[int, str], str] = {}
    zone = business_zone()  # once per request, not once per report (a thousand in a batch)
    order = sorted(range(len(reports)), key=lambda i: (reports[i]["item_id"], reports[i]["as_of"], i))
    previous: dict[int, dict[str, Any]] = {}  # item -> the latest report filled so far in this request
    for index in order:
        report = reports[index]
        item_id, as_of = report["item_id"], report["as_of"]
        candidates = [b for b in (bases.get(item_id), previous.get(item_id)) if b is not None and b["as_of"] <= as_of]
        base = max(candidates, key=lambda b: b["as_of"]) if candidates else None
        for name in _CARRIED:
            if report.get(name) is None:
                if base is not None:
                    report[name] = base[name]
                elif name in _NEEDS_BASE:
                    errors[(index, name)] = _("Required: this item has no earlier report to keep it from.")
        if (base is None or not base["plan"]) and not report.get("plan"):
            plan = {}  # nothing to carry and nothing named: most machine reports
        else:
            first = _report_week(as_of, zone)
            last = first + timedelta(weeks=MAX_PLAN_WEEKS)
            plan = {week: qty for week, qty in (base["plan"].items() if base else ()) if first <= week <= last}
            plan.update(dict(report.get("plan") or ()))
        report["plan"] = sorted(plan.items())
        previous[item_id] = {"as_of": as_of, "plan": plan, **{name: report.get(name) for name in _CARRIED}}
    return errors


def write_reports(actor: Actor, relationship_id: int, reports: Sequence[dict[str, Any]], source: str,
                  announce: bool = True, now: datetime | None = None, prefix: str = "reports[{i}].",
                  bases: dict[int, dict[str, Any]] | None = None) -> list[int]:
    """The hot path, inside the caller's transaction (no commit): the items' current positions (what blank fields
    keep, see `fill_unchanged`; one query unless the caller read them as `bases`), the reports and their plans, one
    conditional upsert statement for the positions, one audit row and one outbox row (unless `announce` is False: a
    caller writing in chunks announces once with `announce_reports`).

    On PostgreSQL a request of many reports takes its ids from the sequence in one query and sends the rows with
    COPY, and the positions go as one array per column (no parameters per row); a single report without planned
    weeks is one statement (`_write_one_report`); on SQLite, INSERT … RETURNING (executemany for many)."""
    now = now or utcnow()
    missing = fill_unchanged(relationship_id, reports, bases)
    if missing:
        raise ValidationFailed(_("Some reports are not valid; nothing was saved."),
                               fields={f"{prefix.format(i=index)}{name}": message
                                       for (index, name), message in missing.items()})
    rows = [{
        "relationship_id": relationship_id, "item_id": r["item_id"], "as_of": r["as_of"],
        "good_qty": r["good_qty"], "scrap_qty": r["scrap_qty"], "wip_qty": r["wip_qty"],
        "fg_on_hand": r["fg_on_hand"], "raw_on_hand": r.get("raw_on_hand"), "source": source,
        "note": r.get("note") or "", "reported_by_id": actor.user_id, "token_id": actor.token_id, "received_at": now,
    } for r in reports]
    dialect = _dialect()
    if announce and len(rows) == 1 and not reports[0].get("plan") and dialect == "postgresql":
        return [_write_one_report(actor, rows[0])]
    copied = len(rows) >= COPY_FROM and dialect == "postgresql"
    if copied:
        ids = _copy_with_ids(_REPORTS, _REPORT_COLUMNS, rows)
    elif len(rows) == 1:
        ids = [_core().execute(_INSERT_REPORT, rows[0]).scalar_one()]
    else:
        ids = list(db.session.execute(insert(_REPORTS).returning(_REPORTS.c.id, sort_by_parameter_order=True),
                                      rows).scalars())
    plans = [{"report_id": report_id, "week_start": week, "quantity": qty}
             for report_id, r in zip(ids, reports) for week, qty in r.get("plan") or ()]
    if plans and copied:
        _copy(_PLANS, ("report_id", "week_start", "quantity"), plans)
    elif plans:
        db.session.execute(insert(_PLANS), plans)
    latest: dict[int, dict[str, Any]] = {}
    for report_id, row in zip(ids, rows):
        held = latest.get(row["item_id"])
        if held is None or (row["as_of"], report_id) > (held["as_of"], held["report_id"]):
            latest[row["item_id"]] = {**row, "report_id": report_id}
    positions = [{"item_id": item_id, "updated_at": now, **{k: row[k] for k in _POSITION_COLUMNS if k != "updated_at"}}
                 for item_id, row in latest.items()]
    if copied:
        _upsert_positions_by_arrays(positions)
    else:
        upsert_positions(positions)
    if announce:
        announce_reports(actor, relationship_id, len(ids), source, latest, ids[0])
    return ids


# A request of at least this many reports goes to PostgreSQL by COPY (below it, one INSERT costs less).
COPY_FROM = 20
_REPORT_COLUMNS = ("relationship_id", "item_id", "as_of", "good_qty", "scrap_qty", "wip_qty", "fg_on_hand",
                   "raw_on_hand", "source", "note", "reported_by_id", "token_id", "received_at")
_INSERT_REPORT = insert(_REPORTS).returning(_REPORTS.c.id)


# The audit values' types, written out: in INSERT … SELECT a parameter sent without a type (None) is not given
# the column's type by PostgreSQL.
_AUDIT_SQL_TYPES = {"at": "TIMESTAMP WITH TIME ZONE", "organisation_id": "INTEGER", "user_id": "INTEGER",
                    "token_id": "INTEGER", "action": "VARCHAR", "outcome": "VARCHAR", "object_type": "VARCHAR",
                    "object_id": "VARCHAR", "ip": "VARCHAR"}


def _one_report_statement() -> Any:
    """One statement for a single report on PostgreSQL: the report, the item's position (the conditional upsert of
    `upsert_positions`), the audit row and the outbox row, as data-modifying WITHs of the outbox INSERT, which
    returns the report's id. One round trip where there were four; the outbox listeners see an INSERT of
    outbox_event, as from `_audit_and_reconcile`."""
    cols = _REPORT_COLUMNS
    kept = ("relationship_id", "as_of", "good_qty", "scrap_qty", "wip_qty", "fg_on_hand", "raw_on_hand")
    report = (text(f"INSERT INTO production_report ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) "
                   f"RETURNING id, item_id, received_at, {', '.join(kept)}")
              .bindparams(*[bindparam(c, type_=_REPORTS.c[c].type) for c in cols])
              .columns(_REPORTS.c.id, _REPORTS.c.item_id).cte("new_report"))
    position = text(
        f"INSERT INTO item_position (item_id, report_id, updated_at, {', '.join(kept)}) "
        f"SELECT item_id, id, received_at, {', '.join(kept)} FROM new_report "
        f"ON CONFLICT (item_id) DO UPDATE SET report_id = excluded.report_id, updated_at = excluded.updated_at, "
        + ", ".join(f"{c} = excluded.{c}" for c in kept)
        + " WHERE excluded.as_of > item_position.as_of OR (excluded.as_of = item_position.as_of AND "
          "excluded.report_id > item_position.report_id)").columns().cte("new_position")
    audit_cols = ("at", "organisation_id", "user_id", "token_id", "action", "outcome", "object_type", "object_id", "ip")
    audited = (text(
        f"INSERT INTO audit_log ({', '.join(audit_cols)}, detail) "
        f"SELECT {', '.join(f'CAST(:audit_{c} AS {_AUDIT_SQL_TYPES[c]})' for c in audit_cols)}, json_build_object('reports', 1, 'source', "
        "CAST(:source AS VARCHAR), 'first_report_id', id, 'item_ids', json_build_array(item_id)) FROM new_report")
        .bindparams(*[bindparam(f"audit_{c}", type_=audit.TABLE.c[c].type) for c in audit_cols])
        .columns().cte("audit_row"))
    return (insert(_OUTBOX).values({name: bindparam(name) for name in (
        "topic", "relationship_id", "payload", "created_at", "attempts")})
        .returning(select(report.c.id).scalar_subquery()).add_cte(report).add_cte(position).add_cte(audited))


_ONE_REPORT = _one_report_statement()


def _write_one_report(actor: Actor, row: dict[str, Any]) -> int:
    """`write_reports` for one report without planned weeks, on PostgreSQL: one statement (see above)."""
    audit_row = audit.row(actor, "production.reported", object_type="supply_relationship",
                          object_id=row["relationship_id"])
    params = {**row, **{f"audit_{k}": v for k, v in audit_row.items() if k != "detail"},
              "topic": outbox.RECONCILE, "relationship_id": row["relationship_id"],
              "payload": {"item_ids": [row["item_id"]], "reason": "production_report"}, "created_at": utcnow(),
              "attempts": 0}
    report_id = db.session.execute(_ONE_REPORT, params).scalar_one()
    logger.info("relationship %s: 1 production report(s) from %s by %s", row["relationship_id"], row["source"], actor)
    return report_id



def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _core() -> Any:
    """The session's connection, for the hot paths' Core statements: the same transaction, without the ORM's
    per-statement work (about 0.1 ms a statement). Statements that write outbox rows still go through the session,
    whose execute events the outbox listens to."""
    return db.session.connection()


def _copy(table: Any, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """COPY rows into a table inside the session's transaction (PostgreSQL: psycopg's COPY FROM STDIN)."""
    raw = db.session.connection().connection.driver_connection
    names = ", ".join(columns)
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(tuple(row[name] for name in columns))


def _copy_with_ids(table: Any, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[int]:
    """COPY rows with ids drawn first from the table's own sequence (one query), so that COPY, which returns
    nothing, still gives each row its id, in the rows' order."""
    ids = sorted(db.session.execute(
        text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"),
        {"n": len(rows)}).scalars())
    _copy(table, ("id", *columns), [{"id": row_id, **row} for row_id, row in zip(ids, rows)])
    return ids


def _upsert_positions_by_arrays(rows: Sequence[dict[str, Any]]) -> None:
    """`upsert_positions` on PostgreSQL for many items: the rows go as one array per column (unnest), so the
    statement has ten parameters whatever the count, and SQLAlchemy renders and binds nothing per row."""
    if rows:
        _core().execute(_UPSERT_BY_ARRAYS, {name: [row[name] for row in rows] for name in _ARRAY_TYPES})


_ARRAY_TYPES = {"item_id": "INTEGER", "relationship_id": "INTEGER", "report_id": "BIGINT",
                "as_of": "TIMESTAMP WITH TIME ZONE", "good_qty": "NUMERIC", "scrap_qty": "NUMERIC", "wip_qty": "NUMERIC",
                "fg_on_hand": "NUMERIC", "raw_on_hand": "NUMERIC", "updated_at": "TIMESTAMP WITH TIME ZONE"}
_UPSERT_BY_ARRAYS = text(
    f"INSERT INTO item_position ({', '.join(_ARRAY_TYPES)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {sql}[])" for name, sql in _ARRAY_TYPES.items())
    + ") ON CONFLICT (item_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _POSITION_COLUMNS)
    + " WHERE excluded.as_of > item_position.as_of OR (excluded.as_of = item_position.as_of AND "
      "excluded.report_id > item_position.report_id)")


def announce_reports(actor: Actor, relationship_id: int, count: int, source: str, item_ids: Iterable[int],
                     first_report_id: int | None = None) -> None:
    """One audit row and one outbox row for a request's reports, in the caller's transaction."""
    items = sorted(set(item_ids))
    _audit_and_reconcile(actor, "production.reported", "supply_relationship", relationship_id,
                         {"reports": count, "source": source, "first_report_id": first_report_id,
                          "item_ids": items[:100]}, relationship_id, items, "production_report")
    logger.info("relationship %s: %s production report(s) from %s by %s", relationship_id, count, source, actor)


def _audit_and_reconcile(actor: Actor, action: str, object_type: str, object_id: Any, detail: dict[str, Any],
                         relationship_id: int, item_ids: Iterable[int], reason: str) -> None:
    """The audit row and the reconcile outbox row of an ingest request, inserted with Core in the caller's
    transaction (what audit.record and outbox.enqueue_reconcile add, without ORM objects and a flush). On
    PostgreSQL one statement writes both (the audit row as a data-modifying WITH of the outbox INSERT)."""
    outbox_row = {"topic": outbox.RECONCILE, "relationship_id": relationship_id,
                  "payload": {"item_ids": sorted({int(i) for i in item_ids}), "reason": reason},
                  "created_at": utcnow(), "attempts": 0}
    audit_row = audit.row(actor, action, object_type=object_type, object_id=object_id, detail=detail)
    if _dialect() == "postgresql":
        db.session.execute(_AUDITED_OUTBOX, {**outbox_row, **{f"audit_{k}": v for k, v in audit_row.items()}})
    else:
        _core().execute(_INSERT_AUDIT, audit_row)
        db.session.execute(_INSERT_OUTBOX, outbox_row)


_INSERT_AUDIT = insert(audit.TABLE)
_INSERT_OUTBOX = insert(_OUTBOX)
_AUDITED_OUTBOX = insert(_OUTBOX).values({name: bindparam(name) for name in (
    "topic", "relationship_id", "payload", "created_at", "attempts")}).add_cte(
    insert(audit.TABLE).values({name: bindparam(f"audit_{name}") for name in (
        "at", "organisation_id", "user_id", "token_id", "action", "outcome", "object_type", "object_id", "ip",
        "detail")}).cte("audit_row"))


def upsert_positions(rows: list[dict[str, Any]]) -> None:
    """Make each row the item's position unless the position already holds a later report (by as_of, then id).

    One INSERT … ON CONFLICT DO UPDATE … WHERE statement: the database decides, row by row, under its own
    lock, so concurrent writers never lose the latest report and never need to read first.
    """
    if not rows:
        return
    dialect = _dialect()
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        stmt = _UPSERTS[dialect] = _as_text(_position_upsert(
            pg_insert(_POSITIONS) if dialect == "postgresql" else sqlite_insert(_POSITIONS)), dialect, _POSITIONS)
    _core().execute(stmt, rows)


def _as_text(stmt: Any, dialect: str, table: Any) -> Any:
    """A statement SQLAlchemy cannot cache (ON CONFLICT DO UPDATE … WHERE is compiled anew on every call, about
    0.7 ms) compiled once, as text whose parameters keep their columns' types."""
    from sqlalchemy.dialects import postgresql, sqlite

    compiled = stmt.compile(dialect=postgresql.dialect(paramstyle="named") if dialect == "postgresql"
                            else sqlite.dialect(paramstyle="named"))
    return text(str(compiled)).bindparams(*[bindparam(name, type_=table.c[name].type) for name in compiled.params])


def _position_upsert(stmt: Any) -> Any:
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[_POSITIONS.c.item_id],
        set_={name: new[name] for name in _POSITION_COLUMNS},
        where=or_(new.as_of > _POSITIONS.c.as_of,
                  and_(new.as_of == _POSITIONS.c.as_of, new.report_id > _POSITIONS.c.report_id)),
    )


_UPSERTS: dict[str, Any] = {}  # the statement per dialect, built once (building it costs more than running it)


def list_reports(actor: Actor, relationship_id: int, item_id: int | None = None, limit: int = 100,
                 offset: int = 0) -> list[ProductionReport]:
    relationships.get_relationship(actor, relationship_id)
    query = (select(ProductionReport).options(selectinload(ProductionReport.plan))
             .where(ProductionReport.relationship_id == relationship_id)
             .order_by(ProductionReport.as_of.desc(), ProductionReport.id.desc()).limit(limit).offset(offset))
    if item_id is not None:
        query = query.where(ProductionReport.item_id == item_id)
    return list(db.session.scalars(query))


def count_reports(actor: Actor, relationship_id: int, item_id: int | None = None) -> int:
    relationships.get_relationship(actor, relationship_id)
    query = select(func.count()).select_from(ProductionReport).where(ProductionReport.relationship_id == relationship_id)
    if item_id is not None:
        query = query.where(ProductionReport.item_id == item_id)
    return db.session.scalar(query) or 0


def get_item(actor: Actor, relationship_id: int, item_id: int) -> Item:
    relationships.get_relationship(actor, relationship_id)
    item = db.session.scalar(select(Item).where(Item.id == item_id, Item.relationship_id == relationship_id))
    if item is None:
        raise NotFound(_("No such item in this relationship."))
    return item


def get_position(actor: Actor, relationship_id: int, item_id: int) -> dict[str, Any]:
    """The item's current position, its planned output and what machines produced since, for pages and the API."""
    item = get_item(actor, relationship_id, item_id)
    position = db.session.get(ItemPosition, item.id)
    plan = []
    if position is not None:
        plan = list(db.session.scalars(select(PlannedOutput).where(PlannedOutput.report_id == position.report_id)
                                       .order_by(PlannedOutput.week_start)))
    machine = machine_produced_since_report(relationship_id, item.id)
    supply = (position.fg_on_hand + position.wip_qty if position else Decimal("0")) + machine
    return {"item": item, "position": position, "plan": plan, "machine_produced_since_report": machine, "supply": supply}


def machine_produced_since_report(relationship_id: int, item_id: int) -> Decimal:
    """Units the item's lines counted after its position's `as_of` (all readings when it has no report). No actor:
    the coverage ledger calls it."""
    return machine_produced_since_reports(relationship_id, [item_id]).get(item_id, Decimal("0"))


def machine_produced_since_reports(relationship_id: int, item_ids: Iterable[int] | None = None) -> dict[int, Decimal]:
    """The same for many items in one GROUP BY query (all the relationship's items when None)."""
    r, p = _READINGS, _POSITIONS
    query = (select(r.c.item_id, func.sum(r.c.produced))
             .select_from(r.outerjoin(p, p.c.item_id == r.c.item_id))
             .where(r.c.relationship_id == relationship_id, or_(p.c.as_of.is_(None), r.c.read_at > p.c.as_of))
             .group_by(r.c.item_id))
    if item_ids is not None:
        ids = list(item_ids)
        if not ids:
            return {}
        query = query.where(r.c.item_id.in_(ids))
    return {item_id: Decimal(total or 0) for item_id, total in db.session.execute(query)}


def relationship_positions(actor: Actor, relationship_id: int) -> list[tuple[Item, ItemPosition | None]]:
    """Every item of the relationship with its position (one query), for the grid form."""
    relationships.get_relationship(actor, relationship_id)
    return list(db.session.execute(
        select(Item, ItemPosition).outerjoin(ItemPosition, ItemPosition.item_id == Item.id)
        .where(Item.relationship_id == relationship_id).order_by(Item.prime_part_number)).tuples())


def visible_positions(actor: Actor, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    """Positions of every item the actor's organisation sees, a page at a time, in two queries."""
    rows = db.session.execute(
        select(Item, SupplyRelationship, ItemPosition)
        .join(SupplyRelationship, SupplyRelationship.id == Item.relationship_id)
        .outerjoin(ItemPosition, ItemPosition.item_id == Item.id)
        .where(relationships._visible_to(actor))
        .options(selectinload(SupplyRelationship.prime), selectinload(SupplyRelationship.supplier))
        .order_by(SupplyRelationship.id, Item.prime_part_number).limit(limit).offset(offset)).tuples().all()
    machine: dict[int, Decimal] = {}
    if rows:
        r, p = _READINGS, _POSITIONS
        machine = {item_id: Decimal(total or 0) for item_id, total in db.session.execute(
            select(r.c.item_id, func.sum(r.c.produced)).select_from(r.outerjoin(p, p.c.item_id == r.c.item_id))
            .where(r.c.item_id.in_([item.id for item, _rel, _pos in rows]),
                   or_(p.c.as_of.is_(None), r.c.read_at > p.c.as_of)).group_by(r.c.item_id))}
    return [{"item": item, "relationship": rel, "position": pos, "machine": machine.get(item.id, Decimal("0"))}
            for item, rel, pos in rows]


def count_visible_items(actor: Actor) -> int:
    return db.session.scalar(select(func.count()).select_from(Item)
                             .join(SupplyRelationship, SupplyRelationship.id == Item.relationship_id)
                             .where(relationships._visible_to(actor))) or 0


# --- production lines --------------------------------------------------------------------------------------

def list_lines(actor: Actor, relationship_id: int, item_id: int | None = None) -> list[ProductionLine]:
    relationships.get_relationship(actor, relationship_id)
    query = (select(ProductionLine).options(selectinload(ProductionLine.item))
             .where(ProductionLine.relationship_id == relationship_id).order_by(ProductionLine.code))
    if item_id is not None:
        query = query.where(ProductionLine.item_id == item_id)
    return list(db.session.scalars(query))


def get_line(actor: Actor, relationship_id: int, line_ref: int | str) -> ProductionLine:
    """A line of the relationship by id, or by code when the reference is not all digits."""
    relationships.get_relationship(actor, relationship_id)
    query = select(ProductionLine).where(ProductionLine.relationship_id == relationship_id)
    if isinstance(line_ref, int) or line_ref.isdigit():  # codes are never all digits (see schemas.parse_line)
        query = query.where(ProductionLine.id == (line_ref if isinstance(line_ref, int) else parse_id(line_ref) or 0))
    else:
        query = query.where(ProductionLine.code == line_ref.strip().upper())
    line = db.session.scalar(query)
    if line is None:
        raise NotFound(_("No such production line in this relationship."))
    return line


def _check_line_item(relationship_id: int, values: dict[str, Any]) -> None:
    if values.get("item_id") is not None and db.session.scalar(
            select(Item.id).where(Item.id == values["item_id"], Item.relationship_id == relationship_id)) is None:
        raise ValidationFailed(_("Some fields are not valid."), fields={"item_id": _("No such item in this relationship.")})


def create_line(actor: Actor, relationship_id: int, values: dict[str, Any]) -> ProductionLine:
    rel = _writable(actor, relationship_id)
    _check_line_item(rel.id, values)
    line = ProductionLine(relationship_id=rel.id, code=values["code"], name=values.get("name") or "",
                          item_id=values["item_id"], counter_max=values.get("counter_max"),
                          active=values.get("active") if values.get("active") is not None else True)
    db.session.add(line)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(_("Some fields are not valid."),
                               fields={"code": _("A line with this code already exists.")}) from None
    audit.record(actor, "production_line.created", line, detail={"code": line.code, "item_id": line.item_id})
    outbox.enqueue_reconcile(rel.id, [line.item_id], "production_line")
    db.session.commit()
    return line


def update_line(actor: Actor, relationship_id: int, line_id: int, values: dict[str, Any],
                expected_version: int) -> ProductionLine:
    _writable(actor, relationship_id)
    line = get_line(actor, relationship_id, line_id)
    if line.version != expected_version:
        raise PreconditionFailed(_("The line changed since you read it."), current_version=line.version)
    values = {k: v for k, v in values.items() if v is not None or k == "counter_max"}
    _check_line_item(relationship_id, values)
    before_item = line.item_id
    changes = audit.apply_changes(line, values)
    if changes:
        audit.record(actor, "production_line.updated", line, detail=changes)
        # Readings keep the item they were counted for; a remapped line counts for its new item from now on.
        outbox.enqueue_reconcile(relationship_id, {before_item, line.item_id}, "production_line")
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise ValidationFailed(_("Some fields are not valid."),
                                   fields={"code": _("A line with this code already exists.")}) from None
        except StaleDataError:
            db.session.rollback()
            raise PreconditionFailed(_("The line changed since you read it.")) from None
    return line


# --- machine readings --------------------------------------------------------------------------------------

def _lock_line(line_id: int) -> None:
    """Serialise writers of one line: the merge reads neighbours, so two merges must not interleave.
    (SQLite already runs one writer at a time: its transactions begin IMMEDIATE.)"""
    if _dialect() == "postgresql":
        db.session.execute(select(ProductionLine.id).where(ProductionLine.id == line_id).with_for_update())


def _window_query():
    """Stored readings of a line from the one just before `earliest` to the one just after `latest`: one UNION ALL
    (the two neighbours as subqueries, which both databases accept inside a compound), built once."""
    r = _READINGS
    cols = (r.c.id, r.c.read_at, r.c.counter, r.c.produced, r.c.new_run)
    line = bindparam("line_id")
    before = (select(*cols).where(r.c.line_id == line, r.c.read_at < bindparam("earliest"))
              .order_by(r.c.read_at.desc()).limit(1).subquery("before"))
    inside = select(*cols).where(r.c.line_id == line, r.c.read_at >= bindparam("earliest"),
                                 r.c.read_at <= bindparam("latest"))
    after = (select(*cols).where(r.c.line_id == line, r.c.read_at > bindparam("latest"))
             .order_by(r.c.read_at).limit(1).subquery("after"))
    return union_all(select(*before.c), inside, select(*after.c))


_WINDOW = _window_query()


def _window(line_id: int, earliest: datetime, latest: datetime) -> list[counters.Stored]:
    """Stored readings from the one just before `earliest` to the one just after `latest`, in time order."""
    rows = list(_core().execute(_WINDOW, {"line_id": line_id, "earliest": earliest, "latest": latest}))
    rows.sort(key=lambda row: row.read_at)
    return [counters.Stored(read_at=row.read_at, counter=row.counter, produced=int(row.produced),
                            new_run=row.new_run, id=row.id) for row in rows]


def _line_query(by_code: bool):
    """The line of a relationship the actor sees, with the writer's facts, locked for the merge on PostgreSQL
    (FOR UPDATE OF the line: `_lock_line` folded into the read). No row: the caller finds out which 404 it is."""
    rel, line = _RELATIONSHIPS, _LINES
    org = bindparam("org")
    return (select(rel.c.supplier_id, rel.c.status, line.c.id, line.c.item_id, line.c.counter_max, line.c.active)
            .select_from(rel.join(line, line.c.relationship_id == rel.c.id))
            .where(rel.c.id == bindparam("relationship_id"), or_(rel.c.prime_id == org, rel.c.supplier_id == org),
                   (line.c.code == bindparam("ref")) if by_code else (line.c.id == bindparam("ref")))
            .with_for_update(of=line))


_LINE_BY_ID = _line_query(by_code=False)
_LINE_BY_CODE = _line_query(by_code=True)


def _writable_line(actor: Actor, relationship_id: int, line_ref: int | str) -> Any:
    """`_writable`, `get_line` and `_lock_line` in one query: the line's id, item, counter_max and active flag."""
    by_code = not (isinstance(line_ref, int) or line_ref.isdigit())  # codes are never all digits
    ref = (line_ref.strip().upper() if by_code else
           (line_ref if isinstance(line_ref, int) else parse_id(line_ref) or 0))  # type: ignore[union-attr]
    row = _core().execute(_LINE_BY_CODE if by_code else _LINE_BY_ID,
                             {"relationship_id": relationship_id, "org": actor.organisation_id, "ref": ref}).first()
    if row is None:  # no such relationship for the actor, or no such line in it: say which, as before
        db.session.rollback()
        _writable(actor, relationship_id)
        get_line(actor, relationship_id, line_ref)
        raise NotFound(_("No such production line in this relationship."))
    _refuse_writer(actor, row.supplier_id, row.status)
    return row


def record_readings(actor: Actor, relationship_id: int, line_ref: int | str,
                    readings: Sequence[tuple[datetime, int]]) -> dict[str, Any]:
    """Store a line's counter readings, turning the counter into produced units (see counters.py).

    A reading already stored with the same counter is ignored; one stored with another counter makes
    the whole request a 409 (nothing saved). Returns what was accepted and the produced units it added.
    Round trips: the line with the writer's rights (locked), the window of stored neighbours, the new readings
    (COPY on PostgreSQL for many), the recomputed steps if any, the audit and outbox rows, the commit.
    """
    line = _writable_line(actor, relationship_id, line_ref)
    if not line.active:
        raise Conflict(_("The production line is inactive: activate it to record readings."), state="inactive")
    if line.counter_max is not None:
        too_big = {f"readings[{i}].counter": _("Must be at most %(n)s.", n=line.counter_max)
                   for i, (_at, counter) in enumerate(readings) if counter > line.counter_max}
        if too_big:
            raise ValidationFailed(_("Some readings are not valid; nothing was saved."), fields=too_big)
    times = [at for at, _counter in readings]
    window = _window(line.id, min(times), max(times))
    old_steps = {s.id: s.produced for s in window}
    result = counters.merge(window, readings, line.counter_max)
    if result.conflicts:
        db.session.rollback()
        raise Conflict(_("A different counter is already recorded for this time."),
                       fields={f"readings[{i}].counter": _("Another counter is stored for this read_at.")
                               for i in result.conflicts})
    added = sum(s.produced for s in result.inserts) + sum(s.produced - old_steps[s.id] for s in result.updates)
    summary = {"line_id": line.id, "accepted": len(result.inserts), "duplicates": len(result.duplicates),
               "recomputed": len(result.updates), "produced": added}
    if not result.inserts:
        db.session.rollback()
        return summary
    now = utcnow()
    rows = [{"line_id": line.id, "relationship_id": relationship_id, "item_id": line.item_id, "read_at": s.read_at,
             "counter": s.counter, "produced": s.produced, "new_run": s.new_run, "received_at": now}
            for s in result.inserts]
    detail = {"accepted": summary["accepted"], "duplicates": summary["duplicates"],
              "recomputed": summary["recomputed"], "produced": added}
    dialect = _dialect()
    if dialect == "postgresql" and len(rows) == 1 and not result.updates:
        _write_one_reading(actor, rows[0], detail)
        db.session.commit()
        logger.info("line %s: 1 reading(s), %s produced", line.id, added)
        return summary
    if len(rows) >= COPY_FROM and dialect == "postgresql":
        _copy(_READINGS, _READING_COLUMNS, rows)
    else:
        _core().execute(_INSERT_READINGS, rows)
    if result.updates:
        db.session.execute(
            update(_READINGS).where(_READINGS.c.id == bindparam("rid"))
            .values(produced=bindparam("new_produced"), new_run=bindparam("new_new_run")),
            [{"rid": s.id, "new_produced": s.produced, "new_new_run": s.new_run} for s in result.updates])
    _audit_and_reconcile(actor, "machine_readings.recorded", "production_line", line.id, detail,
                         relationship_id, [line.item_id], "machine_reading")
    db.session.commit()
    logger.info("line %s: %s reading(s), %s produced", line.id, summary["accepted"], added)
    return summary


_INSERT_READINGS = insert(_READINGS)


def _one_reading_statement() -> Any:
    """One statement for a single new reading on PostgreSQL: the reading and the audit row as data-modifying WITHs
    of the outbox INSERT (which the outbox's listeners see as such)."""
    cols = _READING_COLUMNS
    reading = (text(f"INSERT INTO machine_reading ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})")
               .bindparams(*[bindparam(c, type_=_READINGS.c[c].type) for c in cols]).columns().cte("new_reading"))
    return _AUDITED_OUTBOX.add_cte(reading)


def _write_one_reading(actor: Actor, row: dict[str, Any], detail: dict[str, Any]) -> None:
    audit_row = audit.row(actor, "machine_readings.recorded", object_type="production_line", object_id=row["line_id"],
                          detail=detail)
    db.session.execute(_ONE_READING, {
        **row, **{f"audit_{k}": v for k, v in audit_row.items()}, "topic": outbox.RECONCILE,
        "payload": {"item_ids": [row["item_id"]], "reason": "machine_reading"}, "created_at": utcnow(), "attempts": 0})
_READING_COLUMNS = ("line_id", "relationship_id", "item_id", "read_at", "counter", "produced", "new_run",
                    "received_at")
_ONE_READING = _one_reading_statement()


def list_readings(actor: Actor, relationship_id: int, item_id: int | None = None, line_id: int | None = None,
                  limit: int = 100, offset: int = 0) -> list[MachineReading]:
    relationships.get_relationship(actor, relationship_id)
    query = (select(MachineReading).where(MachineReading.relationship_id == relationship_id)
             .order_by(MachineReading.read_at.desc(), MachineReading.id.desc()).limit(limit).offset(offset))
    if item_id is not None:
        query = query.where(MachineReading.item_id == item_id)
    if line_id is not None:
        query = query.where(MachineReading.line_id == line_id)
    return list(db.session.scalars(query))


def line_codes(line_ids: Iterable[int]) -> dict[int, str]:
    ids = set(line_ids)
    if not ids:
        return {}
    # Not dict(result): a Result has keys(), so dict() would read it as a mapping of column names.
    return {line_id: code for line_id, code in
            db.session.execute(select(ProductionLine.id, ProductionLine.code).where(ProductionLine.id.in_(ids)))}


# --- the machine feed: output per day ----------------------------------------------------------------------

FEED_DAYS = 14


def daily_output(actor: Actor, relationship_id: int, days: int = FEED_DAYS,
                 now: datetime | None = None) -> tuple[list[date], dict[tuple[date, int], Decimal]]:
    """What the relationship's lines produced on each of the last `days` business days (today included), by line:
    ({(day, line_id): units}), in one grouped query.

    A day is a business day in the business time zone (Asia/Seoul): its bounds are computed here, so the query
    compares plain timestamps (a CASE over the day boundaries) and reads the same on every database.
    """
    relationships.get_relationship(actor, relationship_id)
    zone = business_zone()
    today = (now or utcnow()).astimezone(zone).date()
    day_list = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    bounds = [datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(timezone.utc)
              for d in [*day_list, today + timedelta(days=1)]]
    r = _READINGS
    bucket = case(*[(r.c.read_at < bounds[n + 1], literal_column(str(n))) for n in range(days)],
                  else_=literal_column(str(days)))
    steps = (select(bucket.label("bucket"), r.c.line_id, r.c.produced)
             .where(r.c.relationship_id == relationship_id, r.c.read_at >= bounds[0], r.c.read_at < bounds[-1])
             .subquery())
    rows = db.session.execute(select(steps.c.bucket, steps.c.line_id, func.sum(steps.c.produced))
                              .group_by(steps.c.bucket, steps.c.line_id))
    output: dict[tuple[date, int], Decimal] = {}
    for index, line_id, total in rows:
        if 0 <= index < days:
            output[(day_list[index], line_id)] = Decimal(total or 0)
    return day_list, output
