"""Production pages: positions of every visible item, one item's history and report form, the grid form,
and the production lines of a relationship."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Mapping

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cogrow.core.auth import requires
from cogrow.core.errors import BadRequest, ValidationFailed
from cogrow.core.validation import form_version, parse_decimal, parse_id, parse_int
from cogrow.core.weeks import current_week, iso_label, parse_iso_label
from cogrow.production import schemas, services
from cogrow.relationships import services as relationships
from cogrow.shipments import services as shipments

logger = logging.getLogger("cogrow.production")

bp = Blueprint("production", __name__)

WRITERS = ("admin", "production")
PAGE_SIZE = 50
LIST_PAGE_SIZE = 200
EXPORT_LIMIT = 50_000
FORM_WEEKS = 8   # planned output columns on the single-item form
GRID_WEEKS = 4   # and on the grid, to keep one row per item readable
QTY_FIELDS = ("good_qty", "scrap_qty", "wip_qty", "fg_on_hand", "raw_on_hand")


def _page() -> int:
    page = parse_int(request.args.get("page", "1"), minimum=1, maximum=100_000)
    if isinstance(page, str):
        raise BadRequest(_("Bad page number."), fields={"page": _("Must be a whole number from 1.")})
    return page


def _weeks(count: int) -> list[str]:
    start = current_week()
    return [iso_label(start + timedelta(weeks=n)) for n in range(count)]


def _same(text: str, shown: Any) -> bool:
    """True when a cell holds the value the page pre-filled it with (so the user left it as it was)."""
    if shown is None:
        return False
    parsed = parse_decimal(text, grouping=True)
    return not isinstance(parsed, str) and parsed == shown


def _report_from_form(form: Mapping[str, str], prefix: str, weeks: list[str], as_of: str | None,
                      now: datetime, base: dict[str, Any] | None = None,
                      skip_unchanged: bool = False, has_report: bool = True) -> dict[str, Any] | None:
    """Parse one report's form fields (`<prefix>wip_qty`, `<prefix>plan_2026-W49`, ...); errors keyed by field name.

    A blank cell is unchanged: WIP, finished goods, raw material and each planned week keep the item's last
    report (services.fill_unchanged); clearing a planned week takes an explicit 0. Good and scrap are what was
    made since the last report: blank is 0. `base` is the report the page pre-filled the cells from: a cell
    still holding its pre-filled value is unchanged too, so a row the user did not touch is no report (None),
    and a report someone else saved meanwhile is not overwritten with the values the page showed. With
    `skip_unchanged` (the grid) a row whose every cell is as shown is no report: None. An item without a
    report (`has_report` False) has nothing to keep: WIP and finished goods are required.
    """
    data: dict[str, Any] = {"as_of": as_of or now.isoformat()}
    changed = False
    for name in QTY_FIELDS:
        value = (form.get(prefix + name) or "").strip()
        if value and not (base and _same(value, base.get(name))):
            data[name] = value
            changed = True
        elif name in ("good_qty", "scrap_qty"):
            data[name] = "0"  # on a form, nothing produced is a blank
    note = (form.get(prefix + "note") or "").strip()
    if note:
        data["note"] = note
        changed = True
    shown_plan = (base or {}).get("plan") or {}
    plan_weeks = []
    for week in weeks:
        value = (form.get(f"{prefix}plan_{week}") or "").strip()
        if value and not _same(value, shown_plan.get(parse_iso_label(week))):
            plan_weeks.append(week)
    changed = changed or bool(plan_weeks)
    if skip_unchanged and not changed:
        return None
    data["plan"] = [{"week": w, "quantity": form[f"{prefix}plan_{w}"].strip()} for w in plan_weeks]
    required = {} if has_report else {prefix + name: _("This field is required.")
                                      for name in ("wip_qty", "fg_on_hand") if name not in data}
    try:
        values = schemas.parse_report(data, now, item_required=False, form=True)
    except ValidationFailed as exc:
        fields = dict(required)
        for key, message in exc.fields.items():
            if key.startswith("plan["):
                index = int(key[5:key.index("]")])
                key = f"plan_{plan_weeks[index]}" if index < len(plan_weeks) else "plan"
            fields[prefix + key] = message
        raise ValidationFailed(exc.message, fields=fields) from None
    if required:
        raise ValidationFailed(_("Some fields are not valid."), fields=required)
    return values


def _filled(form: Mapping[str, str], prefix: str, weeks: list[str]) -> bool:
    names = [*QTY_FIELDS, "note", *(f"plan_{w}" for w in weeks)]
    return any((form.get(prefix + name) or "").strip() for name in names)


def _prefill(position: Any, plan: Mapping[Any, Any], weeks: list[str]) -> dict[str, str]:
    """The cells of a form pre-filled with the last report: WIP, finished goods, raw material and the plan
    (as the page shows numbers: grouped, which the form reads back)."""
    if position is None:
        return {}
    values = {name: _format_qty(getattr(position, name)) for name in ("wip_qty", "fg_on_hand", "raw_on_hand")}
    for week in weeks:
        values[f"plan_{week}"] = _format_qty(plan.get(parse_iso_label(week)))
    return values


def _format_qty(value: Any) -> str:
    if value is None:
        return ""
    text = f"{value:,.4f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- all positions -----------------------------------------------------------------------------------------

EXPORT_HEADERS = ("relationship_id", "prime", "supplier", "prime_part_number", "supplier_part_number", "as_of",
                  "good_qty", "scrap_qty", "wip_qty", "fg_on_hand", "raw_on_hand", "machine_produced_since_report")


@bp.get("/production")
@requires()
def list_page():
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in ("csv", "xlsx"):
            raise BadRequest(_("Bad export format."), fields={"format": _("Must be csv or xlsx.")})
        from cogrow.imports.export import respond

        rows = services.visible_positions(g.actor, limit=EXPORT_LIMIT)
        return respond(EXPORT_HEADERS, (_export_row(r) for r in rows), "production-positions", fmt)
    page = _page()
    rows = services.visible_positions(g.actor, limit=LIST_PAGE_SIZE, offset=(page - 1) * LIST_PAGE_SIZE)
    total = services.count_visible_items(g.actor)
    return render_template("production/list.html", rows=rows, page=page, pages=max(1, -(-total // LIST_PAGE_SIZE)),
                           total=total)


def _export_row(row: dict[str, Any]) -> list[Any]:
    item, rel, pos = row["item"], row["relationship"], row["position"]
    values = [getattr(pos, name) if pos else None for name in QTY_FIELDS]
    return [rel.id, rel.prime.name, rel.supplier.name, item.prime_part_number, item.supplier_part_number or "",
            pos.as_of.isoformat() if pos else "", *values, row["machine"]]


# --- one item ----------------------------------------------------------------------------------------------

def _render_item(relationship_id: int, item_id: int, errors: dict[str, str], status: int = 200):
    actor = g.actor
    rel = relationships.get_relationship(actor, relationship_id)
    position = services.get_position(actor, relationship_id, item_id)
    page = _page()
    reports = services.list_reports(actor, relationship_id, item_id=item_id, limit=PAGE_SIZE,
                                    offset=(page - 1) * PAGE_SIZE)
    total = services.count_reports(actor, relationship_id, item_id=item_id)
    readings = services.list_readings(actor, relationship_id, item_id=item_id, limit=100)
    weeks = _weeks(FORM_WEEKS)
    prefill = _prefill(position["position"], {p.week_start: p.quantity for p in position["plan"]}, weeks)
    return render_template(
        "production/item.html", rel=rel, item=position["item"], data=position, reports=reports, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), total=total, readings=readings,
        line_codes=services.line_codes(r.line_id for r in readings),
        lines=services.list_lines(actor, relationship_id, item_id=item_id),
        shipments=shipments.list_item_shipment_lines(actor, relationship_id, item_id, limit=100), weeks=weeks,
        can_write=services.can_write(actor, rel), errors=errors, form=request.form if errors else prefill,
        base_id=position["position"].report_id if position["position"] is not None else "",
    ), status


@bp.get("/relationships/<int:relationship_id>/items/<int:item_id>/production")
@requires()
def item_history(relationship_id: int, item_id: int):
    return _render_item(relationship_id, item_id, {})


@bp.post("/relationships/<int:relationship_id>/items/<int:item_id>/production")
@requires(*WRITERS, kind="supplier")
def report_item(relationship_id: int, item_id: int):
    services.get_item(g.actor, relationship_id, item_id)  # a foreign item is 404 before any 422
    now = datetime.now(timezone.utc)
    bases = services.report_bases(relationship_id, {item_id: parse_id(request.form.get("base"))})
    try:
        values = _report_from_form(request.form, "", _weeks(FORM_WEEKS), request.form.get("as_of"), now,
                                   bases.get(item_id), has_report=services.has_position(item_id))
        values["item_id"] = item_id
        services.record_reports(g.actor, relationship_id, [values], source="form", prefix="")
    except ValidationFailed as exc:
        return _render_item(relationship_id, item_id, exc.fields, 422)
    flash(_("Production report saved."), "success")
    return redirect(url_for("production.item_history", relationship_id=relationship_id, item_id=item_id))


# --- the grid: every item of a relationship ----------------------------------------------------------------

def _render_grid(relationship_id: int, errors: dict[str, str], status: int = 200, message: str | None = None):
    rel = relationships.get_relationship(g.actor, relationship_id)
    rows = services.relationship_positions(g.actor, relationship_id)
    weeks = _weeks(GRID_WEEKS)
    if errors or message:
        form: Mapping[str, str] = request.form
    else:  # every row pre-filled with its last report
        plans = services.planned_weeks([pos.report_id for _item, pos in rows if pos is not None])
        form = {f"r{item.id}-{name}": value for item, pos in rows if pos is not None
                for name, value in _prefill(pos, plans.get(pos.report_id, {}), weeks).items()}
        form.update({f"r{item.id}-base": str(pos.report_id) for item, pos in rows if pos is not None})
    return render_template("production/grid.html", rel=rel, rows=rows, weeks=weeks, errors=errors, form=form,
                           message=message, can_write=services.can_write(g.actor, rel)), status


@bp.get("/relationships/<int:relationship_id>/production/grid")
@requires(*WRITERS, kind="supplier")
def grid(relationship_id: int):
    return _render_grid(relationship_id, {})


@bp.post("/relationships/<int:relationship_id>/production/grid")
@requires(*WRITERS, kind="supplier")
def grid_submit(relationship_id: int):
    rows = services.relationship_positions(g.actor, relationship_id)
    now = datetime.now(timezone.utc)
    weeks = _weeks(GRID_WEEKS)
    as_of = (request.form.get("as_of") or "").strip() or None
    reports, errors = [], {}
    if as_of is not None:
        checked = schemas.parse_moment(as_of, now)
        if isinstance(checked, str):
            errors["as_of"] = checked
    # The reports each row was pre-filled from (one query): a cell still showing its value is unchanged.
    bases = services.report_bases(relationship_id, {item.id: parse_id(request.form.get(f"r{item.id}-base"))
                                                    for item, _position in rows})
    for item, position in rows:
        prefix = f"r{item.id}-"
        if not _filled(request.form, prefix, weeks):
            continue  # blank rows are skipped
        try:
            values = _report_from_form(request.form, prefix, weeks, as_of if "as_of" not in errors else None, now,
                                       bases.get(item.id), skip_unchanged=True, has_report=position is not None)
        except ValidationFailed as exc:
            errors.update(exc.fields)
            continue
        if values is None:
            continue  # the row is as the page showed it
        values["item_id"] = item.id
        reports.append(values)
    if not errors and not reports:
        return _render_grid(relationship_id, {}, 422, _("Nothing changed: change at least one cell."))
    if errors:
        return _render_grid(relationship_id, errors, 422)
    try:
        services.record_reports(g.actor, relationship_id, reports, source="grid", prefix="r{i}-")
    except ValidationFailed as exc:
        return _render_grid(relationship_id, _grid_errors(exc.fields, reports), 422)
    flash(_("%(n)s production reports saved.", n=len(reports)), "success")
    return redirect(url_for("production.grid", relationship_id=relationship_id))


def _grid_errors(fields: Mapping[str, str], reports: list[dict[str, Any]]) -> dict[str, str]:
    """Errors of record_reports name reports by their index (r3-wip_qty); the grid names them by item (r17-...)."""
    out = {}
    for key, message in fields.items():
        index, sep, name = key[1:].partition("-")
        if key.startswith("r") and sep and index.isdigit() and int(index) < len(reports):
            key = f"r{reports[int(index)]['item_id']}-{name}"
        out[key] = message
    return out


# --- production lines --------------------------------------------------------------------------------------

def _render_lines(relationship_id: int, errors: dict[str, str], status: int = 200, edit_id: int | None = None):
    rel = relationships.get_relationship(g.actor, relationship_id)
    from cogrow.catalog import services as catalog

    lines = services.list_lines(g.actor, relationship_id)
    days, output = services.daily_output(g.actor, relationship_id)
    fed = [line for line in lines if any((day, line.id) in output for day in days)]
    totals = {day: sum((output.get((day, line.id), Decimal(0)) for line in fed), Decimal(0)) for day in days}
    return render_template("production/lines.html", rel=rel, lines=lines,
                           items=catalog.list_items(g.actor, relationship_id), errors=errors,
                           form=request.form if errors else {}, edit_id=edit_id,
                           can_write=services.can_write(g.actor, rel), feed_days=days, feed_lines=fed,
                           feed=output, feed_totals=totals), status


def _line_form(form: Mapping[str, str], *, partial: bool) -> dict[str, Any]:
    data = {k: form.get(k, "").strip() for k in ("code", "name", "item_id", "counter_max") if form.get(k, "").strip()}
    if not partial:
        data.setdefault("code", "")
    data["active"] = form.get("active", "") in ("on", "true", "1")
    if "item_id" not in data and not partial:
        data["item_id"] = None
    if "counter_max" not in data:
        data["counter_max"] = None  # a blank maximum means the counter only ever resets
    return schemas.parse_line(data, partial=partial)


@bp.get("/relationships/<int:relationship_id>/production-lines")
@requires()
def lines(relationship_id: int):
    return _render_lines(relationship_id, {})


@bp.post("/relationships/<int:relationship_id>/production-lines")
@requires(*WRITERS, kind="supplier")
def create_line(relationship_id: int):
    relationships.get_relationship(g.actor, relationship_id)
    try:
        line = services.create_line(g.actor, relationship_id, _line_form(request.form, partial=False))
    except ValidationFailed as exc:
        return _render_lines(relationship_id, exc.fields, 422)
    flash(_("Production line %(code)s added.", code=line.code), "success")
    return redirect(url_for("production.lines", relationship_id=relationship_id))


@bp.post("/relationships/<int:relationship_id>/production-lines/<int:line_id>")
@requires(*WRITERS, kind="supplier")
def update_line(relationship_id: int, line_id: int):
    services.get_line(g.actor, relationship_id, line_id)
    version = request.form.get("version", "")
    try:
        services.update_line(g.actor, relationship_id, line_id, _line_form(request.form, partial=True),
                             form_version(version))
    except ValidationFailed as exc:
        return _render_lines(relationship_id, {f"{line_id}-{k}": v for k, v in exc.fields.items()}, 422, line_id)
    flash(_("Production line saved."), "success")
    return redirect(url_for("production.lines", relationship_id=relationship_id))
