"""End to end with a real worker, a real beat and the real Redis: a production report raises an excess alert that
reaches the inbox, an SMTP server and a signed webhook; a PO that covers the excess resolves it, notified too.

Each commit that writes outbox rows asks for a relay at once (core.outbox), so the PO issued before any production
is reconciled on its own and raises a shortage risk first; the report resolves it. The test waits for that shortage
alert before reporting, so the steps never depend on whether two commits fall into one relay."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from tests.services import require_redis
from tests.workers.conftest import wait_for
from tests.workers.faults_support import flush_redis, seed, stage, tally, wait_ready

pytestmark = [pytest.mark.worker, pytest.mark.redis]

REDIS_E2E_URL = "redis://127.0.0.1:6379/12"
ARRIVAL_TIMEOUT = 60


def _api(client, method: str, path: str, token: str, body=None, headers=None):
    response = client.open(f"/api/v1{path}", method=method, json=body,
                           headers={"Authorization": f"Bearer {token}", **(headers or {})})
    return response


def _excess_alerts(client, token: str, item_id: int, status: str | None = None,
                   kind: str = "excess_inventory") -> list[dict]:
    response = _api(client, "GET", "/alerts?status=all", token)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [a for a in response.get_json()["data"]
            if a["type"] == kind and a["item_id"] == item_id and (status is None or a["status"] == status)]


def _issue_po(client, token: str, rel_id: int, item_id: int, number: str, quantity: str, due: date) -> dict:
    created = _api(client, "POST", f"/relationships/{rel_id}/orders", token, {
        "number": number, "lines": [{"line_no": 1, "item_id": item_id, "quantity": quantity,
                                     "due_date": due.isoformat()}]})
    assert created.status_code == 201, created.get_data(as_text=True)
    po = created.get_json()
    issued = _api(client, "POST", f"/relationships/{rel_id}/orders/{po['id']}/issue", token,
                  headers={"If-Match": created.headers["ETag"]})
    assert issued.status_code == 200, issued.get_data(as_text=True)
    return issued.get_json()


def test_a_report_over_guaranteed_demand_alerts_everyone_once_and_a_covering_po_resolves_it(tmp_path, monkeypatch):
    require_redis()
    flush_redis(REDIS_E2E_URL)
    try:
        with stage(tmp_path, monkeypatch, broker=REDIS_E2E_URL) as st:
            ids = seed(st)
            rel_id, (item_id,) = ids["relationship"], ids["items"]
            tokens = ids["tokens"]
            procurement_token, planner_token = tokens["prime:procurement"], tokens["prime:planner"]
            beat, beat_log = st.processes.beat(wait=False)  # sends cogrow.coverage.relay every second, via Redis
            st.processes.worker()  # ... and the worker runs it
            wait_ready(beat, beat_log, "beat: Starting")
            client = st.app.test_client()
            from cogrow.core.weeks import local_today  # the business day, as the worker computes it

            due = local_today() + timedelta(days=10)

            # Guaranteed demand: an issued PO for 100 units. Nothing is in excess yet; with nothing produced, the
            # PO is at risk of shortage, and that alert reaches everyone first.
            _issue_po(client, planner_token, rel_id, item_id, "PO-E2E-1", "100", due)
            at_risk = wait_for(lambda: _excess_alerts(client, procurement_token, item_id, "open", "shortage_risk"),
                               ARRIVAL_TIMEOUT)
            assert at_risk, f"no shortage alert for the uncovered PO after {ARRIVAL_TIMEOUT}s\n{_logs(st)}"
            (shortage,) = at_risk
            assert wait_for(lambda: _arrived(st, ids, "alert.raised", shortage["id"]), ARRIVAL_TIMEOUT), tally(st).line()

            # The supplier reports FG 150 + WIP 30 = 180 against 100 guaranteed: 80 units in excess.
            report = _api(client, "POST", f"/relationships/{rel_id}/production-reports", tokens["supplier:production"], {
                "item_id": item_id, "as_of": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "good_qty": "180", "scrap_qty": "0", "wip_qty": "30", "fg_on_hand": "150"},
                headers={"Idempotency-Key": str(uuid.uuid4())})
            assert report.status_code == 201, report.get_data(as_text=True)

            open_alerts = wait_for(lambda: _excess_alerts(client, procurement_token, item_id, "open"), ARRIVAL_TIMEOUT)
            assert open_alerts, f"no excess alert in the inbox after {ARRIVAL_TIMEOUT}s\n{_logs(st)}"
            (alert,) = open_alerts
            assert alert["numbers"]["excess"] in ("80", "80.0000") and alert["numbers"]["guaranteed"] in ("100", "100.0000")
            raised = wait_for(lambda: _arrived(st, ids, "alert.raised", alert["id"]), ARRIVAL_TIMEOUT)
            assert raised, f"the raise did not reach SMTP and the webhook receiver\n{tally(st).line()}\n{_logs(st)}"

            # The planner covers the excess with a second issued PO of 80: guaranteed 180 = supply.
            _issue_po(client, planner_token, rel_id, item_id, "PO-E2E-2", "80", due)
            resolved = wait_for(lambda: _excess_alerts(client, procurement_token, item_id, "resolved"), ARRIVAL_TIMEOUT)
            assert resolved, f"the alert did not resolve after {ARRIVAL_TIMEOUT}s\n{_logs(st)}"
            assert [a["id"] for a in resolved] == [alert["id"]]
            assert not _excess_alerts(client, procurement_token, item_id, "open")
            notified = wait_for(lambda: _arrived(st, ids, "alert.resolved", alert["id"]), ARRIVAL_TIMEOUT)
            assert notified, f"the resolution did not reach SMTP and the webhook receiver\n{tally(st).line()}\n{_logs(st)}"

            # Give a redelivery or a second relay every chance to send something twice, then count.
            wait_for(lambda: False, 4)
            # The report resolved the shortage (its resolution is notified like any other).
            assert wait_for(lambda: _arrived(st, ids, "alert.resolved", shortage["id"]), ARRIVAL_TIMEOUT), tally(st).line()
            for each in (alert, shortage):
                events = _api(client, "GET", f"/alerts/{each['id']}/events", procurement_token).get_json()["data"]
                assert [e["kind"] for e in events if e["kind"] in ("raised", "escalated", "resolved")] in (
                    ["raised", "resolved"], ["resolved", "raised"]), (each["type"], events)
            t = tally(st)
            print(f"\nend-to-end: {t.line()}")
            assert (t.lost, t.duplicated, t.emails_resent, t.hooks_resent, t.hooks_unverified) == (0, 0, 0, 0, 0), t.line()
            assert t.events == 4 and t.pending_outbox == 0 and t.undelivered_rows == 0, t.line()
            mine = [m for m in st.mailbox.snapshot() if ids["procurement_email"] in m.to]
            assert len(mine) == 4, [m.subject for m in mine]
            assert sum(f"/alerts/{alert['id']}" in m.body for m in mine) == 2, [m.subject for m in mine]
            hooks = st.receiver.snapshot()
            for each in (alert, shortage):
                assert sorted(h.payload["type"] for h in hooks if h.payload["data"]["alert_id"] == each["id"]) == [
                    "alert.raised", "alert.resolved"]
            assert len(hooks) == 4
    finally:
        flush_redis(REDIS_E2E_URL)


def _arrived(st, ids, kind: str, alert_id: int) -> bool:
    """The procurement user's e-mail and a verified webhook for an event of this kind of this alert have arrived."""
    hooks = [h for h in st.receiver.snapshot()
             if h.verified and h.payload.get("type") == kind and h.payload["data"].get("alert_id") == alert_id]
    event_ids = {h.payload["data"]["event_id"] for h in hooks}
    if not event_ids:
        return False
    (event_uuid,) = event_ids
    mails = st.query("SELECT d.id FROM email_delivery d JOIN alert_event e ON e.id = d.event_id "
                     "WHERE e.uuid = ? AND d.user_id = ?", event_uuid, ids["users"]["prime:procurement"])
    wanted = {f"<delivery-{row[0]}@cogrow.localhost>" for row in mails}
    return bool(wanted) and wanted <= {m.message_id for m in st.mailbox.snapshot()}


def _logs(st) -> str:
    out = []
    for _process, path in st.processes.started:
        out.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
    return "\n".join(out)
