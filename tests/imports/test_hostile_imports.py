"""Hostile imports (issue 9 §4): an error cap with an honest count, large files read by the worker and not the
web request, and quantities written only with the digits 0-9."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from cogrow.core.models import OutboxEvent
from cogrow.imports import services, tasks
from cogrow.imports.models import ImportBatch
from tests.imports import support
from tests.imports.support import HEADER, TEST_KIND, csv_bytes, xlsx_bytes
from tests.imports.test_corpus import latest, lead_times, upload

pytestmark = pytest.mark.usefixtures("test_kind", "items")
GOOD = [["PN-1", "5", "a" * 50], ["PN-2", "6", "b" * 50], ["PN-3", "7", "c" * 50]]  # 200 bytes: "large" below


def _api_upload(app, tenant, body: bytes, content_type: str = "text/csv", **query):
    from urllib.parse import urlencode

    url = f"/api/v1/relationships/{tenant.relationship.id}/imports/{TEST_KIND}"
    if query:
        url += "?" + urlencode(query)
    return app.test_client().post(url, data=body, headers={
        "Authorization": f"Bearer {tenant.tokens['prime:planner']}", "Content-Type": content_type})


def _api_get(app, tenant, url: str):
    return app.test_client().get(url, headers={"Authorization": f"Bearer {tenant.tokens['prime:planner']}"})


def _parse_outbox(db) -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == services.PARSE_TOPIC)
                                   .order_by(OutboxEvent.id)))


# ---------------------------------------------------------------- quantities: digits 0-9 only

@pytest.mark.parametrize("raw, message", [
    ("²", "digits 0-9"), ("١٢", "digits 0-9"), ("1e3", "without an exponent"), ("1E3", "without an exponent"),
    ("NaN", "finite"), ("Infinity", "finite"), ("٣", "digits 0-9"), ("12\u00b3", "digits 0-9"),
])
def test_a_quantity_not_written_with_the_digits_0_to_9_is_an_error_naming_row_and_column(raw, message, db, planner,
                                                                                          tenant_a):
    upload(planner, tenant_a.relationship.id, csv_bytes([HEADER, ["PN-1", "5", ""], ["PN-2", raw, ""]]))
    batch = latest(db)
    assert batch.status == "invalid"
    assert [(e["row"], e["column"]) for e in batch.errors] == [(3, "lead_time")]
    assert message in batch.errors[0]["message"]
    assert lead_times(db, tenant_a.relationship.id)["PN-2"] == 0


def test_full_width_digits_are_read_as_ascii_digits(db, planner, tenant_a):
    upload(planner, tenant_a.relationship.id, csv_bytes([HEADER, ["PN-1", "１２", ""], ["PN-2", "　７　", ""]]))
    batch = latest(db)
    assert batch.status == "preview", batch.errors
    planner.post(f"/relationships/{tenant_a.relationship.id}/imports/{batch.id}/confirm")
    assert {k: lead_times(db, tenant_a.relationship.id)[k] for k in ("PN-1", "PN-2")} == {"PN-1": 12, "PN-2": 7}


def test_a_numeric_xlsx_cell_is_a_number_but_the_text_1e3_in_a_cell_is_not(db, planner, tenant_a):
    upload(planner, tenant_a.relationship.id, xlsx_bytes([HEADER, ["PN-1", 300, None], ["PN-2", 3e2, None]]), "n.xlsx")
    assert latest(db).status == "preview"
    upload(planner, tenant_a.relationship.id, xlsx_bytes([HEADER, ["PN-1", "3e2", None]]), "t.xlsx")
    batch = latest(db)
    assert batch.status == "invalid" and "exponent" in batch.errors[0]["message"]


def test_json_strings_follow_the_same_rule_and_json_numbers_are_numbers(app, db, tenant_a):
    body = '{"rows": [{"part_number": "PN-1", "lead_time": "\u00b2"}, {"part_number": "PN-2", "lead_time": "1e1"}]}'
    response = _api_upload(app, tenant_a, body.encode(), "application/json")
    assert response.status_code == 422
    errors = response.get_json()["error"]["import"]["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(1, "lead_time"), (2, "lead_time")]
    number = b'{"rows": [{"part_number": "PN-1", "lead_time": 1.2e1}, {"part_number": "PN-2", "lead_time": 1e999}]}'
    errors = _api_upload(app, tenant_a, number, "application/json").get_json()["error"]["import"]["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "lead_time")]  # 1.2e1 is 12; 1e999 is refused


# ---------------------------------------------------------------- the error cap

def test_an_all_bad_file_keeps_exactly_the_cap_of_errors_and_says_there_are_more(app, db, planner, tenant_a):
    """5,000 rows with two bad cells each: reading stops past the cap instead of listing 10,000 errors."""
    assert app.config["IMPORT_MAX_ERRORS"] == 1000
    rows = [HEADER] + [["NO SUCH PART", "x", ""] for _ in range(5000)]
    upload(planner, tenant_a.relationship.id, csv_bytes(rows))
    batch = latest(db)
    assert batch.status == "invalid"
    assert len(batch.errors) == 1000 and batch.error_count >= 1000
    stopped = services.errors_stopped_at(batch)
    assert stopped is not None and stopped < 5001  # reading stopped early: the count is a lower bound
    assert [e["row"] for e in batch.errors[:4]] == [2, 2, 3, 3]
    page = planner.get(f"/relationships/{tenant_a.relationship.id}/imports/{batch.id}").get_data(as_text=True)
    assert "More than 1000 errors" in page and f"stopped at row {stopped}" in page
    shown = _api_get(app, tenant_a, f"/api/v1/relationships/{tenant_a.relationship.id}/imports/{batch.id}").get_json()
    assert shown["error_count_is_lower_bound"] is True and len(shown["errors"]) == 1000


def test_errors_found_after_reading_the_whole_file_are_counted_exactly_and_the_first_are_kept(
        app, db, planner, tenant_a, monkeypatch):
    """Every cell reads, but 60 part numbers are unknown: all 60 are counted, the first 25 are kept."""
    monkeypatch.setitem(app.config, "IMPORT_MAX_ERRORS", 25)
    rows = [HEADER] + [[f"GONE-{n}", "5", ""] for n in range(60)]
    upload(planner, tenant_a.relationship.id, csv_bytes(rows))
    batch = latest(db)
    assert batch.status == "invalid" and services.errors_stopped_at(batch) is None
    assert batch.error_count == 60 and [e["row"] for e in batch.errors] == list(range(2, 27))
    page = planner.get(f"/relationships/{tenant_a.relationship.id}/imports/{batch.id}").get_data(as_text=True)
    assert "25 of 60 errors are listed" in page
    shown = _api_get(app, tenant_a, f"/api/v1/relationships/{tenant_a.relationship.id}/imports/{batch.id}").get_json()
    assert shown["error_count"] == 60 and shown["error_count_is_lower_bound"] is False


def test_the_cap_also_stops_an_all_bad_xlsx(app, db, planner, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ERRORS", 10)
    rows = [HEADER] + [["PN-1", "²", None] for _ in range(300)]
    upload(planner, tenant_a.relationship.id, xlsx_bytes(rows), "bad.xlsx")
    batch = latest(db)
    assert batch.status == "invalid" and len(batch.errors) == 10
    assert services.errors_stopped_at(batch) == 12  # rows 2-12 hold the 11 errors that went past the cap


# ---------------------------------------------------------------- large files are read by the worker

@pytest.fixture
def small_inline(app, monkeypatch):
    """Files over 100 bytes count as large, so that small test files take the worker's path."""
    monkeypatch.setitem(app.config, "IMPORT_INLINE_PARSE_BYTES", 100)


