"""Turn uploaded bytes (CSV, XLSX or JSON) into a header and rows of text cells, refusing hostile files early.

Everything a file can do wrong as a *file* (unknown format, wrong encoding, zip bomb, macros, password,
entity expansion, too many rows) raises FileRejected with a translated message. What a *row* does wrong
(ragged rows, NULs, overlong cells, non-scalar JSON values) is collected as RowError so that the user
sees every bad row at once.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from cogrow.core.errors import AppError
from cogrow.core.fields import decimal_text
from cogrow.imports.registry import RowError

logger = logging.getLogger("cogrow.imports")

MAX_CELL_CHARS = 32_767  # what Excel itself can hold in one cell
MAX_HEADER_CHARS = 200
MAX_ZIP_MEMBERS = 2_000
MAX_ZIP_RATIO = 200  # XLSX sheets compress 10-30x; hundreds of times is a bomb
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "cp949": "cp949", "euc-kr": "cp949", "euckr": "cp949",
             "ms949": "cp949", "utf-16": "utf-16"}
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";"}
XLSX_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              "application/vnd.ms-excel.sheet.macroenabled.12", "application/vnd.ms-excel", "application/octet-stream")
CSV_TYPES = ("text/csv", "text/plain", "application/csv", "text/tab-separated-values")
JSON_TYPES = ("application/json",)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"

# A 1 MB cell must reach our own length check (which names the row and column) instead of csv's error.
csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))


class FileRejected(AppError):
    """The file as a whole cannot be read; `fields={"file": reason}` names it for forms and the API."""

    status, code = 422, "file_rejected"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message, fields={"file": message})
        if status is not None:
            self.status = status


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


@dataclass
class Table:
    """The header and rows of a file, row numbers as the user sees them (the header is row 1)."""

    file_format: str
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    encoding: str | None = None
    delimiter: str | None = None
    errors: list[RowError] = field(default_factory=list)  # filled while `rows` is consumed
    bad_rows: set[int] = field(default_factory=set)


def sniff_format(filename: str, data: bytes, content_type: str | None = None) -> str:
    """csv, xlsx or json, from the bytes first (a renamed file is caught), then the name and type."""
    name = filename.lower()
    mimetype = (content_type or "").split(";")[0].strip().lower()
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    if data.startswith(_OLE_MAGIC):
        raise FileRejected(_("This workbook is password-protected or in the old .xls format. Save it as an "
                             ".xlsx workbook without a password, or as CSV."), status=415)
    if name.endswith((".xlsx", ".xlsm", ".xltx", ".xltm", ".xls")) or mimetype in XLSX_TYPES[:3]:
        raise FileRejected(_("This file is named as a workbook but is not an XLSX file (a CSV file renamed to "
                             ".xlsx?). Upload it with its real name."), status=415)
    if name.endswith(".json") or mimetype in JSON_TYPES:
        return "json"
    return "csv"


def precheck(filename: str, data: bytes, *, encoding: str | None = None, delimiter: str | None = None,
             content_type: str | None = None, max_unzipped: int = 200 * 1024 * 1024) -> tuple[str, int]:
    """The checks cheap enough for the web request: (format, bytes that reading the rows will go through).

    The format from the bytes (a renamed file is caught), the chosen encoding and delimiter, and for a
    workbook its zip directory (bombs, macros, encryption); no row is read.
    """
    fmt = sniff_format(filename, data, content_type)
    if not data or data.isspace():
        raise FileRejected(_("The file is empty."))
    if encoding and encoding != "auto" and ENCODINGS.get(encoding.strip().lower()) is None:
        raise FileRejected(_("Unknown encoding. Choose UTF-8 or CP949 (EUC-KR)."), status=400)
    if delimiter and delimiter != "auto" and (DELIMITERS.get(delimiter) or DELIMITERS.get(delimiter.lower())) is None:
        raise FileRejected(_("Unknown delimiter. Choose comma, semicolon or tab."), status=400)
    if fmt == "xlsx":
        return fmt, check_workbook(data, max_unzipped)
    return fmt, len(data)


def read(filename: str, data: bytes, *, encoding: str | None = None, delimiter: str | None = None,
         content_type: str | None = None, max_rows: int = 200_000, max_unzipped: int = 200 * 1024 * 1024,
         sheet_names: tuple[str, ...] = ()) -> Table:
    fmt = sniff_format(filename, data, content_type)
    if not data.strip():
        raise FileRejected(_("The file is empty."))
    if fmt == "xlsx":
        return read_xlsx(data, max_rows=max_rows, max_unzipped=max_unzipped, sheet_names=sheet_names)
    if fmt == "json":
        return read_json(data, max_rows=max_rows)
    return read_csv(data, encoding=encoding, delimiter=delimiter, max_rows=max_rows)


# ---------------------------------------------------------------- CSV

def detect_encoding(data: bytes, encoding: str | None) -> tuple[str, int]:
    """The encoding to read the bytes with and where the text starts: a BOM wins, then the user's choice,
    then UTF-8, then CP949. The bytes are checked in chunks without keeping the decoded text."""
    if data.startswith(codecs.BOM_UTF8):
        _check_decodes(data, "utf-8", 3)
        return "utf-8", 3
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        _check_decodes(data, "utf-16", 0)
        return "utf-16", 0
    chosen = ENCODINGS.get((encoding or "").strip().lower()) if encoding and encoding != "auto" else None
    if encoding and encoding != "auto" and chosen is None:
        raise FileRejected(_("Unknown encoding. Choose UTF-8 or CP949 (EUC-KR)."), status=400)
    if chosen:
        _check_decodes(data, chosen, 0)
        return chosen, 0
    if data[:1] == b"\x00" or data[1:2] == b"\x00":
        raise FileRejected(_("The file looks like UTF-16 without a byte-order mark. Save it as CSV UTF-8."))
    if _first_bad_byte(data, "utf-8", 0) is None:
        return "utf-8", 0
    if _first_bad_byte(data, "cp949", 0) is None:
        return "cp949", 0
    _check_decodes(data, "utf-8", 0)  # raises, naming where UTF-8 breaks
    return "utf-8", 0  # pragma: no cover - the line above raised


_DECODE_CHUNK = 1024 * 1024


def _first_bad_byte(data: bytes, encoding: str, start: int) -> int | None:
    """The offset where the bytes stop being valid in this encoding, or None; 1 MB at a time, text discarded."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    for offset in range(start, len(data), _DECODE_CHUNK):
        try:
            decoder.decode(view[offset:offset + _DECODE_CHUNK], final=False)
        except UnicodeDecodeError as exc:
            return max(offset + exc.start, start)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return len(data) - 1
    return None


