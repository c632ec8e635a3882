"""The liability statement as XLSX (openpyxl, as the other exports) and as PDF (ReportLab).

The PDF sets Korean text in ReportLab's built-in CID font HYGothic-Medium (Adobe's Korean font collection): ReportLab
ships its metrics, so no font file is needed on the server, and the text stays extractable (a test reads it back).
The font is not embedded: a PDF reader shows it with its own Korean font, as every common reader does.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from flask import Response, send_file
from flask_babel import gettext as _

from cogrow.core.fields import grouped_text
from cogrow.core.formatting import format_day, format_moment
from cogrow.imports.export import XLSX_MIMETYPE, content_disposition, safe_stem, xlsx_value
from cogrow.liability.services import Statement

PDF_MIMETYPE = "application/pdf"
PDF_FONT = "HYGothic-Medium"


def record_kind(kind: str) -> str:
    """A dated record's kind as people read it."""
    labels = {"created": _("PO drafted"), "issue": _("PO issued"), "revised": _("PO changed"),
              "cancel": _("PO cancelled"), "close": _("PO closed"), "acknowledge": _("PO acknowledged"),
              "reject": _("PO rejected"), "change_proposed": _("Change proposed"),
              "accept_proposal": _("Change accepted"), "reject_proposal": _("Change rejected"),
              "ship": _("PO shipped"), "release": _("Shipment released"), "shipped": _("Shipment sent"),
              "received": _("Shipment received")}
    return labels.get(kind, kind)


def _when(value: Any) -> str:
    return format_moment(value) if hasattr(value, "hour") else format_day(value)


def title(statement: Statement) -> str:
    rel = statement.relationship
    return _("Liability statement %(month)s: %(prime)s → %(supplier)s", month=statement.month.label,
             prime=rel.prime.name, supplier=rel.supplier.name)


def summary_rows(statement: Statement) -> list[tuple[str, Any]]:
    """The statement's heading figures, in the order every format shows them."""
    return [
        (_("Month"), statement.month.label),
        (_("As of"), format_moment(statement.as_of)),
        (_("Currency"), statement.currency),
        (_("Material share"), statement.material_share),
        (_("Forecast version"), statement.publication["version_no"] if statement.publication else "—"),
        (_("Finished goods liability"), statement.finished_total),
        (_("Raw material liability"), statement.raw_total),
        (_("Total liability"), statement.total),
        (_("SHA-256 of the input rows"), statement.sha256),
    ]


def item_headers(currency: str) -> list[str]:
    return [_("Part number"), _("Cumulative start date"), _("FAB authorized"), _("RAW authorized"),
            _("Cumulative shipped"), _("Open PO"), _("Firm forecast"), _("Firm uncovered"), _("Guaranteed"),
            _("Unit price (%(currency)s)", currency=currency), _("Finished units"), _("RAW units"),
            _("Liability (%(currency)s)", currency=currency)]


def item_row(line) -> list[Any]:
    return [line.part_number, line.cum_start_date, line.fab_authorized, line.raw_authorized, line.cum_shipped,
            line.open_po, line.firm_forecast, line.firm_uncovered, line.guaranteed, line.unit_price,
            line.liability.finished_units, line.liability.raw_units, line.amount]


def record_headers() -> list[str]:
    return [_("Date"), _("Record"), _("Document"), _("State"), _("Quantity"), _("Reason")]


def record_row(record: dict[str, Any]) -> list[Any]:
    return [_when(record["at"]), record_kind(record["kind"]), record["document"], record["state"],
            record["quantity"], record["note"]]


