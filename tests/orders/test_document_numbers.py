"""Document numbers are unique per issuing organisation: a PO number per prime, an ASN number per supplier.

A supplier with four customers used to see PO-2026-0001 four times; each is now shown with its prime, and one prime
never issues the same number to two suppliers.
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cogrow.orders import services
from cogrow.orders.models import DocumentCounter, PurchaseOrder
from cogrow.shipments import services as shipments
from cogrow.shipments.models import Shipment
from tests import factories as f
from tests.conftest import sign_in
from tests.orders.helpers import DUE, planner, production


def _second_supplier(db, tenant):
    """Another supplier of the tenant's prime, with its own relationship and item."""
    rel = f.RelationshipFactory(prime=tenant.prime, supplier=f.OrganisationFactory(kind="supplier", name="Second supplier"))
    item = f.ItemFactory(supply_relationship=rel, prime_part_number="PN-SECOND")
    db.session.commit()
    return rel, item


def _line(item):
    return {"index": 0, "item_id": item.id, "quantity": Decimal("5"), "due_date": DUE}


def test_two_relationships_of_one_prime_get_distinct_po_numbers(db, tenant_a, request_ctx):
    rel_b, item_b = _second_supplier(db, tenant_a)
    actor = planner(tenant_a)
    first = services.create_po(actor, tenant_a.relationship.id, {"lines": [_line(tenant_a.item)]})
    second = services.create_po(actor, rel_b.id, {"lines": [_line(item_b)]})
    third = services.create_po(actor, tenant_a.relationship.id, {"lines": [_line(tenant_a.item)]})
    year = first.number.split("-")[1]
    assert [first.number, second.number, third.number] == [f"PO-{year}-0001", f"PO-{year}-0002", f"PO-{year}-0003"]
    assert {po.prime_id for po in (first, second, third)} == {tenant_a.prime.id}
    counter = db.session.get(DocumentCounter, (tenant_a.prime.id, f"PO-{year}-"))
    assert counter.last_value == 3


def test_a_number_typed_for_one_supplier_is_refused_for_another(db, tenant_a, request_ctx):
    from cogrow.core.errors import ValidationFailed

    rel_b, item_b = _second_supplier(db, tenant_a)
    actor = planner(tenant_a)
    services.create_po(actor, tenant_a.relationship.id, {"number": "PO-HAND-7", "lines": [_line(tenant_a.item)]})
    with pytest.raises(ValidationFailed) as refused:
        services.create_po(actor, rel_b.id, {"number": "PO-HAND-7", "lines": [_line(item_b)]})
    assert "number" in refused.value.fields
    assert db.session.scalar(select(PurchaseOrder.id).where(PurchaseOrder.relationship_id == rel_b.id)) is None


def test_the_counter_starts_after_numbers_made_before_it_and_skips_typed_ones(db, tenant_a, request_ctx):
    rel_b, item_b = _second_supplier(db, tenant_a)
    actor = planner(tenant_a)
    year = services.local_today().year
    f.PurchaseOrderFactory(supply_relationship=rel_b, number=f"PO-{year}-0041")  # made before counters existed
    db.session.commit()
    made = services.create_po(actor, tenant_a.relationship.id, {"lines": [_line(tenant_a.item)]})
    assert made.number == f"PO-{year}-0042"
    services.create_po(actor, rel_b.id, {"number": f"PO-{year}-0043", "lines": [_line(item_b)]})
    assert services.create_po(actor, rel_b.id, {"lines": [_line(item_b)]}).number == f"PO-{year}-0044"


def test_the_constraint_refuses_a_duplicate_po_number_within_one_prime(db, tenant_a):
    rel_b, _ = _second_supplier(db, tenant_a)
    f.PurchaseOrderFactory(supply_relationship=tenant_a.relationship, number="PO-SAME-1")
    db.session.commit()
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(PurchaseOrder(relationship_id=rel_b.id, number="PO-SAME-1", status="draft"))
            db.session.flush()
    # The issuer is always the relationship's prime, whatever the caller wrote into the row.
    po = PurchaseOrder(relationship_id=rel_b.id, prime_id=rel_b.supplier_id, number="PO-SAME-2", status="draft")
    db.session.add(po)
    db.session.flush()
    assert po.prime_id == tenant_a.prime.id


