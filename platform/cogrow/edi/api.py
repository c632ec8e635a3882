"""JSON routes of the edi domain, on the shared API blueprint: partner settings, inbound interchanges (through
the import pipeline), the interchange log, and the outbound messages of forecasts, POs, answers and ASNs."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, g, request
from flask_babel import gettext as _
from pydantic import Field

from cogrow.core.api import bp, guard_path, operation, page_of
from cogrow.core.auth import requires
from cogrow.core.errors import BadRequest, UnsupportedMediaType
from cogrow.core.schema import Body, Flag, Moment, PageQuery, Query, Resource
from cogrow.edi import importers  # noqa: F401  (registers the EDI import kinds with the import pipeline)
from cogrow.edi import delivery, sending  # noqa: F401  (register the webhook delivery and auto-send tasks for the workers)
from cogrow.edi import models, outbound, services
from cogrow.imports import api as imports_api

EDI_TYPES = ("application/edi-x12", "application/edifact", "text/plain", "application/octet-stream")


def _interchange_of_this_relationship(actor: Any, interchange_id: int) -> None:
    relationship_id = (request.view_args or {}).get("relationship_id")
    if relationship_id is not None:
        services.get_interchange(actor, relationship_id, interchange_id)


guard_path("interchange_id", _interchange_of_this_relationship)


class EdiSettings(Resource):
    """How the two sides of a relationship exchange EDI."""

    relationship_id: int
    configured: bool = Field(description="False until an administrator saved the settings.")
    standard: str = Field(description="x12 or edifact.")
    version: str = Field(description="004010 (X12) or D96A (EDIFACT).")
    prime_qualifier: str
    prime_edi_id: str = Field(description="The prime's interchange identifier (ISA06/ISA08, UNB sender/recipient).")
    prime_group_id: str = Field(description="The prime's GS02/GS03 application code (X12).")
    supplier_qualifier: str
    supplier_edi_id: str
    supplier_group_id: str
    element_separator: str
    component_separator: str
    segment_terminator: str
    repetition_separator: str = Field(description="X12 repetition separator; the release character for EDIFACT.")
    uom_codes: dict[str, str] = Field(description="EDI unit code -> Cogrow unit of measure.")
    test_mode: bool
    auto_send: bool = Field(description="Send each forecast version published, PO issued, PO answer and shipment to "
                            "the sending side's webhooks by itself (from the worker).")


class EdiSettingsIn(Body):
    standard: str | None = None
    version: str | None = None
    prime_qualifier: str | None = None
    prime_edi_id: str | None = None
    prime_group_id: str | None = None
    supplier_qualifier: str | None = None
    supplier_edi_id: str | None = None
    supplier_group_id: str | None = None
    element_separator: str | None = None
    component_separator: str | None = None
    segment_terminator: str | None = None
    repetition_separator: str | None = None
    uom_codes: dict[str, str] | None = None
    test_mode: bool | None = None
    auto_send: bool | None = None


class Interchange(Resource):
    """One interchange received or sent."""

    id: int
    direction: str = Field(description="in or out.")
    standard: str
    message_type: str
    control_number: str
    status: str = Field(description="applied (in), sent, accepted or rejected (out, by the partner's 997/CONTRL).")
    reference: str
    documents: int
    import_id: int | None
    acknowledged_by_id: int | None
    created_at: Moment | None
    content: str | None = Field(description="The interchange itself (left out in lists).")


class InterchangeReceived(Resource):
    """What receiving an interchange did: the import it became (preview, or applied with `confirm`), or the
    logged functional acknowledgement; a rejected interchange answers 422 with the rejecting 997/CONTRL."""

    import_batch: dict[str, Any] | None = Field(description="The import the interchange became (see getImport).")
    interchange: Interchange | None
    functional_ack: str | None


class ReceiveQuery(Query):
    confirm: Flag = Field(default=False, description="Apply the interchange as soon as its preview has no errors.")
    reason: str | None = Field(default=None, description="Needed with `confirm` when a forecast cuts firm weeks.")


class ExportQuery(Query):
    webhook: Flag = Field(default=False, description="Also POST the interchange to your organisation's webhooks.")


class ForecastExportQuery(ExportQuery):
    firm_only: Flag = Field(default=False, description="The 862 shipping schedule: firm weeks only (X12).")


def _settings(rel_id: int, partner: models.PartnerSettings | None) -> EdiSettings:
    values = services.defaults() if partner is None else {k: getattr(partner, k) for k in services.defaults()}
    return EdiSettings(relationship_id=rel_id, configured=partner is not None, **values)


def _interchange(row: models.Interchange, *, listed: bool = False) -> Interchange:
    return Interchange(id=row.id, direction=row.direction, standard=row.standard, message_type=row.message_type,
                       control_number=row.control_number, status=row.status, reference=row.reference,
                       documents=row.documents, import_id=row.import_id, acknowledged_by_id=row.acknowledged_by_id,
                       created_at=row.created_at,
                       content=None if listed or row.content is None else row.content.decode("utf-8", "replace"))


@bp.get("/relationships/<int:relationship_id>/edi/settings")
@requires(api=True)
@operation("getEdiSettings", tag="edi", response=EdiSettings)
def edi_settings_show(relationship_id: int):
    """The relationship's EDI settings (defaults until an administrator saves them)."""
    rel, partner = services.get_partner(g.actor, relationship_id)
    return _settings(rel.id, partner)


@bp.put("/relationships/<int:relationship_id>/edi/settings")
@requires("admin", api=True)
@operation("putEdiSettings", tag="edi", body=EdiSettingsIn, response=EdiSettings)
def edi_settings_update(relationship_id: int, body: EdiSettingsIn):
    """Save the EDI settings (an administrator of either side); fields left out keep their value."""
    values = {k: v for k, v in body.model_dump().items() if v is not None}
    partner = services.save_partner(g.actor, relationship_id, values)
    return _settings(relationship_id, partner)


