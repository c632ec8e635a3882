"""Upload -> preview -> confirm/discard, the same file twice, large files in the background, roles and tenancy."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from cogrow.catalog.models import Item
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound
from cogrow.core.models import AuditLog, OutboxEvent
from cogrow.imports import services, tasks
from cogrow.imports.models import ImportBatch
from tests.conftest import actor_of, sign_in
from tests.imports import support
from tests.imports.support import HEADER, TEST_KIND, csv_bytes
from tests.imports.test_corpus import latest, lead_times, upload

pytestmark = pytest.mark.usefixtures("test_kind", "items", "in_request")
GOOD = csv_bytes([HEADER, ["PN-1", "5", "a"], ["PN-2", "6", "b"], ["PN-3", "7", "c"]])


@pytest.fixture
def in_request(app):
    """Services translate their messages, which needs a request's locale (tasks force the uploader's)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def _planner(tenant) -> Actor:
    return actor_of(tenant.users["prime:planner"], tenant.prime)


def test_preview_shows_the_changes_and_confirm_applies_them_in_one_go(db, planner, tenant_a):
    rel_id = tenant_a.relationship.id
    response = upload(planner, rel_id, GOOD)
    batch = latest(db)
    assert response.headers["Location"].endswith(f"/relationships/{rel_id}/imports/{batch.id}")
    assert (batch.status, batch.total_rows, batch.summary["summary"]) == ("preview", 3, {"items": 3})
    page = planner.get(f"/relationships/{rel_id}/imports/{batch.id}").get_data(as_text=True)
    assert 'data-test="confirm"' in page and 'data-test="import-preview"' in page
    assert lead_times(db, rel_id)["PN-1"] == 0  # a preview changes nothing
    planner.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm")
    db.session.expire_all()
    assert batch.status == "applied" and batch.applied_at is not None and batch.content is None
    assert batch.summary["result"] == {"updated": 3, "total": "18"}
    assert {k: v for k, v in lead_times(db, rel_id).items() if k.startswith("PN-")} == {"PN-1": 5, "PN-2": 6, "PN-3": 7,
                                                                                        tenant_a.item.prime_part_number: 7}
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.object_type == "import_batch")).all()
    assert {"import.uploaded", "import.applied"} <= set(actions)
    listing = planner.get(f"/relationships/{rel_id}/imports").get_data(as_text=True)
    assert "upload.csv" in listing


def test_discarding_a_preview_changes_nothing_and_it_cannot_be_confirmed_after(db, planner, tenant_a):
    rel_id = tenant_a.relationship.id
    upload(planner, rel_id, GOOD)
    batch = latest(db)
    assert planner.post(f"/relationships/{rel_id}/imports/{batch.id}/discard").status_code == 303
    db.session.expire_all()
    assert batch.status == "discarded" and batch.content is None
    with pytest.raises(Conflict):
        services.confirm(_planner(tenant_a), rel_id, batch.id)
    assert lead_times(db, rel_id)["PN-1"] == 0


def test_the_same_file_uploaded_again_is_refused_with_a_link_to_the_first(app, db, planner, tenant_a):
    rel_id = tenant_a.relationship.id
    upload(planner, rel_id, GOOD)
    first = latest(db)
    planner.post(f"/relationships/{rel_id}/imports/{first.id}/confirm")
    again = upload(planner, rel_id, GOOD, "renamed.csv")
    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert f"#{first.id}" in html and f"/relationships/{rel_id}/imports/{first.id}" in html
    client = app.test_client()
    api = client.post(f"/api/v1/relationships/{rel_id}/imports/{TEST_KIND}", data=GOOD,
                      headers={"Authorization": f"Bearer {tenant_a.tokens['prime:planner']}", "Content-Type": "text/csv"})
    assert api.status_code == 409
    error = api.get_json()["error"]
    assert error["import_id"] == first.id and error["import_url"].endswith(f"/imports/{first.id}")


def test_two_previews_of_one_file_cannot_both_be_applied(db, tenant_a):
    """The partial unique index backs the check when two previews race to confirm."""
    actor = _planner(tenant_a)
    rel_id = tenant_a.relationship.id
    one = services.upload(actor, rel_id, TEST_KIND, "a.csv", GOOD)
    two = services.upload(actor, rel_id, TEST_KIND, "b.csv", GOOD)
    services.confirm(actor, rel_id, one.id)
    with pytest.raises(Conflict) as caught:
        services.confirm(actor, rel_id, two.id)
    assert caught.value.extra["import_id"] == one.id
    assert db.session.get(ImportBatch, two.id).status == "preview"


