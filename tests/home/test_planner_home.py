"""The planner's home page: its queues hold exactly the work waiting for the planner, and nothing of other tenants."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from cogrow.core.types import utcnow
from cogrow.core.weeks import current_week, local_today
from cogrow.coverage import services as coverage
from cogrow.forecasts import services as forecasts
from cogrow.forecasts.models import ForecastBucket
from cogrow.home import queues
from cogrow.orders import schemas as order_schemas
from cogrow.orders import services as orders
from cogrow.production import schemas as production_schemas
from cogrow.production import services as production
from cogrow.shipments import schemas as shipment_schemas
from cogrow.shipments import services as shipments
from tests import factories as f
from tests.conftest import actor_of, sign_in


@pytest.fixture
def ctx(app, db):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        yield


def planner_of(tenant):
    return actor_of(tenant.users["prime:planner"], tenant.prime)


def producer_of(tenant):
    return actor_of(tenant.users["supplier:production"], tenant.supplier)


def week(n: int):
    return current_week() + timedelta(weeks=n)


def issued_po(tenant, number: str, days_ago: float, status: str = "issued", item=None):
    po = f.PurchaseOrderFactory(supply_relationship=tenant.relationship, number=number, status=status,
                                issued_at=utcnow() - timedelta(days=days_ago))
    f.PurchaseOrderLineFactory(purchase_order=po, item=item or tenant.item, line_no=1, quantity=Decimal("100"),
                               unit_price=Decimal("1500"))
    f.db.session.commit()
    f.db.session.refresh(po)
    return po


def proposal_on(tenant, po, quantity: str = "80"):
    values = order_schemas.parse_proposal({"line_id": po.lines[0].id, "quantity": quantity, "reason": "Press down"})
    return orders.propose_change(producer_of(tenant), tenant.relationship.id, po.id, values, po.version)


def build_work(tenant, items: int = 1, tag: str = "") -> dict:
    """Per item: one proposal, one overdue and one fresh unacknowledged PO, a commit below forecast, a firm cut,
    and a FAB + RAW authorization near its quantity. Plus the same kinds of rows that are NOT work."""
    rel = tenant.relationship
    planner = planner_of(tenant)
    parts = [f.ItemFactory(supply_relationship=rel, prime_part_number=f"{tag}W-{n:03d}", unit_price=Decimal("1000"))
             for n in range(items)]
    f.db.session.commit()
    expected: dict[str, set] = {"proposals": set(), "overdue": set(), "fresh": set(), "below": set(), "cuts": set(),
                                "auth": set()}
    for n, item in enumerate(parts):
        po = issued_po(tenant, f"{tag}PRP-{n:03d}", 0.5, item=item)
        proposal_on(tenant, po)
        expected["proposals"].add(po.number)
        expected["overdue"].add(issued_po(tenant, f"{tag}OVD-{n:03d}", 5, item=item).number)
        expected["fresh"].add(issued_po(tenant, f"{tag}NEW-{n:03d}", 1, item=item).number)
        issued_po(tenant, f"{tag}ACK-{n:03d}", 9, status="acknowledged", item=item)  # not waiting for anyone
    ids = [i.id for i in parts]
    # v1 then v2: v2 cuts week 1 (firm in v1) and raises week 2; week 6 (material in v1) is lowered: not a firm cut.
    v1 = [(i, week(w), Decimal("100")) for i in ids for w in range(26)]
    forecasts.publish(planner, rel.id, v1, note="v1", reason="Model change")
    v2 = [(i, w, Decimal("60") if w == week(1) else Decimal("120") if w == week(2) else
           Decimal("50") if w == week(6) else q) for i, w, q in v1]
    pub = forecasts.publish(planner, rel.id, v2, note="v2", reason="Model change")
    for item in parts:
        expected["cuts"].add((item.prime_part_number, week(1)))
        buckets = dict(f.db.session.execute(select(ForecastBucket.week_start, ForecastBucket.id).where(
            ForecastBucket.publication_id == pub.id, ForecastBucket.item_id == item.id)).all())
        producer = producer_of(tenant)
        forecasts.commit_bucket(producer, rel.id, pub.id, buckets[week(2)], Decimal("90"), "CAPACITY")
        forecasts.commit_bucket(producer, rel.id, pub.id, buckets[week(3)], Decimal("100"))  # as forecast: fine
        # Below forecast in the planning zone (from week 8): it commits to nothing, so it is not work.
        forecasts.commit_bucket(producer, rel.id, pub.id, buckets[week(20)], Decimal("10"), "CAPACITY")
        expected["below"].add((item.prime_part_number, week(2)))
    # Authorizations: the first item has shipped 95 of FAB 100 and holds 100 more (RAW 200: 195 used).
    first = parts[0]
    start = week(-4)
    forecasts.grant_authorization(planner, rel.id, first.id, "FAB", start, Decimal("100"))
    forecasts.grant_authorization(planner, rel.id, first.id, "RAW", start, Decimal("200"))
    ship_po = issued_po(tenant, f"{tag}SHP-000", 20, status="acknowledged", item=first)
    shipments.create_shipment(producer_of(tenant), rel.id, shipment_schemas.parse_shipment(
        {"ship_date": local_today().isoformat(), "lines": [{"po_line_id": ship_po.lines[0].id, "quantity": "95"}]}))
    production.record_reports(producer_of(tenant), rel.id, [production_schemas.parse_report(
        {"item_id": first.id, "as_of": utcnow().isoformat(), "good_qty": "10", "scrap_qty": "0", "wip_qty": "0",
         "fg_on_hand": "100"},
        utcnow())], source="form")
    if len(parts) > 1:  # a second item far from its authorization
        forecasts.grant_authorization(planner, rel.id, parts[1].id, "FAB", start, Decimal("100000"))
    coverage.reconcile(rel.id, None)
    f.db.session.commit()
    expected["auth"] = {(first.prime_part_number, "FAB"), (first.prime_part_number, "RAW")}
    return expected


def test_planner_queues_hold_exactly_the_work_waiting_for_the_planner(db, ctx, tenant_a, tenant_b):
    expected = build_work(tenant_a, items=2)
    build_work(tenant_b, items=1, tag="B")  # another prime's work
    actor = planner_of(tenant_a)

    proposals = queues.open_proposals(actor)
    assert {r["number"] for r in proposals.rows} == expected["proposals"] and proposals.total == 2

    waiting = queues.unacknowledged_pos(actor)
    assert {r["number"] for r in waiting.rows} == expected["overdue"] | expected["fresh"]
    # Overdue first (issued 5 days ago, 3 days agreed), then the fresh ones.
    assert [r["overdue"] for r in waiting.rows] == [True, True, False, False]
    assert {r["number"] for r in waiting.rows if r["overdue"]} == expected["overdue"]
    assert waiting.overdue == 2
    # The planner's queue: only the POs not acknowledged within po_ack_days.
    overdue = queues.unacknowledged_pos(actor, overdue_only=True)
    assert {r["number"] for r in overdue.rows} == expected["overdue"]
    assert overdue.total == overdue.overdue == 2 and all(r["overdue"] for r in overdue.rows)

    below = queues.commits_below_forecast(actor)
    assert {(r["prime_part_number"], r["week_start"]) for r in below.rows} == expected["below"]
    assert all(r["forecast"] == Decimal("120") and r["commit"] == Decimal("90") for r in below.rows)

    cuts = queues.firm_cuts(actor)
    assert {(r["prime_part_number"], r["week_start"]) for r in cuts.rows} == expected["cuts"]
    assert all((r["before"], r["after"], r["value"], r["cut_reason"]) == (Decimal("100"), Decimal("60"),
                                                                          Decimal("40000"), "Model change")
               for r in cuts.rows)

    near = queues.authorizations_near_limit(actor)
    assert {(r["prime_part_number"], r["kind"]) for r in near.rows} == expected["auth"]
    assert {r["kind"]: (r["authorized"], r["used"]) for r in near.rows} == {
        "FAB": (Decimal("100"), Decimal("95")), "RAW": (Decimal("200"), Decimal("195"))}


def test_planner_home_page_shows_the_queues_with_links_to_the_work(client, db, ctx, tenant_a, tenant_b):
    expected = build_work(tenant_a, items=1)
    build_work(tenant_b, items=1, tag="B")
    sign_in(client, tenant_a.users["prime:planner"])
    page = client.get("/home").get_data(as_text=True)

    assert re.findall(r'data-test="proposal-row" data-proposal="\d+" data-po="([^"]+)"', page) == ["PRP-000"]
    # Only the PO past its po_ack_days: NEW-000 (issued a day ago, 3 days agreed) is no work for the planner yet.
    assert re.findall(r'data-test="unacknowledged-row" data-po="([^"]+)"', page) == ["OVD-000"]
    assert 'data-test="firm-cut-row" data-part="W-000"' in page
    assert 'data-test="below-forecast-row" data-part="W-000"' in page
    assert re.findall(r'data-test="authorization-row" data-part="[^"]+" data-kind="(\w+)"', page) == ["FAB", "RAW"]
    assert "90%" in page  # the rule for "near" is said on the page
    po_id = tenant_a.relationship.id
    assert f"/relationships/{po_id}/orders/" in page and f"/relationships/{po_id}/forecasts/2" in page
    assert f"/relationships/{po_id}/forecasts/authorizations" in page
    # Nothing of the other prime, and the chart's table has this prime's supplier only.
    assert "BPRP-000" not in page and "BW-000" not in page and tenant_b.supplier.name not in page
    assert 'data-test="chart-open-po-value"' in page and tenant_a.supplier.name in page
    assert expected["proposals"] == {"PRP-000"}


def test_planner_unacknowledged_list_holds_the_rows_its_tile_counts(client, db, ctx, tenant_a):
    """The tile counts POs overdue for acknowledgement; the list under it held every unacknowledged PO, one
    more row than the tile whenever a PO was still within its po_ack_days (the demo showed 5 rows, tile 4)."""
    sign_in(client, tenant_a.users["prime:planner"])
    overdue = [issued_po(tenant_a, f"LATE-{n}", 3 + n + 0.5).number for n in range(3)]  # 3 days agreed
    issued_po(tenant_a, "INTIME-0", 2.5)  # half a day left
    issued_po(tenant_a, "INTIME-1", 0.1)
    page = client.get("/home").get_data(as_text=True)

    tile = re.search(r'data-test="count-unacknowledged">\s*<span class="num">(\d+)</span>', page)
    rows = re.findall(r'data-test="unacknowledged-row" data-po="([^"]+)"', page)
    assert tile and int(tile.group(1)) == 3
    assert rows == list(reversed(overdue)), rows  # the longest overdue first, and nothing still in time
    assert 'data-test="overdue"' in page and page.count('data-test="overdue"') == 3


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


def test_planner_home_runs_the_same_number_of_statements_for_1_or_6_items_of_work(client, db, ctx, tenant_a):
    sign_in(client, tenant_a.users["prime:planner"])
    build_work(tenant_a, items=1)
    small = _statements(client, "/home")
    build_work(tenant_a, items=6, tag="X")  # a second publication pair, more POs, proposals, cuts and commits
    assert len(queues.open_proposals(planner_of(tenant_a)).rows) == 7
    large = _statements(client, "/home")
    assert small == large, (small, large)
    assert small <= 20, small
