"""Production reports by file: the `production` import kind, all or nothing, errors naming row and column."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.models import OutboxEvent
from cogrow.core.weeks import current_week
from cogrow.imports import services as imports
from cogrow.production.models import ItemPosition, PlannedOutput, ProductionReport
from tests import factories as f
from tests.conftest import actor_of

@pytest.fixture(autouse=True)
def _request(app, db):
    """Messages are translated for the uploader: the service runs inside a request, as it does in the app."""
    with app.test_request_context():
        yield


HEADER = "part_number,as_of,good_qty,scrap_qty,wip_qty,fg_on_hand,raw_on_hand,plan_w1,plan_w2\n"


def _actor(tenant):
    return actor_of(tenant.users["supplier:production"], tenant.supplier)


def _when(hours_ago: int) -> str:
    return (datetime.now(timezone(timedelta(hours=9))) - timedelta(hours=hours_ago)).replace(microsecond=0).isoformat()


def _upload(tenant, text: str, encoding="utf-8"):
    return imports.upload(_actor(tenant), tenant.relationship.id, "production", "production.csv", text.encode(encoding))


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_valid_file_previews_then_applies_in_one_go(db, tenant_a):
    second = f.ItemFactory(supply_relationship=tenant_a.relationship)
    db.session.commit()
    text = HEADER + (f"{tenant_a.item.prime_part_number},{_when(3)},10,1,5,100,,20,30\n"
                     f"{tenant_a.item.prime_part_number},{_when(1)},12,0,6,120,3,,\n"
                     f"{second.supplier_part_number.lower()} ,{_when(2)},1,0,0,7,,,\n")
    batch = _upload(tenant_a, text)
    assert batch.status == "preview", batch.errors
    assert _count(db, ProductionReport) == 0
    outbox_before = _count(db, OutboxEvent)
    imports.confirm(_actor(tenant_a), tenant_a.relationship.id, batch.id)
    assert _count(db, ProductionReport) == 3
    positions = {p.item_id: p.fg_on_hand for p in db.session.scalars(select(ItemPosition))}
    assert positions == {tenant_a.item.id: Decimal("120"), second.id: Decimal("7")}
    assert _count(db, OutboxEvent) == outbox_before + 1
    # The later report leaves its plan cells blank: the plan is unchanged, not wiped.
    position = db.session.get(ItemPosition, tenant_a.item.id)
    plan = db.session.execute(select(PlannedOutput.week_start, PlannedOutput.quantity)
                              .where(PlannedOutput.report_id == position.report_id)
                              .order_by(PlannedOutput.week_start)).all()
    assert [q for _w, q in plan] == [Decimal("20"), Decimal("30")] and plan[0][0] <= current_week()


@pytest.mark.parametrize("row, column", [
    ("NOPE-1,{t},1,0,0,1,,,", "part_number"),
    ("{pn},2999-01-01T00:00+09:00,1,0,0,1,,,", "as_of"),
    ("{pn},03/04/2026 08:00,1,0,0,1,,,", "as_of"),
    ("{pn},{t},1,0,-5,1,,,", "wip_qty"),
    ("{pn},{t},1,0,0,1e309,,,", "fg_on_hand"),
    ("{pn},{t},1,0,0,\"1,50\",,,", "fg_on_hand"),  # "1,500" is fifteen hundred; "1,50" is ambiguous
    ("{pn},{t},1,0,0,NaN,,,", "fg_on_hand"),
    ("{pn},{t},1,0,0,1,,-1,", "plan_w1"),
    ("{pn},{t},1,0,0,1,,\"1,50\",", "plan_w1"),
])
def test_a_bad_row_names_row_and_column_and_nothing_applies(db, tenant_a, row, column):
    good = f"{tenant_a.item.prime_part_number},{_when(5)},1,0,0,1,,,\n"
    text = HEADER + good + row.format(pn=tenant_a.item.prime_part_number, t=_when(1)) + "\n"
    batch = _upload(tenant_a, text)
    assert batch.status == "invalid"
    assert any(e["row"] == 3 and column in (e["column"] or "") for e in batch.errors), batch.errors
    assert _count(db, ProductionReport) == 0


def test_another_organisations_part_number_is_unknown(db, tenant_a, tenant_b):
    text = HEADER + f"{tenant_b.item.prime_part_number},{_when(1)},1,0,0,1,,,\n"
    batch = _upload(tenant_a, text)
    assert batch.status == "invalid" and batch.errors[0]["row"] == 2


def test_the_same_item_and_time_twice_is_refused(db, tenant_a):
    t = _when(1)
    text = HEADER + f"{tenant_a.item.prime_part_number},{t},1,0,0,1,,,\n" * 2
    batch = _upload(tenant_a, text)
    assert batch.status == "invalid" and batch.errors[0]["row"] == 3


def test_korean_excel_cp949_file_with_korean_headers(db, tenant_a):
    text = ("품번,기준일시,양품,불량,재공,완제품,원자재,계획_1주\n"
            f"{tenant_a.item.prime_part_number},{_when(1).replace('T', ' ')[:16]},5,0,2,9,,4\n")
    batch = _upload(tenant_a, text, encoding="cp949")
    assert batch.status == "preview", batch.errors


def test_naive_times_in_a_file_are_seoul_time(db, tenant_a):
    naive = (datetime.now(timezone(timedelta(hours=9))) - timedelta(hours=2)).replace(second=0, microsecond=0)
    text = HEADER + f"{tenant_a.item.prime_part_number},{naive.replace(tzinfo=None).isoformat()},1,0,0,1,,,\n"
    batch = _upload(tenant_a, text)
    imports.confirm(_actor(tenant_a), tenant_a.relationship.id, batch.id)
    stored = db.session.scalar(select(ProductionReport.as_of))
    assert stored == naive


def test_prime_cannot_upload_production(db, tenant_a):
    from cogrow.core.errors import Forbidden, NotFound

    prime = actor_of(tenant_a.users["prime:planner"], tenant_a.prime)
    with pytest.raises((Forbidden, NotFound)):
        imports.upload(prime, tenant_a.relationship.id, "production", "p.csv",
                       (HEADER + f"{tenant_a.item.prime_part_number},{_when(1)},1,0,0,1,,,\n").encode())
