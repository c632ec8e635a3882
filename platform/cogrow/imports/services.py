"""The importer: upload -> parse + validate -> preview -> confirm -> one all-or-nothing apply (or a Celery task)."""
from __future__ import annotations

import gc
import hashlib
import heapq
import logging
import re
import threading
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from cogrow.core import audit, labels, outbox
from cogrow.core.auth import Actor
from cogrow.core.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from cogrow.core.models import OutboxEvent
from cogrow.extensions import db
from cogrow.imports import effects, reader
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
# Errors kept and shown per file. An all-bad file stops being read once it has more: the web and the
# worker never spend seconds and hundreds of MB listing a million errors nobody reads.
DEFAULT_MAX_ERRORS = 1_000
# Files whose rows take more bytes than this to read (CSV and JSON as sent, XLSX unpacked) are read by the
# Celery worker; smaller ones in the request, where they take well under a second.
DEFAULT_INLINE_PARSE_BYTES = 256 * 1024
MAX_PREVIEW_LINES = 500
ACTIVE_STATES = ("queued", "running", "applied")
PARSE_TOPIC = "import"  # outbox rows that ask the worker to read an uploaded file
APPLY_TOPIC = "import.apply"  # outbox rows that ask the worker to apply a confirmed (queued) file


def status_label(status: str) -> str:
    return labels.status_label(status, "import")


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


@dataclass
class Parsed:
    """What reading a file gave: the clean rows, the errors, the data rows read, and where reading stopped
    because there were more errors than the cap (None when the whole file was read)."""

    rows: list[ParsedRow]
    errors: list[RowError]
    total: int
    stopped_at: int | None = None


def parse_rows(kind: ImportKind, table: Table, max_errors: int = DEFAULT_MAX_ERRORS) -> Parsed:
    """Match the header to the kind's columns and clean every cell, until more than `max_errors` errors."""
    errors: list[RowError] = []
    accepted: dict[str, Any] = {}
    for column in kind.columns:
        for text in (column.key, *column.headers):
            accepted[_norm_header(text)] = column
    mapping: list[tuple[int, str, Callable[[Any], Any], bool, str, dict[Any, Any] | None]] = []
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
        # A memoised parser (cells.py) exposes the values it has already given: looked up inline below, a
        # repeated cell (most of a large file) costs one dict lookup instead of a call.
        mapping.append((index, column.key, column.parse, column.required, _shown(text) or column.key,
                        getattr(column.parse, "memo", None)))
    for column in kind.columns:
        if column.required and column.key not in seen:
            errors.append(RowError(1, column.headers[0] if column.headers else column.key,
                                   _("This column is missing.")))
    if errors:
        return Parsed([], errors, 0)

    width = len(headers)
    named = {index for index, *_rest in mapping}
    all_named = len(named) == width
    bad_rows = table.bad_rows
    lenient_tail = table.file_format != "csv"  # XLSX and JSON rows simply end where the data ends
    max_cell = reader.MAX_CELL_CHARS
    rows: list[ParsedRow] = []
    total = 0
    stopped_at: int | None = None
    reader_errors = table.errors  # the reader adds to it while rows are read
    for row_number, cells in table.rows:
        if len(errors) + len(reader_errors) > max_errors:
            # More than the cap: the file is refused whatever the rest holds, so the rest is not read.
            stopped_at = row_number - 1
            break
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
        for index, key, parse, required, label, memo in mapping:
            raw = cells[index]
            if memo is not None:
                value = memo.get(raw)
                if value is not None:  # only short texts that parsed are remembered (cells._MEMO_TEXT)
                    values[key] = value
                    continue
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
        if not all_named:
            for index in range(width):
                if index not in named and cells[index] not in (None, "") and str(cells[index]).strip():
                    errors.append(RowError(row_number, _("column %(n)s", n=index + 1),
                                           _("This cell has no header.")))
                    ok = False
                    break
        if ok and row_number not in bad_rows:
            rows.append(ParsedRow(row_number, values))
    if reader_errors:
        errors.extend(reader_errors)
    if stopped_at is not None:
        rows = []  # the file is refused: its good rows are not checked further
    if total == 0 and not errors:
        errors.append(RowError(2, None, _("The file has no data rows.")))
    return Parsed(rows, errors, total, stopped_at)


