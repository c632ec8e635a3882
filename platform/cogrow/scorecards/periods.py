"""Calendar months in the business time zone: the scorecards' period, and how a row finds its month in SQL."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from sqlalchemy import case

from cogrow.core.weeks import business_zone

MAX_MONTHS = 24  # the longest period a page or the API computes
DEFAULT_MONTHS = 6


@dataclass(frozen=True)
class Month:
    first: date  # its first day

    @property
    def label(self) -> str:
        return f"{self.first.year:04d}-{self.first.month:02d}"

    @property
    def next_first(self) -> date:
        return date(self.first.year + self.first.month // 12, self.first.month % 12 + 1, 1)

    @property
    def start(self) -> datetime:
        """Its first instant (midnight in the business time zone), in UTC."""
        return _midnight(self.first)

    @property
    def end(self) -> datetime:
        return _midnight(self.next_first)

    def shifted(self, months: int) -> Month:
        index = self.first.year * 12 + self.first.month - 1 + months
        return Month(date(index // 12, index % 12 + 1, 1))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), business_zone()).astimezone(timezone.utc)


def month_of(day: date) -> Month:
    return Month(day.replace(day=1))


def parse_month(text: str) -> Month:
    """'2026-11' (full-width digits folded), years 1900 to 2999; ValueError for anything else."""
    # Full-width digits fold to ASCII (as ISO weeks do); any other script's digits stay and are refused below.
    folded = "".join(unicodedata.normalize("NFKC", c) if "\uff01" <= c <= "\uff5e" else c for c in text).strip()
    year, sep, month = folded.partition("-")
    if not (sep and year.isascii() and year.isdigit() and month.isascii() and month.isdigit()
            and len(year) == 4 and 1 <= len(month) <= 2 and 1 <= int(month) <= 12 and 1900 <= int(year) <= 2999):
        raise ValueError(text)
    return Month(date(int(year), int(month), 1))


def span(first: Month, last: Month) -> list[Month]:
    count = (last.first.year - first.first.year) * 12 + last.first.month - first.first.month + 1
    return [first.shifted(i) for i in range(count)]


def date_month(column, months: list[Month]):
    """The label of the month holding a date column (NULL outside the months: filter on `date_bounds` too)."""
    return case(*((column < m.next_first, m.label) for m in months), else_=None)


def moment_month(column, months: list[Month]):
    """The label of the business-zone month holding a UTC timestamp column."""
    return case(*((column < m.end, m.label) for m in months), else_=None)


def date_bounds(column, months: list[Month]):
    return (column >= months[0].first) & (column < months[-1].next_first)


def moment_bounds(column, months: list[Month]):
    return (column >= months[0].start) & (column < months[-1].end)
