"""Shipment pages: every visible ASN (with export), a new ASN against open PO lines, one ASN with receipt and cancel."""
from __future__ import annotations

import re
from decimal import Decimal

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cogrow.core import labels
from cogrow.core.auth import requires
from cogrow.core.errors import AppError
from cogrow.core.validation import form_version, parse_id
from cogrow.core.weeks import local_today
from cogrow.extensions import db
from cogrow.imports import export
from cogrow.orders import forms
from cogrow.relationships import services as relationships
from cogrow.shipments import schemas, services
from cogrow.shipments.models import SHIPMENT_STATES

bp = Blueprint("shipments", __name__)

QTY_PREFIX = "qty-"
RECEIVED_PREFIX = "received-"
_LINE_ERROR = re.compile(r"lines\[(\d+)\]\.(\w+)")


def _filters() -> tuple[int | None, str | None]:
    rel_id = parse_id(request.args.get("relationship_id", ""))
    return rel_id, services.valid_status(request.args.get("status"))


@bp.get("/shipments")
@requires()
def list_page():
    relationship_id, status = _filters()
    fmt = request.args.get("format")
    if fmt:
        headers = [_("ASN number"), _("Status"), _("Ship date"), _("Expected arrival"), _("Carrier"), _("Tracking"),
                   _("Prime"), _("Supplier"), _("PO number"), _("PO line"), _("Prime's part number"),
                   _("Supplier's part number"), _("Quantity shipped"), _("Quantity received")]
        rows = services.export_rows(g.actor, relationship_id, status)
        return export.respond(headers, _export_rows(rows), "shipments", fmt)
    limit, offset = schemas.paging(request.args)
    shipments = services.list_shipments(g.actor, relationship_id, status, limit=limit, offset=offset)
    return render_template("shipments/list.html", shipments=shipments, totals=services.totals([s.id for s in shipments]),
                           relationships=relationships.list_relationships(g.actor), relationship_id=relationship_id,
                           status=status, states=SHIPMENT_STATES, status_labels=labels.STATUS_LABELS["shipment"], limit=limit,
                           offset=offset)


def _export_rows(rows):
    for row in rows:
        yield (*row[:1], labels.status_label(row[1], "shipment"), *row[2:])


def _render_new(relationship_id: int, form, errors: dict[str, str], status: int = 200):
    rel = relationships.get_relationship(g.actor, relationship_id)
    lines = services.open_po_lines(g.actor, relationship_id)
    tolerance = rel.over_delivery_pct or Decimal("0")
    if form is None:
        form = forms.shipment_form(QTY_PREFIX, [line.id for line in lines], formdata=None,
                                   data={"ship_date": local_today()})
    # Errors about lines the form does not show (another relationship's, or shipped in full) are listed above it.
    shown_inputs = {f"{QTY_PREFIX}{line.id}" for line in lines}
    errors = {**_field_errors(form), **errors}
    return render_template("shipments/new.html", rel=rel, lines=lines, tolerance=tolerance, errors=errors,
                           form=form, prefix=QTY_PREFIX, shown_inputs=shown_inputs), status


def _field_errors(form) -> dict[str, str]:
    return {name: " ".join(str(e) for e in field.errors) for name, field in form._fields.items() if field.errors}


@bp.get("/relationships/<int:relationship_id>/shipments/new")
@requires("admin", "production", kind="supplier")
def new(relationship_id: int):
    return _render_new(relationship_id, None, {})


def _page_errors(exc: AppError, line_ids: list, prefix: str) -> dict[str, str]:
    """Errors keyed as the page's inputs: `lines[2].quantity` becomes the input of the third line given."""
    errors: dict[str, str] = {}
    for key, message in (exc.fields or {}).items():
        match = _LINE_ERROR.fullmatch(key)
        if match and int(match.group(1)) < len(line_ids):
            errors[f"{prefix}{line_ids[int(match.group(1))]}"] = message
        else:
            errors[key] = message
    if not errors:
        errors["_form"] = exc.message
    return errors


