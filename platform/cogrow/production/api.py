"""JSON API for production: reports, positions, production lines and machine readings (on /api/v1)."""
from __future__ import annotations

from flask import g, jsonify, request

from cogrow.core.api import bp, decimal_str, etag, json_body, page_args, required_version
from cogrow.core.auth import requires
from cogrow.core.errors import AppError, BadRequest
from cogrow.core.idempotency import idempotent
from cogrow.core.validation import parse_int
from cogrow.core.weeks import iso_label
from cogrow.production import schemas, services
from cogrow.production.models import ItemPosition, MachineReading, ProductionLine, ProductionReport
from cogrow.relationships import services as relationships

WRITERS = ("admin", "production")


def _time(value):
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def report_json(report: ProductionReport) -> dict:
    return {
        "id": report.id, "relationship_id": report.relationship_id, "item_id": report.item_id,
        "as_of": _time(report.as_of), "good_qty": decimal_str(report.good_qty),
        "scrap_qty": decimal_str(report.scrap_qty), "wip_qty": decimal_str(report.wip_qty),
        "fg_on_hand": decimal_str(report.fg_on_hand), "raw_on_hand": decimal_str(report.raw_on_hand),
        "plan": [{"week": iso_label(p.week_start), "week_start": p.week_start.isoformat(),
                  "quantity": decimal_str(p.quantity)} for p in report.plan],
        "source": report.source, "note": report.note, "received_at": _time(report.received_at),
    }


def position_json(data: dict) -> dict:
    position: ItemPosition | None = data["position"]
    out = {"item_id": data["item"].id, "relationship_id": data["item"].relationship_id, "report_id": None,
           "as_of": None, "good_qty": None, "scrap_qty": None, "wip_qty": None, "fg_on_hand": None,
           "raw_on_hand": None}
    if position is not None:
        out.update(report_id=position.report_id, as_of=_time(position.as_of),
                   good_qty=decimal_str(position.good_qty), scrap_qty=decimal_str(position.scrap_qty),
                   wip_qty=decimal_str(position.wip_qty), fg_on_hand=decimal_str(position.fg_on_hand),
                   raw_on_hand=decimal_str(position.raw_on_hand))
    out["plan"] = [{"week": iso_label(p.week_start), "week_start": p.week_start.isoformat(),
                    "quantity": decimal_str(p.quantity)} for p in data["plan"]]
    out["machine_produced_since_report"] = decimal_str(data["machine_produced_since_report"])
    out["supply"] = decimal_str(data["supply"])
    return out


def line_json(line: ProductionLine) -> dict:
    return {"id": line.id, "relationship_id": line.relationship_id, "code": line.code, "name": line.name,
            "item_id": line.item_id, "counter_max": line.counter_max, "active": line.active, "version": line.version}


def reading_json(reading: MachineReading) -> dict:
    return {"id": reading.id, "line_id": reading.line_id, "item_id": reading.item_id,
            "read_at": _time(reading.read_at), "counter": reading.counter,
            "produced": decimal_str(reading.produced), "new_run": reading.new_run}


def _optional_int(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    parsed = parse_int(raw, minimum=1, maximum=2**31 - 1)
    if isinstance(parsed, str):
        raise BadRequest("Bad query parameter.", fields={name: "must be a positive whole number"})
    return parsed


def _parsed(relationship_id: int, parse):
    """The parsed body; a bad body from someone who cannot see the relationship is still a 404, never a 422
    that would confirm the relationship exists (the check costs a query only when the body is bad)."""
    try:
        return parse(json_body())
    except AppError:
        relationships.get_relationship(g.actor, relationship_id)
        raise


# --- reports -----------------------------------------------------------------------------------------------

@bp.post("/relationships/<int:relationship_id>/production-reports")
@requires(*WRITERS, kind="supplier", api=True)
@idempotent
def production_reports_create(relationship_id: int):
    report = services.record_report(g.actor, relationship_id, _parsed(relationship_id, schemas.parse_report))
    response = jsonify(report_json(report))
    response.status_code = 201
    return response


@bp.post("/relationships/<int:relationship_id>/production-reports/batch")
@requires(*WRITERS, kind="supplier", api=True)
@idempotent
def production_reports_batch(relationship_id: int):
    ids = services.record_reports(g.actor, relationship_id, _parsed(relationship_id, schemas.parse_batch))
    response = jsonify({"created": len(ids), "ids": ids})
    response.status_code = 201
    return response


@bp.get("/relationships/<int:relationship_id>/production-reports")
@requires(api=True)
def production_reports_index(relationship_id: int):
    limit, offset = page_args()
    item_id = _optional_int("item_id")
    reports = services.list_reports(g.actor, relationship_id, item_id=item_id, limit=limit, offset=offset)
    return jsonify({"data": [report_json(r) for r in reports], "limit": limit, "offset": offset})


@bp.get("/relationships/<int:relationship_id>/items/<int:item_id>/position")
@requires(api=True)
def production_position(relationship_id: int, item_id: int):
    return jsonify(position_json(services.get_position(g.actor, relationship_id, item_id)))


# --- production lines and readings -------------------------------------------------------------------------

@bp.get("/relationships/<int:relationship_id>/lines")
@requires(api=True)
def production_lines_index(relationship_id: int):
    return jsonify({"data": [line_json(line) for line in services.list_lines(g.actor, relationship_id)]})


@bp.post("/relationships/<int:relationship_id>/lines")
@requires(*WRITERS, kind="supplier", api=True)
def production_lines_create(relationship_id: int):
    relationships.get_relationship(g.actor, relationship_id)
    line = services.create_line(g.actor, relationship_id, schemas.parse_line(json_body()))
    response = jsonify(line_json(line))
    response.status_code = 201
    response.headers["ETag"] = etag(line.version)
    return response


@bp.get("/relationships/<int:relationship_id>/lines/<int:line_id>")
@requires(api=True)
def production_lines_show(relationship_id: int, line_id: int):
    line = services.get_line(g.actor, relationship_id, line_id)
    response = jsonify(line_json(line))
    response.headers["ETag"] = etag(line.version)
    return response


@bp.patch("/relationships/<int:relationship_id>/lines/<int:line_id>")
@requires(*WRITERS, kind="supplier", api=True)
def production_lines_update(relationship_id: int, line_id: int):
    services.get_line(g.actor, relationship_id, line_id)
    version = required_version()
    line = services.update_line(g.actor, relationship_id, line_id, schemas.parse_line(json_body(), partial=True), version)
    response = jsonify(line_json(line))
    response.headers["ETag"] = etag(line.version)
    return response


@bp.post("/relationships/<int:relationship_id>/lines/<line_ref>/readings")
@requires(*WRITERS, kind="supplier", api=True)
@idempotent
def production_readings_create(relationship_id: int, line_ref: str):
    line = services.get_line(g.actor, relationship_id, line_ref)
    readings = schemas.parse_readings(json_body(), line.counter_max)
    summary = services.record_readings(g.actor, relationship_id, line.id, readings)
    response = jsonify({**summary, "produced": str(summary["produced"])})
    response.status_code = 201 if summary["accepted"] else 200
    return response


@bp.get("/relationships/<int:relationship_id>/lines/<line_ref>/readings")
@requires(api=True)
def production_readings_index(relationship_id: int, line_ref: str):
    limit, offset = page_args()
    line = services.get_line(g.actor, relationship_id, line_ref)
    readings = services.list_readings(g.actor, relationship_id, line_id=line.id, limit=limit, offset=offset)
    return jsonify({"data": [reading_json(r) for r in readings], "limit": limit, "offset": offset})