def _check_decodes(data: bytes, encoding: str, start: int) -> None:
    bad = _first_bad_byte(data, encoding, start)
    if bad is not None:
        line = data[:bad].count(b"\n") + 1
        label = {"utf-8": "UTF-8", "cp949": "CP949 (EUC-KR)", "utf-16": "UTF-16"}.get(encoding, encoding)
        raise FileRejected(_("The file is not valid %(encoding)s (line %(line)s). Choose another encoding, or save "
                             "it as CSV UTF-8.", encoding=label, line=line))


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of , ; and tab outside quotes (comma on a tie)."""
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for ch in text[:65536]:
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            if ch in counts:
                counts[ch] += 1
            elif ch in "\r\n":
                break
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def read_csv(data: bytes, *, encoding: str | None = None, delimiter: str | None = None,
             max_rows: int = 200_000) -> Table:
    used, start = detect_encoding(data, encoding)
    if delimiter and delimiter != "auto":
        chosen = DELIMITERS.get(delimiter) or DELIMITERS.get(delimiter.lower())
        if chosen is None:
            raise FileRejected(_("Unknown delimiter. Choose comma, semicolon or tab."), status=400)
    else:
        chosen = sniff_delimiter(data[start:start + 4 * 65536].decode(used, errors="ignore"))
    # Rows are decoded as they are read: the whole file is never held as one string (a 10 MB CSV would
    # otherwise cost several times its size in memory before the first row).
    raw = io.BytesIO(data)  # shares the bytes, no copy
    raw.seek(start)
    stream = io.TextIOWrapper(raw, encoding=used, newline="")
    reader = csv.reader(stream, delimiter=chosen, quotechar='"', doublequote=True,
                        skipinitialspace=False, strict=False)
    try:
        header = next(reader, None)
        while header is not None and not any(h.strip() for h in header):
            header = next(reader, None)  # leading blank lines
    except csv.Error as exc:
        raise FileRejected(_("The header line cannot be read: %(reason)s.", reason=str(exc))) from None
    if header is None:
        raise FileRejected(_("The file is empty."))
    header_line = reader.line_num
    table = Table("csv", header, iter(()), encoding="utf-8-sig" if start else used, delimiter=chosen)
    table.rows = _csv_rows(reader, table, header_line, max_rows)
    return table


def _csv_rows(reader: Any, table: Table, header_row: int, max_rows: int) -> Iterator[tuple[int, list[Any]]]:
    row_number = header_row
    count = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row_number += 1
            table.errors.append(RowError(row_number, None, _("This row cannot be read: %(reason)s.", reason=str(exc))))
            table.bad_rows.add(row_number)
            return
        row_number += 1
        count += 1
        if count > max_rows:
            raise FileRejected(_("The file has more than %(n)s rows. Split it into smaller files.", n=max_rows))
        yield row_number, fields


# ---------------------------------------------------------------- XLSX

def check_workbook(data: bytes, max_unzipped: int) -> int:
    """Refuse bombs, macros, encryption, entity declarations and non-workbooks from the zip, before any
    spreadsheet reader (calamine) opens it.

    Returns the unpacked size, which is what reading the workbook costs. It reads the directory and each XML
    part's prolog only (up to its root element), so it is cheap enough for the web request.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise FileRejected(_("This XLSX file is damaged and cannot be opened.")) from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise FileRejected(_("This workbook has too many parts to be a spreadsheet export."))
    names = {m.filename.lower() for m in members}
    if any(n.endswith("vbaproject.bin") or n.endswith(".bin") and "vba" in n for n in names):
        raise FileRejected(_("Workbooks with macros are not accepted. Save it as an .xlsx workbook (without "
                             "macros) or as CSV."), status=415)
    if "xl/workbook.xml" not in names:
        raise FileRejected(_("This file is a zip archive but not an XLSX workbook."), status=415)
    total = 0
    for member in members:
        if member.flag_bits & 0x1:
            raise FileRejected(_("This workbook is encrypted. Remove the password and upload it again."), status=415)
        total += member.file_size
        if member.file_size > 1024 * 1024 and member.file_size > MAX_ZIP_RATIO * max(member.compress_size, 1):
            raise FileRejected(_("This workbook expands to far more than its size (a zip bomb?) and was refused."))
    if total > max_unzipped:
        raise FileRejected(_("This workbook is too large once unpacked (%(mb)s MB; at most %(max)s MB).",
                             mb=total // (1024 * 1024), max=max_unzipped // (1024 * 1024)))
    try:
        content_types = archive.read("[Content_Types].xml")[:65536].lower() if "[content_types].xml" in names else b""
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError):
        raise FileRejected(_("This XLSX file is damaged and cannot be opened.")) from None
    if b"macroenabled" in content_types or b"vbaproject" in content_types:
        raise FileRejected(_("Workbooks with macros are not accepted. Save it as an .xlsx workbook (without "
                             "macros) or as CSV."), status=415)
    for member in members:
        if member.filename.lower().endswith((".xml", ".rels", ".vml")):
            _check_prolog(archive, member)
    return total


class _RootReached(Exception):
    pass


class _StopAtRoot:
    """A parser target that ends parsing at the first start tag: the prolog is all the check needs."""

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        raise _RootReached


def _check_prolog(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Entity declarations have no place in a workbook: a part's prolog (all that comes before its root element,
    however long its comments) is parsed with defusedxml, which refuses any DTD, so "billion laughs" is a 4xx
    before calamine sees the part. Parsing stops at the root element's start tag; nothing else is read."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser, ParseError

    parser = DefusedXMLParser(target=_StopAtRoot(), forbid_dtd=True)
    try:
        with archive.open(member) as fh:
            while chunk := fh.read(4096):
                parser.feed(chunk)
    except _RootReached:
        return
    except DefusedXmlException:
        raise FileRejected(_("This workbook declares XML entities, which are not allowed.")) from None
    except ParseError:
        return  # not XML before its root (calamine refuses what it cannot read); no DTD has been declared
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise FileRejected(_("This XLSX file is damaged and cannot be opened.")) from None


def _xlsx_text(value: Any) -> str | None:
    """A cell value from calamine as the text a CSV of it would hold: what the cell parsers (cells.py) expect.

    calamine gives str, float (every number: an XLSX stores doubles), int, bool, date, datetime, time and
    timedelta, and "" for an empty or error cell. Numbers are written out with the shortest decimal that reads
    back as the same double (repr, then Decimal(str(value))): 1280.0 becomes "1280" (never "1280.0"), a typed
    1.15 (stored as 1.1499999999999999) becomes "1.15", and 1e20 is written out in digits, never as "1e+20" (an
    exponent in a quantity is refused; this is a real number, merely far out of range). A formula's float noise
    (0.1+0.2 cached as 0.30000000000000004) is kept as it is: the cell parser's scale check then names the cell
    instead of the importer rounding it silently. Decimal(value) on the float itself would give its binary
    expansion (0.299999999999999988897769753748...), which is never what anyone typed.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return "NaN"
        if value.is_integer() and abs(value) < 2 ** 53:
            return str(int(value))  # also turns -0.0 into "0"
        return decimal_text(Decimal(str(value)))
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)  # a duration ([h]:mm): as Python writes it, which no cell parser accepts as a date


def read_xlsx(data: bytes, *, max_rows: int = 200_000, max_unzipped: int = 200 * 1024 * 1024,
              sheet_names: tuple[str, ...] = ()) -> Table:
    """The first worksheet, or the one named like the import (sheet_names), read with calamine after the zip
    checks; rows are numbered as Excel numbers them."""
    check_workbook(data, max_unzipped)
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
            sheets = [m.name for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
            if not sheets:
                raise FileRejected(_("This workbook has no worksheet."))
            wanted = {n.strip().casefold() for n in sheet_names if n}
            name = next((n for n in sheets if n.strip().casefold() in wanted), sheets[0])
            sheet = workbook.get_sheet_by_name(name)  # the whole sheet is read here (bounded by max_unzipped)
    except FileRejected:
        raise
    except Exception as exc:  # calamine raises XmlError, ZipError and others on hostile input: "cannot read"
        logger.info("unreadable workbook: %r", exc)
        raise FileRejected(_("This XLSX file cannot be read (%(reason)s).", reason=type(exc).__name__)) from None
    start = sheet.start
    if start is None:
        raise FileRejected(_("The first worksheet is empty."))
    # calamine's rows begin at row 1 (rows above the data come as empty rows) but at the data's first column:
    # the columns to its left are put back, so that cells keep the column numbers the user sees.
    left: list[None] = [None] * start[1]
    rows = sheet.iter_rows()
    header: list[Any] | None = None
    header_row = 0
    for values in rows:
        header_row += 1
        cells = _xlsx_cells(values, left)
        if any(v is not None and v.strip() for v in cells):
            header = [v or "" for v in cells]
            break
    if header is None:
        raise FileRejected(_("The first worksheet is empty."))
    while header and not header[-1].strip():
        header.pop()
    last_row = sheet.end[0] + 1 if sheet.end is not None else header_row
    if last_row - header_row > max_rows:  # known before a single row is converted
        raise FileRejected(_("The file has more than %(n)s rows. Split it into smaller files.", n=max_rows))
    table = Table("xlsx", header, iter(()))
    table.rows = _xlsx_rows(rows, header_row, left)
    return table


_NUMBER_MEMO_SIZE = 10_000


def _float_text(value: float, memo: dict[float, str]) -> str:
    text = _xlsx_text(value)
    if len(memo) < _NUMBER_MEMO_SIZE and value == value:  # never NaN: it equals nothing, not even itself
        memo[value] = text  # type: ignore[assignment]
    return text  # type: ignore[return-value]


def _xlsx_cells(values: list[Any], left: list[None], numbers: dict[float, str] | None = None) -> list[Any]:
    """One calamine row as text cells (None when empty), without the empty cells at its end.

    `numbers` remembers the text of each float already seen in the sheet (a file repeats a few dozen
    quantities on 100,000 rows): keyed by float only, as 1, 1.0 and True are equal keys but different texts.
    """
    text = _xlsx_text
    if numbers is None:
        numbers = {}
    known = numbers.get
    cells = [(v or None) if type(v) is str
             else (known(v) or _float_text(v, numbers)) if type(v) is float
             else text(v) for v in values]
    if left:
        cells[:0] = left
    while cells and cells[-1] is None:
        cells.pop()
    return cells


def _xlsx_rows(rows: Iterator[list[Any]], header_row: int, left: list[None]) -> Iterator[tuple[int, list[Any]]]:
    row_number = header_row
    numbers: dict[float, str] = {}
    for values in rows:
        row_number += 1
        yield row_number, _xlsx_cells(values, left, numbers)


# ---------------------------------------------------------------- JSON

class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _json_number(text: str) -> str:
    """A JSON number as plain digits: 1.5e2 is a real number (like a numeric XLSX cell), so it reads as 150.

    Only modest exponents are written out; 1e999999 stays as written and is refused by the cell.
    """
    if "e" not in text and "E" not in text:
        return text
    number = Decimal(text)
    if -30 <= number.adjusted() <= 30:
        return decimal_text(number)
    return text


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def read_json(data: bytes, *, max_rows: int = 200_000) -> Table:
    """{"rows": [{"column": value, ...}, ...]} (or the bare list); row N is the N-th object."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRejected(_("The body is not valid UTF-8."), status=400) from None
    try:
        body = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_json_number, parse_int=str,
                          parse_constant=_refuse_constant)
    except _DuplicateKey as exc:
        raise FileRejected(_("The key '%(key)s' appears twice.", key=str(exc)[:100]), status=400) from None
    except RecursionError:
        raise FileRejected(_("The body is nested too deeply."), status=400) from None
    except ValueError as exc:
        raise FileRejected(_("The body is not valid JSON: %(reason)s", reason=str(exc)[:200]), status=400) from None
    if isinstance(body, dict) and set(body) == {"rows"}:
        body = body["rows"]
    if not isinstance(body, list):
        raise FileRejected(_("Send {\"rows\": [{...}, ...]}: a list of objects, one per row."), status=400)
    if len(body) > max_rows:
        raise FileRejected(_("The file has more than %(n)s rows. Split it into smaller files.", n=max_rows))
    headers: list[str] = []
    seen: set[str] = set()
    for obj in body:
        if isinstance(obj, dict):
            for key in obj:
                if key not in seen:
                    seen.add(key)
                    headers.append(key)
    table = Table("json", headers, iter(()), encoding="utf-8")
    table.rows = _json_rows(body, headers, table)
    return table


def _json_rows(body: list[Any], headers: list[str], table: Table) -> Iterator[tuple[int, list[Any]]]:
    for number, obj in enumerate(body, start=1):
        if not isinstance(obj, dict):
            table.errors.append(RowError(number, None, _("Each row must be an object of column: value.")))
            table.bad_rows.add(number)
            continue
        cells: list[Any] = []
        for key in headers:
            value = obj.get(key)
            if value is None or isinstance(value, str):
                cells.append(value)
            elif isinstance(value, bool):
                table.errors.append(RowError(number, key, _("true/false is not accepted here; send a number or text.")))
                table.bad_rows.add(number)
                cells.append(None)
            else:  # list or object
                table.errors.append(RowError(number, key, _("Must be a single value, not a list or an object.")))
                table.bad_rows.add(number)
                cells.append(None)
        yield number, cells


# ---------------------------------------------------------------- file names

def safe_filename(name: str | None) -> str:
    """The base name only (no directories, no control characters), at most 200 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]", "", name).strip(" .")
    name = re.sub(r"[<>:\"|?*]", "_", name)
    if not name:
        return "upload"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot and len(ext) <= 9 else name[:200]
    return name