def _error_dicts(errors: list[RowError]) -> list[dict[str, Any]]:
    """The first IMPORT_MAX_ERRORS errors by row, as stored and shown."""
    cap = setting("IMPORT_MAX_ERRORS", DEFAULT_MAX_ERRORS)
    first = heapq.nsmallest(cap, errors, key=lambda e: (e.row if e.row is not None else 0))
    return [{"row": e.row, "column": e.column, "message": str(e.message)} for e in first]


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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file's rows are read, checked or written.

    Those steps create hundreds of thousands of small objects (a row, its dict, its values) that all stay alive
    until the step ends: each full collection walks every one of them to free nothing, about a third of the time
    a 100,000-row file takes to read. Reference counting still frees everything as usual; the collector runs
    again at the end (its one pass over rows still alive then, e.g. a preview's rows kept for the confirm, comes
    after the response). Pausing is process-wide, so it is resumed only by the step that paused it.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def read_and_validate(actor: Actor, rel: SupplyRelationship, kind: ImportKind, filename: str, data: bytes,
                      encoding: str | None, delimiter: str | None, content_type: str | None = None,
                      batch: ImportBatch | None = None) -> tuple[Table, Any, Parsed]:
    """Parse the bytes and run the kind's checks: (table, payload to apply, what parsing found plus the kind's
    errors). The kind's checks are skipped when reading stopped at the error cap."""
    with collector_paused():
        return _read_and_validate(actor, rel, kind, filename, data, encoding, delimiter, content_type, batch)


