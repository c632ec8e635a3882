"""The liability statement as XLSX (openpyxl, as the other exports) and as PDF (fpdf2).

The PDF sets its text in Noto Sans KR (OFL), which the pylopdf-fonts-ko package ships, so no font comes from the
machine. fpdf2 embeds the subset of glyphs the statement uses: a reader on a machine without any Korean font shows
the same glyphs, and the text stays extractable through the font's ToUnicode map (a test reads it back).
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from flask import Response, send_file
from flask_babel import get_locale
from flask_babel import gettext as _

from cogrow.core.fields import grouped_text
from cogrow.core.formatting import format_day, format_moment
from cogrow.core.labels import status_label
from cogrow.imports.export import XLSX_MIMETYPE, content_disposition, safe_stem, xlsx_value
from cogrow.liability.services import Statement

PDF_MIMETYPE = "application/pdf"
PDF_FONT = "NotoSansKR"
# Spaces Babel puts in dates and times that Noto Sans KR has no glyph for, set as the no-break space it has.
PDF_SPACES = str.maketrans(dict.fromkeys("\u2007\u2009\u202f", "\u00a0"))


def record_kind(kind: str) -> str:
    """A dated record's kind as people read it."""
    labels = {"created": _("PO drafted"), "issue": _("PO issued"), "revised": _("PO changed"),
              "cancel": _("PO cancelled"), "close": _("PO closed"), "acknowledge": _("PO acknowledged"),
              "reject": _("PO rejected"), "change_proposed": _("Change proposed"),
              "accept_proposal": _("Change accepted"), "reject_proposal": _("Change rejected"),
              "ship": _("PO shipped"), "release": _("Shipment released"), "shipped": _("Shipment sent"),
              "received": _("Shipment received")}
    return labels.get(kind, kind)


def record_state(record: dict[str, Any]) -> str:
    """A dated record's state in words: a shipment's or a purchase order's."""
    if not record["state"]:
        return ""
    return status_label(record["state"], "shipment" if record["kind"] in ("shipped", "received") else "po")


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
    return [_when(record["at"]), record_kind(record["kind"]), record["document"], record_state(record),
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
    from fpdf import FPDF, FontFace
    from pylopdf_fonts_ko import sans_path

    doc = FPDF(orientation="landscape", format="A4")
    doc.set_margins(12, 12, 12)
    doc.set_auto_page_break(True, margin=12)
    doc.set_title(title(statement))
    doc.set_subject(statement.sha256)
    doc.set_creator("Cogrow")
    doc.set_lang(str(get_locale()))
    doc.add_font(PDF_FONT, fname=sans_path())
    doc.set_draw_color(128)
    doc.set_line_width(0.1)
    doc.add_page()

    def paragraph(text: str, size: float, leading: float, after: float) -> None:
        doc.set_font(PDF_FONT, size=size)
        doc.multi_cell(0, leading, text.translate(PDF_SPACES), new_x="LMARGIN", new_y="NEXT")
        doc.ln(after)

    def table(rows: Sequence[Sequence[Any]], shares: Sequence[float], numeric: Sequence[int] = (),
              header: bool = True) -> None:
        """Columns share the page width by `shares` and long text wraps inside its column; the `numeric` columns
        are right-aligned. A header row has a shaded background and repeats on every page the table runs to."""
        doc.set_font(PDF_FONT, size=7)
        align = tuple("RIGHT" if c in numeric else "LEFT" for c in range(len(shares)))
        with doc.table(col_widths=shares, text_align=align, v_align="TOP", line_height=3.2, padding=(0.8, 1.2),
                       first_row_as_headings=header, headings_style=FontFace(fill_color="#e8ecf1")) as grid:
            for row in rows:
                grid.row([_cell(v).translate(PDF_SPACES) for v in row])
        doc.ln(4)

    items = [item_headers(statement.currency), *(item_row(line) for line in statement.items),
             [_("Total"), *[""] * 11, statement.total]]
    paragraph(title(statement), 14, 6.4, 3)
    table([[label, value] for label, value in summary_rows(statement)], (1, 3), header=False)
    paragraph(as_of_note(statement), 8, 3.6, 3)
    table(items, (1.6, 1.3, *[1] * 11), numeric=range(2, 13))
    paragraph(_("Dated records of the month"), 14, 6.4, 1)
    if statement.records:
        table([record_headers(), *(record_row(r) for r in statement.records)], (1.5, 1.3, 1.3, 1, 0.8, 3),
              numeric=(4,))
    else:
        paragraph(_("No records in this month."), 8, 3.6, 0)
    return bytes(doc.output())


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
