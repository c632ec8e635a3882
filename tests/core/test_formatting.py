"""Dates, times, weeks and money as people read them: the user's time zone (Seoul by default), one format per locale."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from flask import render_template_string

from cogrow.core.formatting import (datetime_pattern, format_day, format_moment, format_money, format_week,
                                    to_local)
from cogrow.core.weeks import current_week, iso_label, local_today
from tests.conftest import frozen_now

SEOUL = ZoneInfo("Asia/Seoul")
NNBSP = "\u202f"  # CLDR's narrow no-break space between the time and AM/PM in English


def _ko_moment(local: datetime) -> str:
    half = "오전" if local.hour < 12 else "오후"
    return f"{local.year}. {local.month}. {local.day}. {half} {(local.hour % 12) or 12}:{local.minute:02d}"


def _en_moment(local: datetime) -> str:
    half = "AM" if local.hour < 12 else "PM"
    return f"{local:%b} {local.day}, {local.year}, {(local.hour % 12) or 12}:{local.minute:02d}{NNBSP}{half}"


def test_the_frozen_instant_is_shown_on_seouls_clock_in_each_locale(app):
    with app.app_context():
        now = datetime.now(timezone.utc)
        local = frozen_now().astimezone(SEOUL)
        assert format_moment(now, "ko") == _ko_moment(local)
        assert format_moment(now, "en") == _en_moment(local)
        # The naive UTC form the database hands back is the same instant.
        assert format_moment(now.replace(tzinfo=None), "ko") == _ko_moment(local)
        assert format_day(now, "ko") == f"{local.year}. {local.month}. {local.day}."
        assert format_day(now, "en") == f"{local:%b} {local.day}, {local.year}"
        assert local_today() == local.date()


def test_one_pattern_per_locale():
    assert datetime_pattern("ko") == "y. M. d. aaaa h:mm"
    assert datetime_pattern("en") == f"MMM d, y, h:mm{NNBSP}a"


@pytest.mark.parametrize("moment", [datetime(2026, 12, 2, 15, 30, tzinfo=timezone.utc), datetime(2026, 12, 2, 15, 30)])
def test_a_utc_afternoon_is_already_the_next_day_in_seoul(app, moment):
    with app.app_context():
        assert format_moment(moment, "ko") == "2026. 12. 3. 오전 12:30"
        assert format_moment(moment, "en") == f"Dec 3, 2026, 12:30{NNBSP}AM"
        assert format_day(moment, "ko") == "2026. 12. 3."
        assert format_day(moment, "en") == "Dec 3, 2026"
        # A minute before Seoul's midnight it is still day D.
        before = moment - timedelta(minutes=31)
        assert format_moment(before, "ko") == "2026. 12. 2. 오후 11:59"
        assert format_day(before, "en") == "Dec 2, 2026"
        # Another zone, asked for explicitly, keeps the UTC day.
        assert format_day(moment, "en", tz="UTC") == "Dec 2, 2026"


def test_a_sunday_utc_evening_belongs_to_seouls_next_week(app):
    with app.app_context():
        sunday_evening_utc = datetime(2026, 12, 6, 15, 30, tzinfo=timezone.utc)  # Monday 00:30 in Seoul
        assert to_local(sunday_evening_utc).date() == date(2026, 12, 7)
        assert format_week(sunday_evening_utc, "en") == "2026-W50 (Dec 7)"
        assert format_week(sunday_evening_utc - timedelta(hours=1), "en") == "2026-W49 (Nov 30)"


def test_iso_week_53_is_shown_with_its_monday_and_ascii_digits(app):
    with app.app_context():
        for day in (date(2026, 12, 28), date(2026, 12, 31), date(2027, 1, 3), "2026-W53", "２０２６-Ｗ５３"):
            assert format_week(day, "ko") == "2026-W53 (12월 28일)"
            assert format_week(day, "en") == "2026-W53 (Dec 28)"
        assert format_week(date(2027, 1, 4), "en") == "2027-W01 (Jan 4)"
        # A locale with its own digits keeps the week label in ASCII digits.
        label, _, _ = format_week(date(2026, 12, 28), "ar_EG").partition(" ")
        assert label == "2026-W53"


def test_a_leap_day(app):
    with app.app_context():
        leap = date(2028, 2, 29)
        assert format_day(leap, "ko") == "2028. 2. 29."
        assert format_day(leap, "en") == "Feb 29, 2028"
        assert format_week(leap, "en") == "2028-W09 (Feb 28)"
        assert format_week(leap, "ko") == "2028-W09 (2월 28일)"
        assert format_moment(datetime(2028, 2, 28, 15, 0, tzinfo=timezone.utc), "ko") == "2028. 2. 29. 오전 12:00"


def test_money_has_the_currencys_decimals_and_grouping(app):
    with app.app_context():
        assert format_money(Decimal("15264000.0000"), locale="ko") == "₩15,264,000"
        assert format_money(Decimal("1234567.6"), "KRW", "en") == "₩1,234,568"
        assert format_money(Decimal("-3330000"), locale="en") == "-₩3,330,000"
        assert format_money(Decimal("1234.5"), "USD", "en") == "$1,234.50"
        assert format_money(None, locale="en") == "—"


@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_filters_follow_the_request_locale_and_seouls_clock(app, language):
    source = ("{{ at|datetime }}|{{ at|date }}|{{ day|date }}|{{ day|week }}|{{ amount|money }}|"
              "{{ amount|money('USD') }}|{{ none_at|datetime }}|{{ amount|qty }}")
    at = datetime(2026, 12, 2, 15, 30, tzinfo=timezone.utc)
    with app.test_request_context(headers={"Accept-Language": language}):
        shown = render_template_string(source, at=at, day=date(2026, 12, 28), amount=Decimal("1280.0000"),
                                       none_at=None).split("|")
    if language == "ko":
        assert shown[:6] == ["2026. 12. 3. 오전 12:30", "2026. 12. 3.", "2026. 12. 28.", "2026-W53 (12월 28일)",
                             "₩1,280", "US$1,280.00"]
    else:
        assert shown[:6] == [f"Dec 3, 2026, 12:30{NNBSP}AM", "Dec 3, 2026", "Dec 28, 2026", "2026-W53 (Dec 28)",
                             "₩1,280", "$1,280.00"]
    assert shown[6] == "—"
    assert shown[7] == "1,280"


def test_the_current_week_filter_names_this_weeks_monday(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        monday = current_week()
        shown = render_template_string("{{ now|week }}", now=datetime.now(timezone.utc))
    assert shown == f"{iso_label(monday)} ({monday:%b} {monday.day})"


def test_time_tag_keeps_the_instant_machine_readable(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        shown = render_template_string("{{ at|time_tag(at|datetime) }}", at=datetime(2026, 12, 2, 15, 30))
    assert shown == f'<time datetime="2026-12-02T15:30:00+00:00">Dec 3, 2026, 12:30{NNBSP}AM</time>'
