"""JSON API for production: reports, positions, production lines and machine readings (on /api/v1)."""
from __future__ import annotations

from typing import Any

from flask import Response, g, request

from cogrow.core.api import bp, etag, guard_path, operation, page_of
from cogrow.core.auth import requires
from cogrow.core.idempotency import idempotent
from cogrow.core.schema import PageQuery
from cogrow.production import models, services
from cogrow.production.schemas import (MachineReading, MachineReadingBatch, MachineReadingsRecorded, PlannedWeek,
                                       ProductionLine, ProductionLineChange, ProductionLineCreate, ProductionLineList,
                                       ProductionPosition, ProductionReport, ProductionReportBatchCreate,
                                       ProductionReportCreate, ProductionReportQuery, ProductionReportsCreated,
                                       report_values)

WRITERS = ("admin", "production")


def _line_of_this_relationship(actor: Any, line_ref: int | str) -> None:
    """The owner guard of <line_id> / <line_ref>: a bad body for a line the caller cannot see is a 404."""
    services.get_line(actor, (request.view_args or {})["relationship_id"], line_ref)


guard_path("line_id", _line_of_this_relationship)
guard_path("line_ref", _line_of_this_relationship)


def _report(report: models.ProductionReport | services.StoredReport) -> ProductionReport:
    return ProductionReport(
        id=report.id, relationship_id=report.relationship_id, item_id=report.item_id, as_of=report.as_of,
        good_qty=report.good_qty, scrap_qty=report.scrap_qty, wip_qty=report.wip_qty, fg_on_hand=report.fg_on_hand,
        raw_on_hand=report.raw_on_hand, plan=[PlannedWeek.of(p) for p in report.plan], source=report.source,
        note=report.note, received_at=report.received_at)


def _line(line: models.ProductionLine) -> tuple[ProductionLine, dict[str, str]]:
    return ProductionLine.model_validate(line), {"ETag": etag(line.version)}


# --- reports -----------------------------------------------------------------------------------------------

@bp.post("/relationships/<int:relationship_id>/production-reports")
@requires(*WRITERS, kind="supplier", api=True)
@idempotent
@operation("createProductionReport", tag="production", body=ProductionReportCreate, response=ProductionReport,
           status=201, links={"GetProductionPosition": {"operationId": "getProductionPosition", "parameters": {
               "relationship_id": "$request.path.relationship_id", "item_id": "$response.body#/item_id"}}})
def production_reports_create(relationship_id: int, body: ProductionReportCreate) -> ProductionReport:
    """Report an item's production and stock as of a time; the item's position follows the latest by `as_of`."""
    return _report(services.record_report(g.actor, relationship_id, report_values(body)))


@bp.post("/relationships/<int:relationship_id>/production-reports/batch")
@requires(*WRITERS, kind="supplier", api=True)
@idempotent
@operation("createProductionReportBatch", tag="production", body=ProductionReportBatchCreate,
           response=ProductionReportsCreated, status=201)
def production_reports_batch(relationship_id: int, body: ProductionReportBatchCreate) -> ProductionReportsCreated:
    """Report up to 1,000 reports at once: all are saved or none, and every bad entry is named."""
    ids = services.record_reports(g.actor, relationship_id, [report_values(r) for r in body.reports])
    return ProductionReportsCreated(created=len(ids), ids=ids)


@bp.get("/relationships/<int:relationship_id>/production-reports")
@requires(api=True)
@operation("listProductionReports", tag="production", query=ProductionReportQuery,
           response=page_of(ProductionReport))
def production_reports_index(relationship_id: int, query: ProductionReportQuery):
    """The relationship's reports (of one item with `item_id`), newest `as_of` first."""
    reports = services.list_reports(g.actor, relationship_id, item_id=query.item_id, limit=query.limit,
                                    offset=query.offset)
    return page_of(ProductionReport)(data=[_report(r) for r in reports], limit=query.limit, offset=query.offset)


