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
from cogrow.core.forms import BaseForm
from cogrow.core.validation import form_version, parse_id, parse_int
from cogrow.core.weeks import current_week, iso_label
from cogrow.extensions import db
from cogrow.production import forms, services
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

def _render_item(relationship_id: int, item_id: int, form: BaseForm | None = None, errors: dict[str, str] | None = None,
                 status: int = 200):
    actor = g.actor
    rel = relationships.get_relationship(actor, relationship_id)
    position = services.get_position(actor, relationship_id, item_id)
    page = _page()
    reports = services.list_reports(actor, relationship_id, item_id=item_id, limit=PAGE_SIZE,
                                    offset=(page - 1) * PAGE_SIZE)
    total = services.count_reports(actor, relationship_id, item_id=item_id)
    readings = services.list_readings(actor, relationship_id, item_id=item_id, limit=100)
    weeks = _weeks(FORM_WEEKS)
    if form is None:  # pre-filled with the last report
        data = forms.prefill(position["position"], {p.week_start: p.quantity for p in position["plan"]}, weeks)
        form = forms.item_report_form(weeks, formdata=None, data=data)
    if position["position"] is None:  # nothing to keep: WIP and finished goods are required (marked, and `required`)
        form.wip_qty.flags.required = form.fg_on_hand.flags.required = True
    return render_template(
        "production/item.html", rel=rel, item=position["item"], data=position, reports=reports, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), total=total, readings=readings,
        line_codes=services.line_codes(r.line_id for r in readings),
        lines=services.list_lines(actor, relationship_id, item_id=item_id),
        shipments=shipments.list_item_shipment_lines(actor, relationship_id, item_id, limit=100), weeks=weeks,
        can_write=services.can_write(actor, rel), form=form, errors=errors or {},
    ), status


@bp.get("/relationships/<int:relationship_id>/items/<int:item_id>/production")
@requires()
def item_history(relationship_id: int, item_id: int):
    return _render_item(relationship_id, item_id)


@bp.post("/relationships/<int:relationship_id>/items/<int:item_id>/production")
@requires(*WRITERS, kind="supplier")
def report_item(relationship_id: int, item_id: int):
    services.get_item(g.actor, relationship_id, item_id)  # a foreign item is 404 before any 422
    weeks = _weeks(FORM_WEEKS)
    form = forms.item_report_form(weeks)
    form.validate()
    bases = services.report_bases(relationship_id, {item_id: parse_id(form.base.data)})
    values = forms.report_values(form, weeks, as_of=form.as_of.data or datetime.now(timezone.utc),
                                 base=bases.get(item_id), has_report=services.has_position(item_id))
    if values is None or form.errors:
        return _render_item(relationship_id, item_id, form, status=422)
    values["item_id"] = item_id
    try:
        services.record_reports(g.actor, relationship_id, [values], source="form", prefix="")
    except ValidationFailed as exc:
        return _render_item(relationship_id, item_id, form, _put_errors(form, exc.fields), 422)
    flash(_("Production report saved."), "success")
    return redirect(url_for("production.item_history", relationship_id=relationship_id, item_id=item_id))


def _put_errors(fields_of, errors: Mapping[str, str]) -> dict[str, str]:
    """A service's errors beside the fields they name; those no field shows are returned (shown above the form)."""
    db.session.rollback()
    rest = {}
    for name, message in errors.items():
        field = fields_of._fields.get(name) if hasattr(fields_of, "_fields") else None
        if field is None or field.type == "HiddenField":
            rest[name] = message
        else:
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
    return rest


# --- the grid: every item of a relationship ----------------------------------------------------------------

def _render_grid(relationship_id: int, form: BaseForm | None = None, errors: dict[str, str] | None = None,
                 status: int = 200, message: str | None = None, rows=None):
    rel = relationships.get_relationship(g.actor, relationship_id)
    if rows is None:
        rows = services.relationship_positions(g.actor, relationship_id)
    weeks = _weeks(GRID_WEEKS)
    if form is None:  # every row pre-filled with its last report
        plans = services.planned_weeks([pos.report_id for _item, pos in rows if pos is not None])
        data = {f"r{item.id}": forms.prefill(pos, plans.get(pos.report_id, {}), weeks)
                for item, pos in rows if pos is not None}
        form = forms.grid_form([item.id for item, _pos in rows], weeks, formdata=None, **data)
    return render_template("production/grid.html", rel=rel, rows=rows, weeks=weeks, form=form, errors=errors or {},
                           message=message, can_write=services.can_write(g.actor, rel)), status


@bp.get("/relationships/<int:relationship_id>/production/grid")
@requires(*WRITERS, kind="supplier")
def grid(relationship_id: int):
    return _render_grid(relationship_id)


