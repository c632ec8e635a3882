"""Orders pages: the list across relationships (with export), the new-PO form, and a PO's detail with its actions."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cogrow.catalog import services as catalog
from cogrow.core.auth import requires
from cogrow.core.errors import Conflict, PreconditionFailed, ValidationFailed
from cogrow.core.forms import choices
from cogrow.core.labels import status_label
from cogrow.core.validation import form_version, parse_id, parse_int
from cogrow.extensions import db
from cogrow.orders import drafts, forms, schemas, services, states
from cogrow.orders.models import PO_STATES
from cogrow.relationships import services as relationships

bp = Blueprint("orders", __name__)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"po_state_label": lambda state: status_label(state, "po"), "po_action_label": states.label}

PAGE_SIZE = 100
PRIME = ("admin", "planner")
SUPPLIER = ("admin", "production")
REVISE_EXTRA_ROWS = 2
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
                           statuses=services.STATUS_FILTERS)


def _part_numbers(relationship_id: int) -> list[str]:
    return [item.prime_part_number for item in catalog.list_items(g.actor, relationship_id, limit=2000) if item.active]


@bp.app_template_global("render_field")
def render_field(field, **attrs: Any):
    """Render a WTForms field, leaving out attributes whose value is None (WTForms would write "None")."""
    return field(**{key: value for key, value in attrs.items() if value is not None})


def _htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _put_errors(form: forms.BaseForm, exc: ValidationFailed) -> str | None:
    """Attach a service's field errors to the form's fields; returns the message of errors no field shows."""
    leftover = []
    for key, message in (exc.fields or {}).items():
        field = form.line_field(key) if isinstance(form, forms._LinesForm) else None
        if field is None and key in form._fields:
            field = form[key]
        if field is None:
            leftover.append(message)
            continue
        field.errors = [*field.errors, message]
    return " ".join(leftover) or (None if exc.fields else exc.message)


# ---------------------------------------------------------------- new PO

def _render_new(rel, form: forms.NewPOForm, status: int = 200, message: str | None = None):
    return render_template("orders/new.html", rel=rel, form=form, message=message,
                           add_url=url_for("orders.new_line", relationship_id=rel.id),
                           part_numbers=_part_numbers(rel.id)), status


def _blank_new_form() -> forms.NewPOForm:
    form = forms.NewPOForm(formdata=None)
    while len(form.lines) < forms.NEW_PO_ROWS:
        form.lines.append_entry()
    return form


@bp.get("/relationships/<int:relationship_id>/orders/new")
@requires(*PRIME, kind="prime")
def new(relationship_id: int):
    return _render_new(relationships.get_relationship(g.actor, relationship_id), _blank_new_form())


@bp.get("/relationships/<int:relationship_id>/orders/new/line")
@requires(*PRIME, kind="prime")
def new_line(relationship_id: int):
    """One more blank line row (htmx "Add a line"), and the button again, pointing at the row after it."""
    relationships.get_relationship(g.actor, relationship_id)
    index = parse_int(request.args.get("index") or "0", minimum=0, maximum=schemas.MAX_LINES - 1)
    if not isinstance(index, int):
        raise ValidationFailed(_("Which row to add is not valid."), fields={"index": index or _("Required.")})
    row = forms.LineRow(formdata=None, prefix=f"lines-{index}-")
    return render_template("orders/_line_row.html", row=row, index=index,
                           removable=request.args.get("removable") == "1",
                           add_url=url_for("orders.new_line", relationship_id=relationship_id),
                           next_index=index + 1, removable_arg=request.args.get("removable") == "1")


@bp.post("/relationships/<int:relationship_id>/orders")
@requires(*PRIME, kind="prime")
def create(relationship_id: int):
    rel = relationships.get_relationship(g.actor, relationship_id)
    form = forms.NewPOForm()
    if form.add_line.data:  # "Add a line" without JavaScript: the same form, one row longer, nothing saved
        form.lines.append_entry()
        return _render_new(rel, form)
    form.validate()
    lines = form.used_lines()
    head_ok = not form.number.errors and not form.note.errors
    if lines is not None and head_ok and not lines:
        form.lines.errors = [_("A PO needs at least one line.")]
    if lines is None or not head_ok or not lines:
        return _render_new(rel, form, 422)
    try:
        po = services.create_po(g.actor, relationship_id, {"number": form.number.data, "note": form.note.data or "",
                                                            "lines": lines})
    except ValidationFailed as exc:
        return _render_new(rel, form, 422, _put_errors(form, exc))
    except Conflict as exc:
        return _render_new(rel, form, exc.status, exc.message)
    flash(_("Purchase order %(number)s drafted. Issue it when it is ready.", number=po.number), "success")
    return redirect(url_for("orders.detail", relationship_id=relationship_id, po_id=po.id))


# ---------------------------------------------------------------- a PO's page

def _revise_form(po) -> forms.ReviseForm:
    data = {"note": po.note, "lines": [
        {"line_no": line.line_no, "prime_part_number": line.item.prime_part_number, "quantity": line.quantity,
         "due_date": line.due_date, "unit_price": line.unit_price} for line in po.lines]}
    form = forms.ReviseForm(formdata=None, data=data)
    for _row in range(REVISE_EXTRA_ROWS):
        form.lines.append_entry()
    return form


def _line_choices(form: forms.ProposeForm, po) -> None:
    form.line_id.choices = choices((line.id, f"{line.line_no} · {line.item.prime_part_number}") for line in po.lines)


def _page_forms(po, posted: dict[str, Any] | None = None) -> dict[str, Any]:
    """The page's forms: the one that was posted (with its errors) and blank ones for the rest."""
    posted = posted or {}
    propose = posted.get("propose") or forms.ProposeForm(formdata=None)
    _line_choices(propose, po)
    return {
        "propose": propose,
        "revise": posted.get("revise") or _revise_form(po),
        "reject": posted.get("reject") or forms.RejectForm(formdata=None, prefix="reject"),
        "cancel": posted.get("cancel") or forms.ReasonForm(formdata=None, prefix="cancel"),
        "close": posted.get("close") or forms.ReasonForm(formdata=None, prefix="close"),
        "decide": forms.DecisionForm(formdata=None),
    }


