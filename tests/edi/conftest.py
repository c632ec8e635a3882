"""Fixtures of the EDI tests: tenant A with X12 partner settings, actors of both sides, a few items."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cogrow.core.weeks import current_week
from tests import factories as f
from tests.conftest import actor_of

PRIME_ID, SUPPLIER_ID = "PRIMEA", "SUPPLIERA"


@pytest.fixture
def in_request(app):
    """Services translate their messages, which needs a request's locale."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def planner(tenant_a):
    return actor_of(tenant_a.users["prime:planner"], tenant_a.prime)


@pytest.fixture
def prime_admin(tenant_a):
    return actor_of(tenant_a.users["prime:admin"], tenant_a.prime)


@pytest.fixture
def production(tenant_a):
    return actor_of(tenant_a.users["supplier:production"], tenant_a.supplier)


@pytest.fixture
def partner(db, tenant_a, prime_admin, in_request):
    from cogrow.edi import services

    return services.save_partner(prime_admin, tenant_a.relationship.id, {
        "standard": "x12", "prime_qualifier": "ZZ", "prime_edi_id": PRIME_ID, "prime_group_id": "PRIMEAPP",
        "supplier_qualifier": "01", "supplier_edi_id": SUPPLIER_ID, "uom_codes": {"PC": "EA"}})


@pytest.fixture
def items(db, tenant_a):
    extra = [f.ItemFactory(supply_relationship=tenant_a.relationship, prime_part_number=f"ED-{n}") for n in (1, 2)]
    db.session.commit()
    return [*extra, tenant_a.item]


def week(n: int):
    return current_week() + timedelta(weeks=n)


def horizon(item_ids, quantity="10", weeks=26):
    return [(i, week(n), Decimal(quantity)) for i in item_ids for n in range(weeks)]
