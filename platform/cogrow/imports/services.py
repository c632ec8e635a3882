"""The importer: upload -> parse + validate -> preview -> confirm -> one all-or-nothing apply (or a Celery task)."""
from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import AppError, Conflict, Forbidden, NotFound
from cogrow.extensions import db
from cogrow.imports import reader
from cogrow.imports.models import ImportBatch
from cogrow.imports.reader import FileRejected, PayloadTooLarge, Table
from cogrow.imports.registry import ImportKind, ParsedRow, RowError, get_kind
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.imports")

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_ROWS = 200_000
DEFAULT_ASYNC_ROWS = 5_000
DEFAULT_MAX_UNZIPPED = 200 * 1024 * 1024
MAX_STORED_ERRORS = 5_000
MAX_PREVIEW_LINES = 500
ACTIVE_STATES = ("queued", "running", "applied")
STATUS_LABELS = {
    "preview": _l("Ready to confirm"), "invalid": _l("Has errors"), "queued": _l("Queued"),
    "running": _l("Running"), "applied": _l("Applied"), "failed": _l("Failed"), "discarded": _l("Discarded"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


# ---------------------------------------------------------------- lookups and permissions

def kind_or_404(name: str) -> ImportKind:
    kind = get_kind(name)
    if kind is None:
        raise NotFound(_("There is no import of this kind."))
    return kind


def may_upload(actor: Actor, rel: SupplyRelationship, kind: ImportKind) -> bool:
    side = rel.prime_id if kind.org_kind == "prime" else rel.supplier_id
    return actor.org_kind == kind.org_kind and actor.organisation_id == side and actor.role in kind.roles


def check_uploader(actor: Actor, rel: SupplyRelationship, kind: ImportKind) -> None:
    if not may_upload(actor, rel, kind):
        raise Forbidden(_("Your role does not allow this import."))
    if rel.status != "active":
        raise Conflict(_("Imports need an active relationship."))


def get_import(actor: Actor, relationship_id: int, import_id: int) -> ImportBatch:
    """A batch of the actor's own organisation in this relationship; anything else is 404."""
    rel = relationships.get_relationship(actor, relationship_id)
    batch = db.session.scalar(select(ImportBatch).where(
        ImportBatch.id == import_id, ImportBatch.relationship_id == rel.id,
        ImportBatch.organisation_id == actor.organisation_id))
    if batch is None:
        raise NotFound(_("No such import."))
    return batch


def list_imports(actor: Actor, relationship_id: int, limit: int = 100, offset: int = 0) -> list[ImportBatch]:
    rel = relationships.get_relationship(actor, relationship_id)
    return list(db.session.scalars(
        select(ImportBatch).where(ImportBatch.relationship_id == rel.id,
                                  ImportBatch.organisation_id == actor.organisation_id)
        .order_by(ImportBatch.id.desc()).limit(limit).offset(offset)))


def import_url(batch: ImportBatch) -> str | None:
    if not has_request_context():
        return None
    return url_for("imports.detail", relationship_id=batch.relationship_id, import_id=batch.id)


def _earlier_import(relationship_id: int, kind: str, sha: str) -> ImportBatch | None:
    return db.session.scalar(select(ImportBatch).where(
        ImportBatch.relationship_id == relationship_id, ImportBatch.kind == kind,
        ImportBatch.content_sha256 == sha, ImportBatch.status.in_(ACTIVE_STATES)).order_by(ImportBatch.id).limit(1))


def _same_file_conflict(first: ImportBatch) -> Conflict:
    message = _("This file was already imported (import #%(id)s, %(status)s). Importing it again is refused.",
                id=first.id, status=status_label(first.status))
    return Conflict(message, fields={"file": message}, import_id=first.id, import_url=import_url(first))


# ---------------------------------------------------------------- parsing

def _norm_header(text: Any) -> str:
    value = unicodedata.normalize("NFKC", str(text or "")).casefold()
    value = value.replace("*", " ")
    return re.sub(r"[\s_\-]+", " ", value).strip()


def _shown(text: str, limit: int = 60) -> str:
    text = re.sub(r"[\x00-\x1f\x7f\u200b-\u200f\ufeff]", "?", text).strip()
    return text if len(text) <= limit else text[:limit] + "…"


def header_for(kind: ImportKind, column: Any, locale: str | None = None) -> str:
    """The header a template shows: the Korean one for Korean users when the column has one."""
    if locale == "ko":
        for header in column.headers:
            if re.search("[\uac00-\ud7a3]", header):
                return header
    return column.headers[0] if column.headers else column.key


def parse_rows(kind: ImportKind, table: Table) -> tuple[list[ParsedRow], list[RowError], int]:
    """Match the header to the kind's columns and clean every cell; returns good rows, errors and the row count."""
    errors: list[RowError] = []
    accepted: dict[str, Any] = {}
    for column in kind.columns:
        for text in (column.key, *column.headers):
            accepted[_norm_header(text)] = column
    mapping: list[tuple[int, str, Callable[[Any], Any], bool, str]] = []
    seen: dict[str, str] = {}
    headers = list(table.headers)
    for index, raw in enumerate(headers):
        text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
        if len(text) > reader.MAX_HEADER_CHARS:
            errors.append(RowError(1, _shown(text), _("This header is too long.")))
            continue
        key = _norm_header(text)
        if not key:
            continue  # an unnamed column is fine while its cells are empty (checked per row)
        column = accepted.get(key)
        if column is None:
            expected = ", ".join(c.headers[0] if c.headers else c.key for c in kind.columns)
            errors.append(RowError(1, _shown(text), _("Unknown column. The columns are: %(columns)s.",
                                                      columns=expected)))
            continue
        if column.key in seen:
            errors.append(RowError(1, _shown(text), _("This column appears twice (also as \"%(other)s\").",
                                                      other=_shown(seen[column.key]))))
            continue
        seen[column.key] = text
        mapping.append((index, column.key, column.parse, column.required, _shown(text) or column.key))
    for column in kind.columns:
        if column.required and column.key not in seen:
            errors.append(RowError(1, column.headers[0] if column.headers else column.key,
                                   _("This column is missing.")))
    if errors:
        return [], errors, 0

    width = len(headers)
    named = {index for index, *_rest in mapping}
    lenient_tail = table.file_format != "csv"  # XLSX and JSON rows simply end where the data ends
    max_cell = reader.MAX_CELL_CHARS
    rows: list[ParsedRow] = []
    total = 0
    for row_number, cells in table.rows:
        n = len(cells)
        if n == 0 or not any(cells):
            continue  # a blank line
        if n != width:
            if n > width:
                extra = cells[width:]
                if any(c is not None and str(c).strip() for c in extra):
                    total += 1
                    errors.append(RowError(row_number, None, _(
                        "This row has %(n)s cells but the header has %(width)s (check the delimiter and quotes).",
                        n=n, width=width)))
                    continue
                cells = cells[:width]
            elif lenient_tail:
                cells = list(cells) + [None] * (width - n)
            else:
                if not any(c.strip() for c in cells if isinstance(c, str)):
                    continue
                total += 1
                errors.append(RowError(row_number, None, _(
                    "This row has %(n)s cells but the header has %(width)s (check the delimiter and quotes).",
                    n=n, width=width)))
                continue
        total += 1
        values: dict[str, Any] = {}
        ok = True
        for index, key, parse, required, label in mapping:
            raw = cells[index]
            if raw is None or raw == "":
                value = None
            elif len(raw) > max_cell:
                errors.append(RowError(row_number, label, _("This cell is too long (%(n)s characters; at most "
                                                            "%(max)s).", n=len(raw), max=max_cell)))
                ok = False
                continue
            else:
                try:
                    value = parse(raw)
                except ValueError as exc:
                    errors.append(RowError(row_number, label, str(exc)))
                    ok = False
                    continue
            if value is None and required:
                errors.append(RowError(row_number, label, _("This cell is required.")))
                ok = False
                continue
            values[key] = value
        if len(named) != width:
            for index in range(width):
                if index not in named and cells[index] not in (None, "") and str(cells[index]).strip():
                    errors.append(RowError(row_number, _("column %(n)s", n=index + 1),
                                           _("This cell has no header.")))
                    ok = False
                    break
        if ok and row_number not in table.bad_rows:
            rows.append(ParsedRow(row_number, values))
    if table.errors:
        errors.extend(table.errors)
    if total == 0 and not errors:
        errors.append(RowError(2, None, _("The file has no data rows.")))
    return rows, errors, total


def _order(errors: list[RowError]) -> list[RowError]:
    return sorted(errors, key=lambda e: (e.row if e.row is not None else 0))


def _error_dicts(errors: list[RowError]) -> list[dict[str, Any]]:
    return [{"row": e.row, "column": e.column, "message": str(e.message)} for e in _order(errors)[:MAX_STORED_ERRORS]]


# The cleaned rows of the latest previews, so that a confirm in the same process does not read the file
# again (reading and cleaning is most of the cost of a large file). Confirm still re-runs the kind's
# checks against the relationship as it is then; a confirm elsewhere (another worker, Celery) re-reads.
_PARSED: OrderedDict[tuple[int, str], tuple[str, list[ParsedRow], int]] = OrderedDict()
_PARSED_LOCK = threading.Lock()
_PARSED_KEEP = 2


def _remember(batch: ImportBatch, table: Table, rows: list[ParsedRow], total: int) -> None:
    with _PARSED_LOCK:
        _PARSED[(batch.id, batch.content_sha256)] = (table.file_format, rows, total)
        while len(_PARSED) > _PARSED_KEEP:
            _PARSED.popitem(last=False)


def _recall(batch: ImportBatch) -> tuple[str, list[ParsedRow], int] | None:
    with _PARSED_LOCK:
        return _PARSED.pop((batch.id, batch.content_sha256), None)


def read_and_validate(actor: Actor, rel: SupplyRelationship, kind: ImportKind, filename: str, data: bytes,
                      encoding: str | None, delimiter: str | None, content_type: str | None = None,
                      batch: ImportBatch | None = None
                      ) -> tuple[Table, Any, list[RowError], int, list[ParsedRow]]:
    """Parse the bytes and run the kind's checks: (table, payload to apply, every error, data rows, clean rows)."""
    known = _recall(batch) if batch is not None else None
    if known is not None:
        file_format, rows, total = known
        table, errors = Table(file_format, [], iter(())), []
    else:
        table = reader.read(filename, data, encoding=encoding, delimiter=delimiter, content_type=content_type,
                            max_rows=setting("IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS),
                            max_unzipped=setting("IMPORT_MAX_UNZIPPED_BYTES", DEFAULT_MAX_UNZIPPED),
                            sheet_names=(kind.name, str(kind.label())))
        rows, errors, total = parse_rows(kind, table)
    payload = None
    if rows or not errors:
        payload, business = kind.validate(actor, rel, rows)
        errors.extend(business)
    return table, payload, errors, total, rows


# ---------------------------------------------------------------- upload, confirm, discard

def upload(actor: Actor, relationship_id: int, kind: str, filename: str | None, data: bytes,
           encoding: str | None = None, delimiter: str | None = None, content_type: str | None = None) -> ImportBatch:
    """Read and check a file and store it as a preview (or as invalid, with every error); nothing else changes."""
    rel = relationships.get_relationship(actor, relationship_id)
    import_kind = kind_or_404(kind)
    check_uploader(actor, rel, import_kind)
    limit = setting("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)
    if len(data) > limit:
        raise PayloadTooLarge(_("The file is larger than the limit of %(mb)s MB.", mb=limit // (1024 * 1024)),
                              fields={"file": _("Too large.")})
    name = reader.safe_filename(filename)
    sha = hashlib.sha256(data).hexdigest()
    first = _earlier_import(rel.id, import_kind.name, sha)
    if first is not None:
        audit.record(actor, "import.refused_duplicate", first, detail={"filename": name})
        db.session.commit()
        raise _same_file_conflict(first)

    table, payload, errors, total, rows = read_and_validate(actor, rel, import_kind, name, data, encoding,
                                                            delimiter, content_type)
    batch = ImportBatch(
        organisation_id=actor.organisation_id, relationship_id=rel.id, kind=import_kind.name, filename=name,
        file_format=table.file_format, content_sha256=sha, encoding=table.encoding,
        delimiter=table.delimiter, total_rows=total, processed_rows=0, created_by_id=actor.user_id,
        options={"encoding": encoding or "auto", "delimiter": delimiter or "auto", "content_type": content_type,
                 "locale": _locale()},
    )
    if errors:
        batch.status = "invalid"
        batch.error_count = len(errors)
        batch.errors = _error_dicts(errors)
        batch.content = None
    else:
        preview = import_kind.preview(actor, rel, payload) or {}
        lines = list(preview.get("lines") or [])
        batch.summary = _jsonable({"summary": preview.get("summary") or {}, "columns": preview.get("columns") or preview.get("headers"),
                                   "lines": lines[:MAX_PREVIEW_LINES], "line_count": len(lines)})
        batch.status = "preview"
        batch.content = data
    db.session.add(batch)
    db.session.flush()
    audit.record(actor, "import.uploaded" if batch.status == "preview" else "import.rejected", batch,
                 detail={"kind": batch.kind, "filename": name, "rows": total, "errors": batch.error_count})
    db.session.commit()
    if batch.status == "preview":
        _remember(batch, table, rows, total)
    logger.info("import %s (%s) uploaded by %s: %s rows, %s errors", batch.id, batch.kind, actor, total,
                batch.error_count)
    return batch


def _locale() -> str | None:
    """The uploader's language, kept so that a background apply reports errors in it."""
    return str(get_locale()) if has_request_context() else None


def _actor_json(actor: Actor) -> dict[str, Any]:
    return {"organisation_id": actor.organisation_id, "org_kind": actor.org_kind, "role": actor.role,
            "user_id": actor.user_id, "token_id": actor.token_id}


def confirm(actor: Actor, relationship_id: int, import_id: int) -> ImportBatch:
    """Apply a previewed file in ONE transaction, or queue it when it is large; the same file twice is a 409."""
    batch = get_import(actor, relationship_id, import_id)
    rel = batch_relationship(batch)
    kind = kind_or_404(batch.kind)
    check_uploader(actor, rel, kind)
    if batch.status != "preview":
        raise Conflict(_("This import cannot be confirmed: it is %(status)s.", status=status_label(batch.status)),
                       import_id=batch.id)
    options = dict(batch.options or {})
    options["confirmed_by"] = _actor_json(actor)
    options["locale"] = _locale() or options.get("locale")
    batch.options = options
    if batch.total_rows > setting("IMPORT_ASYNC_ROWS", DEFAULT_ASYNC_ROWS):
        return _queue(actor, batch)
    return _apply_now(actor, rel, kind, batch)


def batch_relationship(batch: ImportBatch) -> SupplyRelationship:
    return db.session.get(SupplyRelationship, batch.relationship_id)


def _claim(batch: ImportBatch, status: str) -> None:
    """Move the batch into an active state; the partial unique index refuses a second copy of the same file."""
    batch_id, rel_id, kind, sha = batch.id, batch.relationship_id, batch.kind, batch.content_sha256
    batch.status = status
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        first = _earlier_import(rel_id, kind, sha)
        if first is not None and first.id != batch_id:
            raise _same_file_conflict(first) from None
        raise Conflict(_("This import is already being applied.")) from None


def _queue(actor: Actor, batch: ImportBatch) -> ImportBatch:
    from cogrow.imports import tasks

    batch.processed_rows = 0
    batch.task_id = str(uuid.uuid4())
    _claim(batch, "queued")
    audit.record(actor, "import.queued", batch, detail={"rows": batch.total_rows})
    db.session.commit()  # the task must find the queued batch committed
    batch_id, task_id = batch.id, batch.task_id
    try:
        tasks.apply_import.apply_async(args=[batch_id], task_id=task_id)
    except Exception:  # the broker is down: undo the queueing so the user can retry
        logger.exception("could not queue import %s", batch_id)
        db.session.rollback()
        db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id, ImportBatch.status == "queued")
                           .values(status="preview", task_id=None))
        db.session.commit()
        raise AppError(_("The job queue is not reachable. Try again in a minute.")) from None
    db.session.expire_all()
    return db.session.get(ImportBatch, batch_id)


def _apply_now(actor: Actor, rel: SupplyRelationship, kind: ImportKind, batch: ImportBatch) -> ImportBatch:
    table, payload, errors, total, _rows = read_and_validate(
        actor, rel, kind, batch.filename, batch.content or b"", _opt(batch, "encoding"), _opt(batch, "delimiter"),
        _opt(batch, "content_type"), batch=batch)
    if errors:  # the relationship changed since the preview (an item was removed, a week went by)
        return _mark_invalid(actor, batch, errors, "invalid")
    _claim(batch, "applied")
    try:
        result = kind.apply(actor, rel, payload, batch, lambda done, of: None) or {}
    except Exception:
        db.session.rollback()
        raise
    _finish(actor, batch, result, total)
    db.session.commit()
    logger.info("import %s applied by %s: %s rows", batch.id, actor, total)
    return batch


def _opt(batch: ImportBatch, name: str) -> str | None:
    value = (batch.options or {}).get(name)
    return None if value in (None, "auto") else value


def _finish(actor: Actor | None, batch: ImportBatch, result: dict[str, Any], total: int) -> None:
    summary = dict(batch.summary or {})
    summary["result"] = _jsonable(result)
    batch.summary = summary
    batch.status = "applied"
    batch.processed_rows = total
    batch.applied_at = datetime.now(timezone.utc)
    batch.content = None  # applied: the rows live in the domain's tables now
    audit.record(actor, "import.applied", batch, detail={"kind": batch.kind, "rows": total})


def _mark_invalid(actor: Actor | None, batch: ImportBatch, errors: list[RowError], status: str) -> ImportBatch:
    batch.status = status
    batch.error_count = len(errors)
    batch.errors = _error_dicts(errors)
    audit.record(actor, "import.failed" if status == "failed" else "import.rejected", batch,
                 detail={"errors": len(errors)})
    db.session.commit()
    return batch


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def discard(actor: Actor, relationship_id: int, import_id: int) -> ImportBatch:
    batch = get_import(actor, relationship_id, import_id)
    rel = batch_relationship(batch)
    kind = get_kind(batch.kind)
    if kind is not None and not may_upload(actor, rel, kind):
        raise Forbidden(_("Your role does not allow this import."))
    if batch.status not in ("preview", "invalid", "failed"):
        raise Conflict(_("This import cannot be discarded: it is %(status)s.", status=status_label(batch.status)))
    batch.status = "discarded"
    batch.content = None
    audit.record(actor, "import.discarded", batch)
    db.session.commit()
    return batch


# ---------------------------------------------------------------- the background apply

def run_queued(batch_id: int, task_id: str | None) -> str:
    """Apply a queued batch: claim it, re-check every row, write it all in one transaction, or mark it failed."""
    locale = db.session.scalar(select(ImportBatch.options).where(ImportBatch.id == batch_id)) or {}
    with force_locale(locale.get("locale") or current_app.config.get("BABEL_DEFAULT_LOCALE", "ko")):
        return _run_queued(batch_id, task_id)


def _run_queued(batch_id: int, task_id: str | None) -> str:
    claimed = db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch_id,
               (ImportBatch.status == "queued")
               | ((ImportBatch.status == "running") & (ImportBatch.task_id == task_id) & (ImportBatch.task_id.isnot(None))))
        .values(status="running", task_id=task_id, processed_rows=0)).rowcount
    db.session.commit()
    if not claimed:
        logger.info("import %s is not queued (or is another task's); nothing to do", batch_id)
        return "skipped"
    batch = db.session.get(ImportBatch, batch_id)
    db.session.refresh(batch)
    info = (batch.options or {}).get("confirmed_by") or {}
    actor = Actor(organisation_id=info.get("organisation_id", batch.organisation_id),
                  org_kind=info.get("org_kind", ""), role=info.get("role", ""), user_id=info.get("user_id"),
                  token_id=info.get("token_id"))
    rel = batch_relationship(batch)
    kind = get_kind(batch.kind)
    try:
        if kind is None:
            raise AppError(_("There is no import of this kind."))
        if not may_upload(actor, rel, kind) or rel.status != "active":
            raise Forbidden(_("Your role does not allow this import."))
        table, payload, errors, total, _rows = read_and_validate(
            actor, rel, kind, batch.filename, batch.content or b"", _opt(batch, "encoding"),
            _opt(batch, "delimiter"), _opt(batch, "content_type"))
        if errors:
            db.session.rollback()
            batch = db.session.get(ImportBatch, batch_id)
            _mark_invalid(actor, batch, errors, "failed")
            return "failed"
        result = kind.apply(actor, rel, payload, batch, _progress_writer(batch_id, total)) or {}
        _finish(actor, batch, result, total)
        db.session.commit()
        logger.info("import %s applied in the background: %s rows", batch_id, total)
        return "applied"
    except Exception as exc:
        db.session.rollback()
        if not isinstance(exc, AppError):
            logger.exception("import %s failed", batch_id)
        message = exc.message if isinstance(exc, AppError) else _("The import failed on our side and changed "
                                                                   "nothing. It has been logged.")
        batch = db.session.get(ImportBatch, batch_id)
        _mark_invalid(actor, batch, [RowError(None, None, message)], "failed")  # type: ignore[arg-type]
        return "failed"


def _progress_writer(batch_id: int, total: int) -> Callable[[int, int], None]:
    """Move the progress bar from a second connection, so it shows while the apply transaction is open.

    SQLite allows one writer at a time: there the bar jumps from 0 to done instead.
    """
    engine = db.engine
    if engine.dialect.name == "sqlite":
        return lambda done, of: None
    step = max(total // 50, 1000)
    last = [0]

    def progress(done: int, of: int) -> None:
        if done - last[0] < step and done < of:
            return
        last[0] = done
        try:
            with engine.begin() as conn:
                conn.execute(update(ImportBatch).where(ImportBatch.id == batch_id, ImportBatch.status == "running")
                             .values(processed_rows=min(done, total)))
        except Exception:  # a progress bar must never break the import
            logger.warning("could not record progress of import %s", batch_id, exc_info=True)

    return progress


# ---------------------------------------------------------------- templates

def template_rows(actor: Actor, relationship_id: int, kind_name: str, locale: str | None
                  ) -> tuple[ImportKind, list[str], list[Any]]:
    rel = relationships.get_relationship(actor, relationship_id)
    kind = kind_or_404(kind_name)
    headers = [header_for(kind, c, locale) for c in kind.columns]
    examples = list(kind.example_rows(actor, rel) or [])
    if not examples and any(c.example for c in kind.columns):
        examples = [[c.example for c in kind.columns]]
    return kind, headers, examples
