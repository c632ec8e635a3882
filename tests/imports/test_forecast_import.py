"""Business rules through the real `forecast` import kind: part numbers, duplicates, past weeks, the same file twice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cogrow.core.models import OutboxEvent
from cogrow.core.weeks import current_week, iso_label
from cogrow.forecasts.models import MIN_HORIZON_WEEKS, ForecastBucket, ForecastPublication
from tests.imports.support import csv_bytes, xlsx_bytes
from tests.imports.test_corpus import latest, multipart

HEADER = ["Part number", "Week", "Quantity"]


def _rows(part, weeks=MIN_HORIZON_WEEKS, start=0, qty="10"):
    base = current_week()
    return [[part, iso_label(base + timedelta(weeks=n)), qty] for n in range(start, start + weeks)]


def _upload(client, rel_id, data, filename="forecast.csv"):
    body, content_type = multipart(data, filename)
    return client.post(f"/relationships/{rel_id}/imports/forecast", data=body, content_type=content_type)


def test_a_forecast_file_publishes_a_version_with_its_outbox_row(db, planner, tenant_a):
    rel_id = tenant_a.relationship.id
    part = tenant_a.item.prime_part_number
    assert _upload(planner, rel_id, csv_bytes([HEADER] + _rows(part))).status_code == 303
    batch = latest(db)
    assert batch.status == "preview", batch.errors
    assert db.session.scalar(select(func.count()).select_from(ForecastPublication)) == 0
    assert planner.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm").status_code == 303
    db.session.expire_all()
    assert batch.status == "applied"
    pub = db.session.scalar(select(ForecastPublication).where(ForecastPublication.relationship_id == rel_id))
    assert pub.version_no == 1 and pub.bucket_count == MIN_HORIZON_WEEKS
    assert db.session.scalar(select(func.count()).select_from(ForecastBucket)
                             .where(ForecastBucket.publication_id == pub.id)) == MIN_HORIZON_WEEKS
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)
                             .where(OutboxEvent.relationship_id == rel_id)) >= 1


def test_an_xlsx_forecast_with_week_cells_and_date_cells_imports(db, planner, tenant_a):
    rel_id = tenant_a.relationship.id
    part = tenant_a.item.prime_part_number
    rows = _rows(part)
    rows[0][1] = current_week()  # a real date cell: read as that week
    _upload(planner, rel_id, xlsx_bytes([HEADER] + [[p, w, int(q)] for p, w, q in rows]), "forecast.xlsx")
    assert latest(db).status == "preview", latest(db).errors


def test_unknown_foreign_duplicate_and_past_rows_are_all_named(db, planner, tenant_a, tenant_b):
    rel_id = tenant_a.relationship.id
    part = tenant_a.item.prime_part_number
    rows = _rows(part)
    rows.append([part, rows[3][1], "5"])  # row 28: a duplicate of row 5
    rows.append(["NO-SUCH-PART", rows[0][1], "5"])  # row 29
    rows.append([tenant_b.item.prime_part_number, rows[0][1], "5"])  # row 30: another organisation's part
    rows.append([part, iso_label(current_week() - timedelta(weeks=1)), "5"])  # row 31: last week
    rows.append([part, rows[1][1], "-3"])  # row 32: negative
    _upload(planner, rel_id, csv_bytes([HEADER] + rows))
    batch = latest(db)
    assert batch.status == "invalid"
    named = {e["row"] for e in batch.errors}
    assert {28, 29, 30, 31, 32} <= named, batch.errors
    foreign = next(e for e in batch.errors if e["row"] == 30)
    assert "not a part number of this relationship" in foreign["message"]
    assert "past" in next(e for e in batch.errors if e["row"] == 31)["message"]
    assert db.session.scalar(select(func.count()).select_from(ForecastPublication)) == 0


def test_the_same_forecast_file_twice_is_refused(db, planner, tenant_a):
    rel_id = tenant_a.relationship.id
    data = csv_bytes([HEADER] + _rows(tenant_a.item.prime_part_number))
    _upload(planner, rel_id, data)
    first = latest(db)
    planner.post(f"/relationships/{rel_id}/imports/{first.id}/confirm")
    again = _upload(planner, rel_id, data, "copy.csv")
    assert again.status_code == 409 and f"#{first.id}" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ForecastPublication)) == 1


def test_the_supplier_cannot_upload_the_primes_forecast(app, db, tenant_a):
    from tests.conftest import sign_in

    client = app.test_client()
    sign_in(client, tenant_a.users["supplier:admin"])
    data = csv_bytes([HEADER] + _rows(tenant_a.item.prime_part_number))
    assert _upload(client, tenant_a.relationship.id, data).status_code == 403
