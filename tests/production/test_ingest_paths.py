"""The ingest hot paths (issue 12): folded round trips, COPY batches on PostgreSQL, and the validators' shortcuts.

Each keeps what the slower path did: tenancy, the writer's rights, every item checked, positions, plans, one audit
row and one outbox row per request.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from cogrow.core import fields
from cogrow.core.fields import FieldError
from cogrow.core.models import AuditLog, OutboxEvent
from cogrow.core.weeks import business_zone, week_start
from cogrow.production import schemas, services
from cogrow.production.models import ItemPosition, MachineReading, PlannedOutput, ProductionReport
from tests import factories as f
from tests.conftest import on_postgres
from tests.production.conftest import at, headers, report_body, reports_url


@contextmanager
def _statements(db):
    """The SQL statements sent while the block runs (BEGIN and COMMIT are not statements here)."""
    sent: list[str] = []

    def listen(_conn, _cursor, statement, *_args):
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):  # the test's own nesting
            sent.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", listen)


NOTE = "shift B \\N back\\slash 'q' \"q\" 한글"  # what COPY's text format must escape, or read as NULL


def _this_week():
    """The business week of the reports these tests send (an hour or two ago: the same week but at a Monday's
    first hours, which the plans of these tests do not depend on)."""
    return week_start(datetime.fromisoformat(at(0)).astimezone(business_zone()).date()) + timedelta(weeks=1)


def _count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_single_report_with_a_plan_takes_seven_statements_at_most_and_keeps_audit_and_outbox(client, db, tenant_a):
    client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=at(90)), headers=headers(tenant_a))  # warm
    audits, events = _count(db, AuditLog), _count(db, OutboxEvent)
    url, auth = reports_url(tenant_a), headers(tenant_a)
    body = report_body(tenant_a, as_of=at(30), plan=[{"week": _this_week().isoformat(), "quantity": "5"}])
    with _statements(db) as sent:
        response = client.post(url, json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    # token, (relationship + item + position + plan), report, plan, position, audit and outbox (one on PostgreSQL)
    assert len(sent) <= 7, "\n".join(s[:120] for s in sent)
    assert _count(db, AuditLog) == audits + 1 and _count(db, OutboxEvent) == events + 1
    body = response.get_json()
    position = db.session.get(ItemPosition, tenant_a.item.id)
    assert position.report_id == body["id"] and body["plan"][0]["quantity"] == "5"
    audit = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert audit.action == "production.reported" and audit.detail["first_report_id"] == body["id"]
    assert audit.token_id is not None and audit.organisation_id == tenant_a.supplier.id


def test_a_single_report_without_plan_writes_all_it_wrote_before_in_fewer_statements(client, db, tenant_a):
    url, auth = reports_url(tenant_a), headers(tenant_a)
    later = client.post(url, json=report_body(tenant_a, as_of=at(10), fg_on_hand="10"), headers=auth).get_json()
    body = report_body(tenant_a, as_of=at(40), fg_on_hand="40", raw_on_hand="2.5", note=NOTE)
    with _statements(db) as sent:
        response = client.post(url, json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    # token, context, then one statement on PostgreSQL (report, position, audit, outbox) or four on SQLite
    assert len(sent) <= (3 if on_postgres() else 6), "\n".join(s[:120] for s in sent)
    older = response.get_json()
    row = db.session.get(ProductionReport, older["id"])
    assert (row.fg_on_hand, row.raw_on_hand, row.note, row.token_id is not None) == (Decimal("40"), Decimal("2.5"),
                                                                                     NOTE, True)
    assert db.session.get(ItemPosition, tenant_a.item.id).report_id == later["id"]  # the later report stays
    newest = client.post(url, json=report_body(tenant_a, as_of=at(5), fg_on_hand="5"), headers=auth).get_json()
    position = db.session.get(ItemPosition, tenant_a.item.id)
    # raw_on_hand is carried from the report just before by as_of (the later one, which had none), not the older
    assert (position.report_id, position.fg_on_hand, position.raw_on_hand) == (newest["id"], Decimal("5"), None)
    audits = list(db.session.scalars(select(AuditLog).where(AuditLog.action == "production.reported")
                                     .order_by(AuditLog.id)))
    assert [a.detail for a in audits][1] == {"reports": 1, "source": "api", "first_report_id": older["id"],
                                             "item_ids": [tenant_a.item.id]}
    assert (audits[1].object_type, audits[1].object_id, audits[1].organisation_id) == (
        "supply_relationship", str(tenant_a.relationship.id), tenant_a.supplier.id)
    events = list(db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
    assert len(events) == 3 and events[1].payload == {"item_ids": [tenant_a.item.id], "reason": "production_report"}
    assert events[1].topic == "reconcile" and events[1].relationship_id == tenant_a.relationship.id


def test_a_batch_big_enough_for_copy_stores_ids_in_order_with_plans_positions_audit_and_outbox(client, db, tenant_a):
    items = [tenant_a.item] + [f.ItemFactory(supply_relationship=tenant_a.relationship) for _ in range(4)]
    db.session.commit()
    assert 5 * 5 >= services.COPY_FROM
    week = _this_week()
    reports = [report_body(tenant_a, item_id=item.id, as_of=at(m), fg_on_hand=str(m), note=NOTE,
                           plan=[{"week": week.isoformat(), "quantity": str(m)}])
               for item in items for m in (50, 20, 40, 30, 45)]
    response = client.post(reports_url(tenant_a, "/batch"), json={"reports": reports}, headers=headers(tenant_a))
    assert response.status_code == 201, response.get_json()
    ids = response.get_json()["ids"]
    assert len(ids) == 25 and ids == sorted(ids)
    stored = {r.id: r for r in db.session.scalars(select(ProductionReport).where(ProductionReport.id.in_(ids)))}
    for report_id, sent in zip(ids, reports):  # each id is the row of the report at its place in the body
        row = stored[report_id]
        assert (row.item_id, row.fg_on_hand, row.note, row.source) == (sent["item_id"], Decimal(sent["fg_on_hand"]),
                                                                      NOTE, "api")
        assert row.token_id is not None
    assert _count(db, PlannedOutput, PlannedOutput.report_id.in_(ids)) == 25
    positions = {p.item_id: (p.fg_on_hand, p.report_id) for p in db.session.scalars(select(ItemPosition))}
    assert {item_id: fg for item_id, (fg, _rid) in positions.items()} == {item.id: Decimal("20") for item in items}
    assert all(stored[rid].fg_on_hand == Decimal("20") for _fg, rid in positions.values())
    assert _count(db, OutboxEvent) == 1 and _count(db, AuditLog, AuditLog.action == "production.reported") == 1
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "production.reported"))
    assert audit.detail["reports"] == 25 and audit.detail["first_report_id"] == ids[0]


def test_a_later_position_survives_an_older_copied_batch(client, db, tenant_a):
    response = client.post(reports_url(tenant_a), json=report_body(tenant_a, as_of=at(1), fg_on_hand="7"),
                           headers=headers(tenant_a))
    latest = response.get_json()["id"]
    batch = [report_body(tenant_a, as_of=at(100 + n), fg_on_hand=str(n)) for n in range(services.COPY_FROM)]
    response = client.post(reports_url(tenant_a, "/batch"), json={"reports": batch}, headers=headers(tenant_a))
    assert response.status_code == 201, response.get_json()
    position = db.session.get(ItemPosition, tenant_a.item.id)
    assert (position.report_id, position.fg_on_hand) == (latest, Decimal("7"))


def test_the_folded_check_still_refuses_other_tenants_and_unknown_items(client, db, tenant_a, tenant_b):
    batch = [report_body(tenant_a, as_of=at(10 + n)) for n in range(services.COPY_FROM)]
    batch[3]["item_id"] = tenant_b.item.id
    response = client.post(reports_url(tenant_a, "/batch"), json={"reports": batch}, headers=headers(tenant_a))
    assert response.status_code == 422 and set(response.get_json()["error"]["fields"]) == {"reports[3].item_id"}
    response = client.post(reports_url(tenant_b), json=report_body(tenant_b), headers=headers(tenant_a))
    assert response.status_code == 404
    assert _count(db, ProductionReport) == 0 and _count(db, OutboxEvent) == 0


@pytest.fixture
def line(client, tenant_a):
    response = client.post(f"/api/v1/relationships/{tenant_a.relationship.id}/lines",
                           json={"code": "press-9", "item_id": tenant_a.item.id}, headers=headers(tenant_a))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _readings_url(tenant, ref):
    return f"/api/v1/relationships/{tenant.relationship.id}/lines/{ref}/readings"


def test_a_single_reading_takes_six_statements_at_most_and_keeps_audit_and_outbox(client, db, tenant_a, line):
    client.post(_readings_url(tenant_a, "PRESS-9"), json={"readings": [{"read_at": at(60), "counter": 10}]},
                headers=headers(tenant_a))
    audits, events = _count(db, AuditLog), _count(db, OutboxEvent)
    url, auth = _readings_url(tenant_a, line["id"]), headers(tenant_a)
    with _statements(db) as sent:
        response = client.post(url, json={"readings": [{"read_at": at(30), "counter": 25}]}, headers=auth)
    assert response.status_code == 201 and response.get_json()["produced"] == "15"
    # token, line (with the writer's rights, locked), window, then reading, audit and outbox: one statement on
    # PostgreSQL, three on SQLite
    assert len(sent) <= (4 if on_postgres() else 6), "\n".join(s[:120] for s in sent)
    assert _count(db, AuditLog) == audits + 1 and _count(db, OutboxEvent) == events + 1
    audit = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert (audit.action, audit.object_type, audit.object_id) == ("machine_readings.recorded", "production_line",
                                                                  str(line["id"]))
    assert audit.detail == {"accepted": 1, "duplicates": 0, "recomputed": 0, "produced": 15}
    event = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
    assert event.payload == {"item_ids": [tenant_a.item.id], "reason": "machine_reading"}
    reading = db.session.scalar(select(MachineReading).where(MachineReading.counter == 25))
    assert (reading.produced, reading.line_id, reading.item_id, reading.new_run) == (15, line["id"],
                                                                                     tenant_a.item.id, False)


def test_a_copied_batch_of_readings_merges_like_any_other(client, db, tenant_a, line):
    readings = [{"read_at": at(200 - n), "counter": 100 + 3 * n} for n in range(services.COPY_FROM + 5)]
    response = client.post(_readings_url(tenant_a, "PRESS-9"), json={"readings": readings}, headers=headers(tenant_a))
    assert response.status_code == 201 and response.get_json()["accepted"] == len(readings)
    assert response.get_json()["produced"] == str(3 * (len(readings) - 1))
    assert db.session.scalar(select(func.sum(MachineReading.produced))) == 3 * (len(readings) - 1)
    again = client.post(_readings_url(tenant_a, "PRESS-9"), json={"readings": readings}, headers=headers(tenant_a))
    assert again.status_code == 200 and again.get_json()["duplicates"] == len(readings)


def test_readings_of_unknown_lines_and_other_tenants_are_404_with_their_reason(client, db, tenant_a, tenant_b, line):
    body = {"readings": [{"read_at": at(5), "counter": 1}]}
    missing = client.post(_readings_url(tenant_a, "NOPE-1"), json=body, headers=headers(tenant_a))
    assert missing.status_code == 404 and "line" in missing.get_json()["error"]["message"]
    foreign = client.post(_readings_url(tenant_a, line["id"]), json=body, headers=headers(tenant_b))
    assert foreign.status_code == 404 and "relationship" in foreign.get_json()["error"]["message"]
    prime = client.post(_readings_url(tenant_a, line["id"]), json=body, headers=headers(tenant_a, "prime:admin"))
    assert prime.status_code == 403
    assert _count(db, MachineReading) == 0


@pytest.mark.parametrize("text", ["0", "0.0", "0.0000", "12", "12.5000", "99999999999999.9999", "100000000000000",
                                  "1.23456", "007", "-1", "1e3", " 5", "１２", "1,000", "", ".5", "5."])
def test_the_quantity_shortcut_reads_exactly_what_the_parser_reads(text):
    def read(parse):
        try:
            value = parse(text, minimum=0, scale=4)
        except FieldError as exc:
            return ("error", exc.message)
        return (value, str(value))

    assert read(schemas._quantity) == read(fields.decimal)


@pytest.mark.parametrize("value", [0, 1, 65535, 10**14 - 1])
def test_the_counter_shortcut_reads_exactly_what_the_parser_reads(value):
    expected = int(fields.decimal(value, minimum=0, maximum=schemas.COUNTER_LIMIT, whole=True))
    assert schemas._counter(value) == expected and type(schemas._counter(value)) is int


@pytest.mark.parametrize("value", [-1, 10**14, 2**63, True, 1.5])
def test_the_counter_shortcut_leaves_the_rest_to_the_parser(value):
    with pytest.raises(Exception, match="."):
        schemas._counter(value)
