"""Production lines and their machine readings: counters become produced units that count into supply."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.models import AuditLog, OutboxEvent
from cogrow.production import services
from cogrow.production.models import MachineReading, ProductionLine
from tests import factories as f
from tests.production.conftest import headers, position_url, report_body, reports_url

T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=5)


def _t(minutes):
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _lines_url(tenant, suffix=""):
    return f"/api/v1/relationships/{tenant.relationship.id}/lines{suffix}"


@pytest.fixture
def line(client, tenant_a):
    response = client.post(_lines_url(tenant_a), json={"code": "press-1", "name": "Press 1", "item_id": tenant_a.item.id},
                           headers=headers(tenant_a))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _post(client, tenant, readings, ref="PRESS-1", **extra):
    return client.post(_lines_url(tenant, f"/{ref}/readings"), json={"readings": readings},
                       headers=headers(tenant, **extra))


def _produced(db, line_id):
    return db.session.scalar(select(func.coalesce(func.sum(MachineReading.produced), 0)).where(MachineReading.line_id == line_id))


def test_readings_become_produced_units_and_count_into_supply(client, db, tenant_a, line):
    response = _post(client, tenant_a, [{"read_at": _t(0), "counter": 1000}, {"read_at": _t(10), "counter": 1040},
                                        {"read_at": _t(20), "counter": 1100}])
    assert response.status_code == 201 and response.get_json()["produced"] == "100"
    position = client.get(position_url(tenant_a), headers=headers(tenant_a, "prime:planner")).get_json()
    assert position["machine_produced_since_report"] == "100" and position["supply"] == "100"


def test_a_report_resets_what_machines_add_to_supply(client, db, tenant_a, line):
    _post(client, tenant_a, [{"read_at": _t(0), "counter": 0}, {"read_at": _t(10), "counter": 40}])
    client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=_t(15), wip_qty="10", fg_on_hand="90"),
                headers=headers(tenant_a))
    _post(client, tenant_a, [{"read_at": _t(20), "counter": 55}])
    assert services.machine_produced_since_report(tenant_a.relationship.id, tenant_a.item.id) == Decimal("15")
    assert client.get(position_url(tenant_a), headers=headers(tenant_a)).get_json()["supply"] == "115"


def test_by_id_or_by_code(client, db, tenant_a, line):
    assert _post(client, tenant_a, [{"read_at": _t(0), "counter": 1}], ref=str(line["id"])).status_code == 201
    assert _post(client, tenant_a, [{"read_at": _t(1), "counter": 2}], ref="press-1").status_code == 201
    assert _post(client, tenant_a, [{"read_at": _t(2), "counter": 3}], ref="NOPE").status_code == 404


def test_reset_counts_from_zero_and_wrap_counts_across(client, db, tenant_a):
    client.post(_lines_url(tenant_a), json={"code": "W1", "item_id": tenant_a.item.id, "counter_max": 65535},
                headers=headers(tenant_a))
    _post(client, tenant_a, [{"read_at": _t(0), "counter": 65500}, {"read_at": _t(1), "counter": 10}], ref="W1")
    wrapped = db.session.scalar(select(ProductionLine.id).where(ProductionLine.code == "W1"))
    assert _produced(db, wrapped) == 46
    client.post(_lines_url(tenant_a), json={"code": "R1", "item_id": tenant_a.item.id}, headers=headers(tenant_a))
    _post(client, tenant_a, [{"read_at": _t(0), "counter": 500}, {"read_at": _t(1), "counter": 20}], ref="R1")
    reset = db.session.scalar(select(ProductionLine.id).where(ProductionLine.code == "R1"))
    assert _produced(db, reset) == 20
    assert db.session.scalar(select(MachineReading.new_run).where(MachineReading.line_id == reset, MachineReading.counter == 20))


def test_a_reading_sent_twice_counts_once(client, db, tenant_a, line):
    readings = [{"read_at": _t(0), "counter": 10}, {"read_at": _t(5), "counter": 30}]
    _post(client, tenant_a, readings)
    again = _post(client, tenant_a, readings)
    assert again.status_code == 200 and again.get_json()["duplicates"] == 2 and again.get_json()["accepted"] == 0
    assert _produced(db, line["id"]) == 20


def test_a_different_counter_for_the_same_time_is_409_and_saves_nothing(client, db, tenant_a, line):
    _post(client, tenant_a, [{"read_at": _t(0), "counter": 10}])
    response = _post(client, tenant_a, [{"read_at": _t(1), "counter": 12}, {"read_at": _t(0), "counter": 11}])
    assert response.status_code == 409 and "readings[1].counter" in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(MachineReading)) == 1


def test_out_of_order_readings_give_the_in_order_total(client, db, tenant_a, line):
    _post(client, tenant_a, [{"read_at": _t(0), "counter": 100}, {"read_at": _t(30), "counter": 160}])
    assert _produced(db, line["id"]) == 60
    _post(client, tenant_a, [{"read_at": _t(20), "counter": 150}, {"read_at": _t(10), "counter": 5}])  # a reset at 10
    rows = db.session.execute(select(MachineReading.counter, MachineReading.produced)
                              .order_by(MachineReading.read_at)).all()
    assert [(c, int(p)) for c, p in rows] == [(100, 0), (5, 5), (150, 145), (160, 10)]
    assert _produced(db, line["id"]) == 160


def test_readings_write_one_audit_row_and_one_outbox_row(client, db, tenant_a, line):
    before = db.session.scalar(select(func.count()).select_from(OutboxEvent))
    _post(client, tenant_a, [{"read_at": _t(n), "counter": n * 3} for n in range(5)])
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == before + 1
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "machine_readings.recorded")) == 1


@pytest.mark.parametrize("reading, field", [
    ({"read_at": _t(0), "counter": -1}, "readings[0].counter"),
    ({"read_at": _t(0), "counter": "NaN"}, "readings[0].counter"),
    ({"read_at": _t(0), "counter": 1.5}, "readings[0].counter"),
    ({"read_at": _t(0), "counter": True}, "readings[0].counter"),
    ({"read_at": _t(0), "counter": 2**63}, "readings[0].counter"),
    ({"read_at": _t(0)}, "readings[0].counter"),
    ({"read_at": "soon", "counter": 1}, "readings[0].read_at"),
    ({"read_at": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat(), "counter": 1}, "readings[0].read_at"),
    ({"read_at": _t(0), "counter": 1, "extra": 2}, "readings[0].extra"),
    ("reading", "readings[0]"),
])
def test_bad_readings_are_named_and_change_nothing(client, db, tenant_a, line, reading, field):
    response = _post(client, tenant_a, [reading])
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"], response.get_json()
    assert db.session.scalar(select(func.count()).select_from(MachineReading)) == 0


def test_a_counter_above_the_lines_maximum_is_refused(client, db, tenant_a):
    client.post(_lines_url(tenant_a), json={"code": "W2", "item_id": tenant_a.item.id, "counter_max": 999}, headers=headers(tenant_a))
    response = _post(client, tenant_a, [{"read_at": _t(0), "counter": 1000}], ref="W2")
    assert response.status_code == 422 and "readings[0].counter" in response.get_json()["error"]["fields"]


def test_readings_are_idempotent_by_key(client, db, tenant_a, line):
    readings = [{"read_at": _t(0), "counter": 1}, {"read_at": _t(1), "counter": 4}]
    first = _post(client, tenant_a, readings, **{"Idempotency-Key": "r-1"})
    second = _post(client, tenant_a, readings, **{"Idempotency-Key": "r-1"})
    assert second.headers["Idempotent-Replayed"] == "true" and second.get_json() == first.get_json()


def test_line_item_must_belong_to_the_relationship(client, db, tenant_a, tenant_b):
    response = client.post(_lines_url(tenant_a), json={"code": "X1", "item_id": tenant_b.item.id}, headers=headers(tenant_a))
    assert response.status_code == 422 and "item_id" in response.get_json()["error"]["fields"]


def test_duplicate_line_code_is_refused(client, db, tenant_a, line):
    response = client.post(_lines_url(tenant_a), json={"code": "PRESS-1", "item_id": tenant_a.item.id}, headers=headers(tenant_a))
    assert response.status_code == 422 and "code" in response.get_json()["error"]["fields"]


def test_all_digit_codes_are_refused(client, db, tenant_a):
    response = client.post(_lines_url(tenant_a), json={"code": "123", "item_id": tenant_a.item.id}, headers=headers(tenant_a))
    assert response.status_code == 422 and "code" in response.get_json()["error"]["fields"]


def test_line_edit_needs_a_current_if_match(client, db, tenant_a, line):
    url = _lines_url(tenant_a, f"/{line['id']}")
    other = f.ItemFactory(supply_relationship=tenant_a.relationship)
    db.session.commit()
    assert client.patch(url, json={"item_id": other.id}, headers=headers(tenant_a)).status_code == 428
    ok = client.patch(url, json={"item_id": other.id, "counter_max": 9999}, headers=headers(tenant_a, **{"If-Match": '"1"'}))
    assert ok.status_code == 200 and ok.get_json()["item_id"] == other.id and ok.headers["ETag"] == '"2"'
    stale = client.patch(url, json={"name": "x"}, headers=headers(tenant_a, **{"If-Match": '"1"'}))
    assert stale.status_code == 412


def test_inactive_line_refuses_readings(client, db, tenant_a, line):
    client.patch(_lines_url(tenant_a, f"/{line['id']}"), json={"active": False}, headers=headers(tenant_a, **{"If-Match": '"1"'}))
    assert _post(client, tenant_a, [{"read_at": _t(0), "counter": 1}]).status_code == 409


def test_prime_reads_lines_and_readings_but_cannot_post(client, db, tenant_a, line):
    _post(client, tenant_a, [{"read_at": _t(0), "counter": 1}])
    prime = headers(tenant_a, "prime:planner")
    assert client.get(_lines_url(tenant_a), headers=prime).get_json()["data"][0]["code"] == "PRESS-1"
    assert len(client.get(_lines_url(tenant_a, "/PRESS-1/readings"), headers=prime).get_json()["data"]) == 1
    assert client.post(_lines_url(tenant_a, "/PRESS-1/readings"), json={"readings": []}, headers=prime).status_code == 403


def test_set_based_machine_totals_match_the_single_item_answer(client, db, tenant_a, line):
    _post(client, tenant_a, [{"read_at": _t(0), "counter": 0}, {"read_at": _t(1), "counter": 7}])
    totals = services.machine_produced_since_reports(tenant_a.relationship.id)
    assert totals == {tenant_a.item.id: Decimal("7")}