@bp.post("/relationships/<int:relationship_id>/edi/interchanges")
@requires(api=True)
@operation("receiveInterchange", tag="edi", query=ReceiveQuery, response=InterchangeReceived, status=201,
           also={202: InterchangeReceived}, upload=("multipart/form-data",))  # raw bodies: see EDI_TYPES
def edi_receive(relationship_id: int, query: ReceiveQuery):
    """Send an interchange (X12 or EDIFACT, as the settings say): multipart `file` or the raw body.

    It goes through the import pipeline: 201 with its preview (or applied with `confirm=true`), 202 while the
    worker reads a large one, 422 naming the segment with the rejecting 997/CONTRL, 409 for a control number
    already received. A 997/CONTRL is logged against the interchange it answers.
    """
    services.get_partner(g.actor, relationship_id)  # a foreign relationship is a 404 before anything
    limit = services.max_bytes()
    if request.mimetype == "multipart/form-data":
        file = request.files.get("file")
        if file is None:
            raise BadRequest(_("Send the file in the form field 'file'."), fields={"file": _("This field is required.")})
        try:
            filename, data = file.filename or "interchange.edi", file.stream.read(limit + 1)
        finally:
            file.close()
    elif request.mimetype in EDI_TYPES:
        filename, data = None, request.get_data(cache=False)
    else:
        raise UnsupportedMediaType(_("Send multipart/form-data with a 'file', or the interchange itself as "
                                     "application/edi-x12, application/edifact or text/plain."),
                                   fields={"Content-Type": _("Not accepted.")})
    received, rejection = services.receive(g.actor, relationship_id, filename, data)
    if isinstance(received, models.Interchange):
        return InterchangeReceived(import_batch=None, interchange=_interchange(received), functional_ack=None)
    batch = received
    if query.confirm and batch.status == "preview":
        from cogrow.imports import services as imports

        batch = imports.confirm(g.actor, relationship_id, batch.id, reason=query.reason)
    answer = imports_api._answer(batch)
    if isinstance(answer, Response):
        body = json.loads(answer.get_data(as_text=True))
        if answer.status_code == 202:  # the worker reads it: the same shape as a 201, with a Location to poll
            body = {"import_batch": body, "interchange": None, "functional_ack": None}
        elif rejection is not None:
            body["error"]["functional_ack"] = rejection
        answer.set_data(json.dumps(body, ensure_ascii=False))
        return answer
    return InterchangeReceived(import_batch=answer.model_dump(mode="json"), interchange=None, functional_ack=None)


@bp.get("/relationships/<int:relationship_id>/edi/interchanges")
@requires(api=True)
@operation("listInterchanges", tag="edi", query=PageQuery, response=page_of(Interchange))
def edi_log(relationship_id: int, query: PageQuery):
    """The relationship's interchanges, newest first (without their content)."""
    rows = services.list_interchanges(g.actor, relationship_id, limit=query.limit, offset=query.offset)
    return page_of(Interchange)(data=[_interchange(r, listed=True) for r in rows], limit=query.limit,
                                offset=query.offset)


@bp.get("/relationships/<int:relationship_id>/edi/interchanges/<int:interchange_id>")
@requires(api=True)
@operation("getInterchange", tag="edi", response=Interchange)
def edi_interchange(relationship_id: int, interchange_id: int):
    """One interchange with its content."""
    return _interchange(services.get_interchange(g.actor, relationship_id, interchange_id))


@bp.post("/relationships/<int:relationship_id>/edi/exports/forecast/<int:version_no>")
@requires("admin", "planner", "procurement", kind="prime", api=True)
@operation("exportForecastEdi", tag="edi", query=ForecastExportQuery, response=Interchange, status=201)
def edi_export_forecast(relationship_id: int, version_no: int, query: ForecastExportQuery):
    """The 830 / DELFOR of a forecast version (the 862 with `firm_only=true`), numbered and logged."""
    return _interchange(outbound.export_forecast(g.actor, relationship_id, version_no, query.firm_only,
                                                 query.webhook))


@bp.post("/relationships/<int:relationship_id>/edi/exports/orders/<int:po_id>")
@requires("admin", "planner", "procurement", kind="prime", api=True)
@operation("exportOrderEdi", tag="edi", query=ExportQuery, response=Interchange, status=201)
def edi_export_order(relationship_id: int, po_id: int, query: ExportQuery):
    """The 850 / ORDERS of an issued purchase order, numbered and logged."""
    return _interchange(outbound.export_order(g.actor, relationship_id, po_id, query.webhook))


@bp.post("/relationships/<int:relationship_id>/edi/exports/acknowledgements/<int:po_id>")
@requires("admin", "production", kind="supplier", api=True)
@operation("exportAcknowledgementEdi", tag="edi", query=ExportQuery, response=Interchange, status=201)
def edi_export_ack(relationship_id: int, po_id: int, query: ExportQuery):
    """The 855 / ORDRSP of the supplier's answer to a PO, numbered and logged."""
    return _interchange(outbound.export_ack(g.actor, relationship_id, po_id, query.webhook))


@bp.post("/relationships/<int:relationship_id>/edi/exports/shipments/<int:shipment_id>")
@requires("admin", "production", kind="supplier", api=True)
@operation("exportShipmentEdi", tag="edi", query=ExportQuery, response=Interchange, status=201)
def edi_export_asn(relationship_id: int, shipment_id: int, query: ExportQuery):
    """The 856 / DESADV of an ASN, numbered and logged."""
    return _interchange(outbound.export_asn(g.actor, relationship_id, shipment_id, query.webhook))

