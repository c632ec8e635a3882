"""HTML pages of the edi domain: one page per relationship with its settings, an upload, exports and the log."""
from __future__ import annotations

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from cogrow.core.auth import requires
from cogrow.core.errors import AppError
from cogrow.edi import models, outbound, services
from cogrow.edi.importers import LABELS
from cogrow.extensions import db
from cogrow.forecasts.models import ForecastPublication
from cogrow.imports import services as imports
from cogrow.orders.models import PurchaseOrder
from cogrow.shipments.models import Shipment

bp = Blueprint("edi", __name__, url_prefix="/relationships/<int:relationship_id>/edi")

SETTING_FIELDS = ("standard", "prime_qualifier", "prime_edi_id", "prime_group_id", "supplier_qualifier",
                  "supplier_edi_id", "supplier_group_id", "element_separator", "component_separator",
                  "segment_terminator", "repetition_separator")
CHOICES_SHOWN = 50


def _choices(rel) -> dict[str, list[tuple[int, str]]]:
    """What this side can export: forecast versions and POs (prime), answered POs and ASNs (supplier)."""
    if g.actor.organisation_id == rel.prime_id:
        versions = db.session.scalars(select(ForecastPublication.version_no).where(
            ForecastPublication.relationship_id == rel.id).order_by(ForecastPublication.version_no.desc())
            .limit(CHOICES_SHOWN))
        pos = db.session.execute(select(PurchaseOrder.id, PurchaseOrder.number).where(
            PurchaseOrder.relationship_id == rel.id, PurchaseOrder.status != "draft")
            .order_by(PurchaseOrder.id.desc()).limit(CHOICES_SHOWN))
        return {"forecast": [(v, _("Version %(n)s", n=v)) for v in versions], "order": list(pos)}
    answered = db.session.execute(select(PurchaseOrder.id, PurchaseOrder.number).where(
        PurchaseOrder.relationship_id == rel.id,
        PurchaseOrder.status.in_(("acknowledged", "change_proposed", "rejected", "partially_shipped", "closed")))
        .order_by(PurchaseOrder.id.desc()).limit(CHOICES_SHOWN))
    asns = db.session.execute(select(Shipment.id, Shipment.number).where(Shipment.relationship_id == rel.id)
                              .order_by(Shipment.id.desc()).limit(CHOICES_SHOWN))
    return {"ack": list(answered), "asn": list(asns)}


def _render(rel, partner, errors=None, values=None, status=200):
    families = [str(LABELS[f]()) for f in services.FAMILY_SIDES
                if imports.may_upload(g.actor, rel, imports.kind_or_404(services.kind_name(f)))]
    shown = values or (services.defaults() if partner is None else
                       {k: getattr(partner, k) for k in services.defaults()})
    return render_template(
        "edi/page.html", rel=rel, partner=partner, values=shown, errors=errors or {},
        uom_text="\n".join(f"{k}={v}" for k, v in (shown.get("uom_codes") or {}).items()),
        may_edit=g.actor.role == "admin", families=families, choices=_choices(rel),
        log=services.list_interchanges(g.actor, rel.id, limit=100),
        max_kb=services.max_bytes() // 1024), status


@bp.get("")
@requires()
def page(relationship_id: int):
    rel, partner = services.get_partner(g.actor, relationship_id)
    return _render(rel, partner)


def _uom_codes(text: str) -> dict[str, str] | str:
    codes: dict[str, str] = {}
    for line in text.replace(",", "\n").splitlines():
        if not line.strip():
            continue
        code, sep, ours = line.partition("=")
        if not sep or not code.strip() or not ours.strip():
            return line.strip()[:40]
        codes[code.strip()] = ours.strip()
    return codes


@bp.post("/settings")
@requires("admin")
def save_settings(relationship_id: int):
    rel, partner = services.get_partner(g.actor, relationship_id)
    values = {name: request.form.get(name, "") for name in SETTING_FIELDS}
    values["test_mode"] = request.form.get("test_mode") == "on"
    values["auto_send"] = request.form.get("auto_send") == "on"
    if values["standard"] in models.DEFAULT_VERSIONS:
        values["version"] = models.DEFAULT_VERSIONS[values["standard"]]
    codes = _uom_codes(request.form.get("uom_codes", ""))
    if isinstance(codes, str):
        values["uom_codes"] = {}
        return _render(rel, partner, {"uom_codes": _("Write one CODE=unit per line: %(line)s", line=codes)},
                       values, 422)
    values["uom_codes"] = codes
    try:
        services.save_partner(g.actor, relationship_id, values)
    except AppError as exc:
        if exc.status != 422:
            raise
        return _render(rel, partner, exc.fields, values, 422)
    flash(_("EDI settings saved."), "success")
    return redirect(url_for("edi.page", relationship_id=relationship_id))


@bp.post("/inbound")
@requires()
def receive(relationship_id: int):
    rel, partner = services.get_partner(g.actor, relationship_id)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("Choose an interchange file to upload."), "error")
        return _render(rel, partner, status=422)
    try:
        data = file.stream.read(services.max_bytes() + 1)
    finally:
        file.close()
    received, _rejection = services.receive(g.actor, relationship_id, file.filename, data)
    if isinstance(received, models.Interchange):
        flash(_("Functional acknowledgement %(number)s received.", number=received.control_number), "success")
        return redirect(url_for("edi.page", relationship_id=relationship_id))
    return redirect(url_for("imports.detail", relationship_id=relationship_id, import_id=received.id))


def _download(row: models.Interchange) -> Response:
    name = f"{row.message_type}-{row.control_number}.{'x12' if row.standard == 'x12' else 'edi'}"
    return Response(row.content or b"", mimetype="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/export")
@requires()
def export(relationship_id: int):
    services.get_partner(g.actor, relationship_id)  # a foreign relationship is a 404 before anything
    family = request.form.get("family", "")
    try:
        object_id = int(request.form.get("object_id", ""))
    except ValueError:
        flash(_("Choose what to export."), "error")
        return redirect(url_for("edi.page", relationship_id=relationship_id))
    webhook = request.form.get("webhook") == "on"
    if family in ("forecast", "shipping_schedule"):
        row = outbound.export_forecast(g.actor, relationship_id, object_id, family == "shipping_schedule", webhook)
    elif family == "order":
        row = outbound.export_order(g.actor, relationship_id, object_id, webhook)
    elif family == "ack":
        row = outbound.export_ack(g.actor, relationship_id, object_id, webhook)
    elif family == "asn":
        row = outbound.export_asn(g.actor, relationship_id, object_id, webhook)
    else:
        flash(_("Choose what to export."), "error")
        return redirect(url_for("edi.page", relationship_id=relationship_id))
    return _download(row)


@bp.get("/interchanges/<int:interchange_id>")
@requires()
def download(relationship_id: int, interchange_id: int):
    return _download(services.get_interchange(g.actor, relationship_id, interchange_id))

