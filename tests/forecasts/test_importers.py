"""The forecast, authorizations and commits import kinds, through the generic importer (upload, preview, confirm)."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from cogrow.core.models import OutboxEvent
from cogrow.core.weeks import iso_label
from cogrow.forecasts import services
from cogrow.forecasts.models import Authorization, ForecastBucket, ForecastCommit, ForecastPublication
from cogrow.imports import services as imports
from cogrow.imports.registry import get_kind
from tests.forecasts.conftest import horizon, week

pytestmark = pytest.mark.usefixtures("request_ctx")


def _csv(rows, header="Part number,Week,Quantity"):
    return ("\n".join([header] + [",".join(str(c) for c in r) for r in rows]) + "\n").encode()


def _forecast_rows(parts, weeks=26, quantity="10"):
    return [[p, iso_label(week(n)), quantity] for p in parts for n in range(weeks)]


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_good_forecast_file_previews_then_publishes_one_version(db, tenant_a, planner, items):
    rel_id = tenant_a.relationship.id
    services.publish(planner, rel_id, horizon([items[0].id], "5"))
    data = _csv(_forecast_rows([items[0].prime_part_number, items[1].prime_part_number.lower()]))
    batch = imports.upload(planner, rel_id, "forecast", "forecast.csv", data)
    assert batch.status == "preview", batch.errors
    assert batch.summary["summary"] == {"version_no": 2, "previous_version_no": 1, "items": 2, "buckets": 52,
                                        "total": "520", "firm_cuts": 0, "firm_cut_units": "0", "firm_cut_amount": "0"}
    assert batch.summary["lines"] == [[items[0].prime_part_number, 26, "260", "130", "130"],
                                      [items[1].prime_part_number, 26, "260", "", "260"]]
    assert _count(db, ForecastPublication) == 1  # a preview changes nothing

    applied = imports.confirm(planner, rel_id, batch.id)
    assert applied.status == "applied" and applied.summary["result"]["version_no"] == 2
    latest = services.latest_of(rel_id)
    assert latest.version_no == 2 and latest.bucket_count == 52 and "forecast.csv" in latest.note
    assert _count(db, ForecastBucket) == 26 + 52


def test_one_bad_row_changes_nothing_and_every_bad_row_is_reported(db, tenant_a, tenant_b, planner, items):
    part = items[0].prime_part_number
    rows = _forecast_rows([part])
    rows += [
        [part, iso_label(week(3)), "7"],                              # row 28: duplicate of row 5
        ["NO-SUCH-PART", iso_label(week(1)), "1"],                    # row 29
        [tenant_b.item.prime_part_number, iso_label(week(1)), "1"],   # row 30: another relationship's part
        [part, iso_label(week(-2)), "1"],                             # row 31: past week
        [part, iso_label(week(30)), "-4"],                            # row 32
        [part, iso_label(week(31)), "NaN"],                           # row 33
        [part, "2024-02-30", "1"],                                    # row 34
    ]
    outbox = _count(db, OutboxEvent)
    batch = imports.upload(planner, tenant_a.relationship.id, "forecast", "bad.csv", _csv(rows))
    assert batch.status == "invalid"
    found = {(e["row"], e["column"]) for e in batch.errors}
    assert found == {(28, "Week"), (29, "Part number"), (30, "Part number"), (31, "Week"), (32, "Quantity"),
                     (33, "Quantity"), (34, "Week")}
    assert all(e["message"] for e in batch.errors)
    assert (_count(db, ForecastPublication), _count(db, OutboxEvent)) == (0, outbox)


def test_a_file_short_of_the_horizon_names_the_items_last_row(db, tenant_a, planner, items):
    batch = imports.upload(planner, tenant_a.relationship.id, "forecast", "short.csv",
                           _csv(_forecast_rows([items[0].prime_part_number], weeks=10)))
    assert batch.status == "invalid"
    assert [(e["row"], e["column"]) for e in batch.errors] == [(11, "Week")]


def test_the_forecast_template_lists_every_item_for_26_weeks(db, tenant_a, planner, items):
    services.publish(planner, tenant_a.relationship.id, horizon([items[0].id], "3"))
    rows = list(get_kind("forecast").example_rows(planner, tenant_a.relationship))
    assert len(rows) == 3 * 26
    assert rows[0] == [items[0].prime_part_number, iso_label(week(0)), "3"]
    assert rows[26] == [items[1].prime_part_number, iso_label(week(0)), "0"]
    assert rows[-1][1] == iso_label(week(25))


def test_the_template_itself_imports_cleanly(db, tenant_a, planner, items):
    rows = list(get_kind("forecast").example_rows(planner, tenant_a.relationship))
    batch = imports.upload(planner, tenant_a.relationship.id, "forecast", "template.csv", _csv(rows))
    assert batch.status == "preview", batch.errors


def test_authorizations_import_grants_and_refuses_lowering(db, tenant_a, planner, items):
    rel_id = tenant_a.relationship.id
    start = week(-5).isoformat()
    header = "Part number,Kind,Cumulative start date,Quantity"
    good = imports.upload(planner, rel_id, "authorizations", "auth.csv",
                          _csv([[items[0].prime_part_number, "FAB", start, "100"],
                                [items[0].prime_part_number, "MT", start, "150"]], header))
    assert good.status == "preview", good.errors
    imports.confirm(planner, rel_id, good.id)
    assert sorted((a.kind, a.quantity) for a in db.session.scalars(select(Authorization))) == [
        ("FAB", Decimal("100")), ("RAW", Decimal("150"))]
    lower = imports.upload(planner, rel_id, "authorizations", "auth2.csv",
                           _csv([[items[0].prime_part_number, "FAB", start, "90"]], header))
    assert lower.status == "invalid"
    assert [(e["row"], e["column"]) for e in lower.errors] == [(2, "Quantity")] and "100" in lower.errors[0]["message"]


def test_commits_import_by_the_supplier(db, tenant_a, planner, production, items):
    rel_id = tenant_a.relationship.id
    services.publish(planner, rel_id, horizon([items[0].id], "10"))
    header = "Part number,Week,Quantity,Reason code,Comment"
    part = items[0].prime_part_number
    bad = imports.upload(production, rel_id, "commits", "c.csv",
                         _csv([[part, iso_label(week(0)), "10", "", ""], [part, iso_label(week(1)), "4", "", ""],
                               [part, iso_label(week(40)), "4", "OTHER", ""]], header))
    assert bad.status == "invalid"
    assert [(e["row"], e["column"]) for e in bad.errors] == [(3, "Reason code"), (4, "Week")]
    good = imports.upload(production, rel_id, "commits", "c2.csv",
                          _csv([[part, iso_label(week(0)), "10", "", ""],
                                [items[0].supplier_part_number, iso_label(week(1)), "4", "capacity", "press down"]],
                               header))
    assert good.status == "preview", good.errors
    assert good.summary["summary"] == {"version_no": 1, "commits": 2, "below_forecast": 1}
    imports.confirm(production, rel_id, good.id)
    assert sorted((c.quantity, c.reason_code) for c in db.session.scalars(select(ForecastCommit))) == [
        (Decimal("4"), "CAPACITY"), (Decimal("10"), None)]


def test_commits_import_without_a_forecast_says_so(db, tenant_a, production, items):
    batch = imports.upload(production, tenant_a.relationship.id, "commits", "c.csv",
                           _csv([[items[0].prime_part_number, iso_label(week(0)), "1", "", ""]],
                                "Part number,Week,Quantity,Reason code,Comment"))
    assert batch.status == "invalid" and "No forecast" in batch.errors[0]["message"]


def test_an_xlsx_forecast_with_korean_headers_is_accepted(db, tenant_a, planner, items):
    book = Workbook()
    sheet = book.active
    sheet.append(["품번", "주차", "수량"])
    for row in _forecast_rows([items[0].prime_part_number]):
        sheet.append([row[0], row[1], 10])
    buffer = io.BytesIO()
    book.save(buffer)
    batch = imports.upload(planner, tenant_a.relationship.id, "forecast", "예측.xlsx", buffer.getvalue())
    assert batch.status == "preview", batch.errors
    assert batch.summary["summary"]["buckets"] == 26


def test_a_cp949_csv_with_dates_for_weeks_is_accepted(db, tenant_a, planner, items):
    rows = [[items[0].prime_part_number, (week(n) + timedelta(days=2)).isoformat(), "3"]
            for n in range(26)]
    data = _csv(rows, "품번,주차,수량").decode().encode("cp949")
    batch = imports.upload(planner, tenant_a.relationship.id, "forecast", "forecast.csv", data)
    assert batch.status == "preview", batch.errors
    imports.confirm(planner, tenant_a.relationship.id, batch.id)
    assert set(db.session.scalars(select(ForecastBucket.week_start))) == {week(n) for n in range(26)}


def test_check_buckets_judges_equal_quantities_by_their_own_scale(db):
    """check_buckets judges each distinct quantity once: 1 and 1.00000 are equal Decimals, but only the second
    has more than 4 decimal places, and a week given twice is still a duplicate."""
    base = week(0)
    ones = [Decimal("1"), Decimal("1.00000"), Decimal("1")]
    buckets = [(7, base, ones[0]), (7, week(1), ones[1]), (8, base, ones[2]), (8, base, Decimal("2"))]
    errors = services.check_buckets({7, 8}, buckets + [(7, week(25), ones[0]), (8, week(25), ones[0])], base)
    assert [(i, f) for i, f, _m in errors] == [(1, "quantity"), (3, "week")]
