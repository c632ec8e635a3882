"""Dates on the orders pages are business days in Seoul, not UTC dates."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.conftest import sign_in
from tests.orders.helpers import make_po


def test_the_order_list_shows_the_business_day_a_po_was_issued(client, db, tenant_a):
    po = make_po(tenant_a, "issued")
    po.issued_at = datetime(2026, 12, 31, 15, 30, tzinfo=timezone.utc)  # 2027-01-01 00:30 in Seoul
    db.session.commit()
    sign_in(client, tenant_a.users["prime:planner"])
    html = client.get(f"/orders?relationship_id={tenant_a.relationship.id}").get_data(as_text=True)
    assert ">Jan 1, 2027</td></tr>" in html and "Dec 31, 2026" not in html  # the Babel date, on Seoul's day
