"""The admin home page: a supplier admin sees its stock without a guaranteed buyer, by customer and by its own
part number across customers; the prime admin keeps the members, tokens and workers page."""
from __future__ import annotations

import re

from tests import factories as f
from tests.conftest import sign_in
from tests.home.prime_network import compute, counting_statements, stocked_item, user


def supplier_network(db, primes: int = 2, extra_items: int = 0):
    """A supplier selling one physical part (SPN "SUP-1") to every prime under the prime's own part number,
    plus a part only the first prime buys, an item without a supplier part number, and a covered item."""
    supplier = f.OrganisationFactory(kind="supplier", name="Supplier Home")
    admin = user(supplier, "admin")
    rels, shared = [], []
    for k in range(primes):
        prime = f.OrganisationFactory(kind="prime", name=f"Prime {k:02d}")
        rel = f.RelationshipFactory(prime=prime, supplier=supplier)
        items = [stocked_item(rel, fg=10 * (k + 1), price=1000, supplier_part_number="SUP-1",
                              prime_part_number=f"P{k}-BRK")]
        for n in range(extra_items):
            items.append(stocked_item(rel, fg=1, price=10, supplier_part_number=f"X-{k}-{n}"))
        compute(rel, items)
        rels.append(rel)
        shared.append(items[0])
    only = stocked_item(rels[0], fg=5, price=2000, supplier_part_number="SUP-2", prime_part_number="P0-ONLY")
    lone = stocked_item(rels[0], fg=3, price=100, supplier_part_number=None, prime_part_number="P0-LONE")
    covered = stocked_item(rels[0], fg=0, price=5000, supplier_part_number="SUP-0", prime_part_number="P0-NONE")
    compute(rels[0], [only, lone, covered])
    # Another supplier's stock of the same supplier part number is not ours.
    foreign = f.RelationshipFactory(prime=rels[0].prime)
    compute(foreign, [stocked_item(foreign, fg=500, price=1000, supplier_part_number="SUP-1")])
    db.session.commit()
    return supplier, admin, rels, shared, only, lone


def page(client, who) -> str:
    sign_in(client, who)
    response = client.get("/home")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_supplier_admin_sees_stock_without_a_buyer_by_customer_and_by_its_part_number(client, db):
    supplier, admin, rels, shared, only, lone = supplier_network(db)
    html = page(client, admin)

    # Prime 0: SUP-1 10 units × 1,000 + SUP-2 5 × 2,000 + the lone 3 × 100 = 20,300 over 18 units; prime 1: 20 units.
    assert 'data-test="risk-exposure" data-value="40300"' in html
    assert 'data-test="risk-excess" data-value="38"' in html
    primes = re.findall(r'data-test="prime-row" data-prime-id="(\d+)">\s*<th[^>]*><a[^>]*>([^<]+)</a></th>\s*'
                        r'<td class="num" data-value="(\d+)"', html)
    assert [(name, value) for _, name, value in primes] == [("Prime 00", "20300"), ("Prime 01", "20000")]

    # By part number: SUP-1 joins both primes' items (10 + 20 units, ₩30,000), then SUP-2, then the lone item.
    parts = re.findall(r'data-test="part-row" data-part="([^"]*)" data-primes="(\d+)"', html)
    assert parts == [("SUP-1", "2"), ("SUP-2", "1"), ("", "1")]
    sup1 = html[html.index('data-part="SUP-1"'):html.index('data-part="SUP-2"')]
    assert 'data-test="part-exposure">₩30,000' in sup1
    assert re.search(r'data-value="30" data-test="part-excess"', sup1)
    for it in shared:  # both prime part numbers, each linking to its own ledger
        assert f'href="/relationships/{it.relationship_id}/items/{it.id}/ledger"' in sup1
    assert "P0-BRK" in sup1 and "P1-BRK" in sup1
    assert "P0-LONE" in html[html.index('data-part=""'):]
    assert "P0-NONE" not in html  # covered: no excess, no row
    # The members and workers content is still there, below.
    assert html.index('data-test="risk"') < html.index('data-test="relationships"')


def test_the_prime_admin_keeps_the_administration_page_without_the_supplier_view(client, db):
    supplier, admin, rels, shared, only, lone = supplier_network(db)
    prime_admin = user(rels[0].prime, "admin")
    db.session.commit()
    html = page(client, prime_admin)
    assert 'data-test="risk"' not in html
    assert 'data-test="relationships"' in html


def count_for(app, db, primes: int, extra_items: int) -> int:
    supplier, admin, *_ = supplier_network(db, primes, extra_items)
    client = app.test_client()
    sign_in(client, admin)
    client.get("/home")
    with counting_statements() as seen:
        response = client.get("/home")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert len(re.findall(r'data-test="prime-row"', html)) == primes
    return len(seen)


def test_the_supplier_admin_page_runs_the_same_number_of_statements_for_3_or_30_customers(app, db):
    small = count_for(app, db, 3, 0)
    large = count_for(app, db, 30, 3)
    assert small == large, (small, large)
    assert small <= 20, small