def test_the_upload_of_a_large_file_only_stores_it_and_the_worker_makes_the_preview(
        db, planner, tenant_a, small_inline, worker_idle, monkeypatch):
    from cogrow.imports import reader

    def no_reading(*args, **kwargs):
        raise AssertionError("the web request read the rows")

    monkeypatch.setattr(reader, "read", no_reading)
    rel_id = tenant_a.relationship.id
    response = upload(planner, rel_id, csv_bytes([HEADER, *GOOD]))
    batch = latest(db)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/imports/{batch.id}")
    assert batch.status == "pending" and batch.total_rows == 0 and batch.errors is None
    [event] = _parse_outbox(db)
    assert event.payload == {"import_id": batch.id} and event.published_at is not None and event.done_at is None
    assert worker_idle == [event.id]

    page = planner.get(f"/relationships/{rel_id}/imports/{batch.id}")
    html = page.get_data(as_text=True)
    assert "Refresh" not in page.headers and 'http-equiv="refresh"' not in html  # polled by htmx instead
    assert 'data-test="pending"' in html and 'hx-trigger="every 2s"' in html
    assert planner.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm").status_code == 303
    db.session.expire_all()
    assert batch.status == "pending"  # nothing to confirm yet

    monkeypatch.undo()  # the worker reads the file
    assert tasks.parse_import.apply(args=[event.id]).get() == "preview"
    db.session.expire_all()
    assert (batch.status, batch.total_rows, batch.summary["summary"]) == ("preview", 3, {"items": 3})
    assert _parse_outbox(db)[0].done_at is not None
    page = planner.get(f"/relationships/{rel_id}/imports/{batch.id}")
    assert 'hx-trigger="every 2s"' not in page.get_data(as_text=True)
    assert 'data-test="confirm"' in page.get_data(as_text=True)
    assert tasks.parse_import.apply(args=[event.id]).get() == "skipped"  # a second delivery does nothing


