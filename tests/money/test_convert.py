"""Totals across currencies: converted to KRW with the prime's rate of the month, or kept per currency."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from cogrow.money import services as money
from cogrow.money.models import FxRate
from tests import factories as f

D = Decimal


def _rate(db, prime, month, currency, value):
    db.session.add(FxRate(prime_id=prime.id, month=month, currency=currency, krw_per_unit=D(value)))
    db.session.flush()


def test_a_total_of_krw_and_usd_converts_with_the_months_rate(db):
    prime = f.OrganisationFactory(kind="prime")
    month = money.current_month()
    _rate(db, prime, month, "USD", "1400")
    krw, per_currency = money.convert_totals(prime.id, month, [("KRW", D(1_000_000)), ("USD", D("250.50"))])
    assert krw == D(1_000_000) + D("250.50") * 1400
    assert per_currency == {"KRW": D(1_000_000), "USD": D("250.50")}
    # Any day of the month picks the month's rate.
    assert money.convert_totals(prime.id, month.replace(day=17), {"USD": D(1)}).krw_total == D(1400)


def test_without_a_rate_the_total_stays_per_currency_never_summed(db):
    prime, other = f.OrganisationFactory(kind="prime"), f.OrganisationFactory(kind="prime")
    month = money.current_month()
    previous = money.month_of(date(month.year - 1, 12, 1) if month.month == 1 else month.replace(month=month.month - 1))
    _rate(db, prime, previous, "USD", "1300")  # last month's rate is not this month's
    _rate(db, other, month, "USD", "1400")  # another prime's rate is not this prime's
    krw, per_currency = money.convert_totals(prime.id, month, [("KRW", D(1_000_000)), ("USD", D(100)),
                                                                ("USD", D(50))])
    assert krw is None
    assert per_currency == {"KRW": D(1_000_000), "USD": D(150)}
    view = money.totals_view(prime.id, month, per_currency)
    assert view["krw"] is None and view["missing"] == ["USD"]


def test_krw_alone_needs_no_rate_and_zero_amounts_block_nothing(db):
    prime = f.OrganisationFactory(kind="prime")
    month = money.current_month()
    assert money.convert_totals(prime.id, month, {"KRW": D(5), "USD": D(0)}) == (D(5), {"KRW": D(5)})
    assert money.convert_totals(prime.id, month, {}) == (D(0), {})
