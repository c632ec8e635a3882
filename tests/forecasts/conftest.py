"""Fixtures for forecasts: actors of both sides and a few items on tenant A's relationship."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cogrow.core.weeks import current_week
from tests import factories as f
from tests.conftest import actor_of


@pytest.fixture
def planner(tenant_a):
    return actor_of(tenant_a.users["prime:planner"], tenant_a.prime)


@pytest.fixture
def production(tenant_a):
    return actor_of(tenant_a.users["supplier:production"], tenant_a.supplier)


@pytest.fixture
def items(db, tenant_a):
    """Tenant A's item and two more, ordered by part number."""
    extra = [f.ItemFactory(supply_relationship=tenant_a.relationship, prime_part_number=f"FC-{n}") for n in (1, 2)]
    db.session.commit()
    return [*extra, tenant_a.item]


def week(n: int):
    """The Monday `n` weeks from the current week."""
    return current_week() + timedelta(weeks=n)


def horizon(item_ids, quantity="10", weeks=26):
    """Buckets for every item over the first `weeks` weeks, all with the same quantity."""
    return [(i, week(n), Decimal(quantity)) for i in item_ids for n in range(weeks)]


@pytest.fixture
def request_ctx(app, db):
    """Services translate their messages; outside a request the app's locale selector has no request to read
    (see the report: `_select_locale` should fall back when there is no request context)."""
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        yield