def _download(body: bytes, stem: str, ext: str, mimetype: str) -> Response:
    response = send_file(io.BytesIO(body), mimetype=mimetype, as_attachment=True, download_name=f"{stem}.{ext}",
                         conditional=False, etag=False)
    response.headers["Content-Disposition"] = content_disposition(f"{stem}.{ext}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def file_stem(statement: Statement) -> str:
    rel = statement.relationship
    return safe_stem(f"liability-{rel.prime.name}-{rel.supplier.name}-{statement.month.label}")


def xlsx(statement: Statement) -> Response:
    """Sheets: the statement (heading figures, then one row per item and the total) and the month's dated records."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Statement")[:31]
    sheet.append([xlsx_value(title(statement))])
    for label, value in summary_rows(statement):
        sheet.append([xlsx_value(label), xlsx_value(value)])
    sheet.append([])
    sheet.append([xlsx_value(h) for h in item_headers(statement.currency)])
    for line in statement.items:
        sheet.append([xlsx_value(v) for v in item_row(line)])
    sheet.append([xlsx_value(_("Total")), *[None] * 11, xlsx_value(statement.total)])
    records = workbook.create_sheet(_("Dated records")[:31])
    records.append([xlsx_value(h) for h in record_headers()])
    for record in statement.records:
        records.append([xlsx_value(v) for v in record_row(record)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _download(buffer.getvalue(), file_stem(statement), "xlsx", XLSX_MIMETYPE)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return grouped_text(value)
    if hasattr(value, "isoformat"):
        return _when(value)
    return str(value)


def pdf(statement: Statement) -> Response:
    return _download(pdf_bytes(statement), file_stem(statement), "pdf", PDF_MIMETYPE)


def pdf_bytes(statement: Statement) -> bytes:
    """The statement on A4 landscape pages: heading figures, the items with their total, the dated records."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    heading = ParagraphStyle("heading", fontName=PDF_FONT, fontSize=14, leading=18)
    body = ParagraphStyle("body", fontName=PDF_FONT, fontSize=8, leading=10)

    text = ParagraphStyle("cell", fontName=PDF_FONT, fontSize=7, leading=9)
    number = ParagraphStyle("number", parent=text, alignment=TA_RIGHT)
    width = landscape(A4)[0] - 24 * mm

    def table(rows: Sequence[Sequence[Any]], shares: Sequence[float], numeric: Sequence[int] = (),
              header: bool = True) -> Table:
        """Cells as paragraphs (long text wraps inside its column); columns share the page width by `shares`, and
        the `numeric` ones are right-aligned below the header."""
        cells = [[Paragraph(escape(_cell(v)), number if c in numeric and (r > 0 or not header) else text)
                  for c, v in enumerate(row)] for r, row in enumerate(rows)]
        total = sum(shares)
        t = Table(cells, colWidths=[width * share / total for share in shares], repeatRows=1 if header else 0)
        style = [("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf1")))
        t.setStyle(TableStyle(style))
        return t

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=title(statement),
                            subject=statement.sha256, creator="Cogrow")
    items = [item_headers(statement.currency), *(item_row(line) for line in statement.items),
             [_("Total"), *[""] * 11, statement.total]]
    records = [record_headers(), *(record_row(r) for r in statement.records)]
    story = [Paragraph(escape(title(statement)), heading), Spacer(1, 4 * mm),
             table([[label, value] for label, value in summary_rows(statement)], (1, 3), header=False),
             Spacer(1, 3 * mm),
             Paragraph(escape(as_of_note(statement)), body), Spacer(1, 4 * mm),
             table(items, (1.6, 1.3, *[1] * 11), numeric=range(2, 13)), Spacer(1, 6 * mm),
             Paragraph(escape(_("Dated records of the month")), heading), Spacer(1, 2 * mm),
             table(records, (1.5, 1.3, 1.3, 1, 0.8, 3), numeric=(4,)) if statement.records
             else Paragraph(escape(_("No records in this month.")), body)]
    doc.build(story)
    return buffer.getvalue()


def as_of_note(statement: Statement) -> str:
    """What "as of" means for this statement, in the words the page and the PDF show."""
    if statement.current:
        return _("As of now (%(moment)s): the records as they stand, each PO in its current state.",
                 moment=format_moment(statement.as_of))
    return _("As of the end of %(month)s (before %(moment)s): POs in the state their last move before then left "
             "them (a PO cancelled later still counts), shipments shipped by %(day)s, authorizations granted before "
             "then and the latest forecast version published before then. PO line quantities and due dates are "
             "the current ones; a later change is listed in the records of its month.",
             month=statement.month.label, moment=format_moment(statement.as_of), day=format_day(statement.as_of_day))
