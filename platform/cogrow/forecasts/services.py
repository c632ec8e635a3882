"""Forecast use cases: publish version N+1 with zoned buckets, grant authorizations, commit to buckets.

Horizon rule (what "at least 26 weeks" means): every item in a publication must have a bucket in the
week MIN_HORIZON_WEEKS - 1 weeks after the current week or later (its forecast *reaches* the horizon);
weeks it leaves out in between count as 0 and are not stored. No bucket may lie in a past week, nor
more than MAX_HORIZON_WEEKS weeks ahead. Zones are counted from the current week (the publication's
`base_week`) with the relationship's fences at that moment, and are never recomputed.

Authorization periods: a period is (item, kind, cum_start_date). Within the latest period a grant may
only equal or raise the maximum granted so far; a later start date opens a new period; an earlier start
date than the latest period's is refused.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from cogrow.catalog.models import Item
from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from cogrow.core.outbox import enqueue_reconcile
from cogrow.core.types import utcnow
from cogrow.core.weeks import current_week, iso_label, local_today, zone_for
from cogrow.extensions import db
from cogrow.forecasts import tasks  # queues the notice e-mails (importing it registers the task)
from cogrow.forecasts.models import (AUTHORIZATION_KINDS, MIN_HORIZON_WEEKS, Authorization, ForecastBucket,
                                     ForecastCommit, ForecastCut, ForecastPublication)
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.forecasts")

REASON_CODES = ("CAPACITY", "MATERIAL", "TOOLING", "QUALITY", "OTHER")
# What each reason code means, in the user's language (the code itself stays the stored and exported value).
REASON_LABELS = {"CAPACITY": _l("Capacity"), "MATERIAL": _l("Material shortage"), "TOOLING": _l("Tooling"),
                 "QUALITY": _l("Quality"), "OTHER": _l("Other reason")}


def reason_label(code: str | None) -> str:
    return str(REASON_LABELS.get(code, code or "")) if code else ""
MAX_HORIZON_WEEKS = 104
INSERT_CHUNK = 10_000
_MAX_QUANTITY = Decimal("1e14")
_VERSION_RETRIES = 5
PLANNER_ROLES = ("admin", "planner")
COMMIT_ROLES = ("admin", "production")


# ---------------------------------------------------------------- access

def _prime_writer(actor: Actor, relationship_id: int) -> SupplyRelationship:
    rel = relationships.get_relationship(actor, relationship_id)
    if actor.organisation_id != rel.prime_id or actor.role not in PLANNER_ROLES:
        raise Forbidden("Only the prime's planners publish forecasts and grant authorizations.")
    if rel.status == "suspended":
        raise Conflict("The relationship is suspended.", state=rel.status)
    return rel


def _supplier_writer(actor: Actor, relationship_id: int) -> SupplyRelationship:
    rel = relationships.get_relationship(actor, relationship_id)
    if actor.organisation_id != rel.supplier_id or actor.role not in COMMIT_ROLES:
        raise Forbidden("Only the supplier's production users commit to a forecast.")
    if rel.status == "suspended":
        raise Conflict("The relationship is suspended.", state=rel.status)
    return rel


def item_ids_of(relationship_id: int) -> set[int]:
    return set(db.session.scalars(select(Item.id).where(Item.relationship_id == relationship_id)))


def part_numbers_of(relationship_id: int) -> dict[str, int]:
    """Prime part number -> item id, for files and JSON that name items by part number."""
    rows = db.session.execute(select(Item.prime_part_number, Item.id).where(Item.relationship_id == relationship_id))
    return {part: item_id for part, item_id in rows}


# ---------------------------------------------------------------- reading

def list_publications(actor: Actor, relationship_id: int, limit: int = 100, offset: int = 0) -> list[ForecastPublication]:
    relationships.get_relationship(actor, relationship_id)
    return list(db.session.scalars(
        select(ForecastPublication).where(ForecastPublication.relationship_id == relationship_id)
        .order_by(ForecastPublication.version_no.desc()).limit(limit).offset(offset)))


def latest_of(relationship_id: int) -> ForecastPublication | None:
    return db.session.scalar(select(ForecastPublication).where(ForecastPublication.relationship_id == relationship_id)
                             .order_by(ForecastPublication.version_no.desc()).limit(1))


def latest_publication(actor: Actor, relationship_id: int) -> ForecastPublication | None:
    relationships.get_relationship(actor, relationship_id)
    return latest_of(relationship_id)


def get_publication(actor: Actor, relationship_id: int, version_no: int) -> ForecastPublication:
    relationships.get_relationship(actor, relationship_id)
    pub = db.session.scalar(select(ForecastPublication).where(
        ForecastPublication.relationship_id == relationship_id, ForecastPublication.version_no == version_no))
    if pub is None:
        raise NotFound("No such forecast version in this relationship.")
    return pub


def latest_by_relationship(actor: Actor) -> list[tuple[SupplyRelationship, ForecastPublication | None]]:
    """Every relationship the actor sees, with its latest publication: two queries, whatever the size."""
    rels = relationships.list_relationships(actor)
    if not rels:
        return []
    latest_no = (select(ForecastPublication.relationship_id, func.max(ForecastPublication.version_no).label("v"))
                 .where(ForecastPublication.relationship_id.in_([r.id for r in rels]))
                 .group_by(ForecastPublication.relationship_id).subquery())
    pubs = db.session.scalars(select(ForecastPublication).join(
        latest_no, (ForecastPublication.relationship_id == latest_no.c.relationship_id)
        & (ForecastPublication.version_no == latest_no.c.v)))
    by_rel = {p.relationship_id: p for p in pubs}
    return [(r, by_rel.get(r.id)) for r in rels]


@dataclass
class GridCell:
    bucket_id: int
    quantity: Decimal
    zone: str
    commit_qty: Decimal | None = None
    reason_code: str | None = None
    comment: str = ""


@dataclass
class GridRow:
    item_id: int
    part_number: str
    description: str
    cells: dict[date, GridCell]

    @property
    def total(self) -> Decimal:
        return sum((c.quantity for c in self.cells.values()), Decimal("0"))


@dataclass
class Grid:
    publication: ForecastPublication
    weeks: list[date]
    rows: list[GridRow]
    item_count: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.item_count // self.per_page))


def publication_grid(actor: Actor, relationship_id: int, pub: ForecastPublication, page: int = 1,
                     max_cells: int = 400) -> Grid:
    """A page of items (rows) by weeks (columns) with zones and the supplier's commits: four queries.

    A page holds about `max_cells` buckets, so that the supplier's commit form (two fields a bucket) stays
    under the server's limit on form fields whatever the horizon.
    """
    relationships.get_relationship(actor, relationship_id)
    items_q = (select(Item.id, Item.prime_part_number, Item.description)
               .where(Item.id.in_(select(ForecastBucket.item_id).where(ForecastBucket.publication_id == pub.id)))
               .order_by(Item.prime_part_number))
    item_count = db.session.scalar(select(func.count()).select_from(items_q.subquery())) or 0
    weeks_per_item = -(-pub.bucket_count // item_count) if item_count else 1
    per_page = max(1, max_cells // max(1, weeks_per_item))
    items = db.session.execute(items_q.limit(per_page).offset((page - 1) * per_page)).all()
    rows = {i.id: GridRow(i.id, i.prime_part_number, i.description, {}) for i in items}
    weeks: set[date] = set()
    if rows:
        buckets = db.session.execute(
            select(ForecastBucket.id, ForecastBucket.item_id, ForecastBucket.week_start, ForecastBucket.quantity,
                   ForecastBucket.zone, ForecastCommit.quantity, ForecastCommit.reason_code, ForecastCommit.comment)
            .outerjoin(ForecastCommit, ForecastCommit.bucket_id == ForecastBucket.id)
            .where(ForecastBucket.publication_id == pub.id, ForecastBucket.item_id.in_(list(rows))))
        for bucket_id, item_id, week, qty, zone, c_qty, c_reason, c_comment in buckets:
            rows[item_id].cells[week] = GridCell(bucket_id, qty, zone, c_qty, c_reason, c_comment or "")
            weeks.add(week)
    return Grid(pub, sorted(weeks), list(rows.values()), item_count, per_page)


def publication_buckets(actor: Actor, relationship_id: int, pub: ForecastPublication, limit: int | None = None,
                        offset: int = 0, item_id: int | None = None) -> list[Any]:
    """Buckets of a publication as rows (id, item_id, part number, week, quantity, zone, commit...)."""
    relationships.get_relationship(actor, relationship_id)
    query = (select(ForecastBucket.id, ForecastBucket.item_id, Item.prime_part_number, ForecastBucket.week_start,
                    ForecastBucket.quantity, ForecastBucket.zone, ForecastCommit.quantity.label("commit_qty"),
                    ForecastCommit.reason_code, ForecastCommit.comment)
             .join(Item, Item.id == ForecastBucket.item_id)
             .outerjoin(ForecastCommit, ForecastCommit.bucket_id == ForecastBucket.id)
             .where(ForecastBucket.publication_id == pub.id)
             .order_by(Item.prime_part_number, ForecastBucket.week_start))
    if item_id is not None:
        query = query.where(ForecastBucket.item_id == item_id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return db.session.execute(query).all()


def list_commits(actor: Actor, relationship_id: int, pub: ForecastPublication, limit: int | None = None,
                 offset: int = 0) -> list[Any]:
    relationships.get_relationship(actor, relationship_id)
    query = (select(ForecastCommit.id, ForecastCommit.bucket_id, ForecastCommit.item_id, Item.prime_part_number,
                    ForecastCommit.week_start, ForecastBucket.quantity.label("forecast_qty"), ForecastCommit.quantity,
                    ForecastCommit.reason_code, ForecastCommit.comment, ForecastCommit.committed_at)
             .join(ForecastBucket, ForecastBucket.id == ForecastCommit.bucket_id)
             .join(Item, Item.id == ForecastCommit.item_id)
             .where(ForecastCommit.publication_id == pub.id)
             .order_by(Item.prime_part_number, ForecastCommit.week_start))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return db.session.execute(query).all()


@dataclass
class Waterfall:
    versions: list[ForecastPublication]          # newest first
    rows: list[dict[str, Any]]                   # item, week, by_version {version_no: qty}, zone, commit
    item_count: int


def waterfall(actor: Actor, relationship_id: int, depth: int = 6, limit: int | None = 10, offset: int = 0) -> Waterfall:
    """The same weeks as forecast by the last `depth` versions, per item, with commits on the latest: 4 queries."""
    relationships.get_relationship(actor, relationship_id)
    versions = list(db.session.scalars(
        select(ForecastPublication).where(ForecastPublication.relationship_id == relationship_id)
        .order_by(ForecastPublication.version_no.desc()).limit(depth)))
    if not versions:
        return Waterfall([], [], 0)
    pub_ids = [v.id for v in versions]
    by_pub = {v.id: v.version_no for v in versions}
    items_q = (select(Item.id, Item.prime_part_number)
               .where(Item.id.in_(select(ForecastBucket.item_id).where(ForecastBucket.publication_id.in_(pub_ids))))
               .order_by(Item.prime_part_number))
    item_count = db.session.scalar(select(func.count()).select_from(items_q.subquery())) or 0
    if limit is not None:
        items_q = items_q.limit(limit).offset(offset)
    items = dict(db.session.execute(items_q).all())
    if not items:
        return Waterfall(versions, [], item_count)
    latest_id = versions[0].id
    cells: dict[tuple[int, date], dict[str, Any]] = {}
    rows = db.session.execute(
        select(ForecastBucket.publication_id, ForecastBucket.item_id, ForecastBucket.week_start,
               ForecastBucket.quantity, ForecastBucket.zone, ForecastCommit.quantity, ForecastCommit.reason_code)
        .outerjoin(ForecastCommit, ForecastCommit.bucket_id == ForecastBucket.id)
        .where(ForecastBucket.publication_id.in_(pub_ids), ForecastBucket.item_id.in_(list(items))))
    for pub_id, item_id, week, qty, zone, c_qty, c_reason in rows:
        cell = cells.setdefault((item_id, week), {"item_id": item_id, "part_number": items[item_id], "week": week,
                                                   "by_version": {}, "zone": None, "commit_qty": None,
                                                   "reason_code": None})
        cell["by_version"][by_pub[pub_id]] = qty
        if pub_id == latest_id:
            cell.update(zone=zone, commit_qty=c_qty, reason_code=c_reason)
    out = sorted(cells.values(), key=lambda c: (c["part_number"], c["week"]))
    for cell in out:
        latest_qty = cell["by_version"].get(versions[0].version_no)
        previous = cell["by_version"].get(versions[1].version_no) if len(versions) > 1 else None
        cell["change"] = None if latest_qty is None or previous is None else latest_qty - previous
    return Waterfall(versions, out, item_count)


# ---------------------------------------------------------------- publishing

def horizon_end(base_week: date) -> date:
    """The week every item's forecast must reach: the 26th week counting the current one."""
    return base_week + timedelta(weeks=MIN_HORIZON_WEEKS - 1)


