"""Production pages: positions of every visible item, one item's history and report form, the grid form,
and the production lines of a relationship."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cogrow.core.auth import requires
from cogrow.core.errors import BadRequest, ValidationFailed
from cogrow.core.validation import form_version, parse_int
from cogrow.core.weeks import current_week, iso_label
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


def _report_from_form(form: Mapping[str, str], prefix: str, weeks: list[str], as_of: str | None,
                      now: datetime) -> dict[str, Any]:
    """Parse one report's form fields (`<prefix>wip_qty`, `<prefix>plan_2026-W49`, ...); errors keyed by field name."""
    data: dict[str, Any] = {"as_of": as_of or now.isoformat()}
    for name in QTY_FIELDS:
        value = (form.get(prefix + name) or "").strip()
        if value:
            data[name] = value
        elif name in ("good_qty", "scrap_qty"):
            data[name] = "0"  # on a form, nothing produced is a blank
    note = (form.get(prefix + "note") or "").strip()
    if note:
        data["note"] = note
    plan_weeks = [w for w in weeks if (form.get(f"{prefix}plan_{w}") or "").strip()]
    data["plan"] = [{"week": w, "quantity": form[f"{prefix}plan_{w}"].strip()} for w in plan_weeks]
    try:
        return schemas.parse_report(data, now, item_required=False)
    except ValidationFailed as exc:
        fields = {}
        for key, message in exc.fields.items():
            if key.startswith("plan["):
                index = int(key[5:key.index("]")])
                key = f"plan_{plan_weeks[index]}" if index < len(plan_weeks) else "plan"
            fields[prefix + key] = message
        raise ValidationFailed(exc.message, fields=fields) from None


def _filled(form: Mapping[str, str], prefix: str, weeks: list[str]) -> bool:
    names = [*QTY_FIELDS, "note", *(f"plan_{w}" for w in weeks)]
    return any((form.get(prefix + name) or "").strip() for name in names)


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
    return render_template(
        "production/item.html", rel=rel, item=position["item"], data=position, reports=reports, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), total=total, readings=readings,
        line_codes=services.line_codes(r.line_id for r in readings),
        lines=services.list_lines(actor, relationship_id, item_id=item_id),
        shipments=shipments.list_item_shipment_lines(actor, relationship_id, item_id, limit=100), weeks=_weeks(FORM_WEEKS),
        can_write=services.can_write(actor, rel), errors=errors, form=request.form if errors else {},
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
    try:
        values = _report_from_form(request.form, "", _weeks(FORM_WEEKS), request.form.get("as_of"), now)
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
    return render_template("production/grid.html", rel=rel, rows=rows, weeks=_weeks(GRID_WEEKS), errors=errors,
                           form=request.form if errors or message else {}, message=message,
                           can_write=services.can_write(g.actor, rel)), status


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
    for item, _position in rows:
        prefix = f"r{item.id}-"
        if not _filled(request.form, prefix, weeks):
            continue  # blank rows are skipped
        try:
            values = _report_from_form(request.form, prefix, weeks, as_of if "as_of" not in errors else None, now)
        except ValidationFailed as exc:
            errors.update(exc.fields)
            continue
        values["item_id"] = item.id
        reports.append(values)
    if not errors and not reports:
        return _render_grid(relationship_id, {}, 422, _("Fill in at least one row."))
    if errors:
        return _render_grid(relationship_id, errors, 422)
    try:
        services.record_reports(g.actor, relationship_id, reports, source="grid", prefix="r{i}-")
    except ValidationFailed as exc:
        return _render_grid(relationship_id, exc.fields, 422)
    flash(_("%(n)s production reports saved.", n=len(reports)), "success")
    return redirect(url_for("production.grid", relationship_id=relationship_id))


# --- production lines --------------------------------------------------------------------------------------

def _render_lines(relationship_id: int, errors: dict[str, str], status: int = 200, edit_id: int | None = None):
    rel = relationships.get_relationship(g.actor, relationship_id)
    from cogrow.catalog import services as catalog

    return render_template("production/lines.html", rel=rel, lines=services.list_lines(g.actor, relationship_id),
                           items=catalog.list_items(g.actor, relationship_id), errors=errors,
                           form=request.form if errors else {}, edit_id=edit_id,
                           can_write=services.can_write(g.actor, rel)), status


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