def test_the_same_file_in_another_relationship_or_after_a_discard_is_fine(db, tenant_a):
    actor = _planner(tenant_a)
    rel_id = tenant_a.relationship.id
    first = services.upload(actor, rel_id, TEST_KIND, "a.csv", GOOD)
    services.discard(actor, rel_id, first.id)
    second = services.upload(actor, rel_id, TEST_KIND, "a.csv", GOOD)
    assert services.confirm(actor, rel_id, second.id).status == "applied"


def test_confirm_checks_the_rows_again_against_the_relationship(db, tenant_a):
    actor = _planner(tenant_a)
    rel_id = tenant_a.relationship.id
    batch = services.upload(actor, rel_id, TEST_KIND, "a.csv", GOOD)
    item = db.session.scalar(select(Item).where(Item.prime_part_number == "PN-3"))
    item.prime_part_number = "PN-3-OLD"
    db.session.commit()
    result = services.confirm(actor, rel_id, batch.id)
    assert result.status == "invalid" and result.errors[0]["row"] == 4
    assert lead_times(db, rel_id)["PN-1"] == 0


@pytest.mark.parametrize("role", ["procurement"])
def test_only_the_kinds_roles_may_upload_confirm_or_discard(role, db, app, tenant_a):
    rel_id = tenant_a.relationship.id
    batch = services.upload(_planner(tenant_a), rel_id, TEST_KIND, "a.csv", GOOD)
    client = app.test_client()
    sign_in(client, tenant_a.users[f"prime:{role}"])
    assert upload(client, rel_id, GOOD).status_code == 403
    assert client.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm").status_code == 403
    assert client.post(f"/relationships/{rel_id}/imports/{batch.id}/discard").status_code == 403
    page = client.get(f"/relationships/{rel_id}/imports/{TEST_KIND}").get_data(as_text=True)
    assert 'data-test="upload-form"' not in page
    supplier = actor_of(tenant_a.users["supplier:admin"], tenant_a.supplier)
    with pytest.raises(Forbidden):
        services.upload(supplier, rel_id, TEST_KIND, "a.csv", GOOD)
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch.id).status == "preview"


def test_another_organisations_batch_or_relationship_is_404(db, tenant_a, tenant_b):
    mine = services.upload(_planner(tenant_a), tenant_a.relationship.id, TEST_KIND, "a.csv", GOOD)
    intruder = _planner(tenant_b)
    with pytest.raises(NotFound):
        services.get_import(intruder, tenant_a.relationship.id, mine.id)
    with pytest.raises(NotFound):
        services.get_import(intruder, tenant_b.relationship.id, mine.id)  # own relationship, foreign batch id
    with pytest.raises(NotFound):
        services.upload(intruder, tenant_a.relationship.id, TEST_KIND, "a.csv", GOOD)
    supplier_of_a = actor_of(tenant_a.users["supplier:admin"], tenant_a.supplier)
    with pytest.raises(NotFound):  # the other side of the relationship does not see the prime's drafts
        services.get_import(supplier_of_a, tenant_a.relationship.id, mine.id)


def test_an_unknown_kind_is_404(db, planner, tenant_a):
    assert planner.get(f"/relationships/{tenant_a.relationship.id}/imports/no_such_kind").status_code == 404


def test_templates_download_as_csv_and_xlsx_with_the_kinds_headers(db, planner, tenant_a):
    rel_id = tenant_a.relationship.id
    csv_response = planner.get(f"/relationships/{rel_id}/imports/{TEST_KIND}/template.csv",
                               headers={"Accept-Language": "en"})
    assert csv_response.status_code == 200
    text = csv_response.get_data()[3:].decode()
    assert text.splitlines()[0] == "Part number,Lead time,Note,Due,At"
    assert "'=SUM(A1)" in text  # example rows are escaped too
    xlsx_response = planner.get(f"/relationships/{rel_id}/imports/{TEST_KIND}/template.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx_response.get_data())).active
    assert [c.value for c in next(sheet.iter_rows())][:2] in (["Part number", "Lead time"], ["품번", "리드타임"])
    assert planner.get(f"/relationships/{rel_id}/imports/{TEST_KIND}/template.pdf").status_code == 400


# ---------------------------------------------------------------- large files: a Celery task with a progress bar

@pytest.fixture
def queued(app, monkeypatch):
    """Files over 2 rows go to the background; the task the relay publishes is captured instead of sent to a
    broker (its args: the outbox id)."""
    monkeypatch.setitem(app.config, "IMPORT_ASYNC_ROWS", 2)
    sent = []
    monkeypatch.setattr(tasks.apply_import, "apply_async", lambda args, **_options: sent.append(args))
    return sent


def _apply_outbox(db) -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == services.APPLY_TOPIC)
                                   .order_by(OutboxEvent.id)))


