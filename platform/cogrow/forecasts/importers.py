"""Import kinds of forecasts, registered with cogrow.imports.registry: forecast, authorizations, commits."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from cogrow.catalog.models import Item
from cogrow.core.fields import decimal_text
from cogrow.core.auth import Actor
from cogrow.core.weeks import current_week, iso_label, local_today
from cogrow.extensions import db
from cogrow.forecasts import services, tasks
from cogrow.forecasts.models import MIN_HORIZON_WEEKS, ForecastBucket, ForecastCommit, ForecastPublication
from cogrow.imports.cells import choice_cell, code_cell, date_cell, decimal_cell, text_cell, week_cell
from cogrow.imports.effects import NOTHING_CHANGED
from cogrow.imports.registry import Column, ImportKind, ParsedRow, RowError, register
from cogrow.relationships.models import SupplyRelationship

PART = ("Part number", "Prime part number", "part_number", "prime_part_number", "품번", "부품번호")
WEEK = ("Week", "week", "week_start", "Week start", "주차")
QUANTITY = ("Quantity", "Qty", "quantity", "수량")
MAX_CUT_LINES = 500
KIND_SPELLINGS = {"FAB": "FAB", "RAW": "RAW", "FI": "FAB", "MT": "RAW", "완제품": "FAB", "자재": "RAW"}

_FORECAST_COLUMNS = (
    Column("part_number", PART, code_cell(required=True), example="BRK-1001"),
    Column("week", WEEK, week_cell(required=True), example="2026-W50"),
    Column("quantity", QUANTITY, decimal_cell(minimum=0, required=True), example="120"),
)
_COLUMN_OF = {c.key: c.headers[0] for c in _FORECAST_COLUMNS}
_COLUMN_OF.update({"item_id": PART[0], "cum_start_date": "Cumulative start date", "kind": "Kind",
                   "reason_code": "Reason code", "comment": "Comment"})


def _usable(rows: list[ParsedRow], keys: tuple[str, ...]) -> list[ParsedRow]:
    """Rows whose required cells all parsed (the importer reports the others' cell errors itself)."""
    return [r for r in rows if all(r.values.get(k) is not None for k in keys)]


def _by_part(rel: SupplyRelationship, rows: list[ParsedRow], errors: list[RowError],
             also_supplier_numbers: bool = False) -> list[tuple[ParsedRow, int]]:
    """Pair each row with its item; unknown (or another relationship's) part numbers are row errors."""
    parts = services.part_numbers_of(rel.id)
    if also_supplier_numbers:
        for part, item_id in db.session.execute(select(Item.supplier_part_number, Item.id).where(
                Item.relationship_id == rel.id, Item.supplier_part_number.is_not(None))):
            parts.setdefault(part, item_id)  # a prime part number wins over an equal supplier part number
    out = []
    for row in rows:
        item_id = parts.get(row.values["part_number"])
        if item_id is None:
            errors.append(RowError(row.row, PART[0], _("%(part)s is not a part number of this relationship.",
                                                       part=row.values["part_number"])))
            continue
        out.append((row, item_id))
    return out


# ---------------------------------------------------------------- forecast

def _forecast_validate(actor: Actor, rel: SupplyRelationship, rows: list[ParsedRow]
                       ) -> tuple[list[tuple[int, date, Decimal]], list[RowError]]:
    """The rows as (item id, week, quantity) buckets, with every row error (unknown part numbers, then the
    buckets' own rules in services.check_buckets).

    One pass over the rows does what _usable and _by_part do for the other kinds (a forecast file is the one
    with 100,000 rows): rows missing a required cell are left out (their cell errors are already reported),
    part numbers are looked up in one dict.
    """
    errors: list[RowError] = []
    parts = services.part_numbers_of(rel.id)
    buckets: list[tuple[int, date, Decimal]] = []
    row_numbers: list[int] = []
    for row in rows:
        values = row.values
        part, week, quantity = values.get("part_number"), values.get("week"), values.get("quantity")
        if part is None or week is None or quantity is None:
            continue
        item_id = parts.get(part)
        if item_id is None:
            errors.append(RowError(row.row, PART[0], _("%(part)s is not a part number of this relationship.",
                                                       part=part)))
            continue
        buckets.append((item_id, week, quantity))
        row_numbers.append(row.row)
    for index, field, message in services.check_buckets(services.item_ids_of(rel.id), buckets, current_week()):
        errors.append(RowError(row_numbers[index], _COLUMN_OF[field], message))
    errors.sort(key=lambda e: e.row)
    return buckets, errors


def _forecast_preview(actor: Actor, rel: SupplyRelationship, buckets: list[tuple[int, date, Decimal]]) -> dict[str, Any]:
    """Per item: the new total, the latest version's total over the same coming weeks, and the change."""
    totals: dict[int, Decimal] = defaultdict(Decimal)
    weeks: dict[int, int] = defaultdict(int)
    for item_id, _week, quantity in buckets:
        totals[item_id] += quantity
        weeks[item_id] += 1
    latest = services.latest_of(rel.id)
    before: dict[int, Decimal] = {}
    if latest is not None:
        before = dict(db.session.execute(
            select(ForecastBucket.item_id, func.sum(ForecastBucket.quantity))
            .where(ForecastBucket.publication_id == latest.id, ForecastBucket.week_start >= current_week())
            .group_by(ForecastBucket.item_id)).all())
    names = dict(db.session.execute(select(Item.id, Item.prime_part_number).where(Item.relationship_id == rel.id)).all())
    cuts = services.firm_cuts(rel.id, buckets, latest)
    cut_amount = sum((c.amount for c in cuts), Decimal(0))
    currency = cuts[0].currency if cuts else rel.currency
    lines = []
    for item_id in sorted(set(totals) | set(before), key=lambda i: names.get(i, "")):
        new, old = totals.get(item_id, Decimal(0)), before.get(item_id)
        lines.append([names.get(item_id, str(item_id)), weeks.get(item_id, 0), decimal_text(new),
                      decimal_text(old) if old is not None else "", decimal_text(new - (old or Decimal(0)))])
    return {
        "summary": {"version_no": (latest.version_no if latest else 0) + 1,
                    "previous_version_no": latest.version_no if latest else None,
                    "items": len(totals), "buckets": len(buckets),
                    "total": decimal_text(sum(totals.values(), Decimal(0))),
                    "firm_cuts": len(cuts), "firm_cut_units": decimal_text(sum((c.units for c in cuts), Decimal(0))),
                    "firm_cut_amount": decimal_text(cut_amount)},
        "headers": [_("Part number"), _("Weeks"), _("Total"), _("Latest version's total"), _("Change")],
        "lines": lines,
        # Each firm-zone cell the new version lowers: previous -> new, and what it no longer guarantees in money.
        "cuts": {"count": len(cuts), "amount": decimal_text(cut_amount), "currency": currency,
                 "headers": [_("Part number"), _("Week"), _("Previous quantity"), _("New quantity"), _("Cut"),
                             _("Unit price"), _("Value no longer guaranteed")],
                 "lines": [[c.part_number, iso_label(c.week), decimal_text(c.previous), decimal_text(c.new),
                            decimal_text(c.units), decimal_text(c.unit_price), decimal_text(c.amount)]
                           for c in cuts[:MAX_CUT_LINES]]},
    }


def _forecast_apply(actor: Actor, rel: SupplyRelationship, buckets: list[tuple[int, date, Decimal]], batch: Any,
                    progress: Callable[[int, int], None]) -> dict[str, Any]:
    note = _("Imported from %(file)s (import #%(id)s)", file=batch.filename, id=batch.id)[:500]
    reason = (batch.options or {}).get("reason")
    pub = services.publish(actor, rel.id, buckets, note=note, progress=progress, commit=False, checked=True,
                           reason=reason)
    result: dict[str, Any] = {"version_no": pub.version_no, "publication_id": pub.id, "buckets": pub.bucket_count,
                              "firm_cuts": pub.firm_cuts}
    if pub.version_no > 1 and not pub.firm_cuts and not services.changes_against_previous(pub) \
            and _count(pub.id) == _count_previous(pub):
        result[NOTHING_CHANGED] = "same_forecast"
    return result


def _count(publication_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ForecastBucket)
                             .where(ForecastBucket.publication_id == publication_id)) or 0


