"""Imports pages: upload form, template download, preview/progress/result, confirm, discard, history."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from cogrow.core.auth import requires
from cogrow.core.errors import AppError, Conflict, ValidationFailed
from cogrow.imports import effects, export, labels, services
from cogrow.imports.forms import ConfirmImportForm
from cogrow.imports.registry import KINDS
from cogrow.relationships import services as relationships

bp = Blueprint("imports", __name__, url_prefix="/relationships/<int:relationship_id>/imports")

ENCODING_CHOICES = ("auto", "utf-8", "cp949")
DELIMITER_CHOICES = ("auto", ",", ";", "tab")


def _locale() -> str:
    return str(get_locale() or "en")


def _render_upload(rel, kind, error: str | None = None, status: int = 200, earlier=None):
    return render_template(
        "imports/upload.html", rel=rel, kind=kind, error=error, earlier=earlier,
        may_upload=services.may_upload(g.actor, rel, kind) and rel.status == "active",
        headers=[(services.header_for(kind, c, _locale()), c) for c in kind.columns],
        encodings=ENCODING_CHOICES, delimiters=DELIMITER_CHOICES,
        chosen_encoding=request.form.get("encoding", "auto"), chosen_delimiter=request.form.get("delimiter", "auto"),
        max_mb=services.setting("IMPORT_MAX_BYTES", services.DEFAULT_MAX_BYTES) // (1024 * 1024),
        max_rows=services.setting("IMPORT_MAX_ROWS", services.DEFAULT_MAX_ROWS),
    ), status


@bp.get("")
@requires()
def list_page(relationship_id: int):
    rel = relationships.get_relationship(g.actor, relationship_id)
    batches = services.list_imports(g.actor, relationship_id)
    kinds = [k for k in KINDS.values() if not k.own_page and services.may_upload(g.actor, rel, k)]
    return render_template("imports/list.html", rel=rel, batches=batches, kinds=kinds,
                           status_label=services.status_label)


@bp.route("/<kind>", methods=["GET", "POST"])
@requires()
def upload(relationship_id: int, kind: str):
    rel = relationships.get_relationship(g.actor, relationship_id)  # a foreign relationship is 404 before anything
    import_kind = services.kind_or_404(kind)
    if request.method == "GET":
        return _render_upload(rel, import_kind)
    if not services.may_upload(g.actor, rel, import_kind):
        services.check_uploader(g.actor, rel, import_kind)  # raises the 403 (audited)
    file = request.files.get("file")
    if file is None or not file.filename:
        return _render_upload(rel, import_kind, _("Choose a file to upload."), 422)
    limit = services.setting("IMPORT_MAX_BYTES", services.DEFAULT_MAX_BYTES)
    try:
        data = file.stream.read(limit + 1)
    finally:
        file.close()  # large uploads are spooled to a temporary file
    try:
        batch = services.upload(g.actor, relationship_id, kind, file.filename, data,
                                encoding=request.form.get("encoding") or None,
                                delimiter=request.form.get("delimiter") or None,
                                content_type=file.mimetype)
    except Conflict as exc:
        earlier = exc.extra.get("import_url")
        return _render_upload(rel, import_kind, exc.message, exc.status, earlier=earlier)
    except AppError as exc:
        if exc.status in (404, 403):
            raise
        return _render_upload(rel, import_kind, exc.message, exc.status)
    return redirect(url_for("imports.detail", relationship_id=relationship_id, import_id=batch.id), 303)


@bp.get("/<kind>/template.<fmt>")
@requires()
def template(relationship_id: int, kind: str, fmt: str):
    import_kind, headers, rows = services.template_rows(g.actor, relationship_id, kind, _locale())
    return export.respond(headers, rows, f"{import_kind.name}-template", fmt)


RUNNING_STATES = ("pending", "queued", "running")


def _render_detail(relationship_id: int, import_id: int, form: ConfirmImportForm | None = None, status: int = 200):
    batch = services.get_import(g.actor, relationship_id, import_id)
    rel = services.batch_relationship(batch)
    kind = KINDS.get(batch.kind)
    summary = batch.summary or {}
    result = summary.get("result") or {}
    return render_template(
        "imports/detail.html", rel=rel, batch=batch, kind=kind, running=batch.status in RUNNING_STATES,
        may_act=kind is not None and services.may_upload(g.actor, rel, kind),
        status_label=services.status_label, summary=summary, stopped_at=services.errors_stopped_at(batch),
        facts=labels.facts, result_link=kind.result_link(rel, result) if kind and kind.result_link and result else None,
        unchanged=effects.unchanged_message(result.get(effects.NOTHING_CHANGED)),
        form=form or ConfirmImportForm(formdata=None),
    ), status


@bp.get("/<int:import_id>")
@requires()
def detail(relationship_id: int, import_id: int):
    return _render_detail(relationship_id, import_id)


@bp.get("/<int:import_id>/status")
@requires()
def status(relationship_id: int, import_id: int):
    """The progress fragment that the detail page polls (htmx, every 2 s) while the file is read or applied.

    Once the batch is done it answers `HX-Refresh: true`, so the page reloads once with the preview or the
    result, and polling stops. Without htmx (a plain GET) it is the detail page itself.
    """
    if request.headers.get("HX-Request") != "true":
        return _render_detail(relationship_id, import_id)
    batch = services.get_import(g.actor, relationship_id, import_id)
    if batch.status not in RUNNING_STATES:
        return "", 200, {"HX-Refresh": "true"}
    return render_template("imports/_progress.html", rel=services.batch_relationship(batch), batch=batch)


@bp.post("/<int:import_id>/confirm")
@requires()
def confirm(relationship_id: int, import_id: int):
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        return _render_detail(relationship_id, import_id, form, 422)
    try:
        batch = services.confirm(g.actor, relationship_id, import_id, reason=form.reason.data)
    except ValidationFailed as exc:
        form.add_errors(exc.fields or {"reason": exc.message})
        return _render_detail(relationship_id, import_id, form, 422)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("imports.detail", relationship_id=relationship_id,
                                import_id=exc.extra.get("import_id") or import_id), 303)
    if batch.status == "applied":
        flash(_("Import applied: %(n)s rows.", n=batch.total_rows), "success")
    elif batch.status in ("queued", "running"):
        flash(_("The import is running in the background."), "success")
    else:
        flash(_("The file no longer passes the checks; nothing was changed."), "error")
    return redirect(url_for("imports.detail", relationship_id=relationship_id, import_id=batch.id), 303)


@bp.post("/<int:import_id>/discard")
@requires()
def discard(relationship_id: int, import_id: int):
    services.discard(g.actor, relationship_id, import_id)
    flash(_("Import discarded; nothing was changed."), "success")
    return redirect(url_for("imports.list_page", relationship_id=relationship_id), 303)
