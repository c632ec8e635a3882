"""Small SQL constructs that PostgreSQL and SQLite spell differently, so the ledger runs on both."""
from __future__ import annotations

from sqlalchemy import Date, Integer, Numeric
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.type_api import to_instance

from cogrow.core.types import Quantity


class _Extreme(FunctionElement):
    inherit_cache = True

    def __init__(self, *args, type_=None):
        super().__init__(*args)
        self.type = to_instance(type_ or Quantity)


class greatest(_Extreme):  # noqa: N801 - reads like the SQL function it stands for
    """GREATEST(a, b, ...): SQLite's scalar MAX takes several arguments for the same thing."""

    name = "greatest"
    inherit_cache = True


class least(_Extreme):  # noqa: N801
    """LEAST(a, b, ...): SQLite's scalar MIN."""

    name = "least"
    inherit_cache = True


@compiles(greatest)
def _greatest(element, compiler, **kw):
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element, compiler, **kw):
    return f"MAX({compiler.process(element.clauses, **kw)})"


@compiles(least)
def _least(element, compiler, **kw):
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(least, "sqlite")
def _least_sqlite(element, compiler, **kw):
    return f"MIN({compiler.process(element.clauses, **kw)})"


class week_of(FunctionElement):  # noqa: N801
    """The Monday of the ISO week holding a date column."""

    name = "week_of"
    type = Date()
    inherit_cache = True


@compiles(week_of)
def _week_of(element, compiler, **kw):
    return f"CAST(date_trunc('week', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(week_of, "sqlite")
def _week_of_sqlite(element, compiler, **kw):
    # 'weekday 0' moves forward to the Sunday ending the ISO week (or stays on it); six days back is its Monday.
    return f"date({compiler.process(element.clauses, **kw)}, 'weekday 0', '-6 days')"


class days_from(FunctionElement):  # noqa: N801
    """days_from(start, day): whole days from `start` to `day` (both dates)."""

    name = "days_from"
    type = Integer()
    inherit_cache = True


@compiles(days_from)
def _days_from(element, compiler, **kw):
    start, day = list(element.clauses)
    return f"({compiler.process(day, **kw)} - CAST({compiler.process(start, **kw)} AS DATE))"


@compiles(days_from, "sqlite")
def _days_from_sqlite(element, compiler, **kw):
    start, day = list(element.clauses)
    return (f"CAST(julianday({compiler.process(day, **kw)}) - julianday({compiler.process(start, **kw)}) "
            f"AS INTEGER)")


__all__ = ["greatest", "least", "week_of", "days_from", "Numeric"]