def check_buckets(item_ids: set[int], buckets: Sequence[tuple[int, date, Decimal]], base_week: date,
                  ) -> list[tuple[int, str, str]]:
    """Every business error in `buckets` as (index, field, message); field is item_id, week or quantity.

    A file of 100,000 buckets holds a few dozen weeks and quantities: each distinct week and quantity object is
    judged once (the verdicts are the same as judging every entry), the per-entry work is the duplicate check
    and the horizon reach.
    """
    errors: list[tuple[int, str, str]] = []
    last = base_week + timedelta(weeks=MAX_HORIZON_WEEKS)
    seen: set[tuple[int, date]] = set()
    reach: dict[int, tuple[date, int]] = {}  # item -> (latest week, index of that entry)
    week_verdicts: dict[date, tuple[bool, str] | None] = {}
    quantity_verdicts: dict[int, bool] = {}  # id(quantity) -> valid; `pinned` keeps those ids from being reused
    pinned: list[Any] = []
    quantity_message: str | None = None
    for index, (item_id, week, quantity) in enumerate(buckets):
        if item_id not in item_ids:
            errors.append((index, "item_id", _("No such item in this relationship.")))
            continue
        if type(week) is date:
            if week in week_verdicts:
                verdict = week_verdicts[week]
            else:
                verdict = week_verdicts[week] = _week_verdict(week, base_week, last)
        else:
            verdict = _week_verdict(week, base_week, last)
        bad = False
        if verdict is not None:
            skip, message = verdict
            errors.append((index, "week", message))
            if skip:
                continue
            bad = True
        valid = quantity_verdicts.get(id(quantity))
        if valid is None:
            valid = quantity_verdicts[id(quantity)] = _valid_quantity(quantity)
            pinned.append(quantity)
        if not valid:
            if quantity_message is None:
                quantity_message = _("Must be a number from 0, with at most 4 decimal places.")
            errors.append((index, "quantity", quantity_message))
            bad = True
        key = (item_id, week)
        if key in seen:
            errors.append((index, "week", _("This item and week already appear in an earlier entry.")))
            continue
        seen.add(key)
        if not bad:
            known = reach.get(item_id)
            if known is None or week > known[0]:
                reach[item_id] = (week, index)
    end = horizon_end(base_week)
    for item_id, (week, index) in reach.items():
        if week < end:
            errors.append((index, "week", _(
                "This item's forecast ends in %(week)s; it must reach %(end)s (%(n)s weeks from the current week).",
                week=iso_label(week), end=iso_label(end), n=MIN_HORIZON_WEEKS)))
    errors.sort(key=lambda e: e[0])
    return errors