def test_two_primes_may_use_the_same_po_number(db, tenant_a, tenant_b):
    f.PurchaseOrderFactory(supply_relationship=tenant_a.relationship, number="PO-2026-0001")
    f.PurchaseOrderFactory(supply_relationship=tenant_b.relationship, number="PO-2026-0001")
    db.session.commit()


def test_asn_numbers_are_unique_per_supplier_across_its_customers(db, tenant_a, request_ctx):
    other_prime = f.OrganisationFactory(kind="prime", name="Second prime")
    rel_b = f.RelationshipFactory(prime=other_prime, supplier=tenant_a.supplier)
    item_b = f.ItemFactory(supply_relationship=rel_b, prime_part_number="PN-B")
    lines = []
    for rel, item in ((tenant_a.relationship, tenant_a.item), (rel_b, item_b)):
        po = f.PurchaseOrderFactory(supply_relationship=rel, status="issued")
        lines.append(f.PurchaseOrderLineFactory(purchase_order=po, item=item, quantity=Decimal("100")))
    db.session.commit()
    actor = production(tenant_a)
    made = [shipments.create_shipment(actor, line.relationship_id,
                                      {"ship_date": DUE, "lines": [(line.id, Decimal("1"))]}) for line in lines]
    assert [s.number for s in made] == ["ASN-000001", "ASN-000002"]
    assert {s.supplier_id for s in made} == {tenant_a.supplier.id}
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(Shipment(relationship_id=rel_b.id, number="ASN-000001", ship_date=DUE))
            db.session.flush()


def _rows(html: str, table: str) -> list[tuple[str, str]]:
    body = html.split(f'data-test="{table}"', 1)[1]
    return re.findall(r'data-number="([^"]+)" data-party="([^"]+)"', body)


def test_the_suppliers_po_list_shows_each_number_with_its_prime(app, db, tenant_a):
    other_prime = f.OrganisationFactory(kind="prime", name="Second prime")
    rel_b = f.RelationshipFactory(prime=other_prime, supplier=tenant_a.supplier)
    f.PurchaseOrderFactory(supply_relationship=tenant_a.relationship, number="PO-2026-0001", status="issued")
    f.PurchaseOrderFactory(supply_relationship=rel_b, number="PO-2026-0001", status="issued")
    db.session.commit()
    client = app.test_client()
    sign_in(client, tenant_a.users["supplier:production"])
    html = client.get("/orders").get_data(as_text=True)
    assert sorted(_rows(html, "orders")) == [("PO-2026-0001", "Prime A"), ("PO-2026-0001", "Second prime")]
    page = client.get(f"/relationships/{rel_b.id}/orders/"
                      f"{db.session.scalar(select(PurchaseOrder.id).where(PurchaseOrder.relationship_id == rel_b.id))}")
    assert "<title>PO-2026-0001 · Second prime" in page.get_data(as_text=True)


def test_the_primes_asn_list_shows_each_number_with_its_supplier(app, db, tenant_a):
    rel_b, item_b = _second_supplier(db, tenant_a)
    for rel, item in ((tenant_a.relationship, tenant_a.item), (rel_b, item_b)):
        db.session.add(Shipment(relationship_id=rel.id, number="ASN-000001", ship_date=DUE))
    db.session.commit()
    client = app.test_client()
    sign_in(client, tenant_a.users["prime:planner"])
    html = client.get("/shipments").get_data(as_text=True)
    assert sorted(_rows(html, "shipments")) == [("ASN-000001", "Second supplier"), ("ASN-000001", "Supplier A")]


def test_the_list_of_a_supplier_runs_a_fixed_number_of_queries(app, db, tenant_a):
    """Showing the counterpart costs no query per row (the relationship and both sides are loaded with the POs)."""
    from sqlalchemy import event

    client = app.test_client()
    sign_in(client, tenant_a.users["supplier:production"])

    def count(n: int) -> int:
        for _ in range(n):
            f.PurchaseOrderFactory(supply_relationship=tenant_a.relationship, status="issued")
        db.session.commit()
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/orders").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    assert count(2) == count(20)

