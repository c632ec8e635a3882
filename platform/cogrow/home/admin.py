"""The admin home page: members, tokens, workers; on a supplier, the stock no customer has promised to buy.

A supplier admin sees its risk across customers first: the ledger's excess (units on hand beyond what orders,
firm forecasts and authorizations guarantee) and its exposure in won, by prime, and by the supplier's own part
number. One physical part sold to two primes under two prime part numbers is one row: items join on
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
from cogrow.home.procurement import raw, show_datetime, won
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
    exposure: Decimal
    items_at_risk: int


@dataclass(frozen=True)
class PartLine:
    """One item of a part: the prime it is sold to, under which prime part number."""

    relationship_id: int
    item_id: int
    prime_id: int
    prime: str
    prime_part_number: str
    excess: Decimal
    exposure: Decimal


@dataclass
class PartRisk:
    supplier_part_number: str | None  # None: an item without one, standing alone
    excess: Decimal
    exposure: Decimal
    primes: int
    lines: list[PartLine] = field(default_factory=list)

    def exposure_for(self, prime_id: int) -> Decimal | None:
        values = [line.exposure for line in self.lines if line.prime_id == prime_id]
        return sum(values, ZERO) if values else None


def risk_by_prime(organisation_id: int) -> list[PrimeRisk]:
    """Excess units and exposure per customer (prime), largest exposure first; customers without risk included."""
    led = CoverageLedger
    rows = db.session.execute(
        select(Organisation.id, Organisation.name, SupplyRelationship.id,
               func.coalesce(func.sum(led.excess), 0), func.coalesce(func.sum(led.exposure_krw), 0),
               func.count(case((led.excess > 0, 1))))
        .select_from(SupplyRelationship)
        .join(Organisation, Organisation.id == SupplyRelationship.prime_id)
        .outerjoin(led, led.relationship_id == SupplyRelationship.id)
        .where(SupplyRelationship.supplier_id == organisation_id)
        .group_by(Organisation.id, Organisation.name, SupplyRelationship.id)).all()
    by_prime: dict[int, dict] = {}
    for prime_id, name, rel_id, excess, exposure, n in rows:
        entry = by_prime.setdefault(prime_id, {"name": name, "rels": [], "excess": ZERO, "exposure": ZERO, "n": 0})
        entry["rels"].append(rel_id)
        entry["excess"] += Decimal(excess)
        entry["exposure"] += Decimal(exposure)
        entry["n"] += int(n)
    out = [PrimeRisk(pid, e["name"], tuple(sorted(e["rels"])), e["excess"], e["exposure"], e["n"])
           for pid, e in by_prime.items()]
    return sorted(out, key=lambda p: (-p.exposure, -p.excess, p.prime))


def risk_by_part(organisation_id: int, limit: int = PART_ROWS) -> list[PartRisk]:
    """Excess and exposure per supplier part number across primes, largest exposure first (those with excess).

    Two statements whatever the data: the grouped top `limit` parts, then the items of those parts.
    """
    led = CoverageLedger
    spn = Item.supplier_part_number
    # Items without a supplier part number group on their own id; the others share a NULL there.
    alone = case((spn.is_(None), Item.id), else_=None)
    grouped = db.session.execute(
        select(spn, alone, func.sum(led.excess), func.sum(led.exposure_krw),
               func.count(func.distinct(SupplyRelationship.prime_id)))
        .select_from(led)
        .join(Item, Item.id == led.item_id)
        .join(SupplyRelationship, SupplyRelationship.id == led.relationship_id)
        .where(SupplyRelationship.supplier_id == organisation_id)
        .group_by(spn, alone)
        .having(func.sum(led.excess) > 0)
        .order_by(func.sum(led.exposure_krw).desc(), func.sum(led.excess).desc(), spn, alone)
        .limit(limit)).all()
    if not grouped:
        return []
    parts = {}
    for number, item_id, excess, exposure, primes in grouped:
        parts[(number, item_id)] = PartRisk(number, Decimal(excess), Decimal(exposure), int(primes))
    numbers = [number for number, _ in parts if number is not None]
    lone_ids = [item_id for number, item_id in parts if number is None]
    wanted = []
    if numbers:
        wanted.append(spn.in_(numbers))
    if lone_ids:
        wanted.append(and_(spn.is_(None), Item.id.in_(lone_ids)))
    lines = db.session.execute(
        select(spn, Item.id, SupplyRelationship.id, Organisation.id, Organisation.name, Item.prime_part_number,
               led.excess, led.exposure_krw)
        .select_from(led)
        .join(Item, Item.id == led.item_id)
        .join(SupplyRelationship, SupplyRelationship.id == led.relationship_id)
        .join(Organisation, Organisation.id == SupplyRelationship.prime_id)
        .where(SupplyRelationship.supplier_id == organisation_id, or_(*wanted) if len(wanted) > 1 else wanted[0])
        .order_by(Organisation.name, Item.prime_part_number, Item.id)).all()
    for number, item_id, rel_id, prime_id, prime, ppn, excess, exposure in lines:
        key = (number, None) if number is not None else (None, item_id)
        if key in parts:
            parts[key].lines.append(PartLine(rel_id, item_id, prime_id, prime, ppn, Decimal(excess), Decimal(exposure)))
    return list(parts.values())


def supplier_risk(organisation_id: int) -> dict:
    primes = risk_by_prime(organisation_id)
    parts = risk_by_part(organisation_id)
    # The primes that appear in the part chart, in the order of the prime view: one stacked series each.
    seen = {line.prime_id for part in parts for line in part.lines}
    return {"risk_primes": primes, "risk_parts": parts,
            "part_primes": [p for p in primes if p.prime_id in seen],
            "risk_total_excess": sum((p.excess for p in primes), ZERO),
            "risk_total_exposure": sum((p.exposure for p in primes), ZERO)}


def context(actor) -> dict:
    data = {"relationships": relationships.list_relationships(actor),
            "item_counts": catalog.count_items_by_relationship(actor),
            "members": accounts.list_members(actor),
            "tokens": [t for t in accounts.list_tokens(actor) if t.revoked_at is None],
            "heartbeats": services.heartbeats(), "show_datetime": show_datetime, "won": won, "raw": raw}
    if actor.is_supplier:
        data.update(supplier_risk(actor.organisation_id))
    return data


__all__ = ["context", "risk_by_prime", "risk_by_part", "supplier_risk"]
