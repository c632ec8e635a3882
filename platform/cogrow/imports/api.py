"""JSON API for imports: routes attach to the shared /api/v1 blueprint."""
from __future__ import annotations

from typing import Any

from flask import g, jsonify, request, url_for
from flask_babel import gettext as _

from cogrow.core.api import bp, page_args
from cogrow.core.auth import requires
from cogrow.core.errors import BadRequest, UnsupportedMediaType
from cogrow.imports import reader, services
from cogrow.imports.models import ImportBatch
from cogrow.relationships import services as relationships

RAW_TYPES = reader.CSV_TYPES + reader.XLSX_TYPES + reader.JSON_TYPES


def batch_json(batch: ImportBatch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "relationship_id": batch.relationship_id,
        "kind": batch.kind,
        "status": batch.status,
        "filename": batch.filename,
        "file_format": batch.file_format,
        "encoding": batch.encoding,
        "delimiter": batch.delimiter,
        "content_sha256": batch.content_sha256,
        "total_rows": batch.total_rows,
        "processed_rows": batch.processed_rows,
        "error_count": batch.error_count,
        # True when reading stopped at the error cap (IMPORT_MAX_ERRORS): the file has at least error_count.
        "error_count_is_lower_bound": services.errors_stopped_at(batch) is not None,
        "errors": batch.errors or [],
        "preview": batch.summary or {},
        "created_at": batch.created_at.isoformat() if batch.created_at else None,
        "applied_at": batch.applied_at.isoformat() if batch.applied_at else None,
        "url": url_for("imports.detail", relationship_id=batch.relationship_id, import_id=batch.id),
    }


def _answer(batch: ImportBatch, status: int = 200):
    if batch.status in ("invalid", "failed"):
        fields = {}
        for e in (batch.errors or [])[:200]:
            key = f"row {e['row']}" + (f": {e['column']}" if e.get("column") else "") if e.get("row") else (e.get("column") or "file")
            fields.setdefault(key, e["message"])
        if services.errors_stopped_at(batch) is not None:
            message = _("More than %(n)s errors: nothing was changed.", n=len(batch.errors or []))
        else:
            message = _("%(n)s errors: nothing was changed.", n=batch.error_count)
        body = {"error": {"code": "validation_failed", "message": message,
                          "fields": fields, "import": batch_json(batch)}}
        response = jsonify(body)
        response.status_code = 422
        return response
    response = jsonify(batch_json(batch))
    response.status_code = status
    if status == 202:  # the worker reads or applies it: poll this address
        response.headers["Location"] = url_for("api.imports_show", relationship_id=batch.relationship_id,
                                               import_id=batch.id)
    return response


def _flag(name: str) -> bool:
    value = (request.args.get(name) or "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise BadRequest(_("Must be true or false."), fields={name: _("Must be true or false.")})


@bp.post("/relationships/<int:relationship_id>/imports/<kind>")
@requires(api=True)
def imports_upload(relationship_id: int, kind: str):
    """Upload a file: multipart `file`, or the raw body as text/csv, an XLSX type or application/json."""
    rel = relationships.get_relationship(g.actor, relationship_id)
    import_kind = services.kind_or_404(kind)
    services.check_uploader(g.actor, rel, import_kind)
    confirm_now = _flag("confirm")
    limit = services.setting("IMPORT_MAX_BYTES", services.DEFAULT_MAX_BYTES)
    if request.mimetype == "multipart/form-data":
        file = request.files.get("file")
        if file is None:
            raise BadRequest(_("Send the file in the form field 'file'."), fields={"file": _("This field is required.")})
        try:
            filename, data, content_type = file.filename or "upload", file.stream.read(limit + 1), file.mimetype
        finally:
            file.close()  # large uploads are spooled to a temporary file
    elif request.mimetype in RAW_TYPES:
        content_type = request.mimetype
        ext = ".json" if content_type in reader.JSON_TYPES else (".csv" if content_type in reader.CSV_TYPES else ".xlsx")
        filename = request.args.get("filename") or f"upload{ext}"
        data = request.get_data(cache=False)
    else:
        raise UnsupportedMediaType(_("Send multipart/form-data with a 'file', or the file itself as text/csv, "
                                     "an XLSX type or application/json."),
                                   fields={"Content-Type": _("Not accepted.")})
    batch = services.upload(g.actor, relationship_id, kind, filename, data, encoding=request.args.get("encoding"),
                            delimiter=request.args.get("delimiter"), content_type=content_type)
    if confirm_now and batch.status == "preview":
        batch = services.confirm(g.actor, relationship_id, batch.id, reason=request.args.get("reason"))
    # A large file is only stored here ('pending'): the worker reads it; confirm once the preview is there.
    return _answer(batch, 202 if batch.status in ("pending", "queued", "running") else 201)


@bp.get("/relationships/<int:relationship_id>/imports")
@requires(api=True)
def imports_index(relationship_id: int):
    limit, offset = page_args()
    batches = services.list_imports(g.actor, relationship_id, limit=limit, offset=offset)
    return jsonify({"data": [batch_json(b) | {"errors": None, "preview": None} for b in batches],
                    "limit": limit, "offset": offset})


@bp.get("/relationships/<int:relationship_id>/imports/<int:import_id>")
@requires(api=True)
def imports_show(relationship_id: int, import_id: int):
    batch = services.get_import(g.actor, relationship_id, import_id)
    response = jsonify(batch_json(batch))
    return response


@bp.post("/relationships/<int:relationship_id>/imports/<int:import_id>/confirm")
@requires(api=True)
def imports_confirm(relationship_id: int, import_id: int):
    body = request.get_json(silent=True) if request.is_json else None
    reason = body.get("reason") if isinstance(body, dict) else request.args.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise BadRequest(_("Must be text."), fields={"reason": _("Must be text.")})
    batch = services.confirm(g.actor, relationship_id, import_id, reason=reason)
    return _answer(batch, 202 if batch.status in ("queued", "running") else 200)
