"""The admin home page: members, tokens, workers; on a supplier, the stock no customer has promised to buy.

A supplier admin sees its risk across customers first: the ledger's excess (units on hand beyond what orders,
firm forecasts and authorizations guarantee) and its exposure, by prime, and by the supplier's own part
number. Exposure is in each relationship's currency; figures across relationships are in KRW, converted with the
rates each prime keeps for the month, or shown per currency when a rate is missing (cogrow.money).
One physical part sold to two primes under two prime part numbers is one row: items join on
`supplier_part_number`; an item without one stands alone. Each figure is one grouped query (bounded statements).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select

from cogrow.accounts import services as accounts
from cogrow.accounts.models import Organisation
from cogrow.catalog import services as catalog
from cogrow.catalog.models import Item
from cogrow.core import services
from cogrow.coverage.models import CoverageLedger
from cogrow.extensions import db
from cogrow.home.procurement import amount, per_currency_text, raw, show_datetime, won
from cogrow.money import services as money
from cogrow.relationships import services as relationships
from cogrow.relationships.models import SupplyRelationship

PART_ROWS = 20
ZERO = Decimal("0")


@dataclass(frozen=True)
class PrimeRisk:
    prime_id: int
    prime: str
    relationship_ids: tuple[int, ...]
    excess: Decimal
    exposure: Decimal | None  # in KRW; None when an amount in it has no rate this month
    items_at_risk: int
    per_currency: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class PartLine:
    """One item of a part: the prime it is sold to, under which prime part number."""

    relationship_id: int
    item_id: int
    prime_id: int
    prime: str
    prime_part_number: str
    excess: Decimal
    exposure: Decimal  # in `currency`, the relationship's
    currency: str = "KRW"
    exposure_krw: Decimal | None = None


@dataclass
class PartRisk:
    supplier_part_number: str | None  # None: an item without one, standing alone
    excess: Decimal
    exposure: Decimal | None  # in KRW; None when an amount in it has no rate this month
    primes: int
    lines: list[PartLine] = field(default_factory=list)

    def exposure_for(self, prime_id: int) -> Decimal | None:
        """The part's exposure with one prime, in KRW (None: no line with that prime, or one without a rate)."""
        values = [line.exposure_krw for line in self.lines if line.prime_id == prime_id]
        return None if not values or None in values else sum(values, ZERO)

    @property
    def per_currency(self) -> dict[str, Decimal]:
        return money.per_currency_sums((line.currency, line.exposure) for line in self.lines)


def _rates(organisation_id: int) -> dict[int, dict[str, Decimal]]:
    """This month's rates of each of the supplier's customers."""
    primes = db.session.scalars(select(SupplyRelationship.prime_id)
                                .where(SupplyRelationship.supplier_id == organisation_id))
    return money.rates_for_primes(primes, money.current_month())


def risk_by_prime(organisation_id: int, rates: dict[int, dict[str, Decimal]] | None = None) -> list[PrimeRisk]:
    """Excess units and exposure per customer (prime), largest exposure in KRW first (with the prime's own rates;
    those without one after); customers without risk included."""
    led = CoverageLedger
    rates = rates if rates is not None else _rates(organisation_id)
    rows = db.session.execute(
        select(Organisation.id, Organisation.name, SupplyRelationship.id, SupplyRelationship.currency,
               func.coalesce(func.sum(led.excess), 0), func.coalesce(func.sum(led.exposure_amount), 0),
               func.count(case((led.excess > 0, 1))))
        .select_from(SupplyRelationship)
        .join(Organisation, Organisation.id == SupplyRelationship.prime_id)
        .outerjoin(led, led.relationship_id == SupplyRelationship.id)
        .where(SupplyRelationship.supplier_id == organisation_id)
        .group_by(Organisation.id, Organisation.name, SupplyRelationship.id, SupplyRelationship.currency)).all()
    by_prime: dict[int, dict] = {}
    for prime_id, name, rel_id, currency, excess, exposure, n in rows:
        entry = by_prime.setdefault(prime_id, {"name": name, "rels": [], "excess": ZERO, "amounts": [], "n": 0})
        entry["rels"].append(rel_id)
        entry["excess"] += Decimal(excess)
        entry["amounts"].append((currency, Decimal(exposure)))
        entry["n"] += int(n)
    out = []
    for pid, e in by_prime.items():
        krw, per_currency = money.convert(e["amounts"], rates.get(pid, {money.BASE: Decimal(1)}))
        out.append(PrimeRisk(pid, e["name"], tuple(sorted(e["rels"])), e["excess"], krw, e["n"], per_currency))
    return sorted(out, key=lambda p: (p.exposure is None, -(p.exposure or ZERO), -p.excess, p.prime))


