"""JSON API for imports: routes attach to the shared /api/v1 blueprint.

The upload's body is the file itself (multipart `file`, or the raw bytes as text/csv, an XLSX type or
application/json), read by the imports service rather than by a declared model; its options come in the query.
"""
from __future__ import annotations

import json
from typing import Annotated, Any

from flask import Response, g, request, url_for
from flask_babel import gettext as _
from pydantic import BeforeValidator, Field

from cogrow.core.api import bp, guard_path, operation, page_of
from cogrow.core.auth import requires
from cogrow.core.errors import BadRequest, UnsupportedMediaType
from cogrow.core.schema import Body, Flag, Moment, PageQuery, Query, Resource, text_type
from cogrow.imports import models, reader, services
from cogrow.relationships import services as relationships

RAW_TYPES = reader.CSV_TYPES + reader.XLSX_TYPES + reader.JSON_TYPES
_BUSY = ("pending", "queued", "running")  # the worker reads or applies it: 202 with a Location to poll


def _import_of_this_relationship(actor: Any, import_id: int) -> None:
    """The owner guard of <import_id>: a bad body for an import the caller cannot see is a 404."""
    relationship_id = (request.view_args or {}).get("relationship_id")
    if relationship_id is not None:
        services.get_import(actor, relationship_id, import_id)


guard_path("import_id", _import_of_this_relationship)


def _blank_is_false(value: Any) -> Any:
    return False if isinstance(value, str) and not value.strip() else value


class ImportUploadQuery(Query):
    """How to read the uploaded file, and whether to apply it at once when it checks out."""

    confirm: Annotated[Flag, BeforeValidator(_blank_is_false)] = Field(
        default=False, description="Apply the file as soon as its preview has no errors.")
    filename: str | None = Field(default=None, description="The file's name, for a raw body.")
    encoding: str | None = Field(default=None, description="The text encoding of a CSV (found out when left out).")
    delimiter: str | None = Field(default=None, description="The CSV's delimiter (found out when left out).")
    reason: str | None = Field(default=None, description="What the kind may require with `confirm` "
                                                         "(a forecast that cuts firm-zone quantities).")


class ImportConfirmQuery(Query):
    reason: str | None = Field(default=None, description="Used when the request has no body.")


class ImportConfirm(Body):
    """What the kind may require beyond the file (a forecast that cuts firm-zone quantities needs a reason)."""

    reason: text_type(max_length=500, multiline=True) | None = None  # type: ignore[valid-type]


class ImportBatch(Resource):
    """An uploaded file: its checks, its preview and whether it was applied."""

    id: int
    relationship_id: int
    kind: str
    status: str = Field(description="pending, preview, invalid, queued, running, applied, failed or discarded.")
    filename: str | None
    file_format: str | None
    encoding: str | None
    delimiter: str | None
    content_sha256: str | None
    total_rows: int | None
    processed_rows: int | None
    error_count: int | None
    error_count_is_lower_bound: bool = Field(
        description="True when reading stopped at the error cap: the file has at least error_count errors.")
    errors: list[dict[str, Any]] | None = Field(description="The first errors found (left out in lists).")
    preview: dict[str, Any] | None = Field(description="What applying the file would change (left out in lists).")
    created_at: Moment | None
    applied_at: Moment | None
    url: str = Field(description="The import's page in the web app.")


def _batch(batch: models.ImportBatch, *, listed: bool = False) -> ImportBatch:
    return ImportBatch(
        id=batch.id, relationship_id=batch.relationship_id, kind=batch.kind, status=batch.status,
        filename=batch.filename, file_format=batch.file_format, encoding=batch.encoding, delimiter=batch.delimiter,
        content_sha256=batch.content_sha256, total_rows=batch.total_rows, processed_rows=batch.processed_rows,
        error_count=batch.error_count, error_count_is_lower_bound=services.errors_stopped_at(batch) is not None,
        errors=None if listed else (batch.errors or []), preview=None if listed else (batch.summary or {}),
        created_at=batch.created_at, applied_at=batch.applied_at,
        url=url_for("imports.detail", relationship_id=batch.relationship_id, import_id=batch.id))


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers or {},
                    mimetype="application/json")


