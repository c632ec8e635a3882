"""Home totals across a KRW and a USD relationship: in KRW with the month's rate, per currency without one."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from cogrow.core.weeks import iso_label
from cogrow.money.models import FxRate
from cogrow.money.services import current_month
from tests import factories as f
from tests.conftest import sign_in
from tests.coverage.builders import CW
from tests.home.prime_network import compute, roll_up, snapshot, stocked_item, user

D = Decimal
NBSP = "\u00a0"


def _prime_with_two_currencies(db):
    prime = f.OrganisationFactory(kind="prime", name="Two Currencies")
    buyer = user(prime, "procurement")
    krw = f.RelationshipFactory(prime=prime, supplier=f.OrganisationFactory(kind="supplier", name="Won Supplier"))
    usd = f.RelationshipFactory(prime=prime, currency="USD",
                                supplier=f.OrganisationFactory(kind="supplier", name="Dollar Supplier"))
    a = stocked_item(krw, fg=10, price=1000)  # ₩10,000
    b = stocked_item(usd, fg=100, price="2.5", currency="USD")  # USD 250
    compute(krw, [a])
    compute(usd, [b])
    snapshot(a, 1, 8000)
    snapshot(b, 1, 200)
    db.session.flush()
    roll_up()
    db.session.commit()
    return prime, buyer


def _home(client, who) -> str:
    sign_in(client, who)
    response = client.get("/home", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _trend(html) -> dict:
    rows = re.findall(r'<th scope="row" data-x="([^"]+)">[^<]*</th>\s*<td class="num[^"]*" data-value="([^"]*)"', html)
    return dict(rows[:13])


def test_procurement_total_converts_usd_with_the_months_rate(client, db):
    prime, buyer = _prime_with_two_currencies(db)
    db.session.add(FxRate(prime_id=prime.id, month=current_month(), currency="USD", krw_per_unit=D("1400")))
    last_week_month = (CW - timedelta(weeks=1)).replace(day=1)
    if last_week_month != current_month():
        db.session.add(FxRate(prime_id=prime.id, month=last_week_month, currency="USD", krw_per_unit=D("1300")))
    db.session.commit()
    html = _home(client, buyer)
    assert 'data-test="total-exposure" data-value="360000"' in html  # 10,000 + 250 × 1,400
    assert 'data-test="total-converted"' in html
    trend = _trend(html)
    assert trend[iso_label(CW)] == "360000"
    last_month_rate = 1400 if last_week_month == current_month() else 1300  # a past week: its Monday's month
    assert trend[iso_label(CW - timedelta(weeks=1))] == str(8000 + 200 * last_month_rate)
    # The supplier table keeps each amount in its own currency, beside its value in KRW.
    assert re.search(r'data-value="350000" data-amount="250" data-currency="USD" data-test="supplier-exposure">USD'
                     + NBSP + r'250\.00', html)


def test_procurement_total_without_a_rate_is_shown_per_currency_never_summed(client, db):
    prime, buyer = _prime_with_two_currencies(db)
    other = f.OrganisationFactory(kind="prime")  # another prime's rate does not count
    db.session.add(FxRate(prime_id=other.id, month=current_month(), currency="USD", krw_per_unit=D("1400")))
    db.session.commit()
    html = _home(client, buyer)
    assert 'data-test="total-exposure" data-value=""' in html
    assert f'data-test="total-per-currency">₩10,000 + USD{NBSP}250.00<' in html
    assert 'data-test="total-unconverted"' in html and "USD" in html
    assert "10250" not in html and "₩10,250" not in html  # never added up as if it were won
    trend = _trend(html)
    assert trend[iso_label(CW)] == "" and trend[iso_label(CW - timedelta(weeks=1))] == ""
    assert f"₩8,000 + USD{NBSP}200.00" in html  # last week's sums, per currency
    assert 'data-test="suppliers-unconverted"' in html


def _supplier_with_two_customers(db):
    supplier = f.OrganisationFactory(kind="supplier", name="Seller")
    admin = user(supplier, "admin")
    won_prime = f.OrganisationFactory(kind="prime", name="Won Prime")
    dollar_prime = f.OrganisationFactory(kind="prime", name="Dollar Prime")
    krw = f.RelationshipFactory(prime=won_prime, supplier=supplier)
    usd = f.RelationshipFactory(prime=dollar_prime, supplier=supplier, currency="USD")
    a = stocked_item(krw, fg=10, price=1000, supplier_part_number="SUP-1")
    b = stocked_item(usd, fg=100, price="2.5", currency="USD", supplier_part_number="SUP-1")
    compute(krw, [a])
    compute(usd, [b])
    db.session.commit()
    return admin, won_prime, dollar_prime


def test_supplier_admin_total_converts_with_each_customers_own_rate(client, db):
    admin, won_prime, dollar_prime = _supplier_with_two_customers(db)
    db.session.add(FxRate(prime_id=won_prime.id, month=current_month(), currency="USD", krw_per_unit=D("1")))
    db.session.commit()
    html = _home(client, admin)
    # The dollar customer keeps no rate: the won customer's USD rate is not borrowed.
    assert 'data-test="risk-exposure" data-value=""' in html
    assert f'data-test="risk-per-currency">₩10,000 + USD{NBSP}250.00<' in html
    assert f'data-test="part-exposure">₩10,000 + USD{NBSP}250.00<' in html
    db.session.add(FxRate(prime_id=dollar_prime.id, month=current_month(), currency="USD", krw_per_unit=D("1400")))
    db.session.commit()
    html = _home(client, admin)
    assert 'data-test="risk-exposure" data-value="360000"' in html
    assert 'data-test="part-exposure">₩360,000<' in html