def _count_previous(pub: Any) -> int:
    previous = db.session.scalar(select(ForecastPublication.id).where(
        ForecastPublication.relationship_id == pub.relationship_id,
        ForecastPublication.version_no == pub.version_no - 1))
    return _count(previous) if previous else -1


def _forecast_confirm_check(batch: Any, options: dict[str, Any]) -> dict[str, str]:
    """A file whose preview cuts firm-zone quantities is confirmed only with a reason (422 naming `reason`)."""
    count = ((batch.summary or {}).get("cuts") or {}).get("count") or 0
    reason = options.get("reason") or ""
    if count and not reason.strip():
        return {"reason": _("This file cuts %(n)s firm-zone quantities: give a reason for the supplier.", n=count)}
    if len(reason) > 500:
        return {"reason": _("At most %(n)s characters.", n=500)}
    return {}


def _send_notices(batch: Any) -> None:
    tasks.send_pending()


def _send_cut_notices(batch: Any) -> None:
    """A forecast version writes notices only when it cuts firm-zone quantities (as publish does): the mail
    worker is only called then, not after every file."""
    if (((batch.summary or {}).get("result") or {}).get("firm_cuts") or 0) > 0:
        tasks.send_pending()


def _version_link(rel: SupplyRelationship, result: dict[str, Any]) -> tuple[str, str] | None:
    version_no = result.get("version_no")
    if not isinstance(version_no, int):
        return None
    return (_("Open forecast version %(n)s", n=version_no),
            url_for("forecasts.detail", relationship_id=rel.id, version_no=version_no))