@bp.get("/relationships/<int:relationship_id>/items/<int:item_id>/position")
@requires(api=True)
@operation("getProductionPosition", tag="production", response=ProductionPosition)
def production_position(relationship_id: int, item_id: int) -> ProductionPosition:
    """An item's current position, its planned output, and what its machines produced since."""
    data = services.get_position(g.actor, relationship_id, item_id)
    position: models.ItemPosition | None = data["position"]
    held: dict[str, Any] = {"report_id": None, "as_of": None, "good_qty": None, "scrap_qty": None, "wip_qty": None,
                            "fg_on_hand": None, "raw_on_hand": None}
    if position is not None:
        held = {name: getattr(position, name) for name in held}
    return ProductionPosition(item_id=data["item"].id, relationship_id=data["item"].relationship_id, **held,
                              plan=[PlannedWeek.of(p) for p in data["plan"]],
                              machine_produced_since_report=data["machine_produced_since_report"],
                              supply=data["supply"])


# --- production lines and readings -------------------------------------------------------------------------

@bp.get("/relationships/<int:relationship_id>/lines")
@requires(api=True)
@operation("listProductionLines", tag="production", response=ProductionLineList)
def production_lines_index(relationship_id: int) -> ProductionLineList:
    """The relationship's production lines, by code."""
    return ProductionLineList(data=[ProductionLine.model_validate(line)
                                    for line in services.list_lines(g.actor, relationship_id)])


@bp.post("/relationships/<int:relationship_id>/lines")
@requires(*WRITERS, kind="supplier", api=True)
@operation("createProductionLine", tag="production", body=ProductionLineCreate, response=ProductionLine,
           status=201, etag=True, links={"GetProductionLine": {"operationId": "getProductionLine", "parameters": {
               "relationship_id": "$request.path.relationship_id", "line_id": "$response.body#/id"}}})
def production_lines_create(relationship_id: int, body: ProductionLineCreate):
    """Add a production line; its machine counter readings then count into the item's supply."""
    values = body.model_dump(exclude_unset=True)
    if values.get("name") is None:
        values["name"] = ""
    return _line(services.create_line(g.actor, relationship_id, values))


@bp.get("/relationships/<int:relationship_id>/lines/<int:line_id>")
@requires(api=True)
@operation("getProductionLine", tag="production", response=ProductionLine, etag=True)
def production_lines_show(relationship_id: int, line_id: int):
    """One production line, with its version in the ETag."""
    return _line(services.get_line(g.actor, relationship_id, line_id))


@bp.patch("/relationships/<int:relationship_id>/lines/<int:line_id>")
@requires(*WRITERS, kind="supplier", api=True)
@operation("updateProductionLine", tag="production", body=ProductionLineChange, response=ProductionLine,
           etag=True, if_match=True)
def production_lines_update(relationship_id: int, line_id: int, body: ProductionLineChange, version: int):
    """Change a line's fields (If-Match: its ETag)."""
    services.get_line(g.actor, relationship_id, line_id)
    values = body.model_dump(exclude_unset=True)
    if "name" in values and values["name"] is None:
        values["name"] = ""
    return _line(services.update_line(g.actor, relationship_id, line_id, values, version))


@bp.post("/relationships/<int:relationship_id>/lines/<line_ref>/readings")
@requires(*WRITERS, kind="supplier", api=True)
@idempotent
@operation("recordMachineReadings", tag="production", body=MachineReadingBatch, response=MachineReadingsRecorded,
           status=201, also={200: MachineReadingsRecorded})
def production_readings_create(relationship_id: int, line_ref: str, body: MachineReadingBatch) -> Response:
    """Record a line's counter readings (by line id or code); 201 when any was new, 200 when all were known."""
    summary = services.record_readings(g.actor, relationship_id, line_ref,
                                       [(r.read_at, r.counter) for r in body.readings])
    answer = MachineReadingsRecorded(**summary)
    return Response(answer.model_dump_json(), status=201 if summary["accepted"] else 200,
                    mimetype="application/json")


@bp.get("/relationships/<int:relationship_id>/lines/<line_ref>/readings")
@requires(api=True)
@operation("listMachineReadings", tag="production", query=PageQuery, response=page_of(MachineReading))
def production_readings_index(relationship_id: int, line_ref: str, query: PageQuery):
    """A line's readings (by line id or code), newest first."""
    line = services.get_line(g.actor, relationship_id, line_ref)
    readings = services.list_readings(g.actor, relationship_id, line_id=line.id, limit=query.limit,
                                      offset=query.offset)
    return page_of(MachineReading)(data=[MachineReading.model_validate(r) for r in readings], limit=query.limit,
                                   offset=query.offset)