@bp.post("/relationships/<int:relationship_id>/shipments")
@requires("admin", "production", kind="supplier")
def create(relationship_id: int):
    relationships.get_relationship(g.actor, relationship_id)
    shown = [line.id for line in services.open_po_lines(g.actor, relationship_id)]
    posted = forms.posted_line_ids(request.form, QTY_PREFIX)
    form = forms.shipment_form(QTY_PREFIX, list(dict.fromkeys([*shown, *posted])))
    form.validate()
    forms.require("ship_date")(form)
    errors = schemas.check_dates(form.ship_date.data, form.expected_date.data, local_today())
    lines = [(line_id, form[f"{QTY_PREFIX}{line_id}"].data) for line_id in posted
             if form[f"{QTY_PREFIX}{line_id}"].data is not None]
    if not lines and not any(form[f"{QTY_PREFIX}{line_id}"].errors for line_id in posted):
        errors["lines"] = _("Give at least one line.")
    if errors or _field_errors(form):
        return _render_new(relationship_id, form, errors, 422)
    values = {"number": form.number.data, "ship_date": form.ship_date.data, "expected_date": form.expected_date.data,
              "carrier": form.carrier.data or "", "tracking": form.tracking.data or "", "lines": lines}
    try:
        shipment = services.create_shipment(g.actor, relationship_id, values)
    except AppError as exc:
        if exc.status not in (404, 409, 422) or (exc.status == 404 and not exc.fields):
            raise
        db.session.rollback()
        errors = _page_errors(exc, [line_id for line_id, _q in lines], QTY_PREFIX)
        return _render_new(relationship_id, form, errors, 422 if exc.status == 404 else exc.status)
    flash(_("ASN %(number)s sent.", number=shipment.number), "success")
    return redirect(url_for("shipments.detail", relationship_id=relationship_id, shipment_id=shipment.id))


def _receipt_form(shipment, formdata=None):
    ids = [line.po_line_id for line in shipment.lines]
    if formdata is None:
        return forms.receipt_form(RECEIVED_PREFIX, ids, formdata=None,
                                  data={f"{RECEIVED_PREFIX}{line.po_line_id}": line.quantity_shipped
                                        for line in shipment.lines})
    return forms.receipt_form(RECEIVED_PREFIX, ids)


def _render_detail(relationship_id: int, shipment_id: int, errors: dict[str, str], status: int = 200, form=None):
    shipment = services.get_shipment(g.actor, relationship_id, shipment_id)
    form = form or _receipt_form(shipment)
    errors = {**_field_errors(form), **errors}
    return render_template("shipments/detail.html", shipment=shipment, rel=shipment.supply_relationship,
                           errors=errors, form=form, status_labels=labels.STATUS_LABELS["shipment"], prefix=RECEIVED_PREFIX), status


@bp.get("/relationships/<int:relationship_id>/shipments/<int:shipment_id>")
@requires()
def detail(relationship_id: int, shipment_id: int):
    return _render_detail(relationship_id, shipment_id, {})


def _form_version() -> int:
    return form_version(request.form.get("version"))


@bp.post("/relationships/<int:relationship_id>/shipments/<int:shipment_id>/receive")
@requires("admin", "planner", "procurement", kind="prime")
def receive(relationship_id: int, shipment_id: int):
    shipment = services.get_shipment(g.actor, relationship_id, shipment_id)
    form = _receipt_form(shipment, request.form)
    ids = [line.po_line_id for line in shipment.lines]
    form.validate()
    for line_id in ids:
        forms.require(f"{RECEIVED_PREFIX}{line_id}")(form)
    if _field_errors(form):
        return _render_detail(relationship_id, shipment_id, {}, 422, form)
    received = [(line_id, form[f"{RECEIVED_PREFIX}{line_id}"].data) for line_id in ids]
    try:
        services.receive_shipment(g.actor, relationship_id, shipment_id, received, _form_version())
    except AppError as exc:
        if exc.status not in (409, 412, 422):
            raise
        db.session.rollback()
        errors = _page_errors(exc, ids, RECEIVED_PREFIX)
        return _render_detail(relationship_id, shipment_id, errors, exc.status, form)
    flash(_("Receipt confirmed."), "success")
    return redirect(url_for("shipments.detail", relationship_id=relationship_id, shipment_id=shipment_id))


@bp.post("/relationships/<int:relationship_id>/shipments/<int:shipment_id>/cancel")
@requires("admin", "production", kind="supplier")
def cancel(relationship_id: int, shipment_id: int):
    services.get_shipment(g.actor, relationship_id, shipment_id)
    try:
        services.cancel_shipment(g.actor, relationship_id, shipment_id, _form_version())
    except AppError as exc:
        if exc.status not in (409, 412):
            raise
        return _render_detail(relationship_id, shipment_id, {"_form": exc.message}, exc.status)
    flash(_("Shipment cancelled."), "success")
    return redirect(url_for("shipments.detail", relationship_id=relationship_id, shipment_id=shipment_id))
