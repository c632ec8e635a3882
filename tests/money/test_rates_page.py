"""The prime administrator's exchange-rate page: set and list the month's rates, refuse bad input by field."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from cogrow.money.models import FxRate
from cogrow.money.services import current_month
from tests.conftest import sign_in

D = Decimal
URL = "/settings/fx-rates"


def _rates(db, org):
    return db.session.execute(select(FxRate.month, FxRate.currency, FxRate.krw_per_unit)
                              .where(FxRate.prime_id == org.id).order_by(FxRate.currency)).all()


def test_the_prime_admin_sets_a_rate_and_sets_it_again(client, db, tenant_a):
    sign_in(client, tenant_a.users["prime:admin"])
    page = client.get(URL)
    assert page.status_code == 200 and current_month().strftime("%Y-%m") in page.get_data(as_text=True)
    month = current_month().strftime("%Y-%m")
    response = client.post(URL, data={"month": month, "currency": "USD", "krw_per_unit": "1,385.25"})
    assert response.status_code == 302
    assert _rates(db, tenant_a.prime) == [(current_month(), "USD", D("1385.25"))]
    client.post(URL, data={"month": month, "currency": "USD", "krw_per_unit": "1390"})
    assert _rates(db, tenant_a.prime) == [(current_month(), "USD", D("1390"))]  # replaced, not a second row
    listed = client.get(URL).get_data(as_text=True)
    assert 'data-test="fx-rate"' in listed and "1390" in listed


@pytest.mark.parametrize("field, data", [
    ("month", {"month": "2026-13", "currency": "USD", "krw_per_unit": "1400"}),
    ("month", {"month": "December", "currency": "USD", "krw_per_unit": "1400"}),
    ("month", {"month": "", "currency": "USD", "krw_per_unit": "1400"}),
    ("currency", {"month": "2026-12", "currency": "KRW", "krw_per_unit": "1400"}),
    ("currency", {"month": "2026-12", "currency": "XXX", "krw_per_unit": "1400"}),
    ("krw_per_unit", {"month": "2026-12", "currency": "USD", "krw_per_unit": "0"}),
    ("krw_per_unit", {"month": "2026-12", "currency": "USD", "krw_per_unit": "-1"}),
    ("krw_per_unit", {"month": "2026-12", "currency": "USD", "krw_per_unit": "1e3"}),
    ("krw_per_unit", {"month": "2026-12", "currency": "USD", "krw_per_unit": "1,40"}),
    ("krw_per_unit", {"month": "2026-12", "currency": "USD", "krw_per_unit": ""}),
])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(client, db, tenant_a, field, data):
    sign_in(client, tenant_a.users["prime:admin"])
    response = client.post(URL, data=data)
    assert response.status_code == 422
    assert f'data-field="{field}"' in response.get_data(as_text=True)
    assert _rates(db, tenant_a.prime) == []


@pytest.mark.parametrize("who", ["prime:planner", "prime:procurement", "supplier:admin", "supplier:production"])
def test_only_a_prime_admin_may_see_or_set_rates(client, db, tenant_a, who):
    sign_in(client, tenant_a.users[who])
    assert client.get(URL).status_code == 403
    response = client.post(URL, data={"month": "2026-12", "currency": "USD", "krw_per_unit": "1400"})
    assert response.status_code == 403
    assert _rates(db, tenant_a.prime) == [] and _rates(db, tenant_a.supplier) == []


def test_each_prime_sees_and_changes_only_its_own_rates(client, db, tenant_a, tenant_b):
    month = current_month()
    db.session.add(FxRate(prime_id=tenant_a.prime.id, month=month, currency="USD", krw_per_unit=D("1234.567891")))
    db.session.commit()
    sign_in(client, tenant_b.users["prime:admin"])
    assert "1234.567891" not in client.get(URL).get_data(as_text=True)
    client.post(URL, data={"month": month.strftime("%Y-%m"), "currency": "USD", "krw_per_unit": "999"})
    assert _rates(db, tenant_a.prime) == [(month, "USD", D("1234.567891"))]
    assert _rates(db, tenant_b.prime) == [(month, "USD", D("999"))]


def test_the_settings_menu_links_the_page_for_a_prime_admin_only(client, db, tenant_a):
    sign_in(client, tenant_a.users["prime:admin"])
    assert URL in client.get("/settings/account").get_data(as_text=True)
    sign_in(client, tenant_a.users["supplier:admin"])
    assert URL not in client.get("/settings/account").get_data(as_text=True)
