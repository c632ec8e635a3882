"""What the tenant-isolation walk needs to know about the exchange-rate page (it has no URL parameters)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from cogrow.money.models import FxRate
from cogrow.money.services import current_month

WALK_VALUES: dict = {}


def snapshot(db, tenant):
    """A denied or foreign request leaves the tenant's rates as they were (one is made first, to be watched)."""
    month = current_month()
    if db.session.scalar(select(FxRate.id).where(FxRate.prime_id == tenant.prime.id).limit(1)) is None:
        db.session.add(FxRate(prime_id=tenant.prime.id, month=month, currency="USD", krw_per_unit=Decimal("1390")))
        db.session.commit()
    return db.session.execute(select(FxRate.id, FxRate.month, FxRate.currency, FxRate.krw_per_unit)
                              .where(FxRate.prime_id == tenant.prime.id).order_by(FxRate.id)).all()
