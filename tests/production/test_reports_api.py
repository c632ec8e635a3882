"""Production reports through the JSON API: the position is the latest by as_of, batches are all or nothing,
every change is audited with one outbox row, and bad input is a 4xx naming the field."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.models import AuditLog, OutboxEvent
from cogrow.core.weeks import current_week, iso_label
from cogrow.production.models import ItemPosition, PlannedOutput, ProductionReport
from tests import factories as f
from tests.production.conftest import at, headers, position_url, report_body, reports_url


def _count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_production_user_reports_and_the_position_follows(client, db, tenant_a):
    week = iso_label(current_week())
    body = report_body(tenant_a, raw_on_hand="7.5", plan=[{"week": week, "quantity": "100"}])
    response = client.post(reports_url(tenant_a), json=body, headers=headers(tenant_a))
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["fg_on_hand"] == "500" and report["raw_on_hand"] == "7.5" and report["plan"][0]["week"] == week
    position = client.get(position_url(tenant_a), headers=headers(tenant_a, "prime:procurement")).get_json()
    assert position["report_id"] == report["id"] and position["fg_on_hand"] == "500" and position["wip_qty"] == "40"
    assert position["supply"] == "540" and position["plan"][0]["quantity"] == "100"


def test_reports_arriving_out_of_order_leave_the_latest_by_as_of(client, db, tenant_a):
    times = [at(30), at(90), at(10), at(60)]  # the third is the latest
    for n, as_of in enumerate(times):
        response = client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=as_of, fg_on_hand=str(n)),
                               headers=headers(tenant_a))
        assert response.status_code == 201
    position = db.session.get(ItemPosition, tenant_a.item.id)
    assert position.fg_on_hand == Decimal("2")
    assert _count(db, ProductionReport, ProductionReport.item_id == tenant_a.item.id) == 4


def test_equal_as_of_is_decided_by_the_later_report(client, db, tenant_a):
    as_of = at(5)
    first = client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=as_of, fg_on_hand="1"), headers=headers(tenant_a))
    second = client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=as_of, fg_on_hand="2"), headers=headers(tenant_a))
    assert db.session.get(ItemPosition, tenant_a.item.id).report_id == second.get_json()["id"] > first.get_json()["id"]


def test_a_report_writes_one_audit_row_and_one_outbox_row_in_its_transaction(client, db, tenant_a):
    outbox_before, audit_before = _count(db, OutboxEvent), _count(db, AuditLog, AuditLog.action == "production.reported")
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a), headers=headers(tenant_a))
    assert response.status_code == 201
    events = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(1)).all()
    assert _count(db, OutboxEvent) == outbox_before + 1
    assert events[0].topic == "reconcile" and events[0].relationship_id == tenant_a.relationship.id
    assert events[0].payload["item_ids"] == [tenant_a.item.id]
    assert _count(db, AuditLog, AuditLog.action == "production.reported") == audit_before + 1


def test_a_refused_report_writes_no_outbox_row(client, db, tenant_a):
    outbox_before = _count(db, OutboxEvent)
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a, wip_qty="-1"), headers=headers(tenant_a))
    assert response.status_code == 422
    assert _count(db, OutboxEvent) == outbox_before and _count(db, ProductionReport) == 0


def test_batch_is_all_or_nothing_and_names_every_bad_entry(client, db, tenant_a):
    good = report_body(tenant_a)
    body = {"reports": [good] * 17 + [report_body(tenant_a, wip_qty="NaN")] + [good, report_body(tenant_a, as_of=None)]}
    response = client.post(reports_url(tenant_a, "/batch"), json=body, headers=headers(tenant_a))
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"reports[17].wip_qty", "reports[19].as_of"}
    assert _count(db, ProductionReport) == 0 and _count(db, OutboxEvent, OutboxEvent.topic == "reconcile") == 0


def test_batch_of_many_items_writes_positions_and_one_outbox_row(client, db, tenant_a):
    items = [tenant_a.item] + [f.ItemFactory(supply_relationship=tenant_a.relationship) for _ in range(4)]
    db.session.commit()
    reports = [report_body(tenant_a, item_id=item.id, as_of=at(m), fg_on_hand=str(m)) for item in items for m in (50, 20, 40)]
    reports.append(report_body(tenant_a, item_id=None, part_number=items[1].supplier_part_number.lower(), as_of=at(1),
                               fg_on_hand="999"))
    outbox_before = _count(db, OutboxEvent)
    response = client.post(reports_url(tenant_a, "/batch"), json={"reports": reports}, headers=headers(tenant_a))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["created"] == 16
    positions = {p.item_id: p.fg_on_hand for p in db.session.scalars(select(ItemPosition))}
    assert positions == {item.id: Decimal("999") if item is items[1] else Decimal("20") for item in items}
    assert _count(db, OutboxEvent) == outbox_before + 1
    event = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
    assert event.payload["item_ids"] == sorted(i.id for i in items)


def test_batch_over_the_limit_is_refused(client, db, tenant_a):
    body = {"reports": [report_body(tenant_a)] * 1001}
    response = client.post(reports_url(tenant_a, "/batch"), json=body, headers=headers(tenant_a))
    assert response.status_code == 422 and "reports" in response.get_json()["error"]["fields"]


def test_another_relationships_item_in_the_body_is_refused(client, db, tenant_a, tenant_b):
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a, item_id=tenant_b.item.id),
                           headers=headers(tenant_a))
    assert response.status_code == 422 and "item_id" in response.get_json()["error"]["fields"]
    body = {"reports": [report_body(tenant_a), report_body(tenant_a, item_id=None, part_number=tenant_b.item.prime_part_number)]}
    response = client.post(reports_url(tenant_a, "/batch"), json=body, headers=headers(tenant_a))
    assert response.status_code == 422 and set(response.get_json()["error"]["fields"]) == {"reports[1].part_number"}
    assert _count(db, ProductionReport) == 0


def test_prime_cannot_report_production(client, db, tenant_a):
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a), headers=headers(tenant_a, "prime:admin"))
    assert response.status_code == 403


def test_suspended_relationship_refuses_reports(client, db, tenant_a):
    tenant_a.relationship.status = "suspended"
    db.session.commit()
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a), headers=headers(tenant_a))
    assert response.status_code == 409


def test_history_lists_newest_first_for_both_sides(client, db, tenant_a):
    for minutes in (30, 10, 20):
        client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=at(minutes)), headers=headers(tenant_a))
    for key in ("supplier:production", "prime:planner"):
        data = client.get(reports_url(tenant_a, f"?item_id={tenant_a.item.id}&limit=2"), headers=headers(tenant_a, key)).get_json()
        assert len(data["data"]) == 2
        assert data["data"][0]["as_of"] > data["data"][1]["as_of"]


def test_reports_have_no_update_or_delete_path(app):
    methods = {m for rule in app.url_map.iter_rules() if "production-reports" in rule.rule for m in rule.methods}
    assert not methods & {"PUT", "PATCH", "DELETE"}


def test_naive_as_of_is_read_in_seoul(client, db, tenant_a):
    seoul = datetime.now(timezone(timedelta(hours=9))) - timedelta(hours=1)
    naive = seoul.replace(tzinfo=None, microsecond=0).isoformat()
    explicit = seoul.replace(microsecond=0).isoformat()
    one = client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=naive), headers=headers(tenant_a)).get_json()
    two = client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=explicit), headers=headers(tenant_a)).get_json()
    assert one["as_of"] == two["as_of"]


# --- the bad-input corpus ----------------------------------------------------------------------------------

BAD_NUMBERS = [-1, "-1", "NaN", "Infinity", "1e309", 2**63, "1,5", True, False, None, [1], {"v": 1}, "12abc", "0.00001"]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=[repr(v) for v in BAD_NUMBERS])
@pytest.mark.parametrize("field", ["wip_qty", "fg_on_hand"])
def test_bad_quantities_name_the_field_and_change_nothing(client, db, tenant_a, field, value):
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a, **{field: value}), headers=headers(tenant_a))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert _count(db, ProductionReport) == 0


def test_float_nan_and_infinity_literals_are_refused(client, db, tenant_a):
    for literal in ("NaN", "Infinity", "-Infinity"):
        raw = ('{"item_id": %d, "as_of": "%s", "good_qty": 1, "scrap_qty": 0, "wip_qty": %s, "fg_on_hand": 1}'
               % (tenant_a.item.id, at(), literal))
        response = client.post(reports_url(tenant_a), data=raw, content_type="application/json", headers=headers(tenant_a))
        assert response.status_code == 400
    assert _count(db, ProductionReport) == 0


@pytest.mark.parametrize("value", ["2026-13-01T00:00:00+09:00", "2026-02-30T08:00:00", "yesterday", "1700000000", 1700000000,
                                   "04/03/2026 08:00", "2026-03-04", None, "1999-12-31T23:00:00Z"])
def test_bad_as_of_is_refused(client, db, tenant_a, value):
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=value), headers=headers(tenant_a))
    assert response.status_code == 422 and "as_of" in response.get_json()["error"]["fields"]


def test_future_as_of_beyond_the_skew_is_refused_and_within_it_accepted(client, db, tenant_a):
    far = (datetime.now(timezone.utc) + timedelta(minutes=30)).isoformat()
    near = (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()
    assert client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=far), headers=headers(tenant_a)).status_code == 422
    assert client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=near), headers=headers(tenant_a)).status_code == 201


@pytest.mark.parametrize("plan, field", [
    ([{"week": "2020-W01", "quantity": "5"}], "plan[0].week"),
    ([{"week": "2026-W99", "quantity": "5"}], "plan[0].week"),
    ([{"week": "{w}", "quantity": "-5"}], "plan[0].quantity"),
    ([{"week": "{w}", "quantity": "1"}, {"week": "{w}", "quantity": "2"}], "plan[1].week"),
    ([{"week": "{w}", "quantity": "1", "extra": 1}], "plan[0].extra"),
    ("weekly", "plan"),
    ([7], "plan[0]"),
])
def test_bad_planned_output_is_named(client, db, tenant_a, plan, field):
    week = iso_label(current_week())
    if isinstance(plan, list):
        plan = [{k: (v.format(w=week) if isinstance(v, str) else v) for k, v in p.items()} if isinstance(p, dict) else p
                for p in plan]
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a, plan=plan), headers=headers(tenant_a))
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"], response.get_json()


@pytest.mark.parametrize("item_id", ["5", True, 0, -3, 2**40, [1], None])
def test_bad_item_ids_are_refused(client, db, tenant_a, item_id):
    body = report_body(tenant_a, item_id=item_id)
    response = client.post(reports_url(tenant_a), json=body, headers=headers(tenant_a))
    assert response.status_code == 422 and "item_id" in response.get_json()["error"]["fields"]


def test_unknown_fields_are_refused(client, db, tenant_a):
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a, fg=1), headers=headers(tenant_a))
    assert response.status_code == 422 and "fg" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("raw, content_type, status", [
    (b'{"item_id": 1, "item_id": 2}', "application/json", 400),
    (b"[" * 10000 + b"]" * 10000, "application/json", 400),
    (b'{"item_id": 1}', "text/plain", 415),
    (b'{"note": "\xff\xfe"}', "application/json", 400),
    (b"[]", "application/json", 400),
    (b"", "application/json", 400),
])
def test_malformed_bodies_are_refused(client, db, tenant_a, raw, content_type, status):
    for url in (reports_url(tenant_a), reports_url(tenant_a, "/batch")):
        response = client.post(url, data=raw, content_type=content_type, headers=headers(tenant_a))
        assert response.status_code == status, (url, response.get_json())
    assert _count(db, ProductionReport) == 0


def test_body_over_the_size_limit_is_413(app, client, db, tenant_a):
    limit = app.config["MAX_CONTENT_LENGTH"]
    raw = b'{"note": "' + b"x" * (limit + 10) + b'"}'
    response = client.post(reports_url(tenant_a), data=raw, content_type="application/json", headers=headers(tenant_a))
    assert response.status_code == 413


def test_revoked_expired_and_foreign_tokens_are_refused(client, db, tenant_a, tenant_b):
    from cogrow.accounts.models import ApiToken
    from cogrow.accounts.services import resolve_api_token
    from datetime import timedelta as td

    raw = tenant_a.tokens["supplier:admin"]
    token = resolve_api_token(raw, td(seconds=60))
    token.revoked_at = datetime.now(timezone.utc)
    db.session.commit()
    assert client.post(reports_url(tenant_a), json=report_body(tenant_a), headers=headers(tenant_a, "supplier:admin")).status_code == 401
    other = db.session.scalar(select(ApiToken).where(ApiToken.id == resolve_api_token(tenant_a.tokens["supplier:production"], td(seconds=60)).id))
    other.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    db.session.commit()
    assert client.post(reports_url(tenant_a), json=report_body(tenant_a), headers=headers(tenant_a)).status_code == 401
    foreign = client.post(reports_url(tenant_a), json=report_body(tenant_a), headers=headers(tenant_b))
    assert foreign.status_code == 404
    assert _count(db, ProductionReport) == 0


def test_position_of_a_foreign_item_is_404(client, db, tenant_a, tenant_b):
    assert client.get(position_url(tenant_a, tenant_b.item.id), headers=headers(tenant_a)).status_code == 404
    assert client.get(position_url(tenant_a), headers=headers(tenant_b)).status_code == 404


def test_planned_output_rows_belong_to_their_report(client, db, tenant_a):
    week = current_week()
    plan = [{"week": iso_label(week + timedelta(weeks=n)), "quantity": str(10 * n)} for n in range(3)]
    report = client.post(reports_url(tenant_a), json=report_body(tenant_a, plan=plan), headers=headers(tenant_a)).get_json()
    rows = db.session.scalars(select(PlannedOutput).where(PlannedOutput.report_id == report["id"])
                              .order_by(PlannedOutput.week_start)).all()
    assert [(r.week_start, r.quantity) for r in rows] == [(week + timedelta(weeks=n), Decimal(10 * n)) for n in range(3)]


def test_every_rule_of_a_batch_entry_is_named_in_one_answer(client, db, tenant_a):
    week = iso_label(current_week())
    far = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    body = {"reports": [
        report_body(tenant_a),
        report_body(tenant_a, plan=[{"week": week, "quantity": "1"}, {"week": week, "quantity": "2"}]),
        report_body(tenant_a, as_of=far),
        report_body(tenant_a, item_id=None),
        report_body(tenant_a, part_number=tenant_a.item.prime_part_number),
        report_body(tenant_a, good_qty="1,280", note="\u200bhidden"),
    ]}
    response = client.post(reports_url(tenant_a, "/batch"), json=body, headers=headers(tenant_a))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {
        "reports[1].plan[1].week", "reports[2].as_of", "reports[3].item_id", "reports[4].item_id",
        "reports[5].good_qty", "reports[5].note"}
    assert _count(db, ProductionReport) == 0


def test_a_report_by_part_number_answers_like_one_by_id(client, db, tenant_a):
    by_part = client.post(reports_url(tenant_a), json=report_body(tenant_a, item_id=None, part_number=" "
                                                                  + tenant_a.item.prime_part_number.lower()),
                          headers=headers(tenant_a))
    assert by_part.status_code == 201, by_part.get_json()
    report = by_part.get_json()
    assert report["item_id"] == tenant_a.item.id and report["as_of"].endswith("Z") and report["plan"] == []
    listed = client.get(reports_url(tenant_a), headers=headers(tenant_a, "prime:planner")).get_json()
    assert listed["data"] == [report] and (listed["limit"], listed["offset"]) == (100, 0)
    bad = client.get(reports_url(tenant_a, "?item_id=abc"), headers=headers(tenant_a))
    assert bad.status_code == 400 and "item_id" in bad.get_json()["error"]["fields"]


def test_a_bad_body_for_a_line_the_caller_cannot_see_is_404(client, db, tenant_a, tenant_b):
    lines = f"/api/v1/relationships/{tenant_a.relationship.id}/lines"
    assert client.post(f"{lines}/NOPE/readings", json={"readings": "x"}, headers=headers(tenant_a)).status_code == 404
    assert client.post(f"{lines}/NOPE/readings", json={"readings": "x"}, headers=headers(tenant_b)).status_code == 404
    assert client.patch(f"{lines}/999999", json={"code": 5}, headers=headers(tenant_a, **{"If-Match": '"1"'})
                        ).status_code == 404
    assert client.post(lines, json={"code": 5}, headers=headers(tenant_b)).status_code == 404