def _authorizations_link(rel: SupplyRelationship, result: dict[str, Any]) -> tuple[str, str] | None:
    return _("Open the authorizations"), url_for("forecasts.authorizations", relationship_id=rel.id)


def _forecast_template(actor: Actor, rel: SupplyRelationship) -> list[list[Any]]:
    """Every item by the coming 26 weeks, with the latest version's quantities (0 where it has none)."""
    base = current_week()
    weeks = [base + timedelta(weeks=n) for n in range(MIN_HORIZON_WEEKS)]
    items = db.session.execute(select(Item.id, Item.prime_part_number).where(
        Item.relationship_id == rel.id, Item.active.is_(True)).order_by(Item.prime_part_number)).all()
    latest = services.latest_of(rel.id)
    known: dict[tuple[int, date], Decimal] = {}
    if latest is not None:
        known = {(i, w): q for i, w, q in db.session.execute(
            select(ForecastBucket.item_id, ForecastBucket.week_start, ForecastBucket.quantity)
            .where(ForecastBucket.publication_id == latest.id, ForecastBucket.week_start >= base))}
    return [[part, iso_label(week), decimal_text(known.get((item_id, week), Decimal(0)))]
            for item_id, part in items for week in weeks]


# ---------------------------------------------------------------- authorizations

_AUTH_COLUMNS = (
    Column("part_number", PART, code_cell(required=True), example="BRK-1001"),
    Column("kind", ("Kind", "kind", "Type", "구분"), choice_cell(KIND_SPELLINGS, required=True), example="FAB"),
    Column("cum_start_date", ("Cumulative start date", "cum_start_date", "Cum start", "누적 시작일"),
           date_cell(required=True), example="2026-01-01"),
    Column("quantity", QUANTITY, decimal_cell(minimum=0, required=True), example="1200"),
)


def _auth_validate(actor: Actor, rel: SupplyRelationship, rows: list[ParsedRow]
                   ) -> tuple[list[tuple[int, str, date, Decimal]], list[RowError]]:
    errors: list[RowError] = []
    paired = _by_part(rel, _usable(rows, ("part_number", "kind", "cum_start_date", "quantity")), errors)
    grants = [(item_id, r.values["kind"], r.values["cum_start_date"], r.values["quantity"]) for r, item_id in paired]
    for index, field, message in services.check_grants(rel.id, services.item_ids_of(rel.id), grants, local_today()):
        errors.append(RowError(paired[index][0].row, _COLUMN_OF.get(field, field), message))
    errors.sort(key=lambda e: e.row)
    return grants, errors


