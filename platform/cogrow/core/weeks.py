"""Weekly buckets: ISO weeks that start on Monday, in the configured business time zone (Asia/Seoul)."""
from __future__ import annotations

import os
import unicodedata
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TZ = "Asia/Seoul"


def business_timezone() -> str:
    """The business time zone's name: the app's BABEL_DEFAULT_TIMEZONE, else COGROW_TIMEZONE, else Asia/Seoul."""
    # Outside an app (a CLI helper, a test module) the environment is what the app would have read.
    configured = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return configured or os.environ.get("COGROW_TIMEZONE") or DEFAULT_TZ


def business_zone() -> ZoneInfo:
    return ZoneInfo(business_timezone())


def local_today(now: datetime | None = None, tz: str | None = None) -> date:
    """The business day at `now` (default: this moment): the one "today" of the product, never the machine's date."""
    now = now or datetime.now(timezone.utc)
    return now.astimezone(ZoneInfo(tz or business_timezone())).date()


def week_start(day: date) -> date:
    """The Monday of the ISO week that holds `day`."""
    return day - timedelta(days=day.weekday())


def current_week(now: datetime | None = None, tz: str | None = None) -> date:
    return week_start(local_today(now, tz))


def weeks_between(start: date, later: date) -> int:
    """Whole weeks from the week of `start` to the week of `later` (negative when `later` is earlier)."""
    return (week_start(later) - week_start(start)).days // 7


def iso_label(monday: date) -> str:
    """2026-W48: how weeks are written in files and on pages."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def parse_iso_label(text: str) -> date:
    """The Monday of '2026-W48' (also accepts '2026W48'); ValueError for anything else."""
    # Full-width digits and letters fold to ASCII; any other script's digits (١٢, ²) stay and are refused below.
    folded = "".join(unicodedata.normalize("NFKC", c) if "\uff01" <= c <= "\uff5e" else c for c in text)
    cleaned = folded.strip().upper().replace("W", "-W").replace("--", "-")
    year_text, _, week_text = cleaned.partition("-W")
    if not (_ascii_digits(year_text) and _ascii_digits(week_text) and len(year_text) == 4 and 1 <= len(week_text) <= 2):
        raise ValueError(text)
    return date.fromisocalendar(int(year_text), int(week_text), 1)


def zone_for(week_offset: int, firm_fence_weeks: int, material_fence_weeks: int) -> str:
    """The zone of a bucket `week_offset` weeks from the current week, under the given fences."""
    if week_offset < firm_fence_weeks:
        return "firm"
    if week_offset < material_fence_weeks:
        return "material"
    return "planning"