def _answer(batch: models.ImportBatch) -> ImportBatch | Response:
    """The batch; a 422 naming its errors when the file was refused; a 202 with a Location while the worker has it."""
    if batch.status in ("invalid", "failed"):
        fields = {}
        for e in (batch.errors or [])[:200]:
            key = f"row {e['row']}" + (f": {e['column']}" if e.get("column") else "") if e.get("row") else (e.get("column") or "file")
            fields.setdefault(key, e["message"])
        if services.errors_stopped_at(batch) is not None:
            message = _("More than %(n)s errors: nothing was changed.", n=len(batch.errors or []))
        else:
            message = _("%(n)s errors: nothing was changed.", n=batch.error_count)
        return _json({"error": {"code": "validation_failed", "message": message, "fields": fields,
                                "import": _batch(batch).model_dump(mode="json")}}, 422)
    if batch.status in _BUSY:
        location = url_for("api.imports_show", relationship_id=batch.relationship_id, import_id=batch.id)
        return _json(_batch(batch).model_dump(mode="json"), 202, {"Location": location})
    return _batch(batch)


_LINKS = {"GetImport": {"operationId": "getImport",
                        "parameters": {"relationship_id": "$request.path.relationship_id",
                                       "import_id": "$response.body#/id"}},
          "ConfirmImport": {"operationId": "confirmImport",
                            "parameters": {"relationship_id": "$request.path.relationship_id",
                                           "import_id": "$response.body#/id"}}}


@bp.post("/relationships/<int:relationship_id>/imports/<kind>")
@requires(api=True)
@operation("uploadImport", tag="imports", query=ImportUploadQuery, response=ImportBatch, status=201, links=_LINKS,
           also={202: ImportBatch}, upload=("multipart/form-data",) + RAW_TYPES)
def imports_upload(relationship_id: int, kind: str, query: ImportUploadQuery):
    """Upload a file: multipart `file`, or the raw body as text/csv, an XLSX type or application/json.

    A small file is checked at once (201, or 422 with its errors); a large one is stored and read by the worker
    (202 with a Location to poll). With `confirm=true` a file that checks out is applied too.
    """
    rel = relationships.get_relationship(g.actor, relationship_id)
    import_kind = services.kind_or_404(kind)
    services.check_uploader(g.actor, rel, import_kind)
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
        filename = query.filename or f"upload{ext}"
        data = request.get_data(cache=False)
    else:
        raise UnsupportedMediaType(_("Send multipart/form-data with a 'file', or the file itself as text/csv, "
                                     "an XLSX type or application/json."),
                                   fields={"Content-Type": _("Not accepted.")})
    batch = services.upload(g.actor, relationship_id, kind, filename, data, encoding=query.encoding,
                            delimiter=query.delimiter, content_type=content_type)
    if query.confirm and batch.status == "preview":
        batch = services.confirm(g.actor, relationship_id, batch.id, reason=query.reason)
    # A large file is only stored here ('pending'): the worker reads it; confirm once the preview is there.
    return _answer(batch)


@bp.get("/relationships/<int:relationship_id>/imports")
@requires(api=True)
@operation("listImports", tag="imports", query=PageQuery, response=page_of(ImportBatch))
def imports_index(relationship_id: int, query: PageQuery):
    """Your organisation's imports in this relationship, newest first (without their errors and previews)."""
    batches = services.list_imports(g.actor, relationship_id, limit=query.limit, offset=query.offset)
    return page_of(ImportBatch)(data=[_batch(b, listed=True) for b in batches], limit=query.limit,
                                offset=query.offset)


@bp.get("/relationships/<int:relationship_id>/imports/<int:import_id>")
@requires(api=True)
@operation("getImport", tag="imports", response=ImportBatch)
def imports_show(relationship_id: int, import_id: int):
    """One import with its errors and preview (poll it while the worker reads or applies the file)."""
    return _batch(services.get_import(g.actor, relationship_id, import_id))


@bp.post("/relationships/<int:relationship_id>/imports/<int:import_id>/confirm")
@requires(api=True)
@operation("confirmImport", tag="imports", body=ImportConfirm, body_optional=True, query=ImportConfirmQuery,
           response=ImportBatch, also={202: ImportBatch})
def imports_confirm(relationship_id: int, import_id: int, body: ImportConfirm, query: ImportConfirmQuery):
    """Apply a previewed import (200), or queue a large one for the worker (202); the same file twice is a 409."""
    reason = body.reason if request.get_data(cache=True) else query.reason
    return _answer(services.confirm(g.actor, relationship_id, import_id, reason=reason))
