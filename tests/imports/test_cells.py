"""Cell parsers: what each kind of cell accepts, and the message for what it refuses."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from cogrow.imports import cells


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.mark.parametrize("raw, expected", [
    ("12", Decimal(12)), ("１２", Decimal(12)), (" 12 ", Decimal(12)), ("0", Decimal(0)), ("-0", Decimal(0)),
    ("1.25", Decimal("1.25")), ("+3", Decimal(3)), (None, None), ("", None),
    # the locale's grouping separator, as the app and a spreadsheet display numbers (en and ko both write ',')
    ("1,000", Decimal(1000)), ("1,280", Decimal(1280)), ("12,345,678.5", Decimal("12345678.5")),
    ("１，２８０", Decimal(1280)), ("+1,000", Decimal(1000)),
])
def test_decimal_cell_accepts_plain_numbers(raw, expected):
    assert cells.decimal_cell()(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ("-1", "at least 0"), ("NaN", "finite"), ("Infinity", "finite"), ("-inf", "finite"), ("1e309", "without an exponent"),
    (str(2 ** 63), "out of range"), ("1,5", "'.' for decimals"), ("1,28", "Ambiguous"), ("1,2800", "Ambiguous"),
    (",280", "Ambiguous"), ("1,,280", "Ambiguous"), ("1.000,50", "'.' for decimals"), ("1 000", "'.' for decimals"),
    ("1.280.000", "'.' for decimals"), ("TRUE", "true/false"), ("false", "true/false"),
    ("abc", "Must be a number"), ("1.23456", "decimal places"), ("0x10", "Must be a number"),
])
def test_decimal_cell_refuses_with_a_reason(raw, message):
    with pytest.raises(ValueError, match=message):
        cells.decimal_cell()(raw)


def test_decimal_cell_refuses_grouping_when_told_to():
    with pytest.raises(ValueError, match="no thousands separators"):
        cells.decimal_cell(grouping=False)("1,280")


def test_decimal_cell_refuses_fractions_of_whole_units():
    with pytest.raises(ValueError, match="whole number"):
        cells.decimal_cell(whole=True)("1.5")
    assert cells.decimal_cell(whole=True)("2.0") == 2


def test_decimal_cell_honours_minimum_and_maximum():
    assert cells.decimal_cell(minimum=-5)("-5") == -5
    with pytest.raises(ValueError, match="at most 10"):
        cells.decimal_cell(maximum=10)("11")


def test_decimal_cell_required_refuses_empty():
    with pytest.raises(ValueError, match="required"):
        cells.decimal_cell(required=True)("  ")


@pytest.mark.parametrize("raw, expected", [
    ("ab-1", "AB-1"), ("AB-1   ", "AB-1"), ("ＡＢ－１２", "AB-12"), ("\u3000AB1\u3000", "AB1"), ("\tab1", "AB1"),
    ("=CMD()", "=CMD()"),
])
def test_code_cell_normalises_part_numbers(raw, expected):
    assert cells.code_cell()(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ("A\u200bB", "invisible"), ("AB\ufeff", "invisible"), ("PN\u3164 1", "invisible"), ("PN\u31641", "invisible"),
    ("PN\uffa01", "invisible"), ("PN\u00ad1", "invisible"), ("PN\u00a01", "spaces"), ("A\x00B", "NUL"), ("A\x07B", "control"), ("A B", "spaces"),
    ("X" * 65, "At most 64"),
])
def test_code_cell_refuses_hidden_or_spaced_codes(raw, message):
    with pytest.raises(ValueError, match=message):
        cells.code_cell()(raw)


def test_text_cell_keeps_formulas_and_line_breaks_as_text():
    parse = cells.text_cell()
    assert parse("=HYPERLINK(\"http://x\")") == "=HYPERLINK(\"http://x\")"
    assert parse("line 1\nline 2") == "line 1\nline 2"
    with pytest.raises(ValueError, match="NUL"):
        parse("a\x00b")
    with pytest.raises(ValueError, match="invisible"):
        parse("a\u200bb")
    with pytest.raises(ValueError, match="At most 5"):
        cells.text_cell(max_length=5)("123456")


@pytest.mark.parametrize("raw, expected", [
    ("2026-03-04", date(2026, 3, 4)), ("2026/3/4", date(2026, 3, 4)), ("2026.03.04", date(2026, 3, 4)),
    ("2026-03-04 00:00:00", date(2026, 3, 4)), ("２０２６-０３-０４", date(2026, 3, 4)),
])
def test_date_cell_accepts_year_first_dates(raw, expected):
    assert cells.date_cell()(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ("2024-02-30", "no such date"), ("2026-13-01", "no such date"), ("45000", "serial"), ("45000.5", "serial"),
    ("03/04/2026", "ambiguous"), ("3.4.26", "ambiguous"), ("next tuesday", "Not a date"),
])
def test_date_cell_refuses_impossible_or_ambiguous_dates(raw, message):
    with pytest.raises(ValueError, match=message):
        cells.date_cell()(raw)


def test_week_cell_reads_iso_weeks_and_dates_as_mondays():
    parse = cells.week_cell()
    assert parse("2026-W48") == date(2026, 11, 23)
    assert parse("2026w48") == date(2026, 11, 23)
    assert parse("2026-11-26") == date(2026, 11, 23)
    with pytest.raises(ValueError, match="Not a week"):
        parse("2026-W54")
    with pytest.raises(ValueError, match="no such date"):
        parse("2024-02-30")


def test_datetime_cell_reads_naive_times_in_seoul_and_keeps_offsets():
    parse = cells.datetime_cell()
    assert parse("2026-03-04T09:00") == datetime(2026, 3, 4, 0, 0, tzinfo=timezone.utc)
    assert parse("2026-03-04T09:00+09:00") == datetime(2026, 3, 4, 0, 0, tzinfo=timezone.utc)
    assert parse("2026-03-04T09:00Z") == datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="date and a time"):
        parse("2026-03-04")
    with pytest.raises(ValueError, match="no such date"):
        parse("2026-02-30T09:00")


def test_choice_cell_matches_case_insensitively_and_lists_the_choices():
    parse = cells.choice_cell({"FAB": "FAB", "완제품": "FAB", "RAW": "RAW"})
    assert parse("fab") == "FAB" and parse("완제품") == "FAB"
    with pytest.raises(ValueError, match="FAB, 완제품, RAW"):
        parse("other")


def test_messages_follow_the_users_language(app):
    with app.test_request_context(headers={"Accept-Language": "ko"}):
        from flask_babel import refresh

        refresh()
        with pytest.raises(ValueError) as caught:
            cells.decimal_cell()("-1")
    assert caught.value.args[0]  # translated (or the English msgid until the lead's extraction); never empty