def _page_context(relationship_id: int, po_id: int, posted: dict[str, Any] | None = None) -> dict[str, Any]:
    po = services.get_po(g.actor, relationship_id, po_id)
    proposals = services.list_proposals(po)
    actions = services.allowed_actions(g.actor, po, proposals)
    by_line: dict[int, list] = {}
    for proposal in proposals:
        by_line.setdefault(proposal.line_id, []).append(proposal)
    return {"rel": po.supply_relationship, "po": po, "proposals": proposals, "by_line": by_line, "actions": actions,
            "forms": _page_forms(po, posted), "states": PO_STATES,
            "add_url": url_for("orders.new_line", relationship_id=relationship_id),
            "part_numbers": _part_numbers(relationship_id) if "revise" in actions else []}


def _render_detail(relationship_id: int, po_id: int, posted: dict[str, Any] | None = None, status: int = 200,
                   message: str | None = None):
    context = _page_context(relationship_id, po_id, posted)
    return render_template("orders/detail.html", message=message, **context), status


@bp.get("/relationships/<int:relationship_id>/orders/<int:po_id>")
@requires()
def detail(relationship_id: int, po_id: int):
    return _render_detail(relationship_id, po_id)


def _version() -> int:
    return form_version(request.form.get("version"))


def _act(relationship_id: int, po_id: int, run, done: str, posted: dict[str, Any] | None = None, fragment=None):
    """Run one action from a detail-page form.

    Without htmx: success redirects to the page (with a message); bad input, a conflict or a stale version
    re-render the page with the form as posted and the status (422, 409, 412, 428).
    With htmx (HX-Request): success answers `fragment()`, the parts of the page that changed; a refusal keeps its
    status and asks htmx to reload the page (HX-Refresh), which shows the message and the PO as it now stands.
    """
    services.get_po(g.actor, relationship_id, po_id)  # someone else's PO is a 404 before anything is parsed
    try:
        run()
    except (ValidationFailed, Conflict, PreconditionFailed) as exc:
        db.session.rollback()
        if _htmx():
            flash(exc.message, "error")
            return exc.message, exc.status, {"HX-Refresh": "true"}
        form = next(iter((posted or {}).values()), None)
        message = exc.message
        if isinstance(exc, ValidationFailed) and form is not None:
            message = _put_errors(form, exc) or exc.message
        return _render_detail(relationship_id, po_id, posted, exc.status, message)
    if _htmx() and fragment is not None:
        return fragment()
    flash(done, "success")
    return redirect(url_for("orders.detail", relationship_id=relationship_id, po_id=po_id))


