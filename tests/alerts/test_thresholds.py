"""Which excess raises an alert (the relationship's thresholds) and how severe it is (KRW exposure)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from cogrow.alerts import services
from cogrow.alerts.models import Alert
from cogrow.core.types import utcnow
from tests.alerts.conftest import put_ledger

D = Decimal


@pytest.mark.parametrize("exposure, threshold, expected", [
    (D("0"), D("1000000"), "info"),
    (D("999999"), D("1000000"), "info"),
    (D("1000000"), D("1000000"), "warning"),
    (D("2999999"), D("1000000"), "warning"),
    (D("3000000"), D("1000000"), "critical"),
    (D("50000"), D("10000"), "critical"),
    # no KRW threshold: the default reference of 1,000,000
    (D("500000"), None, "info"),
    (D("1500000"), None, "warning"),
    (D("3000000"), D("0"), "critical"),
])
def test_severity_follows_exposure_against_the_krw_threshold(exposure, threshold, expected):
    assert services.severity_for(exposure, threshold) == expected


@pytest.mark.parametrize("terms, excess, exposure, guaranteed, raised", [
    ({}, "1", "1500", "100", True),  # no threshold: any excess
    ({}, "0", "0", "100", False),
    ({"threshold_units": D("100")}, "100", "150000", "100", False),  # must exceed, not equal
    ({"threshold_units": D("100")}, "101", "151500", "100", True),
    ({"threshold_amount": D("1000000")}, "500", "750000", "100", False),
    ({"threshold_amount": D("1000000")}, "700", "1050000", "100", True),
    ({"threshold_pct": D("0.1")}, "10", "15000", "100", False),
    ({"threshold_pct": D("0.1")}, "11", "16500", "100", True),
    ({"threshold_pct": D("0.1")}, "5", "7500", "0", True),  # nothing guaranteed: any excess is over
    # several thresholds: any one exceeded is enough
    ({"threshold_units": D("1000"), "threshold_amount": D("10000")}, "20", "30000", "100", True),
    ({"threshold_units": D("1000"), "threshold_amount": D("1000000"), "threshold_pct": D("0.5")}, "20", "30000", "100", False),
])
def test_excess_alert_is_raised_only_past_a_threshold(db, tenant_a, terms, excess, exposure, guaranteed, raised):
    rel = tenant_a.relationship
    for key, value in terms.items():
        setattr(rel, key, value)
    db.session.commit()
    put_ledger(db, tenant_a.item, excess=excess, exposure_amount=exposure, guaranteed=guaranteed)
    services.sync_alerts(rel.id, [tenant_a.item.id], utcnow())
    alerts = list(db.session.scalars(select(Alert).where(Alert.type == "excess_inventory")))
    assert bool(alerts) is raised


def test_alert_severity_uses_the_relationships_krw_threshold(db, tenant_a):
    tenant_a.relationship.threshold_amount = D("100000")
    db.session.commit()
    put_ledger(db, tenant_a.item, excess=300, exposure_amount=450000, guaranteed=100)
    services.sync_alerts(tenant_a.relationship.id, [tenant_a.item.id], utcnow())
    assert db.session.scalar(select(Alert.severity)) == "critical"