def _auth_preview(actor: Actor, rel: SupplyRelationship, grants: list[tuple[int, str, date, Decimal]]) -> dict[str, Any]:
    maxima = services.authorization_maxima(rel.id, [g[0] for g in grants])
    names = dict(db.session.execute(select(Item.id, Item.prime_part_number).where(Item.relationship_id == rel.id)).all())
    lines = []
    for item_id, kind, start, quantity in grants:
        current = maxima.get((item_id, kind))
        same_period = current is not None and current[0] == start
        lines.append([names[item_id], kind, start.isoformat(), decimal_text(quantity),
                      decimal_text(current[1]) if same_period else "",
                      _("raises the maximum") if same_period and quantity > current[1]  # type: ignore[index]
                      else _("unchanged") if same_period else _("new period")])
    return {"summary": {"grants": len(grants)},
            "headers": [_("Part number"), _("Kind"), _("Cumulative start date"), _("Quantity"),
                        _("Current maximum"), _("Effect")],
            "lines": lines}


def _auth_apply(actor: Actor, rel: SupplyRelationship, grants: list[tuple[int, str, date, Decimal]], batch: Any,
                progress: Callable[[int, int], None]) -> dict[str, Any]:
    maxima = services.authorization_maxima(rel.id, [g[0] for g in grants])
    raises = sum(1 for item_id, kind, start, quantity in grants
                 if (item_id, kind) not in maxima or maxima[(item_id, kind)][0] != start
                 or quantity > maxima[(item_id, kind)][1])
    rows = services.grant_authorizations(actor, rel.id, grants, commit=False)
    progress(len(rows), len(rows))
    result: dict[str, Any] = {"grants": len(rows)}
    if not raises:
        result[NOTHING_CHANGED] = "same_authorizations"
    return result


def _auth_template(actor: Actor, rel: SupplyRelationship) -> list[list[Any]]:
    maxima = services.authorization_maxima(rel.id)
    default_start = date(local_today().year, 1, 1)
    items = db.session.execute(select(Item.id, Item.prime_part_number).where(
        Item.relationship_id == rel.id, Item.active.is_(True)).order_by(Item.prime_part_number)).all()
    out = []
    for item_id, part in items:
        for kind in ("FAB", "RAW"):
            start, maximum = maxima.get((item_id, kind), (default_start, Decimal(0)))
            out.append([part, kind, start.isoformat(), decimal_text(maximum)])
    return out


# ---------------------------------------------------------------- commits

_COMMIT_COLUMNS = (
    Column("part_number", PART + ("Supplier part number", "supplier_part_number", "자사 품번"),
           code_cell(required=True), example="BRK-1001"),
    Column("week", WEEK, week_cell(required=True), example="2026-W50"),
    Column("quantity", ("Commit", "Committed quantity", "commit_quantity") + QUANTITY,
           decimal_cell(minimum=0, required=True), example="100"),
    Column("reason_code", ("Reason code", "reason_code", "Reason", "사유"), choice_cell(services.REASON_CODES),
           required=False, example="CAPACITY"),
    Column("comment", ("Comment", "comment", "비고"), text_cell(500), required=False, example=""),
)