def test_a_large_file_is_queued_shows_progress_and_is_applied_by_the_task(db, planner, tenant_a, queued):
    rel_id = tenant_a.relationship.id
    upload(planner, rel_id, GOOD)
    batch = latest(db)
    planner.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm")
    db.session.expire_all()
    [event] = _apply_outbox(db)  # written with the queued batch, and relayed to the worker at once
    assert event.payload == {"import_id": batch.id, "task_id": batch.task_id} and event.published_at is not None
    assert batch.status == "queued" and queued == [[event.id]]
    page = planner.get(f"/relationships/{rel_id}/imports/{batch.id}")
    html = page.get_data(as_text=True)
    status_url = f"/relationships/{rel_id}/imports/{batch.id}/status"
    # An htmx poll of a status fragment every 2 s, no <meta refresh> and no inline script.
    assert "Refresh" not in page.headers and 'http-equiv="refresh"' not in html
    assert f'hx-get="{status_url}"' in html and 'hx-trigger="every 2s"' in html and "<progress" in html
    assert "<script>" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    fragment = planner.get(status_url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "HX-Refresh" not in fragment.headers
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and 'hx-trigger="every 2s"' in body and 'data-test="progress"' in body
    plain = planner.get(status_url)  # without htmx: the page itself
    assert plain.status_code == 200 and 'data-test="import-status"' in plain.get_data(as_text=True)
    assert lead_times(db, rel_id)["PN-1"] == 0
    assert services.run_queued(batch.id, batch.task_id) == "applied"
    db.session.expire_all()
    assert batch.status == "applied" and batch.processed_rows == 3
    done = planner.get(status_url, headers={"HX-Request": "true"})
    assert done.headers["HX-Refresh"] == "true" and done.get_data(as_text=True) == ""  # polling stops
    assert 'hx-trigger="every 2s"' not in planner.get(f"/relationships/{rel_id}/imports/{batch.id}").get_data(as_text=True)
    assert lead_times(db, rel_id)["PN-1"] == 5
    assert services.run_queued(batch.id, batch.task_id) == "skipped"  # a redelivered message does nothing


def test_a_failing_background_apply_changes_nothing_and_marks_the_batch_failed(db, tenant_a, queued):
    actor = _planner(tenant_a)
    rel_id = tenant_a.relationship.id
    batch = services.confirm(actor, rel_id, services.upload(actor, rel_id, TEST_KIND, "a.csv", GOOD).id)
    support.FAIL["after"] = 2  # two rows written, then the kind breaks
    assert services.run_queued(batch.id, batch.task_id) == "failed"
    db.session.expire_all()
    failed = db.session.get(ImportBatch, batch.id)
    assert failed.status == "failed" and failed.error_count == 1
    assert lead_times(db, rel_id)["PN-1"] == 0 and lead_times(db, rel_id)["PN-2"] == 0


def test_a_task_for_another_claim_or_an_unknown_batch_does_nothing(db, tenant_a, queued):
    actor = _planner(tenant_a)
    rel_id = tenant_a.relationship.id
    batch = services.confirm(actor, rel_id, services.upload(actor, rel_id, TEST_KIND, "a.csv", GOOD).id)
    assert services.run_queued(batch.id, batch.task_id) == "applied"
    assert services.run_queued(batch.id, "someone-else") == "skipped"
    assert services.run_queued(10**9, "x") == "skipped"


def test_a_redelivered_task_after_a_worker_died_mid_apply_runs_again(db, tenant_a, queued):
    """The worker died while 'running' (its transaction rolled back); the same message re-runs the whole apply."""
    actor = _planner(tenant_a)
    rel_id = tenant_a.relationship.id
    batch = services.confirm(actor, rel_id, services.upload(actor, rel_id, TEST_KIND, "a.csv", GOOD).id)
    batch.status = "running"
    db.session.commit()
    assert services.run_queued(batch.id, batch.task_id) == "applied"
    assert lead_times(db, rel_id)["PN-3"] == 7


def test_the_api_shows_and_confirms_an_import(app, db, tenant_a):
    rel_id = tenant_a.relationship.id
    headers = {"Authorization": f"Bearer {tenant_a.tokens['prime:planner']}"}
    client = app.test_client()
    created = client.post(f"/api/v1/relationships/{rel_id}/imports/{TEST_KIND}", headers=headers,
                          data={"file": (io.BytesIO(GOOD), "f.csv")}, content_type="multipart/form-data")
    assert created.status_code == 201
    import_id = created.get_json()["id"]
    shown = client.get(f"/api/v1/relationships/{rel_id}/imports/{import_id}", headers=headers).get_json()
    assert shown["status"] == "preview" and shown["preview"]["summary"] == {"items": 3}
    confirmed = client.post(f"/api/v1/relationships/{rel_id}/imports/{import_id}/confirm", headers=headers)
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "applied"
    again = client.post(f"/api/v1/relationships/{rel_id}/imports/{import_id}/confirm", headers=headers)
    assert again.status_code == 409
    listed = client.get(f"/api/v1/relationships/{rel_id}/imports", headers=headers).get_json()
    assert [b["id"] for b in listed["data"]] == [import_id]


def test_confirm_in_another_process_reads_the_stored_file_again(db, tenant_a):
    """Without the in-process cache of cleaned rows (another web worker), confirm re-reads the stored bytes."""
    actor = _planner(tenant_a)
    rel_id = tenant_a.relationship.id
    batch = services.upload(actor, rel_id, TEST_KIND, "a.csv", csv_bytes([HEADER, ["PN-1", "５", "x"]], "cp949"))
    services._PARSED.clear()
    assert services.confirm(actor, rel_id, batch.id).status == "applied"
    assert lead_times(db, rel_id)["PN-1"] == 5


def test_the_celery_task_applies_a_queued_import_once(db, tenant_a, queued):
    actor = _planner(tenant_a)
    rel_id = tenant_a.relationship.id
    batch = services.confirm(actor, rel_id, services.upload(actor, rel_id, TEST_KIND, "a.csv", GOOD).id)
    [event] = _apply_outbox(db)
    assert tasks.apply_import.name == "cogrow.imports.apply" and queued == [[event.id]]
    assert tasks.apply_import.apply(args=[event.id]).get() == "applied"
    db.session.expire_all()
    assert db.session.get(OutboxEvent, event.id).done_at is not None  # the relay never publishes it again
    assert tasks.apply_import.apply(args=[event.id]).get() == "skipped"  # a second delivery
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch.id).status == "applied"
    assert lead_times(db, rel_id)["PN-3"] == 7


def test_when_the_broker_is_down_a_confirmed_import_stays_queued_and_the_relay_hands_it_over_later(
        app, db, planner, tenant_a, queued, monkeypatch):
    """Confirming writes the queued batch and its outbox row in one transaction: a broker that is down at that
    moment leaves both as they are (nothing is undone), and the relay publishes the row once it is back."""
    from cogrow.coverage import services as coverage

    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.apply_import, "apply_async", down)
    rel_id = tenant_a.relationship.id
    upload(planner, rel_id, GOOD)
    batch = latest(db)
    assert planner.post(f"/relationships/{rel_id}/imports/{batch.id}/confirm").status_code == 303
    db.session.expire_all()
    [event] = _apply_outbox(db)
    assert batch.status == "queued" and batch.task_id and event.published_at is None  # still the relay's
    assert lead_times(db, rel_id)["PN-1"] == 0
    published = []
    assert coverage.relay_outbox(publish=lambda name, args: published.append((name, args))) == 1
    assert published == [("cogrow.imports.apply", [event.id])]
    assert tasks.apply_import.apply(args=[event.id]).get() == "applied"
    db.session.expire_all()
    assert batch.status == "applied" and lead_times(db, rel_id)["PN-1"] == 5
