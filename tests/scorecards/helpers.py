"""Builders for the scorecard tests: rows written directly (POs, ASNs, commits, authorizations), dates from the
frozen business day."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.extensions import db
from cogrow.forecasts.models import ForecastCommit
from cogrow.scorecards import services
from cogrow.scorecards.periods import month_of, span
from cogrow.shipments.models import Shipment, ShipmentLine
from tests import factories as f

_numbers = iter(range(1, 10**6))


def today() -> date:
    return local_today()


def months_through(*days: date):
    """The months from the earliest of `days` to this month."""
    return span(month_of(min(*days, today())), month_of(today()))


def po_line(tenant, due: date, quantity: str = "100", status: str = "issued", **po_fields):
    po = f.PurchaseOrderFactory(supply_relationship=tenant.relationship, status=status, **po_fields)
    line = f.PurchaseOrderLineFactory(purchase_order=po, item=tenant.item, line_no=1, quantity=Decimal(quantity),
                                      due_date=due)
    db.session.flush()
    return line


def ship(tenant, line, quantity: str, on: date, *, status: str = "shipped", received: str | None = None,
         received_at: datetime | None = None) -> ShipmentLine:
    shipment = Shipment(relationship_id=tenant.relationship.id, number=f"ASN-T{next(_numbers)}", ship_date=on,
                        status=status, received_at=received_at)
    db.session.add(shipment)
    db.session.flush()
    row = ShipmentLine(shipment_id=shipment.id, relationship_id=tenant.relationship.id, po_line_id=line.id,
                       item_id=line.item_id, ship_date=on, quantity_shipped=Decimal(quantity),
                       quantity_received=Decimal(received) if received is not None else None)
    db.session.add(row)
    db.session.flush()
    return row


def commit(tenant, publication, week: date, quantity: str, item=None):
    item = item or tenant.item
    bucket = f.BucketFactory(publication=publication, item=item, week_start=week, quantity=Decimal(quantity))
    row = ForecastCommit(bucket_id=bucket.id, publication_id=publication.id, relationship_id=tenant.relationship.id,
                         item_id=item.id, week_start=week, quantity=Decimal(quantity))
    db.session.add(row)
    db.session.flush()
    return row


def figure(tenant, key: str, month, months=None):
    months = months or [month]
    figs = services.figures([tenant.relationship.id], months, today(), utcnow(), keys=[key])[key]
    return figs.get((tenant.relationship.id, month.label))


def rows(tenant, key: str, months):
    return services.measure_rows(tenant.relationship.id, services.MEASURES[key], months, today(), utcnow())
