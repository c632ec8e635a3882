"""One "today": the business day in the configured zone (Asia/Seoul by default), and the suite's frozen clock."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from cogrow.core.weeks import business_timezone, current_week, iso_label, local_today
from tests.conftest import frozen_now

SEOUL = ZoneInfo("Asia/Seoul")
# Taken while the module is imported: collection runs on the frozen clock as well.
DAY_AT_IMPORT = local_today()


def test_the_suite_runs_at_its_fixed_instant():
    moment = datetime.now(timezone.utc)
    assert 0 <= (moment - frozen_now()).total_seconds() < 60
    assert local_today() == frozen_now().astimezone(SEOUL).date() == DAY_AT_IMPORT


def test_new_year_in_seoul_is_still_the_old_year_in_utc_and_falls_in_iso_week_53(time_machine):
    time_machine.move_to(datetime(2027, 1, 1, 0, 30, tzinfo=SEOUL), tick=False)
    assert datetime.now(timezone.utc).date() == date(2026, 12, 31)
    assert local_today() == date(2027, 1, 1)
    assert current_week() == date(2026, 12, 28) and iso_label(current_week()) == "2026-W53"


def test_the_business_day_follows_the_configured_zone(app, monkeypatch):
    evening_in_utc = datetime(2026, 11, 18, 20, 0, tzinfo=timezone.utc)  # already Thursday in Seoul
    with app.app_context():
        assert business_timezone() == "Asia/Seoul"
        assert local_today(evening_in_utc) == date(2026, 11, 19)
        monkeypatch.setitem(app.config, "BABEL_DEFAULT_TIMEZONE", "America/Los_Angeles")
        assert local_today(evening_in_utc) == date(2026, 11, 18)
        # Sunday 20:00 UTC is Monday in Seoul but still Sunday in Los Angeles: the week changes with the zone.
        assert current_week(datetime(2026, 11, 22, 20, 0, tzinfo=timezone.utc)) == date(2026, 11, 16)


def test_outside_an_app_the_zone_comes_from_cogrow_timezone(monkeypatch):
    monkeypatch.setenv("COGROW_TIMEZONE", "UTC")
    assert business_timezone() == "UTC"
    assert local_today(datetime(2026, 12, 31, 15, 30, tzinfo=timezone.utc)) == date(2026, 12, 31)
    monkeypatch.delenv("COGROW_TIMEZONE")
    assert local_today(datetime(2026, 12, 31, 15, 30, tzinfo=timezone.utc)) == date(2027, 1, 1)


def test_a_time_without_an_offset_is_read_in_the_configured_zone(app, monkeypatch):
    from cogrow.imports import cells
    from cogrow.production.schemas import parse_moment

    cell = cells.datetime_cell()  # built once, like an import's columns: the zone must be read per cell
    yesterday = local_today() - timedelta(days=1)
    eight_utc = datetime.combine(yesterday, time(8, 0), tzinfo=timezone.utc)
    with app.app_context():
        monkeypatch.setitem(app.config, "BABEL_DEFAULT_TIMEZONE", "UTC")
        assert cell(f"{yesterday.isoformat()}T08:00") == eight_utc
        assert parse_moment(f"{yesterday.isoformat()}T08:00") == eight_utc


def test_the_demo_dates_its_shipment_on_the_business_day(app, db, time_machine):
    from sqlalchemy import select

    from cogrow.demo import load_demo
    from cogrow.shipments.models import Shipment

    time_machine.move_to(datetime(2027, 1, 1, 0, 30, tzinfo=SEOUL))  # still 2026-12-31 in UTC
    assert load_demo() is True
    # Today's shipment is dated on Seoul's day; the forecast-history shipments of the demo lie in past weeks.
    dates = set(db.session.scalars(select(Shipment.ship_date)))
    assert max(dates) == date(2027, 1, 1)
    assert date(2026, 12, 31) not in dates