def test_a_large_file_read_by_the_worker_is_applied_by_the_worker_too(db, planner, tenant_a, small_inline, app,
                                                                       monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.apply_import, "apply_async", lambda args, **_options: sent.append(args))
    rel_id = tenant_a.relationship.id
    upload(planner, rel_id, csv_bytes([HEADER, *GOOD]))  # read at once by the in-process worker (worker_reads)
    batch = latest(db)
    assert batch.status == "preview"
    planner.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm")
    db.session.expire_all()
    [event] = db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == services.APPLY_TOPIC)).all()
    assert batch.status == "queued" and sent == [[event.id]]
    with app.test_request_context():
        assert services.run_apply(event.id) == "applied"
    assert lead_times(db, rel_id)["PN-3"] == 7


def test_the_apply_commits_its_outbox_receipt_with_its_rows(db, planner, tenant_a, small_inline, app, monkeypatch):
    """A worker that dies after the apply's commit (here: in the step that hands out notices) leaves the
    outbox row done, so the relay never hands an applied file out again."""
    monkeypatch.setattr(tasks.apply_import, "apply_async", lambda args, **_options: None)
    rel_id = tenant_a.relationship.id
    upload(planner, rel_id, csv_bytes([HEADER, *GOOD]))
    batch = latest(db)
    planner.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm")
    db.session.expire_all()
    [event] = db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == services.APPLY_TOPIC)).all()

    def die(*_args, **_kwargs):
        raise SystemExit("the worker was killed after the commit")

    monkeypatch.setattr(services, "_after_commit", die)
    with app.test_request_context(), pytest.raises(SystemExit):
        services.run_apply(event.id)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch.id).status == "applied"
    assert db.session.get(OutboxEvent, event.id).done_at is not None


def test_a_stored_upload_and_a_queued_apply_relay_their_own_rows_and_wake_no_second_relay(
        db, planner, tenant_a, small_inline, app, monkeypatch, worker_idle):
    from cogrow.core import outbox as outbox_module

    kicks = []
    monkeypatch.setitem(app.config, "OUTBOX_KICK", True)
    monkeypatch.setattr(app.extensions["celery"], "send_task", lambda name, **_kwargs: kicks.append(name))
    monkeypatch.setattr(outbox_module._kicker, "_connection_for", lambda _celery_app: "connection")
    outbox_module._kicker.reset()
    monkeypatch.setattr(tasks.apply_import, "apply_async", lambda args, **_options: None)
    rel_id = tenant_a.relationship.id
    upload(planner, rel_id, csv_bytes([HEADER, *GOOD]))
    assert len(worker_idle) == 1 and kicks == []  # the upload's own relay handed the row over
    tasks.parse_import.apply(args=worker_idle)
    batch = latest(db)
    planner.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm")
    db.session.expire_all()
    assert batch.status == "queued" and kicks == []
    outbox_module.enqueue(outbox_module.RECONCILE, {"item_ids": None, "reason": "test"})
    db.session.commit()
    assert kicks == [outbox_module.RELAY_TASK]  # any other commit with outbox rows still wakes the relay
    outbox_module._kicker.reset()