def _commit_validate(actor: Actor, rel: SupplyRelationship, rows: list[ParsedRow]) -> tuple[dict[str, Any], list[RowError]]:
    errors: list[RowError] = []
    latest = services.latest_of(rel.id)
    if latest is None:
        return {}, [RowError(1, None, _("No forecast has been published in this relationship yet."))]
    paired = _by_part(rel, _usable(rows, ("part_number", "week", "quantity")), errors, also_supplier_numbers=True)
    commits = [{"item_id": item_id, "week_start": r.values["week"], "quantity": r.values["quantity"],
                "reason_code": r.values.get("reason_code"), "comment": r.values.get("comment") or ""}
               for r, item_id in paired]
    buckets = services.bucket_map(latest, commits)
    for index, field, message in services.check_commits(buckets, commits):
        errors.append(RowError(paired[index][0].row, _COLUMN_OF.get(field, field), message))
    errors.sort(key=lambda e: e.row)
    forecasts = [buckets[c["key"]][1] if c["key"] in buckets else None for c in commits]
    for c in commits:
        c.pop("key", None)
    return {"publication_id": latest.id, "version_no": latest.version_no, "rows": commits,
            "forecasts": forecasts}, errors


def _commit_preview(actor: Actor, rel: SupplyRelationship, prepared: dict[str, Any]) -> dict[str, Any]:
    names = dict(db.session.execute(select(Item.id, Item.prime_part_number).where(Item.relationship_id == rel.id)).all())
    lines, below = [], 0
    for row, forecast in zip(prepared["rows"], prepared["forecasts"]):
        if forecast is not None and row["quantity"] < forecast:
            below += 1
        lines.append([names[row["item_id"]], iso_label(row["week_start"]), decimal_text(forecast),
                      decimal_text(row["quantity"]), services.reason_label(row["reason_code"])])
    return {"summary": {"version_no": prepared["version_no"], "commits": len(lines), "below_forecast": below},
            "headers": [_("Part number"), _("Week"), _("Forecast"), _("Commit"), _("Reason code")],
            "lines": lines}


def _commit_apply(actor: Actor, rel: SupplyRelationship, prepared: dict[str, Any], batch: Any,
                  progress: Callable[[int, int], None]) -> dict[str, Any]:
    result = services.commit_buckets(actor, rel.id, prepared["publication_id"], prepared["rows"], commit=False)
    progress(len(prepared["rows"]), len(prepared["rows"]))
    out: dict[str, Any] = {"version_no": prepared["version_no"], **result}
    if not result.get("created") and not result.get("updated"):
        out[NOTHING_CHANGED] = "same_commits"
    return out


def _commit_template(actor: Actor, rel: SupplyRelationship) -> list[list[Any]]:
    """The latest version's buckets, prefilled with the current commit (or the forecast itself)."""
    latest = services.latest_of(rel.id)
    if latest is None:
        return []
    rows = db.session.execute(
        select(Item.prime_part_number, ForecastBucket.week_start, ForecastBucket.quantity, ForecastCommit.quantity,
               ForecastCommit.reason_code, ForecastCommit.comment)
        .join(Item, Item.id == ForecastBucket.item_id)
        .outerjoin(ForecastCommit, ForecastCommit.bucket_id == ForecastBucket.id)
        .where(ForecastBucket.publication_id == latest.id)
        .order_by(Item.prime_part_number, ForecastBucket.week_start))
    return [[part, iso_label(week), decimal_text(committed if committed is not None else forecast), reason or "",
             comment or ""] for part, week, forecast, committed, reason, comment in rows]


register(ImportKind(
    name="forecast", label=lambda: _("Forecast"), org_kind="prime", roles=services.PLANNER_ROLES,
    columns=_FORECAST_COLUMNS, validate=_forecast_validate, preview=_forecast_preview, apply=_forecast_apply,
    example_rows=_forecast_template, confirm_check=_forecast_confirm_check, after_commit=_send_cut_notices,
    result_link=_version_link))
register(ImportKind(
    name="authorizations", label=lambda: _("Authorizations"), org_kind="prime", roles=services.PLANNER_ROLES,
    columns=_AUTH_COLUMNS, validate=_auth_validate, preview=_auth_preview, apply=_auth_apply,
    example_rows=_auth_template, result_link=_authorizations_link))
register(ImportKind(
    name="commits", label=lambda: _("Forecast commits"), org_kind="supplier", roles=services.COMMIT_ROLES,
    columns=_COMMIT_COLUMNS, validate=_commit_validate, preview=_commit_preview, apply=_commit_apply,
    example_rows=_commit_template, after_commit=_send_notices, result_link=_version_link))
