"""How dates, times, weeks and numbers are shown to people: in the user's time zone and locale, through Babel.

One format per locale, used everywhere (the Jinja filters below; Python code calls the same functions):
- `|datetime`: a moment, in the user's time zone, as the locale's medium date and short time joined the locale's
  way: ko "2026. 12. 2. 오후 11:30", en "Dec 2, 2026, 11:30 PM". An aware datetime keeps its instant; a naive one
  is UTC (that is how the database hands back timestamps on SQLite).
- `|date`: a day, the locale's medium date: ko "2026. 12. 2.", en "Dec 2, 2026". A datetime is first moved to the
  user's time zone, so a UTC instant at 15:30 on day D shows as day D+1 in Seoul.
- `|week`: an ISO week with its Monday: "2026-W49 (Dec 1)", ko "2026-W49 (12월 1일)". The label comes from
  cogrow.core.weeks.iso_label, whose digits stay ASCII whatever the locale.
- `|money`: an amount in a currency (KRW unless named), with the currency's own decimals: "₩1,234,000";
  `|money(currency)` names it (an amount is in its relationship's currency), `|money(currency, code=True)` shows
  the ISO code ("USD 1,234.50") where several currencies stand side by side.
- `|qty` (registered by create_app) stays: a grouped quantity without trailing zeros.
The machine-readable forms (CSV, JSON, data-* attributes, <time datetime>) stay ISO 8601; these are for people.
"""
from __future__ import annotations

from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.dates import format_skeleton
from babel.numbers import format_currency
from flask import Flask, current_app, has_app_context, has_request_context
from markupsafe import Markup

from cogrow.core.weeks import business_timezone, iso_label, parse_iso_label, week_start

DEFAULT_CURRENCY = "KRW"
EMPTY = "—"


def _locale(locale: str | Locale | None) -> Locale:
    if locale is not None:
        return Locale.parse(locale)
    if has_request_context():
        from flask_babel import get_locale

        found = get_locale()
        if found is not None:
            return found
    default = current_app.config.get("BABEL_DEFAULT_LOCALE") if has_app_context() else None
    return Locale.parse(default or "ko")


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    if tz is not None:
        return ZoneInfo(tz)
    if has_request_context():
        from flask_babel import get_timezone

        found = get_timezone()
        if found is not None:
            return found
    return ZoneInfo(business_timezone())


def to_local(moment: datetime, tz: str | tzinfo | None = None) -> datetime:
    """The same instant on the user's clock; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(_zone(tz))


# Korean: CLDR's abbreviated day period is now "AM"/"PM"; people write 오전/오후 (the wide form, "aaaa").
_MOMENT_PATTERNS = {"ko": "y. M. d. aaaa h:mm"}


def datetime_pattern(locale: str | Locale | None = None) -> str:
    """The locale's one pattern for a moment: its medium date and short time, joined as the locale joins them."""
    loc = _locale(locale)
    fixed = _MOMENT_PATTERNS.get(loc.language)
    if fixed:
        return fixed
    return loc.datetime_formats["medium"].format(loc.time_formats["short"].pattern, loc.date_formats["medium"].pattern)


def format_moment(value: datetime | None, locale: str | Locale | None = None, tz: str | tzinfo | None = None) -> str:
    if value is None:
        return EMPTY
    loc = _locale(locale)
    return _babel_datetime(to_local(value, tz), datetime_pattern(loc), locale=loc)


def format_day(value: date | datetime | None, locale: str | Locale | None = None, tz: str | tzinfo | None = None) -> str:
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        value = to_local(value, tz).date()
    return _babel_date(value, "medium", locale=_locale(locale))


def _monday(value: date | datetime | str, tz: str | tzinfo | None) -> date:
    if isinstance(value, str):
        return parse_iso_label(value)
    if isinstance(value, datetime):
        value = to_local(value, tz).date()
    return week_start(value)


def format_week_monday(value: date | datetime | str, locale: str | Locale | None = None,
                       tz: str | tzinfo | None = None) -> str:
    """Only the Monday of the week, short: "Dec 1", ko "12월 1일"."""
    return format_skeleton("MMMd", _monday(value, tz), locale=_locale(locale))


def format_week(value: date | datetime | str | None, locale: str | Locale | None = None,
                tz: str | tzinfo | None = None) -> str:
    """'2026-W49 (Dec 1)': the ISO label (ASCII digits) and its Monday; any day of the week (or its label) will do."""
    if value is None or value == "":
        return EMPTY
    monday = _monday(value, tz)
    return f"{iso_label(monday)} ({format_week_monday(monday, locale)})"


def format_money(value: Any, currency: str | None = None, locale: str | Locale | None = None,
                 code: bool = False) -> str:
    """₩1,234,000: grouped, with the currency's own number of decimals (none for KRW).

    `code=True` names the currency by its ISO code instead of its symbol ("USD 1,234.50", "KRW 1,234,000"), for
    lists where amounts of several currencies stand side by side and "$" or "¥" could be read two ways.
    """
    if value is None or value == "":
        return EMPTY
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    if code:
        return format_currency(amount, currency or DEFAULT_CURRENCY, format="¤¤\u00a0#,##0.00",
                               locale=_locale(locale), currency_digits=True)
    return format_currency(amount, currency or DEFAULT_CURRENCY, locale=_locale(locale))


def _time_element(value: date | datetime | None, text: str) -> Markup | str:
    """<time datetime="ISO">shown</time>: the machine-readable instant beside the text people read."""
    if value is None:
        return text
    stamp = (value.replace(tzinfo=timezone.utc) if isinstance(value, datetime) and value.tzinfo is None
             else value).isoformat()
    return Markup('<time datetime="{}">{}</time>').format(stamp, text)


def init_app(app: Flask) -> None:
    """Register the display filters on the app's Jinja environment."""
    app.jinja_env.filters["datetime"] = lambda value, tz=None: format_moment(value, tz=tz)
    app.jinja_env.filters["date"] = lambda value, tz=None: format_day(value, tz=tz)
    app.jinja_env.filters["week"] = lambda value: format_week(value)
    app.jinja_env.filters["week_monday"] = lambda value: format_week_monday(value) if value else EMPTY
    app.jinja_env.filters["money"] = lambda value, currency=None, code=False: format_money(value, currency, code=code)
    # `|time_tag` wraps an already formatted moment: {{ at|time_tag(at|datetime) }} -> <time datetime=...>...</time>
    app.jinja_env.filters["time_tag"] = lambda value, text: _time_element(value, text)
    app.jinja_env.globals.update(week_label=lambda value: iso_label(_monday(value, None)))
