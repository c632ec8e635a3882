"""What the API answers for the liability statement."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema

from cogrow.core.errors import BadRequest
from cogrow.core.schema import Amount, Date, Moment, Query, Quantity, Resource, SignedQuantity, refuse
from cogrow.liability import services


def _month(value: Any) -> str:
    if not isinstance(value, str):
        raise refuse("Give a month as YYYY-MM.")
    try:
        return services.parse_month(value).label
    except BadRequest as exc:
        raise refuse(exc.fields["month"]) from None


class StatementQuery(Query):
    month: Annotated[str | None, PlainValidator(_month),
                     WithJsonSchema({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$",
                                     "description": "YYYY-MM, not after the current month; default the current month."})] = None


class LiabilityItem(Resource):
    """One item's terms and its liability (amounts in the statement's currency)."""

    item_id: int
    part_number: str
    cum_start_date: Date | None
    fab_authorized: Quantity
    raw_authorized: Quantity
    cum_shipped: Quantity
    open_po: Quantity
    firm_forecast: Quantity
    firm_uncovered: Quantity
    guaranteed: Quantity
    unit_price: Amount
    finished_units: Quantity
    raw_units: Quantity
    finished_amount: Amount
    raw_amount: Amount
    amount: Amount


class LiabilityRecord(Resource):
    """A dated record of the month: a PO move (from the audit log), a shipment sent or received."""

    at: Moment | Date
    kind: str
    document: str
    state: str
    quantity: SignedQuantity | None
    note: str


class LiabilityStatement(Resource):
    """The statement of a relationship for a month, as of the month's end (or now for the current month).
    `sha256` is the hash of the canonical serialization of the input rows (see the README)."""

    relationship_id: int
    month: str
    as_of: Moment
    as_of_date: Date
    current: bool
    currency: str
    material_share: Quantity
    forecast_version: int | None
    finished_amount: Amount
    raw_amount: Amount
    total_amount: Amount
    sha256: str
    items: list[LiabilityItem]
    records: list[LiabilityRecord]


def statement_of(statement: services.Statement) -> LiabilityStatement:
    return LiabilityStatement(
        relationship_id=statement.relationship.id, month=statement.month.label, as_of=statement.as_of,
        as_of_date=statement.as_of_day, current=statement.current, currency=statement.currency,
        material_share=statement.material_share,
        forecast_version=statement.publication["version_no"] if statement.publication else None,
        finished_amount=statement.finished_total, raw_amount=statement.raw_total, total_amount=statement.total,
        sha256=statement.sha256,
        items=[LiabilityItem(item_id=line.item_id, part_number=line.part_number, cum_start_date=line.cum_start_date,
                             fab_authorized=line.fab_authorized, raw_authorized=line.raw_authorized,
                             cum_shipped=line.cum_shipped, open_po=line.open_po, firm_forecast=line.firm_forecast,
                             firm_uncovered=line.firm_uncovered, guaranteed=line.guaranteed,
                             unit_price=line.unit_price, finished_units=line.liability.finished_units,
                             raw_units=line.liability.raw_units, finished_amount=line.liability.finished_amount,
                             raw_amount=line.liability.raw_amount, amount=line.amount)
               for line in statement.items],
        records=[LiabilityRecord(at=r["at"], kind=r["kind"], document=r["document"], state=r["state"],
                                 quantity=r["quantity"], note=r["note"]) for r in statement.records])
