"""Orders pages: the list across relationships (with export), the new-PO form, and a PO's detail with its actions."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cogrow.catalog import services as catalog
from cogrow.core.auth import requires
from cogrow.core.errors import Conflict, PreconditionFailed, ValidationFailed
from cogrow.core.validation import Fields, form_version, parse_id
from cogrow.orders import schemas, services
from cogrow.orders.models import PO_STATES
from cogrow.relationships import services as relationships

bp = Blueprint("orders", __name__)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"po_state_label": lambda state: str(STATE_LABELS.get(state, state))}

PAGE_SIZE = 100
PRIME = ("admin", "planner")
SUPPLIER = ("admin", "production")
REVISE_EXTRA_ROWS = 5
STATE_LABELS = {
    "open": _l("Open (issued, not yet closed)"), "draft": _l("Draft"), "issued": _l("Issued"),
    "acknowledged": _l("Acknowledged"), "change_proposed": _l("Change proposed"), "rejected": _l("Rejected"),
    "partially_shipped": _l("Partially shipped"), "closed": _l("Closed"), "cancelled": _l("Cancelled"),
    "accepted": _l("Accepted"), "withdrawn": _l("Withdrawn"),
}
EXPORT_HEADERS = ("Prime", "Supplier", "PO number", "Status", "Line", "Prime part number", "Supplier part number",
                  "Quantity", "Due date", "Unit price", "Currency", "Shipped", "Received", "Note")


def _int_arg(name: str) -> int | None:
    return parse_id(request.args.get(name, ""))


@bp.get("/orders")
@requires()
def list_page():
    rel_id = _int_arg("relationship_id")
    status = request.args.get("status") or None
    if status not in (None, *services.STATUS_FILTERS):
        status = None
    fmt = request.args.get("format")
    if fmt:
        from cogrow.imports.export import respond

        return respond(EXPORT_HEADERS, services.export_rows(g.actor, rel_id, status), "purchase-orders", fmt)
    offset = _int_arg("offset") or 0
    summaries = services.list_orders(g.actor, rel_id, status, limit=PAGE_SIZE + 1, offset=offset)
    return render_template("orders/list.html", summaries=summaries[:PAGE_SIZE], more=len(summaries) > PAGE_SIZE,
                           offset=offset, page_size=PAGE_SIZE, relationships=relationships.list_relationships(g.actor),
                           creatable=services.prime_relationships(g.actor), rel_id=rel_id, status=status,
                           statuses=services.STATUS_FILTERS, can_import=_can_import())


def _can_import() -> bool:
    """Links to the importer appear once its pages exist (the imports helper builds them)."""
    return "imports.upload" in current_app.view_functions


def _part_numbers(relationship_id: int) -> list[str]:
    return [item.prime_part_number for item in catalog.list_items(g.actor, relationship_id, limit=2000) if item.active]


def _render_new(relationship_id: int, errors: dict[str, str], status: int = 200):
    rel = relationships.get_relationship(g.actor, relationship_id)
    return render_template("orders/new.html", rel=rel, errors=errors, form=request.form,
                           rows=schemas.FORM_NEW_ROWS, part_numbers=_part_numbers(relationship_id)), status


@bp.get("/relationships/<int:relationship_id>/orders/new")
@requires(*PRIME, kind="prime")
def new(relationship_id: int):
    return _render_new(relationship_id, {})


@bp.post("/relationships/<int:relationship_id>/orders")
@requires(*PRIME, kind="prime")
def create(relationship_id: int):
    relationships.get_relationship(g.actor, relationship_id)
    try:
        f = Fields(request.form)
        f.text("number", max_length=32, code=True, upper=True)
        f.text("note", max_length=1000)
        head = f.done(strict=False)
        values = schemas.parse_po({"number": head.get("number"), "note": head.get("note") or "",
                                   "lines": schemas.form_lines(request.form, schemas.FORM_NEW_ROWS)})
        po = services.create_po(g.actor, relationship_id, values)
    except ValidationFailed as exc:
        return _render_new(relationship_id, exc.fields, 422)
    flash(_("Purchase order %(number)s drafted. Issue it when it is ready.", number=po.number), "success")
    return redirect(url_for("orders.detail", relationship_id=relationship_id, po_id=po.id))


def _render_detail(relationship_id: int, po_id: int, errors: dict[str, str] | None = None, status: int = 200,
                   message: str | None = None):
    po = services.get_po(g.actor, relationship_id, po_id)
    proposals = services.list_proposals(po)
    actions = services.allowed_actions(g.actor, po, proposals)
    posted = request.form if errors else None
    return render_template(
        "orders/detail.html", rel=po.supply_relationship, po=po, proposals=proposals, actions=actions,
        errors=errors or {}, form=posted, message=message, states=PO_STATES,
        rows=len(po.lines) + REVISE_EXTRA_ROWS,
        part_numbers=_part_numbers(relationship_id) if "revise" in actions else []), status


@bp.get("/relationships/<int:relationship_id>/orders/<int:po_id>")
@requires()
def detail(relationship_id: int, po_id: int):
    return _render_detail(relationship_id, po_id)


def _version() -> int:
    return form_version(request.form.get("version"))


def _act(relationship_id: int, po_id: int, run, done: str):
    """Run one action from a detail-page form; bad input, a conflict or a stale version re-render the page."""
    services.get_po(g.actor, relationship_id, po_id)  # someone else's PO is a 404 before anything is parsed
    try:
        run()
    except ValidationFailed as exc:
        return _render_detail(relationship_id, po_id, exc.fields, 422, exc.message)
    except (Conflict, PreconditionFailed) as exc:
        return _render_detail(relationship_id, po_id, {}, exc.status, exc.message)
    flash(done, "success")
    return redirect(url_for("orders.detail", relationship_id=relationship_id, po_id=po_id))


def _reason(name: str = "reason", required: bool = False) -> str | None:
    return schemas.parse_reason(request.form, name=name, required=required, strict=False)


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/revise")
@requires(*PRIME, kind="prime")
def revise(relationship_id: int, po_id: int):
    def run() -> None:
        f = Fields(request.form)
        f.text("note", max_length=1000)
        note = f.done(strict=False).get("note") or ""
        lines = schemas.form_lines(request.form, schemas.form_row_count(request.form))
        values = schemas.parse_po({"note": note, "lines": lines}, partial=True)
        services.revise_po(g.actor, relationship_id, po_id, values, _version())

    return _act(relationship_id, po_id, run, _("Purchase order saved."))


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/issue")
@requires(*PRIME, kind="prime")
def issue(relationship_id: int, po_id: int):
    return _act(relationship_id, po_id, lambda: services.issue_po(g.actor, relationship_id, po_id, _version()),
                _("Purchase order issued to the supplier."))


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/cancel")
@requires(*PRIME, kind="prime")
def cancel(relationship_id: int, po_id: int):
    return _act(relationship_id, po_id,
                lambda: services.cancel_po(g.actor, relationship_id, po_id, _version(), _reason()),
                _("Purchase order cancelled."))


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/close")
@requires(*PRIME, kind="prime")
def close(relationship_id: int, po_id: int):
    return _act(relationship_id, po_id,
                lambda: services.close_po(g.actor, relationship_id, po_id, _version(), _reason()),
                _("Purchase order closed."))


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/acknowledge")
@requires(*SUPPLIER, kind="supplier")
def acknowledge(relationship_id: int, po_id: int):
    return _act(relationship_id, po_id, lambda: services.acknowledge_po(g.actor, relationship_id, po_id, _version()),
                _("Purchase order acknowledged."))


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/reject")
@requires(*SUPPLIER, kind="supplier")
def reject(relationship_id: int, po_id: int):
    return _act(relationship_id, po_id,
                lambda: services.reject_po(g.actor, relationship_id, po_id, _version(), _reason(required=True)),
                _("Purchase order rejected."))


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/proposals")
@requires(*SUPPLIER, kind="supplier")
def propose(relationship_id: int, po_id: int):
    def run() -> None:
        data: dict[str, Any] = {k: request.form.get(k) for k in ("line_id", "quantity", "due_date", "reason")
                                if (request.form.get(k) or "").strip()}
        services.propose_change(g.actor, relationship_id, po_id, schemas.parse_proposal(data), _version())

    return _act(relationship_id, po_id, run, _("Change proposed. The prime will accept or reject it."))


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/proposals/<int:proposal_id>/accept")
@requires(*PRIME, kind="prime")
def accept_proposal(relationship_id: int, po_id: int, proposal_id: int):
    return _act(relationship_id, po_id,
                lambda: services.accept_proposal(g.actor, relationship_id, po_id, proposal_id, _version(),
                                                 _reason("note")),
                _("Proposal accepted: the line is changed."))


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/proposals/<int:proposal_id>/reject")
@requires(*PRIME, kind="prime")
def reject_proposal(relationship_id: int, po_id: int, proposal_id: int):
    return _act(relationship_id, po_id,
                lambda: services.reject_proposal(g.actor, relationship_id, po_id, proposal_id, _version(),
                                                 _reason("note")),
                _("Proposal rejected: the line stays as it was."))
