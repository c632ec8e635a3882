"""Procurement's home page: open exposure and its trend, by supplier, open alerts, what grew since last week."""
from __future__ import annotations

import re
from datetime import timedelta

from cogrow.core.weeks import iso_label
from tests import factories as f
from tests.conftest import sign_in
from tests.coverage.builders import CW
from tests.home.prime_network import alert, compute, counting_statements, roll_up, snapshot, stocked_item, user


def network(db, suppliers: int, items_per_supplier: int = 1):
    """A prime whose k-th supplier holds (k+1)×10 units of each item at ₩1,000, with history and alerts."""
    prime = f.OrganisationFactory(kind="prime", name="Prime Home")
    buyer = user(prime, "procurement")
    rels, items = [], []
    for k in range(suppliers):
        rel = f.RelationshipFactory(prime=prime, supplier=f.OrganisationFactory(kind="supplier", name=f"Supplier {k:02d}"))
        mine = [stocked_item(rel, fg=(k + 1) * 10, price=1000) for _ in range(items_per_supplier)]
        compute(rel, mine)
        for it in mine:
            snapshot(it, 1, (k + 1) * 10 * 1000 - 5000 * (k % 3))  # grew by 0, 5,000 or 10,000
            snapshot(it, 4, 1000)
            alert(it, "critical" if k % 2 else "warning", hours_ago=k + 1, exposure=(k + 1) * 10 * 1000)
        rels.append(rel)
        items.extend(mine)
    # Someone else's prime: nothing of it may show.
    other = f.RelationshipFactory(supplier=f.OrganisationFactory(kind="supplier", name="Not Yours"))
    stranger = stocked_item(other, fg=999, price=1000)
    compute(other, [stranger])
    alert(stranger, "critical", hours_ago=0)
    db.session.flush()
    roll_up()
    db.session.commit()
    return prime, buyer, rels, items


def home(client, buyer) -> str:
    sign_in(client, buyer)
    response = client.get("/home")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_page_shows_the_prime_exposure_trend_suppliers_alerts_and_growth(client, db):
    prime, buyer, rels, items = network(db, 4)
    html = home(client, buyer)

    total = sum((k + 1) * 10 * 1000 for k in range(4))  # 100,000
    assert re.search(rf'data-test="total-exposure" data-value="{total}"', html)
    # The trend: 13 weeks, this week the live total, 4 weeks ago 4 × 1,000, last week the snapshot sum.
    rows = re.findall(r'<th scope="row" data-x="([^"]+)">[^<]*</th>\s*<td class="num[^"]*" data-value="([^"]*)"', html)
    trend = dict(rows[:13])
    assert list(trend) == [iso_label(CW - timedelta(weeks=12 - n)) for n in range(13)]
    assert trend[iso_label(CW)] == str(total)
    assert trend[iso_label(CW - timedelta(weeks=4))] == "4000"
    assert trend[iso_label(CW - timedelta(weeks=1))] == str(total - 15000)  # suppliers 1 and 2 held 5,000 and 10,000 less
    assert trend[iso_label(CW - timedelta(weeks=2))] == ""  # no figure recorded: a gap, not a zero
    # The change since last week: 15,000 grew (suppliers 1 and 2).
    assert 'data-test="exposure-change" data-value="15000"' in html

    # Suppliers, largest first, each linking to its relationship.
    order = re.findall(r'data-test="supplier-row" data-relationship-id="(\d+)"', html)
    assert order == [str(r.id) for r in reversed(rels)]
    for rel in rels:
        assert f'href="/relationships/{rel.id}"' in html
    assert "Not Yours" not in html

    # Open alerts by severity and type: suppliers 1, 3 critical; 0, 2 warning; newest (supplier 0) first.
    assert 'data-severity="critical" data-type="excess_inventory" data-value="2"' in html
    assert 'data-severity="warning" data-type="excess_inventory" data-value="2"' in html
    assert 'data-test="open-alerts" data-value="4"' in html
    listed = re.findall(r'<li data-alert-id="(\d+)"', html)
    assert len(listed) == 4
    assert f'href="/alerts/{listed[0]}"' in html

    # Grew most: supplier 2 (+10,000), then supplier 1 (+5,000); supplier 0 and 3 did not grow.
    grown = re.findall(r'data-test="growth-row" data-item-id="(\d+)" data-value="(\d+)"', html)
    assert grown == [(str(items[2].id), "10000"), (str(items[1].id), "5000")]
    assert f'href="/relationships/{rels[2].id}/items/{items[2].id}/ledger"' in html


def test_only_open_alerts_count(client, db):
    prime, buyer, rels, items = network(db, 1)
    alert(items[0], "critical", kind="shortage_risk", status="resolved")
    alert(items[0], "info", kind="shortage_risk", status="acknowledged")
    db.session.commit()
    html = home(client, buyer)
    assert 'data-test="open-alerts" data-value="1"' in html
    assert 'data-severity="critical" data-type="shortage_risk" data-value="0"' in html


def test_an_empty_prime_gets_a_page_without_figures(client, db):
    prime = f.OrganisationFactory(kind="prime")
    buyer = user(prime, "procurement")
    db.session.commit()
    html = home(client, buyer)
    assert 'data-test="total-exposure" data-value="0"' in html
    assert 'data-test="open-alerts" data-value="0"' in html


def count_for(app, db, suppliers: int, items_per_supplier: int) -> int:
    prime, buyer, rels, items = network(db, suppliers, items_per_supplier)
    client = app.test_client()
    sign_in(client, buyer)
    client.get("/home")  # warm: the first request of a session may load what later ones reuse
    with counting_statements() as seen:
        response = client.get("/home")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert len(re.findall(r'data-test="supplier-row"', html)) == suppliers
    return len(seen)


def test_the_page_runs_the_same_number_of_statements_for_3_or_30_suppliers(app, db):
    small = count_for(app, db, 3, 1)
    large = count_for(app, db, 30, 3)
    assert small == large
    assert small <= 20, small