@bp.post("/relationships/<int:relationship_id>/production/grid")
@requires(*WRITERS, kind="supplier")
def grid_submit(relationship_id: int):
    rows = services.relationship_positions(g.actor, relationship_id)
    weeks = _weeks(GRID_WEEKS)
    form = forms.grid_form([item.id for item, _pos in rows], weeks)
    form.validate()  # each cell parsed; a refused one carries its message
    as_of = form.as_of.data or datetime.now(timezone.utc)
    subforms = {item.id: form[f"r{item.id}"].form for item, _pos in rows}
    # The reports each row was pre-filled from (one query): a cell still showing its value is unchanged.
    bases = services.report_bases(relationship_id, {item_id: parse_id(row.base.data)
                                                    for item_id, row in subforms.items()})
    reports, ok = [], not form.as_of.errors and not form.errors.get("csrf_token")
    for item, position in rows:
        row = subforms[item.id]
        if not forms.report_fields_used(row, weeks):
            continue  # blank rows are skipped
        values = forms.report_values(row, weeks, as_of=as_of, base=bases.get(item.id), skip_unchanged=True,
                                     has_report=position is not None)
        if forms.field_errors(row):
            ok = False
        elif values is not None:  # None: the row is as the page showed it
            values["item_id"] = item.id
            reports.append(values)
    if ok and not reports:
        return _render_grid(relationship_id, form, status=422, message=_("Nothing changed: change at least one cell."),
                            rows=rows)
    if not ok:
        return _render_grid(relationship_id, form, status=422, rows=rows)
    try:
        services.record_reports(g.actor, relationship_id, reports, source="grid", prefix="r{i}-")
    except ValidationFailed as exc:
        rest: dict[str, str] = {}
        for key, message in _grid_errors(exc.fields, reports).items():
            row_name, sep, name = key.partition("-")
            row = form._fields.get(row_name)
            if sep and row is not None and hasattr(row, "form"):
                rest.update({f"{row_name}-{k}": v for k, v in _put_errors(row.form, {name: message}).items()})
            else:
                rest[key] = message
        return _render_grid(relationship_id, form, rest, 422, rows=rows)
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

def _render_lines(relationship_id: int, form: forms.LineForm | None = None, status: int = 200,
                  edited: forms.LineEditForm | None = None, edit_id: int | None = None,
                  errors: dict[str, str] | None = None):
    rel = relationships.get_relationship(g.actor, relationship_id)
    lines = services.list_lines(g.actor, relationship_id)
    items = _line_items(relationship_id)
    days, output = services.daily_output(g.actor, relationship_id)
    fed = [line for line in lines if any((day, line.id) in output for day in days)]
    totals = {day: sum((output.get((day, line.id), Decimal(0)) for line in fed), Decimal(0)) for day in days}
    line_forms = {line.id: edited if edit_id == line.id and edited is not None
                  else forms.LineEditForm.for_line(items, line) for line in lines}
    return render_template("production/lines.html", rel=rel, lines=lines, items=items, line_forms=line_forms,
                           form=form or forms.LineForm(items, formdata=None), errors=errors or {},
                           can_write=services.can_write(g.actor, rel), feed_days=days, feed_lines=fed,
                           feed=output, feed_totals=totals), status


def _line_items(relationship_id: int):
    from cogrow.catalog import services as catalog

    return catalog.list_items(g.actor, relationship_id)


@bp.get("/relationships/<int:relationship_id>/production-lines")
@requires()
def lines(relationship_id: int):
    return _render_lines(relationship_id)


@bp.post("/relationships/<int:relationship_id>/production-lines")
@requires(*WRITERS, kind="supplier")
def create_line(relationship_id: int):
    relationships.get_relationship(g.actor, relationship_id)
    form = forms.LineForm(_line_items(relationship_id))
    if not form.validate():
        return _render_lines(relationship_id, form, 422)
    try:
        line = services.create_line(g.actor, relationship_id, form.values())
    except ValidationFailed as exc:
        return _render_lines(relationship_id, form, 422, errors=_put_errors(form, exc.fields))
    flash(_("Production line %(code)s added.", code=line.code), "success")
    return redirect(url_for("production.lines", relationship_id=relationship_id))


@bp.post("/relationships/<int:relationship_id>/production-lines/<int:line_id>")
@requires(*WRITERS, kind="supplier")
def update_line(relationship_id: int, line_id: int):
    services.get_line(g.actor, relationship_id, line_id)
    form = forms.LineEditForm(_line_items(relationship_id), line_id=line_id)
    if not form.validate():
        return _render_lines(relationship_id, status=422, edited=form, edit_id=line_id)
    try:
        services.update_line(g.actor, relationship_id, line_id, form.values(), form_version(form.version.data))
    except ValidationFailed as exc:
        errors = {f"{line_id}-{k}": v for k, v in _put_errors(form, exc.fields).items()}
        return _render_lines(relationship_id, status=422, edited=form, edit_id=line_id, errors=errors)
    flash(_("Production line saved."), "success")
    return redirect(url_for("production.lines", relationship_id=relationship_id))