def _form_failed(form) -> ValidationFailed:
    """The fields a form refused, as the services' error (so pages and htmx answer them alike)."""
    errors = {name: " ".join(str(e) for e in field.errors) for name, field in form._fields.items() if field.errors}
    return ValidationFailed(_("Some fields are not valid."), fields=errors)


def _reason_of(form: forms.ReasonForm, required: bool = False) -> str | None:
    form.validate()
    if required:
        forms.require("reason")(form)
    if form.reason.errors:
        raise _form_failed(form)
    return form.reason.data


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/revise")
@requires(*PRIME, kind="prime")
def revise(relationship_id: int, po_id: int):
    form = forms.ReviseForm()
    if form.add_line.data:
        form.lines.append_entry()
        return _render_detail(relationship_id, po_id, {"revise": form})

    def run() -> None:
        version = _version()
        form.validate()
        lines = form.used_lines()
        if lines is None or form.note.errors:
            raise ValidationFailed(_("Some lines are not valid."), fields={})
        if not lines:
            raise ValidationFailed(_("A PO needs at least one line."), fields={"lines": _("A PO needs at least one line.")})
        services.revise_po(g.actor, relationship_id, po_id, {"note": form.note.data or "", "lines": lines}, version)

    return _act(relationship_id, po_id, run, _("Purchase order saved."), {"revise": form})


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/issue")
@requires(*PRIME, kind="prime")
def issue(relationship_id: int, po_id: int):
    return _act(relationship_id, po_id, lambda: services.issue_po(g.actor, relationship_id, po_id, _version()),
                _("Purchase order issued to the supplier."))


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/cancel")
@requires(*PRIME, kind="prime")
def cancel(relationship_id: int, po_id: int):
    form = forms.ReasonForm(prefix="cancel")
    return _act(relationship_id, po_id,
                lambda: services.cancel_po(g.actor, relationship_id, po_id, _version(), _reason_of(form)),
                _("Purchase order cancelled."), {"cancel": form})


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/close")
@requires(*PRIME, kind="prime")
def close(relationship_id: int, po_id: int):
    form = forms.ReasonForm(prefix="close")
    return _act(relationship_id, po_id,
                lambda: services.close_po(g.actor, relationship_id, po_id, _version(), _reason_of(form)),
                _("Purchase order closed."), {"close": form})


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/acknowledge")
@requires(*SUPPLIER, kind="supplier")
def acknowledge(relationship_id: int, po_id: int):
    return _act(relationship_id, po_id, lambda: services.acknowledge_po(g.actor, relationship_id, po_id, _version()),
                _("Purchase order acknowledged."))


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/reject")
@requires(*SUPPLIER, kind="supplier")
def reject(relationship_id: int, po_id: int):
    form = forms.RejectForm(prefix="reject")
    return _act(relationship_id, po_id,
                lambda: services.reject_po(g.actor, relationship_id, po_id, _version(), _reason_of(form, True)),
                _("Purchase order rejected."), {"reject": form})


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/proposals")
@requires(*SUPPLIER, kind="supplier")
def propose(relationship_id: int, po_id: int):
    form = forms.ProposeForm()
    _line_choices(form, services.get_po(g.actor, relationship_id, po_id))

    def run() -> None:
        version = _version()
        form.validate()
        values = form.values()
        if values is None:
            raise _form_failed(form)
        services.propose_change(g.actor, relationship_id, po_id, values, version)

    return _act(relationship_id, po_id, run, _("Change proposed. The prime will accept or reject it."),
                {"propose": form})


def _decided_fragment(relationship_id: int, po_id: int, line_id: int):
    """The decided line (with its proposals) in place, and the parts of the page that carry the PO's state and
    version (the status badge, the facts, the other lines' open proposals, the actions), as htmx partials."""
    db.session.expire_all()
    context = _page_context(relationship_id, po_id)
    return render_template("orders/_decided.html", line_id=line_id, **context)