def _week_verdict(week: Any, base_week: date, last: date) -> tuple[bool, str] | None:
    """None for a week a bucket may take; else (whether the entry is skipped, the message)."""
    if not isinstance(week, date) or week.weekday() != 0:
        return True, _("Must be the Monday that starts an ISO week.")
    if week < base_week:
        return False, _("%(week)s is in the past: the current week is %(current)s.", week=iso_label(week),
                        current=iso_label(base_week))
    if week > last:
        return False, _("%(week)s is more than %(n)s weeks ahead.", week=iso_label(week), n=MAX_HORIZON_WEEKS)
    return None


def _valid_quantity(quantity: Any) -> bool:
    return (isinstance(quantity, Decimal) and quantity.is_finite() and 0 <= quantity < _MAX_QUANTITY
            and quantity.as_tuple().exponent >= -4)  # type: ignore[operator]


def _next_version_no(relationship_id: int) -> int:
    current = db.session.scalar(select(func.max(ForecastPublication.version_no))
                                .where(ForecastPublication.relationship_id == relationship_id))
    return (current or 0) + 1


def _insert_publication(actor: Actor, rel: SupplyRelationship, base: date, note: str, count: int) -> ForecastPublication:
    """Version N+1 under the unique (relationship, version_no): a racing publisher makes us retry with N+2."""
    for _attempt in range(_VERSION_RETRIES):
        pub = ForecastPublication(relationship_id=rel.id, version_no=_next_version_no(rel.id), base_week=base,
                                  firm_fence_weeks=rel.firm_fence_weeks, material_fence_weeks=rel.material_fence_weeks,
                                  note=note, bucket_count=count, published_by_id=actor.user_id)
        try:
            with db.session.begin_nested():
                db.session.add(pub)
            return pub
        except IntegrityError:
            logger.info("relationship %s: version %s taken by a concurrent publish, retrying", rel.id, pub.version_no)
    raise Conflict("Another forecast was being published at the same time. Try again.")