def risk_by_part(organisation_id: int, limit: int = PART_ROWS,
                 rates: dict[int, dict[str, Decimal]] | None = None) -> list[PartRisk]:
    """Excess and exposure per supplier part number across primes, largest exposure in KRW first (those with
    excess; a part with an amount in a currency without a rate after the others).

    Two statements whatever the data: the grouped top `limit` parts, then the items of those parts.
    """
    led = CoverageLedger
    spn = Item.supplier_part_number
    rates = rates if rates is not None else _rates(organisation_id)
    # Items without a supplier part number group on their own id; the others share a NULL there.
    alone = case((spn.is_(None), Item.id), else_=None)
    rate, on, krw, missing = money.krw_value_sql(led.exposure_amount, led.currency, SupplyRelationship.prime_id,
                                                 money.current_month())
    krw_sum = case((func.sum(missing) > 0, None), else_=func.sum(krw))
    grouped = db.session.execute(
        select(spn, alone, func.sum(led.excess), krw_sum,
               func.count(func.distinct(SupplyRelationship.prime_id)))
        .select_from(led)
        .join(Item, Item.id == led.item_id)
        .join(SupplyRelationship, SupplyRelationship.id == led.relationship_id)
        .outerjoin(rate, on)
        .where(SupplyRelationship.supplier_id == organisation_id)
        .group_by(spn, alone)
        .having(func.sum(led.excess) > 0)
        .order_by(krw_sum.desc().nulls_last(), func.sum(led.excess).desc(), spn, alone)
        .limit(limit)).all()
    if not grouped:
        return []
    parts = {}
    for number, item_id, excess, exposure, primes in grouped:
        parts[(number, item_id)] = PartRisk(number, Decimal(excess), None if exposure is None else Decimal(exposure),
                                            int(primes))
    numbers = [number for number, _ in parts if number is not None]
    lone_ids = [item_id for number, item_id in parts if number is None]
    wanted = []
    if numbers:
        wanted.append(spn.in_(numbers))
    if lone_ids:
        wanted.append(and_(spn.is_(None), Item.id.in_(lone_ids)))
    lines = db.session.execute(
        select(spn, Item.id, SupplyRelationship.id, Organisation.id, Organisation.name, Item.prime_part_number,
               led.excess, led.exposure_amount, led.currency)
        .select_from(led)
        .join(Item, Item.id == led.item_id)
        .join(SupplyRelationship, SupplyRelationship.id == led.relationship_id)
        .join(Organisation, Organisation.id == SupplyRelationship.prime_id)
        .where(SupplyRelationship.supplier_id == organisation_id, or_(*wanted) if len(wanted) > 1 else wanted[0])
        .order_by(Organisation.name, Item.prime_part_number, Item.id)).all()
    for number, item_id, rel_id, prime_id, prime, ppn, excess, exposure, currency in lines:
        key = (number, None) if number is not None else (None, item_id)
        if key in parts:
            exposure = Decimal(exposure)
            parts[key].lines.append(PartLine(rel_id, item_id, prime_id, prime, ppn, Decimal(excess), exposure, currency,
                                             money.to_krw(exposure, currency, rates.get(prime_id, {}))))
    return list(parts.values())


def supplier_risk(organisation_id: int) -> dict:
    rates = _rates(organisation_id)
    primes = risk_by_prime(organisation_id, rates)
    parts = risk_by_part(organisation_id, rates=rates)
    # The primes that appear in the part chart, in the order of the prime view: one stacked series each.
    seen = {line.prime_id for part in parts for line in part.lines}
    unconverted = any(p.exposure is None for p in primes)
    per_currency = money.per_currency_sums((c, a) for p in primes for c, a in p.per_currency.items())
    return {"risk_primes": primes, "risk_parts": parts,
            "part_primes": [p for p in primes if p.prime_id in seen],
            "risk_total_excess": sum((p.excess for p in primes), ZERO),
            # KRW, or None when an amount has no rate this month: then the per-currency sums are shown instead.
            "risk_total_exposure": None if unconverted else sum((p.exposure for p in primes), ZERO),
            "risk_total_per_currency": per_currency,
            "risk_month": money.current_month(),
            "risk_converted": not unconverted and any(c != money.BASE for c in per_currency)}


def context(actor) -> dict:
    data = {"relationships": relationships.list_relationships(actor),
            "item_counts": catalog.count_items_by_relationship(actor),
            "members": accounts.list_members(actor),
            "tokens": [t for t in accounts.list_tokens(actor) if t.revoked_at is None],
            "heartbeats": services.heartbeats(), "show_datetime": show_datetime, "won": won, "raw": raw,
            "amount": amount, "per_currency_text": per_currency_text}
    if actor.is_supplier:
        data.update(supplier_risk(actor.organisation_id))
    return data


__all__ = ["context", "risk_by_prime", "risk_by_part", "supplier_risk"]
