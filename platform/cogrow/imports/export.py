"""Lists as downloadable CSV (UTF-8 with BOM, which Korean Excel opens correctly) or XLSX, safe to open.

A cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or a CR) is written with a
leading apostrophe, so an imported or typed "=HYPERLINK(...)" comes back as text, never as a live formula.

A download is written row by row into a spooled temporary file (in memory up to SPOOL_BYTES, on disk beyond)
and sent from there with send_file: a large export never sits in the web process as one string or bytes
object, and the rows are all read (and any error raised) before the response starts. The server closes the
file (and so deletes it) when the response is done.
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from urllib.parse import quote

from flask import Response, send_file
from flask_babel import gettext as _

from cogrow.core.errors import BadRequest
from cogrow.core.fields import decimal_text
from cogrow.imports.cells import FORMULA_PREFIXES

FORMATS = ("csv", "xlsx")
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # XML 1.0 cannot carry these at all
SPOOL_BYTES = 1024 * 1024  # an export up to this size is kept in memory; a larger one goes to a temporary file


def escape_formula(value: str) -> str:
    """Prefix text a spreadsheet would evaluate with an apostrophe."""
    if value and value[0] in FORMULA_PREFIXES:
        return "'" + value
    return value


def csv_value(value: Any) -> str:
    """How one value is written in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return escape_formula(str(value))


def xlsx_value(value: Any) -> Any:
    """How one value is written in an XLSX cell: numbers and dates stay typed, text is escaped."""
    if value is None or isinstance(value, (bool, int, float, Decimal)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()  # keeps the offset, which an Excel date cell would lose
    if isinstance(value, date):
        return value
    return _ILLEGAL_XML.sub("", escape_formula(str(value)))


class _Utf8Sink:
    """What csv.writer writes to: each row's text goes to the binary file as UTF-8."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw

    def write(self, text: str) -> int:
        return self._raw.write(text.encode("utf-8"))


def write_csv(target: IO[bytes], headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """CSV, UTF-8 with a BOM and CRLF line ends, written to `target` one row at a time."""
    target.write(b"\xef\xbb\xbf")
    writer = csv.writer(_Utf8Sink(target), lineterminator="\r\n")
    writer.writerow([csv_value(h) for h in headers])
    for row in rows:
        writer.writerow([csv_value(v) for v in row])


def write_xlsx(target: IO[bytes], headers: Sequence[str], rows: Iterable[Sequence[Any]],
               sheet_title: str = "Sheet1") -> None:
    """One sheet with openpyxl's write-only workbook (rows go to its temporary file, not to a cell tree)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(sheet_title))
    sheet.append([xlsx_value(h) for h in headers])

    # Escaped text never starts with "=", so openpyxl never writes it as a formula.
    def cells(row: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for raw in row:
            value = xlsx_value(raw)
            if isinstance(value, date) and not isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                out.append(cell)
            else:
                out.append(value)
        return out

    for row in rows:
        sheet.append(cells(row))
    workbook.save(target)


def _sheet_title(title: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\']", "", title).strip() or "Sheet1"
    return cleaned[:31]


def safe_stem(stem: str) -> str:
    """A file name stem without path separators or control characters."""
    stem = unicodedata.normalize("NFC", stem)
    stem = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]+", "_", stem).strip(" .") or "export"
    return stem[:100]


def content_disposition(filename: str) -> str:
    """An attachment header with an ASCII fallback name and the real (e.g. Korean) name per RFC 6266."""
    fallback = filename.encode("ascii", "ignore").decode().replace('"', "") or "download"
    if fallback.startswith("."):
        fallback = "download" + fallback
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def respond(headers: Sequence[str], rows: Iterable[Sequence[Any]], filename_stem: str, fmt: str) -> Response:
    """A download of `rows` under `headers` as CSV or XLSX; an unknown format is a 400 naming `format`."""
    fmt = (fmt or "").lower()
    if fmt not in FORMATS:
        raise BadRequest(_("Unknown export format."), fields={"format": _("Must be one of: %(choices)s.", choices="csv, xlsx")})
    stem = safe_stem(filename_stem)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, prefix="cogrow-export-")
    try:
        if fmt == "csv":
            write_csv(spool, headers, rows)
            mimetype = CSV_MIMETYPE
        else:
            write_xlsx(spool, headers, rows, sheet_title=stem)
            mimetype = XLSX_MIMETYPE
        size = spool.tell()
        spool.seek(0)
        body: IO[bytes] = spool
        if size <= SPOOL_BYTES:  # never left memory: a plain buffer, which needs no closing
            body = io.BytesIO(spool.read())
            spool.close()
    except BaseException:
        spool.close()
        raise
    # send_file streams the file and closes it when the response is done; the headers are ours, as before.
    response = send_file(body, mimetype=mimetype.split(";")[0], as_attachment=True, download_name=f"{stem}.{fmt}",
                         conditional=False, etag=False)
    response.headers["Content-Type"] = mimetype
    response.content_length = size
    response.headers["Content-Disposition"] = content_disposition(f"{stem}.{fmt}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