def _read_and_validate(actor: Actor, rel: SupplyRelationship, kind: ImportKind, filename: str, data: bytes,
                       encoding: str | None, delimiter: str | None, content_type: str | None,
                       batch: ImportBatch | None) -> tuple[Table, Any, Parsed]:
    known = _recall(batch) if batch is not None else None
    if known is not None:
        file_format, rows, total = known
        table, parsed = Table(file_format, [], iter(())), Parsed(rows, [], total)
    else:
        table = reader.read(filename, data, encoding=encoding, delimiter=delimiter, content_type=content_type,
                            max_rows=setting("IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS),
                            max_unzipped=setting("IMPORT_MAX_UNZIPPED_BYTES", DEFAULT_MAX_UNZIPPED),
                            sheet_names=(kind.name, str(kind.label())))
        parsed = parse_rows(kind, table, setting("IMPORT_MAX_ERRORS", DEFAULT_MAX_ERRORS))
    payload = None
    if parsed.stopped_at is None and (parsed.rows or not parsed.errors):
        payload, business = kind.validate(actor, rel, parsed.rows)
        parsed.errors.extend(business)
    return table, payload, parsed


# ---------------------------------------------------------------- upload, confirm, discard

def upload(actor: Actor, relationship_id: int, kind: str, filename: str | None, data: bytes,
           encoding: str | None = None, delimiter: str | None = None, content_type: str | None = None) -> ImportBatch:
    """Store a file and check it: in the request when it is small, else in the worker (the batch is 'pending'
    until then). A checked file is a preview, or invalid with its errors; nothing else changes."""
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
    file_format, weight = reader.precheck(name, data, encoding=encoding, delimiter=delimiter,
                                          content_type=content_type,
                                          max_unzipped=setting("IMPORT_MAX_UNZIPPED_BYTES", DEFAULT_MAX_UNZIPPED))
    batch = ImportBatch(
        organisation_id=actor.organisation_id, relationship_id=rel.id, kind=import_kind.name, filename=name,
        file_format=file_format, content_sha256=sha, total_rows=0, processed_rows=0, created_by_id=actor.user_id,
        options={"encoding": encoding or "auto", "delimiter": delimiter or "auto", "content_type": content_type,
                 "locale": _locale(), "size": len(data), "read_bytes": weight,
                 "uploaded_by": _actor_json(actor)},
    )
    if weight > setting("IMPORT_INLINE_PARSE_BYTES", DEFAULT_INLINE_PARSE_BYTES):
        return _defer_parse(actor, batch, data)

    with collector_paused():  # the preview and the commit run while the file's rows are alive, too
        table, payload, parsed = read_and_validate(actor, rel, import_kind, name, data, encoding, delimiter,
                                                   content_type)
        _store_check(actor, rel, import_kind, batch, data, table, payload, parsed)
        db.session.add(batch)
        db.session.flush()
        _audit_check(actor, batch)
        db.session.commit()
        if batch.status == "preview":
            _remember(batch, table, parsed.rows, parsed.total)
    logger.info("import %s (%s) uploaded by %s: %s rows, %s errors", batch.id, batch.kind, actor, parsed.total,
                batch.error_count)
    return batch


def _store_check(actor: Actor, rel: SupplyRelationship, kind: ImportKind, batch: ImportBatch, data: bytes,
                 table: Table, payload: Any, parsed: Parsed) -> None:
    """Write what checking the file found onto the batch: a preview, or the errors (at most the cap)."""
    batch.encoding, batch.delimiter, batch.total_rows = table.encoding, table.delimiter, parsed.total
    options = dict(batch.options or {})
    options.pop("errors_stopped_at_row", None)
    if parsed.errors:
        batch.status = "invalid"
        batch.error_count = len(parsed.errors)
        batch.errors = _error_dicts(parsed.errors)
        batch.content = None
        if parsed.stopped_at is not None:
            options["errors_stopped_at_row"] = parsed.stopped_at
    else:
        preview = kind.preview(actor, rel, payload) or {}
        lines = list(preview.get("lines") or [])
        extra = {k: v for k, v in preview.items() if k not in ("summary", "columns", "headers", "lines")}
        batch.summary = _jsonable({**extra, "summary": preview.get("summary") or {},  # e.g. a forecast's "cuts"
                                   "columns": preview.get("columns") or preview.get("headers"),
                                   "lines": lines[:MAX_PREVIEW_LINES], "line_count": len(lines)})
        batch.status = "preview"
        batch.content = data
    batch.options = options


def _audit_check(actor: Actor | None, batch: ImportBatch) -> None:
    audit.record(actor, "import.uploaded" if batch.status == "preview" else "import.rejected", batch,
                 detail={"kind": batch.kind, "filename": batch.filename, "rows": batch.total_rows,
                         "errors": batch.error_count})


def errors_stopped_at(batch: ImportBatch) -> int | None:
    """The last row read when reading stopped at the error cap: error_count is then only a lower bound."""
    value = (batch.options or {}).get("errors_stopped_at_row")
    return int(value) if value is not None else None


def _defer_parse(actor: Actor, batch: ImportBatch, data: bytes) -> ImportBatch:
    """Store the file as 'pending' with an outbox row in one transaction, then hand it to the worker at once.

    When the broker is down the outbox row stays unpublished and the relay hands it over later; a message
    lost after that is published again once the outbox lease runs out.
    """
    batch.status = "pending"
    batch.content = data
    db.session.add(batch)
    db.session.flush()
    outbox.enqueue(PARSE_TOPIC, {"import_id": batch.id}, relationship_id=batch.relationship_id)
    audit.record(actor, "import.received", batch, detail={"kind": batch.kind, "filename": batch.filename,
                                                           "bytes": len(data)})
    outbox.skip_kick()  # _publish below relays this row itself
    db.session.commit()
    batch_id = batch.id
    logger.info("import %s (%s) uploaded by %s: %s bytes, to be read by the worker", batch_id, batch.kind, actor,
                len(data))
    _publish(PARSE_TOPIC)
    db.session.expire_all()
    return db.session.get(ImportBatch, batch_id)


def _publish(topic: str) -> None:
    """Hand the imports' outbox rows to the worker now rather than at the relay's next beat: the relay's own
    claim and publish, limited to this topic. A broker that is down leaves the rows to the beat's relay."""
    from cogrow.coverage import services as coverage

    try:
        coverage.relay_outbox(topics=(topic,))
    except Exception:  # e.g. a locked database: the rows are committed, and the beat's relay publishes them
        db.session.rollback()
        logger.warning("could not relay %s outbox rows now; the relay will", topic, exc_info=True)


def run_parse(event_id: int) -> str:
    """Read and check a pending file in the worker, in the uploader's language; a second delivery does nothing."""
    event = db.session.get(OutboxEvent, event_id)
    batch_id = int((event.payload or {}).get("import_id", 0)) if event is not None else 0
    batch = db.session.get(ImportBatch, batch_id) if batch_id else None
    if batch is None or batch.status != "pending":
        db.session.rollback()
        outbox.mark_done([event_id] if event is not None else None)
        logger.info("import %s is not pending; nothing to read", batch_id or event_id)
        return "skipped"
    locale = (batch.options or {}).get("locale")
    with force_locale(locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "ko")):
        result = _run_parse(batch)
    outbox.mark_done([event_id])
    return result


