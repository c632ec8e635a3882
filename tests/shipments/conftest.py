"""Shipment fixtures: an issued PO with lines in tenant A, and helpers for the ASN API."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests import factories as f


@pytest.fixture
def po(db, tenant_a):
    order = f.PurchaseOrderFactory(supply_relationship=tenant_a.relationship, status="issued")
    db.session.commit()
    return order


@pytest.fixture
def po_lines(db, tenant_a, po):
    """Two lines of 100 and 50 of tenant A's item on an issued PO."""
    lines = [f.PurchaseOrderLineFactory(purchase_order=po, item=tenant_a.item, line_no=1, quantity=Decimal("100")),
             f.PurchaseOrderLineFactory(purchase_order=po, item=tenant_a.item, line_no=2, quantity=Decimal("50"))]
    db.session.commit()
    return lines
