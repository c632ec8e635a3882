"""`Idempotency-Key` for machine POST endpoints (reliability.md: "Writes that must not be lost").

A key is kept per (organisation, principal, key), where the principal is the API token (or the signed-in
user), together with a hash of the request (method, path with query, body) and the first response:

- same key, same request, first one finished  -> the stored response again (status and body), with
  `Idempotent-Replayed: true`;
- same key, another request                    -> 422, nothing runs;
- same key while the first is still running    -> 409 with Retry-After, nothing runs;
- the first request failed with a 5xx          -> the key is released, so a retry runs afresh.

The key is claimed by inserting its row in a short transaction of its own before the view runs (the
unique constraint decides a race between two requests), and the response is stored after the view's own
transaction. A process that dies between the two leaves a `running` row: after `STALE_AFTER` a request
with that key takes the row over (a conditional update, so only one does) and runs again.
Usage (under `@requires`, which identifies the principal):

    @bp.post("/relationships/<int:relationship_id>/production-reports")
    @requires("admin", "production", kind="supplier", api=True)
    @idempotent
    def reports_create(relationship_id): ...
"""
from __future__ import annotations

import functools
import hashlib
import logging
from datetime import datetime, timedelta
from typing import Callable

from flask import Response, current_app, g, request
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cogrow.core.errors import BadRequest, Conflict, ValidationFailed
from cogrow.core.models import IdempotencyRecord
from cogrow.core.types import utcnow
from cogrow.extensions import db

logger = logging.getLogger("cogrow.core.idempotency")

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY = 255
STALE_AFTER = timedelta(minutes=5)
KEEP_FOR = timedelta(hours=24)
_T = IdempotencyRecord.__table__


def request_hash() -> str:
    """SHA-256 over method, path with query string, and body bytes."""
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n")
    digest.update(request.path.encode())
    digest.update(b"?")
    digest.update(request.query_string)
    digest.update(b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _principal() -> str:
    actor = g.actor
    return f"token:{actor.token_id}" if actor.token_id is not None else f"user:{actor.user_id}"


def _read_key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise BadRequest(_("Idempotency-Key must be 1 to %(n)s printable ASCII characters.", n=MAX_KEY),
                         fields={HEADER: _("Malformed.")})
    return key


def _claim(org_id: int, principal: str, key: str, digest: str) -> bool:
    """Insert the key's row (state running) and commit; False when another request holds the key already."""
    db.session.rollback()  # whatever the request read so far; the claim is a transaction of its own
    dialect = db.session.get_bind().dialect.name
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(_T).values(
        organisation_id=org_id, principal=principal, key=key, request_hash=digest, state="running",
        created_at=utcnow()).on_conflict_do_nothing(index_elements=[_T.c.organisation_id, _T.c.principal, _T.c.key])
    claimed = db.session.execute(stmt.returning(_T.c.id)).scalar() is not None
    db.session.commit()
    return claimed


def _take_over_stale(org_id: int, principal: str, key: str, digest: str, created_at: datetime) -> bool:
    """Re-claim a row left `running` by a request that never finished; only one taker wins."""
    result = db.session.execute(
        update(_T).where(_T.c.organisation_id == org_id, _T.c.principal == principal, _T.c.key == key,
                         _T.c.state == "running", _T.c.created_at == created_at)
        .values(created_at=utcnow(), request_hash=digest))
    db.session.commit()
    return result.rowcount == 1


def _existing(org_id: int, principal: str, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.organisation_id == org_id, IdempotencyRecord.principal == principal,
        IdempotencyRecord.key == key).execution_options(populate_existing=True))


def _replay(record: IdempotencyRecord) -> Response:
    response = current_app.response_class(record.response_body or "", status=record.response_status,
                                          mimetype="application/json")
    response.headers[REPLAYED] = "true"
    response.headers[HEADER] = record.key
    return response


def _run(view: Callable, args, kwargs) -> Response:
    """The view's response, with errors answered exactly as the app's error handlers answer them."""
    try:
        return current_app.make_response(view(*args, **kwargs))
    except Exception as exc:  # the handlers decide the status; we only need the finished response
        return current_app.make_response(current_app.handle_user_exception(exc))


def _finish(org_id: int, principal: str, key: str, response: Response) -> None:
    db.session.rollback()  # anything the view left open (it commits its own work)
    where = (_T.c.organisation_id == org_id, _T.c.principal == principal, _T.c.key == key)
    if response.status_code >= 500:
        db.session.execute(delete(_T).where(*where))
    else:
        db.session.execute(update(_T).where(*where).values(
            state="done", response_status=response.status_code, response_body=response.get_data(as_text=True),
            completed_at=utcnow()))
    db.session.commit()


def idempotent(view: Callable) -> Callable:
    """Make a JSON POST view honour Idempotency-Key (see the module docstring). Without the header it just runs."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        key = _read_key()
        if key is None:
            return view(*args, **kwargs)
        org_id, principal, digest = g.actor.organisation_id, _principal(), request_hash()
        if not _claim(org_id, principal, key, digest):
            record = _existing(org_id, principal, key)
            if record is None:  # released by a failed first request between our insert and this read
                raise Conflict(_("A request with this Idempotency-Key is being processed; retry shortly."),
                               fields={HEADER: _("In progress.")})
            if record.request_hash != digest:
                raise ValidationFailed(_("This Idempotency-Key was used for a different request."),
                                       fields={HEADER: _("Already used for a different request.")})
            if record.state == "done":
                logger.info("replaying %s for %s", key, principal)
                return _replay(record)
            if record.created_at > utcnow() - STALE_AFTER or not _take_over_stale(
                    org_id, principal, key, digest, record.created_at):
                response = current_app.make_response(current_app.handle_user_exception(
                    Conflict(_("A request with this Idempotency-Key is being processed; retry shortly."),
                             fields={HEADER: _("In progress.")})))
                response.headers["Retry-After"] = "1"
                return response
            logger.warning("taking over stale idempotency key %s of %s", key, principal)
        response = _run(view, args, kwargs)
        _finish(org_id, principal, key, response)
        response.headers[HEADER] = key
        return response

    wrapped.cogrow_idempotent = True  # type: ignore[attr-defined]  (the OpenAPI document lists the header)
    return wrapped


def purge(older_than: timedelta = KEEP_FOR, now: datetime | None = None) -> int:
    """Forget finished keys older than `older_than` (a periodic task calls it); returns how many went."""
    cutoff = (now or utcnow()) - older_than
    result = db.session.execute(delete(_T).where(_T.c.state == "done", _T.c.completed_at < cutoff))
    db.session.commit()
    return result.rowcount