def test_the_api_answers_202_with_a_location_to_poll(app, db, tenant_a, small_inline, worker_idle):
    response = _api_upload(app, tenant_a, csv_bytes([HEADER, *GOOD]), confirm="true")
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "pending"
    location = response.headers["Location"]
    assert location.endswith(f"/api/v1/relationships/{tenant_a.relationship.id}/imports/{body['id']}")
    assert _api_get(app, tenant_a, location).get_json()["status"] == "pending"
    tasks.parse_import.apply(args=worker_idle)
    assert _api_get(app, tenant_a, location).get_json()["status"] == "preview"


def test_a_file_the_worker_refuses_becomes_invalid_with_the_reason(app, db, planner, tenant_a, small_inline,
                                                                   monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 2)
    upload(planner, tenant_a.relationship.id, csv_bytes([HEADER, *GOOD]))
    batch = latest(db)
    assert batch.status == "invalid" and batch.content is None
    assert [(e["row"], e["column"]) for e in batch.errors] == [(None, None)]
    assert "more than 2 rows" in batch.errors[0]["message"]


def test_a_pending_file_that_is_discarded_stays_discarded_when_the_worker_comes(db, planner, tenant_a, small_inline,
                                                                                worker_idle):
    rel_id = tenant_a.relationship.id
    upload(planner, rel_id, csv_bytes([HEADER, *GOOD]))
    batch = latest(db)
    assert planner.post(f"/relationships/{rel_id}/imports/{batch.id}/discard").status_code == 303
    assert tasks.parse_import.apply(args=worker_idle).get() == "skipped"
    db.session.expire_all()
    assert batch.status == "discarded" and batch.content is None
    assert _parse_outbox(db)[0].done_at is not None


def test_when_the_broker_is_down_the_relay_hands_the_file_over_later(app, db, planner, tenant_a, small_inline,
                                                                     monkeypatch):
    from cogrow.coverage import services as coverage

    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.parse_import, "apply_async", down)
    response = upload(planner, tenant_a.relationship.id, csv_bytes([HEADER, *GOOD]))
    assert response.status_code == 303
    batch = latest(db)
    [event] = _parse_outbox(db)
    assert batch.status == "pending" and event.published_at is None  # still the relay's to publish
    published = []
    with app.test_request_context():
        assert coverage.relay_outbox(topics=(services.PARSE_TOPIC,),
                                     publish=lambda name, args: published.append((name, args))) == 1
    assert published == [("cogrow.imports.parse", [event.id])]
    tasks.parse_import.apply(args=[event.id])
    db.session.expire_all()
    assert batch.status == "preview"


def test_an_xlsx_is_weighed_by_its_unpacked_size(app, db, planner, tenant_a, worker_idle, monkeypatch):
    """A workbook compresses well: its rows cost what the unpacked sheet holds, not the bytes sent."""
    data = xlsx_bytes([HEADER, *GOOD])
    from cogrow.imports import reader

    unpacked = reader.check_workbook(data, 10**9)
    assert unpacked > len(data)
    monkeypatch.setitem(app.config, "IMPORT_INLINE_PARSE_BYTES", (len(data) + unpacked) // 2)
    upload(planner, tenant_a.relationship.id, data, "a.xlsx")
    assert latest(db).status == "pending" and len(worker_idle) == 1


def test_hostile_workbooks_are_still_refused_in_the_request(db, planner, tenant_a, small_inline, worker_idle):
    response = upload(planner, tenant_a.relationship.id, support.zip_bomb_xlsx(), "bomb.xlsx")
    assert response.status_code == 422 and "zip bomb" in response.get_data(as_text=True)
    assert worker_idle == [] and db.session.scalar(select(ImportBatch.id)) is None


def test_by_default_a_file_over_256_kb_is_read_by_the_worker_and_a_smaller_one_at_once(app, db, planner, tenant_a,
                                                                                        worker_idle):
    assert app.config["IMPORT_INLINE_PARSE_BYTES"] == 256 * 1024
    rows = [HEADER] + [[f"PN-{n % 3 + 1}", "5", "x" * 90] for n in range(3000)]  # about 290 KB
    data = csv_bytes(rows)
    assert len(data) > 256 * 1024
    upload(planner, tenant_a.relationship.id, data)
    assert latest(db).status == "pending" and len(worker_idle) == 1
    upload(planner, tenant_a.relationship.id, csv_bytes(rows[:2000]))  # about 190 KB
    assert latest(db).status == "invalid" and len(worker_idle) == 1  # read at once (duplicate part numbers)
