"""Splitting a forecast period into ISO weeks, the same rule for X12 FST and EDIFACT DTM periods.

The rule (documented for integrators in the README):
- a day or a week (X12 FST03 D or W, a date): the whole quantity goes to the ISO week (Monday to Sunday,
  in the business calendar) that holds the date;
- a flexible interval (F, FST04..FST05 inclusive) or a month (M, the calendar month holding FST04): the
  quantity is spread over the ISO weeks the period touches in proportion to the period's calendar days in
  each week. Week k gets floor(Q * D_k / D) - floor(Q * D_(k-1) / D), where D_k counts the period's days up
  to the end of week k and D all its days: the parts are whole units (at the quantity's own decimal scale),
  they add up to Q exactly, and the remainders spread evenly instead of piling on the last week. Every week the
  period touches gets a bucket, 0 included: the period says what those weeks need.
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from cogrow.core.weeks import week_start


def month_of(day: date) -> tuple[date, date]:
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def split_period(start: date, end: date, quantity: Decimal) -> list[tuple[date, Decimal]]:
    """[(Monday, quantity)] for the ISO weeks that the inclusive period start..end touches (see the rule)."""
    if end < start:
        raise ValueError("end before start")
    total_days = (end - start).days + 1
    exponent = quantity.as_tuple().exponent
    unit = Decimal(1).scaleb(min(exponent, 0)) if isinstance(exponent, int) else Decimal(1)
    out: list[tuple[date, Decimal]] = []
    monday, before, counted = week_start(start), Decimal(0), 0
    while monday <= end:
        sunday = monday + timedelta(days=6)
        counted += (min(sunday, end) - max(monday, start)).days + 1
        upto = (quantity * counted / total_days).quantize(unit, rounding=ROUND_FLOOR)
        out.append((monday, upto - before))
        before, monday = upto, monday + timedelta(days=7)
    return out