def _bulk_insert(table: Any, columns: Sequence[str], rows: Iterable[tuple[Any, ...]], total: int,
                 progress: Callable[[int, int], None] | None, sqlite_ready: bool = False) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL, Core executemany in chunks elsewhere.

    No ORM objects and no per-row statements; on PostgreSQL, psycopg's executemany still sends one INSERT per
    row, which COPY beats by an order of magnitude for 100,000 buckets. `sqlite_ready`: the rows already hold
    SQLite's values (text for decimals and dates), so they are not converted one value at a time here.
    """
    connection = db.session.connection()
    done = 0
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        copy_sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
                done += 1
                if progress is not None and done % INSERT_CHUNK == 0:
                    progress(done, total)
    elif connection.dialect.name == "sqlite":
        # The driver's own executemany: SQLAlchemy's per-row bind processing costs more than the insert here.
        # SQLite has no decimal type; a Decimal goes in as its exact text and the NUMERIC column converts it.
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _c in columns)})"
        chunk_rows: list[tuple[Any, ...]] = []
        for row in rows:
            chunk_rows.append(row if sqlite_ready else tuple(_sqlite_value(v) for v in row))
            if len(chunk_rows) == INSERT_CHUNK:
                connection.exec_driver_sql(sql, chunk_rows)
                done += len(chunk_rows)
                chunk_rows = []
                if progress is not None:
                    progress(done, total)
        if chunk_rows:
            connection.exec_driver_sql(sql, chunk_rows)
            done += len(chunk_rows)
    else:
        statement = insert(table)
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(dict(zip(columns, row)))
            if len(chunk) == INSERT_CHUNK:
                connection.execute(statement, chunk)
                done += len(chunk)
                chunk = []
                if progress is not None:
                    progress(done, total)
        if chunk:
            connection.execute(statement, chunk)
            done += len(chunk)
    if progress is not None and (done % INSERT_CHUNK or not done):
        progress(done, total)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass
class Cut:
    """A firm-zone cell of the latest version that a new version lowers (a cell it leaves out counts as 0)."""

    item_id: int
    part_number: str
    week: date
    previous: Decimal
    new: Decimal
    unit_price: Decimal
    currency: str

    @property
    def units(self) -> Decimal:
        return self.previous - self.new

    @property
    def amount(self) -> Decimal:
        return self.units * self.unit_price


def firm_cuts(relationship_id: int, buckets: Sequence[tuple[int, date, Decimal]],
              previous: ForecastPublication | None = None, base: date | None = None) -> list[Cut]:
    """Every firm-zone cell of the latest version (from the current week on) that `buckets` would lower.

    Two queries whatever the size: the previous version's firm buckets (items x firm weeks) with their items'
    prices; the new buckets are matched in memory.
    """
    previous = previous if previous is not None else latest_of(relationship_id)
    if previous is None:
        return []
    base = base or current_week()
    firm = db.session.execute(
        select(ForecastBucket.item_id, ForecastBucket.week_start, ForecastBucket.quantity, Item.prime_part_number,
               Item.unit_price, Item.currency)
        .join(Item, Item.id == ForecastBucket.item_id)
        .where(ForecastBucket.publication_id == previous.id, ForecastBucket.zone == "firm",
               ForecastBucket.week_start >= base, ForecastBucket.quantity > 0)).all()
    if not firm:
        return []
    wanted = {(item_id, week) for item_id, week, *_rest in firm}
    new = {(item_id, week): qty for item_id, week, qty in buckets if (item_id, week) in wanted}
    cuts = []
    for item_id, week, qty, part, price, currency in firm:
        now = new.get((item_id, week), Decimal(0))
        if now is not None and now < qty:
            cuts.append(Cut(item_id, part, week, qty, now, price or Decimal(0), currency or "KRW"))
    cuts.sort(key=lambda c: (c.part_number, c.week))
    return cuts


def clean_reason(reason: Any) -> str:
    """A cut reason as stored: text, trimmed; control characters and length are the caller's 422."""
    return reason.strip() if isinstance(reason, str) else ""


def check_cut_reason(cuts: Sequence[Cut], reason: str) -> dict[str, str]:
    """The `reason` field's error, if any: required when the version cuts firm-zone quantities."""
    if len(reason) > 500:
        return {"reason": _("At most %(n)s characters.", n=500)}
    if cuts and not reason:
        return {"reason": _("This version cuts %(n)s firm-zone quantities: give a reason for the supplier.",
                            n=len(cuts))}
    return {}