def _run_parse(batch: ImportBatch) -> str:
    batch_id = batch.id
    info = (batch.options or {}).get("uploaded_by") or {}
    actor = Actor(organisation_id=info.get("organisation_id", batch.organisation_id),
                  org_kind=info.get("org_kind", ""), role=info.get("role", ""), user_id=info.get("user_id"),
                  token_id=info.get("token_id"))
    rel = batch_relationship(batch)
    kind = get_kind(batch.kind)
    data = batch.content or b""
    try:
        if kind is None:
            raise AppError(_("There is no import of this kind."))
        table, payload, parsed = read_and_validate(actor, rel, kind, batch.filename, data, _opt(batch, "encoding"),
                                                   _opt(batch, "delimiter"), _opt(batch, "content_type"))
        with collector_paused():
            _store_check(actor, rel, kind, batch, data, table, payload, parsed)
    except Exception as exc:
        db.session.rollback()
        if not isinstance(exc, AppError):
            logger.exception("reading import %s failed", batch_id)
        message = exc.message if isinstance(exc, AppError) else _("The file could not be read on our side. It has "
                                                                   "been logged; nothing was changed.")
        batch = db.session.get(ImportBatch, batch_id)
        if batch is None or batch.status != "pending":
            return "skipped"
        batch.status = "invalid" if isinstance(exc, AppError) else "failed"
        batch.error_count = 1
        batch.errors = _error_dicts([RowError(None, None, message)])  # type: ignore[arg-type]
        batch.content = None
    values = {"status": batch.status, "encoding": batch.encoding, "delimiter": batch.delimiter,
              "total_rows": batch.total_rows, "error_count": batch.error_count, "errors": batch.errors,
              "summary": batch.summary, "options": batch.options, "content": batch.content}
    db.session.expire(batch)
    # Only a batch still pending takes the result: one discarded meanwhile, or read by another delivery, stays.
    written = db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id, ImportBatch.status == "pending")
                                 .values(**values)).rowcount
    if not written:
        db.session.rollback()
        return "skipped"
    batch = db.session.get(ImportBatch, batch_id)
    _audit_check(actor, batch)
    db.session.commit()
    logger.info("import %s read in the background: %s rows, %s errors", batch_id, batch.total_rows,
                batch.error_count)
    return batch.status


def _locale() -> str | None:
    """The uploader's language, kept so that a background apply reports errors in it."""
    return str(get_locale()) if has_request_context() else None


def _actor_json(actor: Actor) -> dict[str, Any]:
    return {"organisation_id": actor.organisation_id, "org_kind": actor.org_kind, "role": actor.role,
            "user_id": actor.user_id, "token_id": actor.token_id}


def confirm(actor: Actor, relationship_id: int, import_id: int, reason: str | None = None) -> ImportBatch:
    """Apply a previewed file in ONE transaction, or queue it when it is large; the same file twice is a 409.

    `reason` is what the kind may require beyond the file (a forecast that cuts firm-zone quantities); a
    missing one is a 422 naming `reason`, and nothing changes.
    """
    batch = get_import(actor, relationship_id, import_id)
    rel = batch_relationship(batch)
    kind = kind_or_404(batch.kind)
    check_uploader(actor, rel, kind)
    if batch.status != "preview":
        raise Conflict(_("This import cannot be confirmed: it is %(status)s.", status=status_label(batch.status)),
                       import_id=batch.id)
    reason = reason.strip() if isinstance(reason, str) else ""
    if kind.confirm_check is not None:
        problems = kind.confirm_check(batch, {"reason": reason})
        if problems:
            db.session.rollback()
            raise ValidationFailed(next(iter(problems.values())), fields=problems)
    options = dict(batch.options or {})
    if reason:
        options["reason"] = reason[:500]
    options["confirmed_by"] = _actor_json(actor)
    options["locale"] = _locale() or options.get("locale")
    batch.options = options
    # A file read by the worker is applied there too: applying reads it again, which the web must not do.
    large = int(options.get("read_bytes") or 0) > setting("IMPORT_INLINE_PARSE_BYTES", DEFAULT_INLINE_PARSE_BYTES)
    if large or batch.total_rows > setting("IMPORT_ASYNC_ROWS", DEFAULT_ASYNC_ROWS):
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
    """Queue the apply with an outbox row in the same transaction, then hand it to the worker at once.

    When the broker is down the batch stays queued and its outbox row unpublished: the relay hands it over
    later, and a message lost after that is published again once the outbox lease runs out.
    """
    batch.processed_rows = 0
    batch.task_id = str(uuid.uuid4())  # the claim a delivery of this apply must present (run_queued)
    _claim(batch, "queued")
    outbox.enqueue(APPLY_TOPIC, {"import_id": batch.id, "task_id": batch.task_id},
                   relationship_id=batch.relationship_id)
    audit.record(actor, "import.queued", batch, detail={"rows": batch.total_rows})
    outbox.skip_kick()  # _publish below relays this row itself
    db.session.commit()
    batch_id = batch.id
    _publish(APPLY_TOPIC)
    db.session.expire_all()
    return db.session.get(ImportBatch, batch_id)


