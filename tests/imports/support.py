"""Builders for import test files (CSV in any encoding, XLSX, hostile workbooks) and a test-only import kind."""
from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from cogrow.catalog.models import Item
from cogrow.extensions import db
from cogrow.imports.cells import code_cell, date_cell, datetime_cell, decimal_cell, text_cell
from cogrow.imports.registry import KINDS, Column, ImportKind, RowError, register

TEST_KIND = "test_items"
HEADER = ["part_number", "lead_time", "note"]
FAIL = {"after": None}  # set to a number to make apply fail after that many rows (all-or-nothing tests)


def _validate(actor, rel, rows):
    parts = dict(db.session.execute(select(Item.prime_part_number, Item.id).where(Item.relationship_id == rel.id)).all())
    errors, ready, seen = [], [], {}
    for row in rows:
        part = row.values["part_number"]
        if part not in parts:
            errors.append(RowError(row.row, "part_number", _("%(part)s is not a part number of this relationship.",
                                                             part=part)))
            continue
        if part in seen:
            errors.append(RowError(row.row, "part_number", f"duplicate of row {seen[part]}"))
            continue
        seen[part] = row.row
        ready.append((parts[part], row.values))
    return ready, errors


def _preview(actor, rel, ready):
    return {"summary": {"items": len(ready)}, "columns": ["item", "lead_time"],
            "lines": [[item_id, values["lead_time"]] for item_id, values in ready]}


def _apply(actor, rel, ready, batch, progress):
    for n, (item_id, values) in enumerate(ready, start=1):
        if FAIL["after"] is not None and n > FAIL["after"]:
            raise RuntimeError("the test kind fails on purpose")
        item = db.session.get(Item, item_id)
        item.lead_time_days = int(values["lead_time"])
        if values.get("note") is not None:
            item.description = values["note"]
        progress(n, len(ready))
    db.session.flush()
    return {"updated": len(ready), "total": Decimal(sum(int(v["lead_time"]) for _i, v in ready))}


def make_test_kind() -> ImportKind:
    return ImportKind(
        name=TEST_KIND, label=lambda: "Test items", org_kind="prime", roles=("admin", "planner"),
        columns=(
            Column("part_number", ("Part number", "part_number", "품번"), code_cell(required=True), example="PN-1"),
            Column("lead_time", ("Lead time", "lead_time", "리드타임"), decimal_cell(minimum=0, whole=True, maximum=365),
                   example="7"),
            Column("note", ("Note", "note", "비고"), text_cell(500), required=False),
            Column("due", ("Due", "due"), date_cell(), required=False),
            Column("at", ("At", "at"), datetime_cell(), required=False),
        ),
        validate=_validate, preview=_preview, apply=_apply,
        example_rows=lambda actor, rel: [["PN-1", "7", "=SUM(A1)"]],
    )


def register_test_kind() -> ImportKind:
    FAIL["after"] = None
    return register(make_test_kind())


def unregister_test_kind() -> None:
    KINDS.pop(TEST_KIND, None)
    FAIL["after"] = None


# ---------------------------------------------------------------- file builders

def csv_text(rows: list[list[Any]], delimiter: str = ",", newline: str = "\r\n") -> str:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8", delimiter: str = ",", newline: str = "\r\n") -> bytes:
    return csv_text(rows, delimiter, newline).encode(encoding)


def xlsx_bytes(rows: list[list[Any]], title: str = "Sheet1", extra_sheets: dict[str, list[list[Any]]] | None = None,
               first: str | None = None) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name, more in (extra_sheets or {}).items():
        other = workbook.create_sheet(name, 0 if first == name else None)
        for row in more:
            other.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
          compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A copy of a zip with some members replaced or added."""
    replace = replace or {}
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as target:
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""


def billion_laughs_xlsx() -> bytes:
    return rezip(xlsx_bytes([HEADER, ["PN-1", 1, ""]]), replace={"xl/worksheets/sheet1.xml": BILLION_LAUGHS})


def zip_bomb_xlsx(size: int = 60 * 1024 * 1024) -> bytes:
    """A workbook whose sheet is declared (and really is) tens of MB of one repeated byte."""
    sheet = b"<worksheet>" + b" " * size + b"</worksheet>"
    return rezip(xlsx_bytes([HEADER]), replace={"xl/worksheets/sheet1.xml": sheet})


def macro_xlsx() -> bytes:
    return rezip(xlsx_bytes([HEADER, ["PN-1", 1, ""]]), add={"xl/vbaProject.bin": b"\x00VBA" * 64})


def macro_content_type_xlsx() -> bytes:
    data = xlsx_bytes([HEADER, ["PN-1", 1, ""]])
    types = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    return rezip(data, replace={"[Content_Types].xml": types})


def encrypted_workbook() -> bytes:
    """What Excel writes for a password-protected workbook: an OLE compound file (EncryptedPackage inside)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    return header + b"\x00" * 480 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 1024
