"""Document numbers: each issuing organisation numbers its own documents, one series per kind (and year for POs).

`next_number` takes the next value of the issuer's counter with a single UPDATE ... RETURNING. The row stays locked
until the caller's transaction ends, so two POs drafted at the same moment by two planners of one prime (for two
different suppliers) queue on it and get consecutive numbers; neither can read the same "highest number" the
other is about to use. On SQLite there is one writer at a time anyway (BEGIN IMMEDIATE).

A counter row is created the first time a series is used, starting after the highest number of that series the
issuer already has (typed by hand or made before counters existed). A number typed by hand that lies ahead of the
counter is skipped over by the caller, who retries on the unique constraint with the next value.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from cogrow.extensions import db
from cogrow.orders.models import DocumentCounter


def highest_suffix(numbers_query, column, prefix: str) -> int:
    """The highest all-digit suffix after `prefix` among the numbers the query selects (longest first, so
    PO-2026-10000 beats PO-2026-9999); typed numbers may hold other characters and are skipped."""
    candidates = db.session.scalars(numbers_query.where(column.like(prefix + "%"))
                                    .order_by(func.length(column).desc(), column.desc()).limit(50))
    for number in candidates:
        suffix = number[len(prefix):]
        if suffix.isascii() and suffix.isdigit():
            return int(suffix)
    return 0


def next_number(organisation_id: int, series: str, seed: Callable[[], int], width: int) -> str:
    """The next number of `series` for the organisation, e.g. PO-2026-0042, in the caller's transaction."""
    counter = DocumentCounter.__table__
    take = (update(counter).where(counter.c.organisation_id == organisation_id, counter.c.series == series)
            .values(last_value=counter.c.last_value + 1).returning(counter.c.last_value))
    value = db.session.execute(take).scalar()
    if value is None:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(counter).values(organisation_id=organisation_id, series=series,
                                                          last_value=seed()))
        except IntegrityError:
            pass  # another transaction created it a moment ago: its row is the one to take from
        value = db.session.execute(take).scalar()
    return f"{series}{value:0{width}d}"