def _apply_now(actor: Actor, rel: SupplyRelationship, kind: ImportKind, batch: ImportBatch) -> ImportBatch:
    with collector_paused():
        return _apply_paused(actor, rel, kind, batch)


def _apply_paused(actor: Actor, rel: SupplyRelationship, kind: ImportKind, batch: ImportBatch) -> ImportBatch:
    table, payload, parsed = read_and_validate(
        actor, rel, kind, batch.filename, batch.content or b"", _opt(batch, "encoding"), _opt(batch, "delimiter"),
        _opt(batch, "content_type"), batch=batch)
    errors, total = parsed.errors, parsed.total
    if errors:  # the relationship changed since the preview (an item was removed, a week went by)
        return _mark_invalid(actor, batch, errors, "invalid")
    unchanged = effects.before_apply(kind.name, rel.id, payload)
    _claim(batch, "applied")
    try:
        result = kind.apply(actor, rel, payload, batch, lambda done, of: None) or {}
    except Exception:
        db.session.rollback()
        raise
    if unchanged and effects.NOTHING_CHANGED not in result:
        result = {**result, effects.NOTHING_CHANGED: unchanged}
    _finish(actor, batch, result, total)
    db.session.commit()
    _after_commit(kind, batch)
    logger.info("import %s applied by %s: %s rows", batch.id, actor, total)
    return batch


def _after_commit(kind: ImportKind, batch: ImportBatch) -> None:
    if kind.after_commit is None:
        return
    try:
        kind.after_commit(batch)
    except Exception:  # the import is applied; what follows it must not turn it into an error
        logger.exception("after-commit step of import %s failed", batch.id)


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
    if batch.status not in ("pending", "preview", "invalid", "failed"):
        raise Conflict(_("This import cannot be discarded: it is %(status)s.", status=status_label(batch.status)))
    batch.status = "discarded"
    batch.content = None
    audit.record(actor, "import.discarded", batch)
    db.session.commit()
    return batch


# ---------------------------------------------------------------- the background apply

def run_apply(event_id: int) -> str:
    """Apply the queued batch an outbox row names, with the claim written into it when the batch was queued;
    the row is done afterwards, whatever the outcome (a second delivery finds the batch no longer queued)."""
    event = db.session.get(OutboxEvent, event_id)
    payload = (event.payload or {}) if event is not None else {}
    db.session.rollback()
    if event is None or not payload.get("import_id"):
        outbox.mark_done([event_id] if event is not None else None)
        logger.info("outbox row %s names no import to apply", event_id)
        return "skipped"
    # An applied batch commits its outbox row's receipt with its rows; any other outcome is receipted here.
    result = run_queued(int(payload["import_id"]), payload.get("task_id"), event_id=event_id)
    outbox.mark_done([event_id])
    return result


def run_queued(batch_id: int, task_id: str | None, event_id: int | None = None) -> str:
    """Apply a queued batch: claim it, re-check every row, write it all in one transaction, or mark it failed."""
    locale = db.session.scalar(select(ImportBatch.options).where(ImportBatch.id == batch_id)) or {}
    with force_locale(locale.get("locale") or current_app.config.get("BABEL_DEFAULT_LOCALE", "ko")):
        return _run_queued(batch_id, task_id, event_id)


def _run_queued(batch_id: int, task_id: str | None, event_id: int | None) -> str:
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
        table, payload, parsed = read_and_validate(
            actor, rel, kind, batch.filename, batch.content or b"", _opt(batch, "encoding"),
            _opt(batch, "delimiter"), _opt(batch, "content_type"))
        errors, total = parsed.errors, parsed.total
        if errors:
            db.session.rollback()
            batch = db.session.get(ImportBatch, batch_id)
            _mark_invalid(actor, batch, errors, "failed")
            return "failed"
        unchanged = effects.before_apply(kind.name, rel.id, payload)
        with collector_paused():
            result = kind.apply(actor, rel, payload, batch, _progress_writer(batch_id, total)) or {}
        if unchanged and effects.NOTHING_CHANGED not in result:
            result = {**result, effects.NOTHING_CHANGED: unchanged}
        _finish(actor, batch, result, total)
        if event_id is not None:
            outbox.stamp_done([event_id])
        db.session.commit()
        _after_commit(kind, batch)
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