def publish(actor: Actor, relationship_id: int, buckets: Sequence[tuple[int, date, Decimal]], note: str = "",
            progress: Callable[[int, int], None] | None = None, commit: bool = True,
            checked: bool = False, reason: str | None = None) -> ForecastPublication:
    """Publish version N+1: zones fixed now from the relationship's fences, buckets bulk-inserted, outbox row.

    A version that lowers firm-zone quantities of the latest one needs a `reason` (422 naming `reason`,
    nothing written); its cuts are stored and the supplier's people get a notice and an e-mail.

    :param checked: the caller ran `check_buckets` on these buckets in this same transaction (the importer's
        validate step does, just before it applies), so it need not run a third time.
    """
    from cogrow.forecasts import notify

    rel = _prime_writer(actor, relationship_id)
    note = (note or "").strip()
    reason = clean_reason(reason)
    if len(note) > 500:
        raise ValidationFailed("The note is too long.", fields={"note": _("At most %(n)s characters.", n=500)})
    if not buckets:
        raise ValidationFailed("A forecast needs at least one bucket.",
                               fields={"buckets": _("Give at least one bucket.")})
    base = current_week()
    errors = [] if checked else check_buckets(item_ids_of(rel.id), buckets, base)
    if errors:
        raise ValidationFailed(_("%(n)s forecast entries are not valid.", n=len({e[0] for e in errors})),
                               fields={f"buckets[{i}].{field}": message for i, field, message in reversed(errors)})
    previous = latest_of(rel.id)
    cuts = firm_cuts(rel.id, buckets, previous, base)
    reason_error = check_cut_reason(cuts, reason)
    if reason_error:
        raise ValidationFailed(reason_error["reason"], fields=reason_error)
    pub = _insert_publication(actor, rel, base, note, len(buckets))
    pub.cut_reason = reason or None
    pub.firm_cuts = len(cuts)
    firm, material = rel.firm_fence_weeks, rel.material_fence_weeks
    item_ids: set[int] = set()
    pub_id, rel_id = pub.id, rel.id
    # On SQLite the rows go to the driver as text (see _bulk_insert): a version repeats a few dozen weeks and
    # quantities, so each distinct week and quantity object is converted once, not once per bucket.
    sqlite = db.session.connection().dialect.name == "sqlite"
    weeks: dict[date, tuple[Any, str]] = {}  # week -> (the week as stored, its zone)
    quantities: dict[int, Any] = {}  # id(quantity) -> its text; `pinned` keeps those ids from being reused
    pinned: list[Decimal] = []

    def rows() -> Iterable[tuple[Any, ...]]:
        for item_id, week, quantity in buckets:
            stored = weeks.get(week)
            if stored is None:
                zone = zone_for((week - base).days // 7, firm, material)
                stored = weeks[week] = (week.isoformat() if sqlite else week, zone)
            if sqlite:
                text = quantities.get(id(quantity))
                if text is None:
                    text = quantities[id(quantity)] = _sqlite_value(quantity)
                    pinned.append(quantity)
                quantity = text
            item_ids.add(item_id)
            yield pub_id, rel_id, item_id, stored[0], quantity, stored[1]

    _bulk_insert(ForecastBucket.__table__, ("publication_id", "relationship_id", "item_id", "week_start", "quantity",
                                            "zone"), rows(), len(buckets), progress, sqlite_ready=sqlite)
    total = len(buckets)
    if previous is not None:
        # An item the new version leaves out changes its ledger too.
        item_ids.update(db.session.scalars(select(ForecastBucket.item_id).distinct()
                                           .where(ForecastBucket.publication_id == previous.id)))
    if cuts:
        db.session.execute(insert(ForecastCut.__table__), [
            {"publication_id": pub_id, "relationship_id": rel_id, "item_id": c.item_id, "week_start": c.week,
             "previous_qty": c.previous, "new_qty": c.new, "amount": c.amount} for c in cuts])
        notify.firm_cuts(rel, pub, previous, cuts)
    audit.record(actor, "forecast.published", pub, detail={
        "version_no": pub.version_no, "buckets": total, "items": len(item_ids), "base_week": base.isoformat(),
        "firm_fence_weeks": firm, "material_fence_weeks": material, "firm_cuts": len(cuts),
        "cut_reason": reason or None})
    enqueue_reconcile(rel.id, item_ids, "forecast.published")
    from cogrow.reliability.tasks import refresh_after_commit  # queued once this version is committed
    refresh_after_commit(rel.id)
    from cogrow.edi import auto as edi_auto  # the prime's 830 / DELFOR by webhook, when its EDI partner sends by itself
    edi_auto.queue("forecast", rel.id, pub.id)
    if commit:
        db.session.commit()
        if cuts:
            tasks.send_pending()
    logger.info("relationship %s: forecast version %s published by %s (%s buckets, %s firm cuts)", rel.id,
                pub.version_no, actor, total, len(cuts))
    return pub


def cuts_of(pub: ForecastPublication) -> list[Any]:
    """The stored firm-zone cuts of a version, with part numbers: one query."""
    return db.session.execute(
        select(ForecastCut.item_id, Item.prime_part_number, ForecastCut.week_start, ForecastCut.previous_qty,
               ForecastCut.new_qty, ForecastCut.amount)
        .join(Item, Item.id == ForecastCut.item_id)
        .where(ForecastCut.publication_id == pub.id)
        .order_by(Item.prime_part_number, ForecastCut.week_start)).all()


def changes_against_previous(pub: ForecastPublication, item_ids: Iterable[int] | None = None
                             ) -> dict[tuple[int, date], Decimal | None]:
    """(item, week) -> the previous version's quantity, for every cell of `pub` that differs from it (None when
    the previous version had no such cell). Empty for a first version. One query, whatever the version.
    """
    previous_id = (select(ForecastPublication.id).where(
        ForecastPublication.relationship_id == pub.relationship_id,
        ForecastPublication.version_no < pub.version_no)
        .order_by(ForecastPublication.version_no.desc()).limit(1).scalar_subquery())
    new_b = ForecastBucket.__table__.alias("new_b")
    old_b = ForecastBucket.__table__.alias("old_b")
    query = (select(new_b.c.item_id, new_b.c.week_start, old_b.c.quantity)
             .select_from(new_b.outerjoin(old_b, (old_b.c.publication_id == previous_id)
                                          & (old_b.c.item_id == new_b.c.item_id)
                                          & (old_b.c.week_start == new_b.c.week_start)))
             .where(new_b.c.publication_id == pub.id, previous_id.is_not(None),
                    (old_b.c.quantity.is_(None)) | (old_b.c.quantity != new_b.c.quantity)))
    if item_ids is not None:
        query = query.where(new_b.c.item_id.in_(list(item_ids)))
    return {(item_id, week): qty for item_id, week, qty in db.session.execute(query)}


# ---------------------------------------------------------------- authorizations

@dataclass
class AuthorizationSummary:
    item_id: int
    part_number: str
    kind: str
    cum_start_date: date
    maximum: Decimal
    grants: int


def authorization_maxima(relationship_id: int, item_ids: Iterable[int] | None = None
                         ) -> dict[tuple[int, str], tuple[date, Decimal]]:
    """(item, kind) -> (latest period start, maximum granted in it)."""
    query = (select(Authorization.item_id, Authorization.kind, Authorization.cum_start_date,
                    func.max(Authorization.quantity))
             .where(Authorization.relationship_id == relationship_id)
             .group_by(Authorization.item_id, Authorization.kind, Authorization.cum_start_date))
    if item_ids is not None:
        query = query.where(Authorization.item_id.in_(list(item_ids)))
    out: dict[tuple[int, str], tuple[date, Decimal]] = {}
    for item_id, kind, start, maximum in db.session.execute(query):
        key = (item_id, kind)
        if key not in out or start > out[key][0]:
            out[key] = (start, maximum)
    return out


def default_period_start(relationship_id: int) -> date:
    """The start date the grant form proposes: the relationship's current period (the latest start date on or
    before today), so that the default is never refused; the first day of this year when nothing was granted."""
    today = local_today()
    latest = db.session.scalar(select(func.max(Authorization.cum_start_date)).where(
        Authorization.relationship_id == relationship_id, Authorization.cum_start_date <= today))
    return latest or today.replace(month=1, day=1)


def list_authorization_summary(actor: Actor, relationship_id: int) -> list[AuthorizationSummary]:
    """The current period and authorized maximum of every (item, kind): one GROUP BY query."""
    relationships.get_relationship(actor, relationship_id)
    query = (select(Authorization.item_id, Item.prime_part_number, Authorization.kind, Authorization.cum_start_date,
                    func.max(Authorization.quantity), func.count())
             .join(Item, Item.id == Authorization.item_id)
             .where(Authorization.relationship_id == relationship_id)
             .group_by(Authorization.item_id, Item.prime_part_number, Authorization.kind, Authorization.cum_start_date))
    latest: dict[tuple[int, str], AuthorizationSummary] = {}
    for item_id, part, kind, start, maximum, count in db.session.execute(query):
        key = (item_id, kind)
        if key not in latest or start > latest[key].cum_start_date:
            latest[key] = AuthorizationSummary(item_id, part, kind, start, maximum, count)
    return sorted(latest.values(), key=lambda s: (s.part_number, s.kind))


def list_authorizations(actor: Actor, relationship_id: int, limit: int | None = 200, offset: int = 0) -> list[Any]:
    """Every grant, newest first."""
    relationships.get_relationship(actor, relationship_id)
    query = (select(Authorization.id, Authorization.item_id, Item.prime_part_number, Authorization.kind,
                    Authorization.cum_start_date, Authorization.quantity, Authorization.granted_at)
             .join(Item, Item.id == Authorization.item_id)
             .where(Authorization.relationship_id == relationship_id)
             .order_by(Authorization.id.desc()))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return db.session.execute(query).all()


def check_grants(relationship_id: int, item_ids: set[int], grants: Sequence[tuple[int, str, date, Decimal]],
                 today: date) -> list[tuple[int, str, str]]:
    """Every error of a set of grants as (index, field, message), high-water marks included."""
    errors: list[tuple[int, str, str]] = []
    maxima = authorization_maxima(relationship_id, [g[0] for g in grants if g[0] in item_ids])
    seen: dict[tuple[int, str, date], int] = {}
    for index, (item_id, kind, start, quantity) in enumerate(grants):
        if item_id not in item_ids:
            errors.append((index, "item_id", _("No such item in this relationship.")))
            continue
        if kind not in AUTHORIZATION_KINDS:
            errors.append((index, "kind", _("Must be one of: %(choices)s.", choices=", ".join(AUTHORIZATION_KINDS))))
            continue
        if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity < 0 or quantity >= _MAX_QUANTITY \
                or quantity.as_tuple().exponent < -4:  # type: ignore[operator]
            errors.append((index, "quantity", _("Must be a number from 0, with at most 4 decimal places.")))
            continue
        if start > today:
            errors.append((index, "cum_start_date", _("A cumulative period cannot start in the future.")))
            continue
        key = (item_id, kind, start)
        if key in seen:
            errors.append((index, "item_id", _("This item, kind and start date already appear in an earlier entry.")))
            continue
        seen[key] = index
        current = maxima.get((item_id, kind))
        if current is None:
            continue
        period_start, maximum = current
        if start < period_start:
            errors.append((index, "cum_start_date", _(
                "The current period started on %(start)s; only a later start date opens a new period.",
                start=period_start.isoformat())))
        elif start == period_start and quantity < maximum:
            errors.append((index, "quantity", _(
                "Authorizations never decrease within their period: the current maximum is %(max)s.",
                max=_fmt(maximum))))
    return errors


def _fmt(value: Decimal) -> str:
    from cogrow.core.fields import decimal_text

    return decimal_text(value) or "0"


def grant_authorizations(actor: Actor, relationship_id: int, grants: Sequence[tuple[int, str, date, Decimal]],
                         commit: bool = True) -> list[Authorization]:
    """Grant several (item, kind, cum start date, quantity) at once, all or nothing."""
    rel = _prime_writer(actor, relationship_id)
    if not grants:
        raise ValidationFailed("Nothing to grant.", fields={"grants": _("Give at least one authorization.")})
    errors = check_grants(rel.id, item_ids_of(rel.id), grants, local_today())
    if errors:
        if len(grants) == 1:
            fields = {field: message for _i, field, message in errors}
        else:
            fields = {f"grants[{i}].{field}": message for i, field, message in errors}
        raise ValidationFailed(_("The authorization is not valid.") if len(grants) == 1
                               else _("Some authorizations are not valid."), fields=fields)
    rows = [Authorization(relationship_id=rel.id, item_id=item_id, kind=kind, cum_start_date=start, quantity=quantity,
                          granted_by_id=actor.user_id) for item_id, kind, start, quantity in grants]
    db.session.add_all(rows)
    db.session.flush()
    for row in rows:
        audit.record(actor, "authorization.granted", row, detail={
            "item_id": row.item_id, "kind": row.kind, "cum_start_date": row.cum_start_date.isoformat(),
            "quantity": _fmt(row.quantity)})
    enqueue_reconcile(rel.id, {r.item_id for r in rows}, "authorization.granted")
    if commit:
        db.session.commit()
    logger.info("relationship %s: %s authorizations granted by %s", rel.id, len(rows), actor)
    return rows


def grant_authorization(actor: Actor, relationship_id: int, item_id: int, kind: str, cum_start_date: date,
                        quantity: Decimal) -> Authorization:
    """Grant one cumulative authorization; lowering the current period's maximum is refused (422)."""
    return grant_authorizations(actor, relationship_id, [(item_id, kind, cum_start_date, quantity)])[0]


# ---------------------------------------------------------------- commits

def _publication_by_id(relationship_id: int, publication_id: int) -> ForecastPublication:
    pub = db.session.scalar(select(ForecastPublication).where(
        ForecastPublication.id == publication_id, ForecastPublication.relationship_id == relationship_id))
    if pub is None:
        raise NotFound("No such forecast version in this relationship.")
    return pub


def require_latest(relationship_id: int, pub: ForecastPublication) -> None:
    latest_no = db.session.scalar(select(func.max(ForecastPublication.version_no))
                                  .where(ForecastPublication.relationship_id == relationship_id))
    if latest_no != pub.version_no:
        raise Conflict(_("Version %(old)s has been superseded by version %(new)s: commit against the latest version.",
                         old=pub.version_no, new=latest_no), latest_version_no=latest_no)


def check_commits(buckets: dict[Any, tuple[int, Decimal, int, date]], rows: Sequence[dict[str, Any]]
                  ) -> list[tuple[int, str, str]]:
    """Errors of commit rows against the buckets they name; `buckets` maps a row's key to (bucket id, forecast)."""
    errors: list[tuple[int, str, str]] = []
    seen: set[int] = set()
    for index, row in enumerate(rows):
        found = buckets.get(row["key"])
        if found is None:
            errors.append((index, "week", _("This item and week are not in the forecast version.")))
            continue
        bucket_id, forecast = found[0], found[1]
        quantity = row.get("quantity")
        reason = row.get("reason_code")
        if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity < 0 \
                or quantity >= _MAX_QUANTITY or quantity.as_tuple().exponent < -4:  # type: ignore[operator]
            errors.append((index, "quantity", _("Must be a number from 0, with at most 4 decimal places.")))
            continue
        if reason is not None and reason not in REASON_CODES:
            errors.append((index, "reason_code", _("Must be one of: %(choices)s.", choices=", ".join(REASON_CODES))))
        elif reason is None and quantity < forecast:
            errors.append((index, "reason_code", _(
                "A reason is required when the commit is below the forecast (%(forecast)s).", forecast=_fmt(forecast))))
        if len(row.get("comment") or "") > 500:
            errors.append((index, "comment", _("At most %(n)s characters.", n=500)))
        if bucket_id in seen:
            errors.append((index, "week", _("This item and week already appear in an earlier entry.")))
        seen.add(bucket_id)
    return errors


def bucket_map(pub: ForecastPublication, rows: Sequence[dict[str, Any]]
                ) -> dict[Any, tuple[int, Decimal, int, date]]:
    """Map each row's key (a bucket id, or (item id, week)) to (bucket id, forecast, item id, week) of `pub`."""
    out: dict[Any, tuple[int, Decimal, int, date]] = {}
    bucket_ids = [r["bucket_id"] for r in rows if r.get("bucket_id") is not None]
    item_ids = {r.get("item_id") for r in rows if r.get("bucket_id") is None}
    cols = (ForecastBucket.id, ForecastBucket.quantity, ForecastBucket.item_id, ForecastBucket.week_start)
    for start in range(0, len(bucket_ids), 1000):
        for found in db.session.execute(select(*cols).where(
                ForecastBucket.publication_id == pub.id, ForecastBucket.id.in_(bucket_ids[start:start + 1000]))):
            out[found[0]] = tuple(found)  # type: ignore[assignment]
    if item_ids:
        for found in db.session.execute(select(*cols).where(
                ForecastBucket.publication_id == pub.id, ForecastBucket.item_id.in_(list(item_ids)))):
            out[(found[2], found[3])] = tuple(found)  # type: ignore[assignment]
    for row in rows:
        row["key"] = row["bucket_id"] if row.get("bucket_id") is not None else (row.get("item_id"), row.get("week_start"))
    return out


def commit_buckets(actor: Actor, relationship_id: int, publication_id: int, rows: Sequence[dict[str, Any]],
                   commit: bool = True, prefix: str = "commits") -> dict[str, int]:
    """Commit quantities to buckets of the latest version; each row names `bucket_id` or `item_id` + `week_start`
    and gives `quantity`, `reason_code` (required below the forecast) and `comment`. Re-committing updates."""
    rel = _supplier_writer(actor, relationship_id)
    pub = _publication_by_id(rel.id, publication_id)
    require_latest(rel.id, pub)
    rows = [dict(r) for r in rows]
    if not rows:
        raise ValidationFailed("Nothing to commit.", fields={prefix: _("Give at least one commit.")})
    buckets = bucket_map(pub, rows)
    errors = check_commits(buckets, rows)
    if errors:
        raise ValidationFailed(_("%(n)s commits are not valid.", n=len({e[0] for e in errors})),
                               fields={f"{prefix}[{i}].{field}": message for i, field, message in reversed(errors)})
    by_bucket = {buckets[r["key"]][0]: (buckets[r["key"]], r) for r in rows}
    existing = {}
    ids = list(by_bucket)
    for start in range(0, len(ids), 1000):
        for cid, bid, qty, reason, comment in db.session.execute(
                select(ForecastCommit.id, ForecastCommit.bucket_id, ForecastCommit.quantity, ForecastCommit.reason_code,
                       ForecastCommit.comment).where(ForecastCommit.bucket_id.in_(ids[start:start + 1000]))):
            existing[bid] = (cid, qty, reason, comment or "")
    now = utcnow()
    new_rows, changed, changes = [], [], []
    for bucket_id, ((_bid, _forecast, item_id, week), row) in by_bucket.items():
        quantity, reason, comment = row["quantity"], row.get("reason_code"), (row.get("comment") or "").strip()
        before = existing.get(bucket_id)
        if before is None:
            new_rows.append({"bucket_id": bucket_id, "publication_id": pub.id, "relationship_id": rel.id,
                             "item_id": item_id, "week_start": week, "quantity": quantity, "reason_code": reason,
                             "comment": comment, "committed_by_id": actor.user_id, "committed_at": now})
        elif (before[1], before[2], before[3]) != (quantity, reason, comment):
            changed.append({"b_id": before[0], "quantity": quantity, "reason_code": reason, "comment": comment,
                            "committed_by_id": actor.user_id, "committed_at": now})
            if len(changes) < 100:
                changes.append({"bucket_id": bucket_id, "from": _fmt(before[1]), "to": _fmt(quantity),
                                "reason_code": reason})
    below = [(bucket_id, forecast, item_id, week, row) for bucket_id, ((_b, forecast, item_id, week), row)
             in by_bucket.items() if row["quantity"] < forecast
             and (bucket_id not in existing or (existing[bucket_id][1], existing[bucket_id][2], existing[bucket_id][3])
                  != (row["quantity"], row.get("reason_code"), (row.get("comment") or "").strip()))]
    table = ForecastCommit.__table__
    for start in range(0, len(new_rows), INSERT_CHUNK):
        db.session.execute(insert(table), new_rows[start:start + INSERT_CHUNK])
    if changed:
        db.session.execute(update(table).where(table.c.id == bindparam("b_id")), changed)
    if new_rows or changed:
        audit.record(actor, "forecast.committed", pub, detail={
            "version_no": pub.version_no, "created": len(new_rows), "updated": len(changed), "changes": changes})
    if below:
        from cogrow.forecasts import notify

        parts = dict(db.session.execute(select(Item.id, Item.prime_part_number).where(
            Item.id.in_({b[2] for b in below}))).all())
        below.sort(key=lambda b: (parts.get(b[2], ""), b[3]))
        notify.commits_below(rel, pub, [
            {"part": parts.get(item_id, str(item_id)), "week": iso_label(week), "forecast": _fmt(forecast),
             "commit": _fmt(row["quantity"]), "reason_code": row.get("reason_code")}
            for _bid, forecast, item_id, week, row in below])
    if commit:
        db.session.commit()
        if below:
            tasks.send_pending()
    logger.info("relationship %s: %s commits created, %s updated on version %s by %s", rel.id, len(new_rows),
                len(changed), pub.version_no, actor)
    return {"created": len(new_rows), "updated": len(changed), "unchanged": len(by_bucket) - len(new_rows) - len(changed)}


def commit_bucket(actor: Actor, relationship_id: int, publication_id: int, bucket_id: int, quantity: Decimal,
                  reason_code: str | None = None, comment: str = "") -> dict[str, int]:
    return commit_buckets(actor, relationship_id, publication_id,
                          [{"bucket_id": bucket_id, "quantity": quantity, "reason_code": reason_code, "comment": comment}])
