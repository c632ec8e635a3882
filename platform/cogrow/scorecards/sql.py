"""The one SQL construct the scorecards need that PostgreSQL and SQLite spell differently."""
from __future__ import annotations

from sqlalchemy import Numeric
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class days_between(FunctionElement):  # noqa: N801 - reads like the SQL it stands for
    """days_between(earlier, later): the time from one timestamp to another, in (fractional) days."""

    name = "days_between"
    type = Numeric(18, 6)
    inherit_cache = True


@compiles(days_between)
def _days_between(element, compiler, **kw):
    earlier, later = list(element.clauses)
    return (f"CAST(EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})) "
            f"/ 86400.0 AS NUMERIC(18, 6))")


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    earlier, later = list(element.clauses)
    return f"(julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)}))"
