"""Exchange rates and totals across currencies.

Amounts are kept in their own currency (an item's price currency, its relationship's). A total across
relationships is shown in KRW only when the prime has set a rate, for the month the total is about, for every
other currency in it; otherwise it is shown per currency and never summed as if it were KRW.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import select

from cogrow.core import audit
from cogrow.core.auth import Actor
from cogrow.core.errors import Forbidden, ValidationFailed
from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.extensions import db
from cogrow.money.models import FxRate

BASE = "KRW"
# The currencies a relationship may trade in (relationships.schemas.CURRENCIES); every one but KRW takes a rate.
CURRENCIES = ("KRW", "USD", "EUR", "JPY", "CNY")
FOREIGN = tuple(c for c in CURRENCIES if c != BASE)
MAX_RATE = Decimal("1e9")


def month_of(day: date | datetime) -> date:
    """The first day of the month that `day` falls in."""
    if isinstance(day, datetime):
        day = day.date()
    return day.replace(day=1)


def current_month(now: datetime | None = None) -> date:
    """The month of the business day (Asia/Seoul), as the rates are kept."""
    return month_of(local_today(now or utcnow()))


class Totals(NamedTuple):
    """A total across currencies: `krw_total` is None when a currency in it has no rate for the month."""

    krw_total: Decimal | None
    per_currency: dict[str, Decimal]


def rates_for(prime_id: int, month: date) -> dict[str, Decimal]:
    """{currency: KRW per unit} set by the prime for the month (KRW itself is 1)."""
    rows = db.session.execute(select(FxRate.currency, FxRate.krw_per_unit)
                              .where(FxRate.prime_id == prime_id, FxRate.month == month_of(month))).all()
    return {BASE: Decimal(1), **{currency: Decimal(rate) for currency, rate in rows}}


def rates_by_month(prime_id: int, months: Iterable[date]) -> dict[date, dict[str, Decimal]]:
    """{month: {currency: KRW per unit}} for several months in one query (every month present, KRW at 1)."""
    wanted = sorted({month_of(m) for m in months})
    out: dict[date, dict[str, Decimal]] = {m: {BASE: Decimal(1)} for m in wanted}
    if wanted:
        rows = db.session.execute(select(FxRate.month, FxRate.currency, FxRate.krw_per_unit)
                                  .where(FxRate.prime_id == prime_id, FxRate.month.in_(wanted))).all()
        for month, currency, rate in rows:
            out[month][currency] = Decimal(rate)
    return out


def rates_for_primes(prime_ids: Iterable[int], month: date) -> dict[int, dict[str, Decimal]]:
    """{prime id: {currency: KRW per unit}} for one month, in one query (a supplier's customers each keep theirs)."""
    ids = sorted(set(prime_ids))
    out: dict[int, dict[str, Decimal]] = {p: {BASE: Decimal(1)} for p in ids}
    if ids:
        rows = db.session.execute(select(FxRate.prime_id, FxRate.currency, FxRate.krw_per_unit)
                                  .where(FxRate.prime_id.in_(ids), FxRate.month == month_of(month))).all()
        for prime_id, currency, rate in rows:
            out[prime_id][currency] = Decimal(rate)
    return out


def to_krw(amount: Decimal, currency: str, rates: Mapping[str, Decimal]) -> Decimal | None:
    """One amount in KRW with these rates; None when its currency has none (a zero amount is 0 in any currency)."""
    if currency == BASE:
        return amount
    if currency in rates:
        return amount * rates[currency]
    return Decimal(0) if amount == 0 else None


def per_currency_sums(amounts_by_currency: Mapping[str, Decimal] | Iterable[tuple[str, Any]]) -> dict[str, Decimal]:
    """Each currency's own sum, zero sums left out, KRW first and then by code."""
    items = amounts_by_currency.items() if isinstance(amounts_by_currency, Mapping) else amounts_by_currency
    sums: dict[str, Decimal] = {}
    for currency, amount in items:
        if amount is None:
            continue
        code = (currency or BASE).upper()
        sums[code] = sums.get(code, Decimal(0)) + Decimal(amount)
    return {c: a for c, a in sorted(sums.items(), key=lambda ca: (ca[0] != BASE, ca[0])) if a != 0}


def convert(amounts_by_currency, rates: Mapping[str, Decimal]) -> Totals:
    """convert_totals with the rates already read: (KRW total or None when a rate is missing, per currency)."""
    per_currency = per_currency_sums(amounts_by_currency)
    if any(c != BASE and c not in rates for c in per_currency):
        return Totals(None, per_currency)
    return Totals(sum((a * (Decimal(1) if c == BASE else rates[c]) for c, a in per_currency.items()), Decimal(0)),
                  per_currency)


def convert_totals(prime_id: int, month: date, amounts_by_currency: Mapping[str, Decimal] | Iterable[tuple[str, Any]]
                   ) -> Totals:
    """Sum amounts of several currencies into KRW with the prime's rates of `month`.

    Returns (krw_total, per_currency): per_currency holds each currency's own sum (zero sums left out, KRW first);
    krw_total is None when any currency with a non-zero amount has no rate for that month. Only KRW needs no rate.
    """
    per_currency = per_currency_sums(amounts_by_currency)
    if set(per_currency) <= {BASE}:
        return Totals(per_currency.get(BASE, Decimal(0)), per_currency)
    return convert(per_currency, rates_for(prime_id, month))


def total_view(totals: Totals, rates: Mapping[str, Decimal], month: date) -> dict[str, Any]:
    """What a page shows of a total: the KRW figure, or the per-currency sums and the rates that are missing."""
    krw_total, per_currency = totals
    return {"krw": krw_total, "per_currency": per_currency, "month": month_of(month),
            "missing": [] if krw_total is not None else [c for c in per_currency if c != BASE and c not in rates],
            "converted": krw_total is not None and any(c != BASE for c in per_currency)}


def totals_view(prime_id: int, month: date, amounts_by_currency) -> dict[str, Any]:
    """convert_totals, shaped for a page (see total_view)."""
    rates = rates_for(prime_id, month)
    return total_view(convert(amounts_by_currency, rates), rates, month)


def krw_value_sql(amount, currency, prime_id, month: date):
    """For a grouped query: (an FxRate alias to outer-join, its ON clause, the amount in KRW or NULL without a
    rate, 1 where a non-zero amount has no rate else 0). SUM skips NULLs, so a caller sums the last expression
    too and treats its KRW sum as unknown when that is above 0."""
    from sqlalchemy import and_, case
    from sqlalchemy.orm import aliased

    rate = aliased(FxRate)
    on = and_(rate.prime_id == prime_id, rate.month == month_of(month), rate.currency == currency)
    value = case((currency == BASE, amount), else_=amount * rate.krw_per_unit)
    missing = case((and_(currency != BASE, rate.krw_per_unit.is_(None), amount != 0), 1), else_=0)
    return rate, on, value, missing


# ---------------------------------------------------------------------------------------------------------------
# The prime's rate table.

def _check_prime_admin(actor: Actor) -> None:
    if not actor.is_prime or actor.role != "admin":
        raise Forbidden(_("Only a prime's administrator maintains exchange rates."))


def list_rates(actor: Actor, limit: int = 240) -> list[FxRate]:
    """The actor's organisation's rates, the latest month first."""
    _check_prime_admin(actor)
    return list(db.session.scalars(select(FxRate).where(FxRate.prime_id == actor.organisation_id)
                                   .order_by(FxRate.month.desc(), FxRate.currency).limit(limit)))


def set_rate(actor: Actor, month: date, currency: str, krw_per_unit: Decimal) -> FxRate:
    """Set (or replace) the prime's rate of one currency for one month."""
    _check_prime_admin(actor)
    if currency not in FOREIGN:
        raise ValidationFailed("Not a currency that takes a rate.",
                               fields={"currency": _("Choose one of the options.")})
    if krw_per_unit is None or not (0 < krw_per_unit < MAX_RATE):
        raise ValidationFailed("A rate is a positive number.", fields={"krw_per_unit": _("Must be more than 0.")})
    month = month_of(month)
    rate = db.session.scalar(select(FxRate).where(FxRate.prime_id == actor.organisation_id, FxRate.month == month,
                                                  FxRate.currency == currency))
    before = None
    if rate is None:
        rate = FxRate(prime_id=actor.organisation_id, month=month, currency=currency, krw_per_unit=krw_per_unit)
        db.session.add(rate)
    else:
        before = str(rate.krw_per_unit)
        rate.krw_per_unit = krw_per_unit
    rate.updated_at, rate.updated_by_id = utcnow(), actor.user_id
    db.session.flush()
    audit.record(actor, "fx_rate.set", rate, detail={"month": month.isoformat(), "currency": currency,
                                                     "krw_per_unit": str(krw_per_unit), "before": before})
    db.session.commit()
    return rate
