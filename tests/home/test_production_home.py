"""The supplier production user's home page: its queues hold exactly the supplier's work, and nothing of others."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, update

from cogrow.core.types import utcnow
from cogrow.core.weeks import business_zone, current_week, local_today
from cogrow.coverage import services as coverage
from cogrow.forecasts import services as forecasts
from cogrow.forecasts.models import ForecastPublication
from cogrow.home import queues
from cogrow.production import schemas as production_schemas
from cogrow.production import services as production
from tests import factories as f
from tests.conftest import actor_of, sign_in


@pytest.fixture
def ctx(app, db):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        yield


def producer_of(tenant):
    return actor_of(tenant.users["supplier:production"], tenant.supplier)


def planner_of(tenant):
    return actor_of(tenant.users["prime:planner"], tenant.prime)


def week(n: int):
    return current_week() + timedelta(weeks=n)


def po(rel, number: str, item, *, issued_days_ago: float = 10, status: str = "issued", due=None,
       quantity: str = "100", shipped: str = "0"):
    order = f.PurchaseOrderFactory(supply_relationship=rel, number=number, status=status,
                                   issued_at=utcnow() - timedelta(days=issued_days_ago))
    f.PurchaseOrderLineFactory(purchase_order=order, item=item, line_no=1, quantity=Decimal(quantity),
                               due_date=due or local_today() + timedelta(days=60), unit_price=Decimal("1000"),
                               shipped_qty=Decimal(shipped))
    return order


def report(tenant_rel, actor, item, *, days_ago: float = 0, fg: str = "0"):
    moment = utcnow() - timedelta(days=days_ago)
    production.record_reports(actor, tenant_rel.id, [production_schemas.parse_report(
        {"item_id": item.id, "as_of": moment.isoformat(), "good_qty": "0", "scrap_qty": "0", "wip_qty": "0",
         "fg_on_hand": fg}, utcnow())], source="form")


def build_work(tenant, items: int = 1, tag: str = "") -> dict:
    """Per item: a PO in each acknowledgement group, a forecast cell up and one down, excess stock, a stale
    report, a line due this week and one overdue. Plus rows of the same kinds that are NOT work."""
    rel = tenant.relationship
    producer, planner = producer_of(tenant), planner_of(tenant)
    parts = [f.ItemFactory(supply_relationship=rel, prime_part_number=f"{tag}P-{n:03d}", lead_time_days=14)
             for n in range(items)]
    f.db.session.commit()
    expected: dict[str, object] = {"groups": {}, "changes": set(), "risk": set(), "stale": set(), "due": []}
    for n, item in enumerate(parts):
        # po_ack_days is 3: issued 4 days ago is overdue; one that runs out halfway between now and midnight in Seoul
        # runs out today (two hours would be tomorrow at 23:30); 1 day ago runs out in 2 days.
        now_local = datetime.now(business_zone())
        to_midnight = (datetime.combine(local_today() + timedelta(days=1), time(0), business_zone()) - now_local)
        runs_out_today = 3 - to_midnight.total_seconds() / 2 / 86400
        for group, days in (("overdue", 4), ("today", runs_out_today), ("soon", 1), ("later", 0.01)):
            number = f"{tag}{group[:3].upper()}-{n:03d}"
            po(rel, number, item, issued_days_ago=days)
            expected["groups"][number] = group
        po(rel, f"{tag}ACK-{n:03d}", item, status="acknowledged")  # answered: not to acknowledge
        # Lines: due today (to ship), due last week and still open (overdue), due next week (not yet), shipped.
        po(rel, f"{tag}DUE-{n:03d}", item, status="acknowledged", due=local_today())
        po(rel, f"{tag}LATE-{n:03d}", item, status="acknowledged", due=local_today() - timedelta(days=7),
           shipped="40")
        po(rel, f"{tag}NEXT-{n:03d}", item, status="acknowledged", due=current_week() + timedelta(days=8))
        po(rel, f"{tag}DONE-{n:03d}", item, status="partially_shipped", due=local_today(), shipped="100")
        expected["due"] += [f"{tag}LATE-{n:03d}", f"{tag}DUE-{n:03d}"]
    f.db.session.commit()
    ids = [i.id for i in parts]
    v1 = [(i, week(w), Decimal("100")) for i in ids for w in range(26)]
    forecasts.publish(planner, rel.id, v1, note="v1", reason="Model change")
    v2 = [(i, w, Decimal("70") if w == week(1) else Decimal("130") if w == week(9) else q) for i, w, q in v1]
    forecasts.publish(planner, rel.id, v2, note="v2", reason="Model change")
    for item in parts:
        expected["changes"] |= {(item.prime_part_number, week(1), "down"), (item.prime_part_number, week(9), "up")}
    # The first item holds far more than anyone guaranteed; the others reported 5 days ago (stale), with nothing.
    report(rel, producer, parts[0], fg="100000")
    # Every item is at risk: the first of excess, the others of a shortage (lines due, nothing on hand).
    expected["risk"] |= {item.prime_part_number for item in parts}
    for item in parts[1:]:
        report(rel, producer, item, days_ago=5)
        expected["stale"].add(item.prime_part_number)
    expected["stale"].add(tenant.item.prime_part_number)  # never reported
    coverage.reconcile(rel.id, None)
    f.db.session.commit()
    return expected


def test_production_queues_hold_exactly_the_suppliers_work(db, ctx, tenant_a, tenant_b):
    expected = build_work(tenant_a, items=2)
    build_work(tenant_b, items=1, tag="B")  # another supplier's work
    # The same supplier serves a second prime: its item short of stock is that customer's risk.
    other = f.RelationshipFactory(supplier=tenant_a.supplier, prime=f.OrganisationFactory(kind="prime", name="Prime C"))
    short = f.ItemFactory(supply_relationship=other, prime_part_number="C-SHORT", lead_time_days=14)
    # Due later this week (on a Saturday or Sunday, today: it must stay inside this ISO week).
    this_sunday = local_today() + timedelta(days=6 - local_today().weekday())
    po(other, "C-PO-1", short, status="acknowledged", due=min(local_today() + timedelta(days=2), this_sunday),
       quantity="50")
    f.db.session.commit()
    report(other, producer_of(tenant_a), short, fg="0")
    coverage.reconcile(other.id, None)
    f.db.session.commit()
    actor = producer_of(tenant_a)

    queue, counts = queues.pos_to_acknowledge(actor)
    assert {r["number"]: r["group"] for r in queue.rows} == expected["groups"]
    assert counts == {"overdue": 2, "today": 2, "soon": 2, "later": 2}
    assert [r["group"] for r in queue.rows] == ["overdue"] * 2 + ["today"] * 2 + ["soon"] * 2 + ["later"] * 2

    # v1 was published 10 days ago: only v2 is new, with its changes against v1.
    db.session.execute(update(ForecastPublication)
                       .where(ForecastPublication.relationship_id == tenant_a.relationship.id,
                              ForecastPublication.version_no == 1)
                       .values(published_at=utcnow() - timedelta(days=10)))
    versions, changes = queues.new_forecast_versions(actor)
    assert [(r["relationship_id"], r["version_no"], r["up"], r["down"]) for r in versions.rows] == [
        (tenant_a.relationship.id, 2, 2, 2)]
    cells = changes[versions.rows[0]["id"]]
    assert {(c["prime_part_number"], c["week_start"], "up" if c["change"] > 0 else "down") for c in cells} \
        == expected["changes"]

    at_risk, per_customer = queues.items_at_risk(actor)
    assert {r["prime_part_number"] for r in at_risk.rows} == expected["risk"] | {"C-SHORT"}
    by_part = {r["prime_part_number"]: r for r in at_risk.rows}
    assert by_part["P-000"]["excess"] > 0 and by_part["P-000"]["shortage_qty"] == 0
    assert by_part["P-001"]["excess"] == 0 and by_part["P-001"]["shortage_qty"] > 0
    short_row = by_part["C-SHORT"]
    # Revenue at risk: units short times the item's price (1,500).
    assert short_row["shortage_qty"] == Decimal("50") and short_row["shortage_value"] == Decimal("75000")
    assert {r["counterpart"] for r in per_customer} == {"Prime A", "Prime C"}
    assert next(r for r in per_customer if r["counterpart"] == "Prime A")["exposure"] > 0

    stale = queues.stale_reports(actor)
    assert {r["prime_part_number"] for r in stale.rows} == expected["stale"]
    assert stale.rows[0]["as_of"] is None  # never reported comes first

    due = queues.lines_due_this_week(actor)
    assert [r["number"] for r in due.rows if r["relationship_id"] == tenant_a.relationship.id] \
        == ["LATE-000", "LATE-001", "DUE-000", "DUE-001"]
    assert [r["overdue"] for r in due.rows][:2] == [True, True]
    assert {r["number"] for r in due.rows} == {"LATE-000", "LATE-001", "DUE-000", "DUE-001", "C-PO-1"}  # Prime C too
    assert next(r for r in due.rows if r["number"] == "LATE-000")["open_qty"] == Decimal("60")


def test_production_home_page_shows_the_queues_with_links_to_the_work(client, db, ctx, tenant_a, tenant_b):
    build_work(tenant_a, items=1)
    build_work(tenant_b, items=1, tag="B")
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get("/home").get_data(as_text=True)

    rows = re.findall(r'data-test="acknowledge-row" data-po="([^"]+)" data-group="(\w+)"', page)
    assert rows == [("OVE-000", "overdue"), ("TOD-000", "today"), ("SOO-000", "soon"), ("LAT-000", "later")]
    assert re.findall(r'data-test="change-row" data-part="P-000" data-week="([^"]+)" data-direction="(\w+)"', page) \
        == [(week(1).isoformat(), "down"), (week(9).isoformat(), "up")]
    assert 'data-test="at-risk-row" data-part="P-000"' in page
    assert re.findall(r'data-test="due-row" data-po="([^"]+)"', page) == ["LATE-000", "DUE-000"]
    assert 'data-test="stale-row" data-part="PN-A-SECRET"' in page
    assert "older than 3 days" in page  # N is said on the page
    rel = tenant_a.relationship.id
    assert f"/relationships/{rel}/forecasts/2" in page and f"/relationships/{rel}/shipments/new" in page
    assert f"/relationships/{rel}/items/" in page and "/ledger" in page
    assert 'data-test="chart-risk-by-customer"' in page
    assert "BOVE-000" not in page and "BP-000" not in page and "PN-B-SECRET" not in page
    assert tenant_b.prime.name not in page


def _statements(client, url: str) -> int:
    from cogrow.extensions import db as _db

    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):  # the test's transaction
            seen.append(statement)

    _db.session.expire_all()  # the signed-in user and organisation are loaded afresh for both sizes
    event.listen(_db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(_db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen)


def test_production_home_runs_the_same_number_of_statements_for_1_or_6_items_of_work(client, db, ctx, tenant_a):
    sign_in(client, tenant_a.users["supplier:production"])
    build_work(tenant_a, items=1)
    small = _statements(client, "/home")
    build_work(tenant_a, items=6, tag="X")  # two more versions, more POs, reports, lines and ledger rows
    assert queues.pos_to_acknowledge(producer_of(tenant_a))[0].total == 28
    large = _statements(client, "/home")
    assert small == large, (small, large)
    # The work queue's statements, plus the partnership panel below it: the scorecards (2) and the forecast
    # reliability panel (5), each a fixed number (tests/scorecards/test_home_panel.py).
    assert small <= 22, small