def _decide(relationship_id: int, po_id: int, proposal_id: int, accept: bool):
    form = forms.DecisionForm()
    line_id: list[int] = []

    def run() -> None:
        version = _version()
        form.validate()
        if form.note.errors:
            raise _form_failed(form)
        decide = services.accept_proposal if accept else services.reject_proposal
        proposal = decide(g.actor, relationship_id, po_id, proposal_id, version, form.note.data)
        line_id.append(proposal.line_id)

    done = _("Proposal accepted: the line is changed.") if accept else _("Proposal rejected: the line stays as it was.")
    return _act(relationship_id, po_id, run, done, {"decide": form},
                fragment=lambda: _decided_fragment(relationship_id, po_id, line_id[0]))


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/proposals/<int:proposal_id>/accept")
@requires(*PRIME, kind="prime")
def accept_proposal(relationship_id: int, po_id: int, proposal_id: int):
    return _decide(relationship_id, po_id, proposal_id, True)


@bp.post("/relationships/<int:relationship_id>/orders/<int:po_id>/proposals/<int:proposal_id>/reject")
@requires(*PRIME, kind="prime")
def reject_proposal(relationship_id: int, po_id: int, proposal_id: int):
    return _decide(relationship_id, po_id, proposal_id, False)


# ---------------------------------------------------------------- lines marked for cancellation: the what-if

CANCEL_DRAFT = "/relationships/<int:relationship_id>/orders/<int:po_id>/cancel-draft"


def _render_cancel_whatif(relationship_id: int, po_id: int, status: int = 200, message: str | None = None,
                          form: forms.ReasonForm | None = None):
    po, draft = drafts.get_cancel_draft(g.actor, relationship_id, po_id)
    marked = drafts.marked_line_ids(draft)
    return render_template("orders/cancel_whatif.html", rel=po.supply_relationship, po=po,
                           marked=[line for line in po.lines if line.id in marked],
                           whole=all(line.id in marked for line in po.lines),
                           result=drafts.cancel_whatif(g.actor, relationship_id, po_id), message=message,
                           form=form or forms.ReasonForm(formdata=None, prefix="cancel")), status


@bp.post(CANCEL_DRAFT)
@requires(*PRIME, kind="prime")
def cancel_draft_mark(relationship_id: int, po_id: int):
    """Mark the checked lines for cancellation as a draft, then show their what-if."""
    services.get_po(g.actor, relationship_id, po_id)
    ids = []
    for value in request.form.getlist("line_ids"):
        line_id = parse_id(value)
        if line_id is None:
            return _render_detail(relationship_id, po_id, None, 422, _("Some lines are not valid."))
        ids.append(line_id)
    try:
        drafts.mark_lines(g.actor, relationship_id, po_id, ids)
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        return _render_detail(relationship_id, po_id, None, exc.status, exc.message)
    return redirect(url_for("orders.cancel_draft_page", relationship_id=relationship_id, po_id=po_id), 303)


@bp.get(CANCEL_DRAFT)
@requires(*PRIME, kind="prime")
def cancel_draft_page(relationship_id: int, po_id: int):
    return _render_cancel_whatif(relationship_id, po_id)


@bp.post(f"{CANCEL_DRAFT}/apply")
@requires(*PRIME, kind="prime")
def cancel_draft_apply(relationship_id: int, po_id: int):
    """Cancel the marked lines for real."""
    form = forms.ReasonForm(prefix="cancel")
    try:
        drafts.apply_cancel(g.actor, relationship_id, po_id, _version(), _reason_of(form))
    except (ValidationFailed, Conflict, PreconditionFailed) as exc:
        db.session.rollback()
        return _render_cancel_whatif(relationship_id, po_id, exc.status, exc.message, form)
    flash(_("The marked lines are cancelled."), "success")
    return redirect(url_for("orders.detail", relationship_id=relationship_id, po_id=po_id), 303)


@bp.post(f"{CANCEL_DRAFT}/discard")
@requires(*PRIME, kind="prime")
def cancel_draft_discard(relationship_id: int, po_id: int):
    drafts.discard_cancel(g.actor, relationship_id, po_id)
    flash(_("Nothing is cancelled: the marks are discarded."), "success")
    return redirect(url_for("orders.detail", relationship_id=relationship_id, po_id=po_id), 303)
