"""The bad-input corpus of reliability.md, for CSV, XLSX and JSON files, through the real upload page and API.

Every case either imports cleanly (and the values are normalised), or is stored as invalid with the row and
column of every problem, or is refused as a file with a clear 4xx; never a 500, and a bad file changes nothing.
"""
from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from cogrow.catalog.models import Item
from cogrow.imports.models import ImportBatch
from tests.imports import support
from tests.imports.support import HEADER, TEST_KIND, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.usefixtures("test_kind", "items")
H = HEADER


def multipart(data: bytes, filename: str, **form: str) -> tuple[bytes, str]:
    """A multipart body built in memory (the test client would spool a large one to an unclosed temp file)."""
    boundary = "----cogrow-test-boundary-7MA4YWxkTrZu0gW"
    parts = []
    for name, value in form.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(client, rel_id, data, filename="upload.csv", **form):
    body, content_type = multipart(data, filename, **form)
    return client.post(f"/relationships/{rel_id}/imports/{TEST_KIND}", data=body, content_type=content_type)


def latest(db):
    return db.session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(1))


def lead_times(db, rel_id):
    return dict(db.session.execute(select(Item.prime_part_number, Item.lead_time_days)
                                   .where(Item.relationship_id == rel_id)).all())


# ---------------------------------------------------------------- files that import, normalised

GOOD = {
    "utf8": ("a.csv", csv_bytes([H, ["PN-1", "5", "플랜지"]]), {}),
    "utf8-bom": ("a.csv", b"\xef\xbb\xbf" + csv_bytes([H, ["PN-1", "5", "플랜지"]]), {}),
    "cp949-detected": ("a.csv", csv_bytes([H, ["PN-1", "5", "플랜지"]], "cp949"), {}),
    "euc-kr-chosen": ("a.csv", csv_bytes([H, ["PN-1", "5", "플랜지"]], "euc-kr"), {"encoding": "cp949"}),
    "utf16-le-bom": ("a.csv", csv_bytes([H, ["PN-1", "5", "플랜지"]], "utf-16"), {}),
    "utf16-be-bom": ("a.csv", b"\xfe\xff" + csv_bytes([H, ["PN-1", "5", "플랜지"]], "utf-16-be"), {}),
    "semicolon-sniffed": ("a.csv", csv_bytes([H, ["PN-1", "5", "플랜지"]], delimiter=";"), {}),
    "tab-sniffed": ("a.tsv", csv_bytes([H, ["PN-1", "5", "플랜지"]], delimiter="\t"), {}),
    "tab-chosen": ("a.txt", csv_bytes([H, ["PN-1", "5", "플랜지"]], delimiter="\t"), {"delimiter": "tab"}),
    "semicolon-chosen": ("a.csv", csv_bytes([H, ["PN-1", "5", "플랜지"]], delimiter=";"), {"delimiter": ";"}),
    "mixed-line-endings": ("a.csv", b"part_number,lead_time,note\r\nPN-1,5,\xed\x94\x8c\xeb\x9e\x9c\xec\xa7\x80\nPN-2,6,x\rPN-3,7,y\r\n", {}),
    "quoted-newline": ("a.csv", csv_bytes([H, ["PN-1", "5", "line one\nline two"], ["PN-2", "6", "x"]]), {}),
    "full-width-and-trailing-spaces": ("a.csv", csv_bytes([H, ["ＰＮ－１   ", "５", "플랜지"]]), {}),
    "lower-case-part": ("a.csv", csv_bytes([H, [" pn-1", "5", "플랜지"]]), {}),
    "korean-headers": ("a.csv", csv_bytes([["품번", "리드타임", "비고"], ["PN-1", "5", "플랜지"]]), {}),
    "blank-lines-and-trailing-empty-cells": ("a.csv", b"part_number,lead_time,note\r\n\r\nPN-1,5,x,,\r\n", {}),
    "xlsx": ("a.xlsx", xlsx_bytes([H, ["PN-1", 5, "플랜지"]]), {}),
    "xlsx-float-noise": ("a.xlsx", xlsx_bytes([H, ["PN-1", 5.0, "x"]]), {}),
    "xlsx-named-sheet": ("a.xlsx", xlsx_bytes([["junk"]], title="Cover",
                                              extra_sheets={TEST_KIND: [H, ["PN-1", 5, "x"]]}), {}),
    "xlsx-date-cell": ("a.xlsx", xlsx_bytes([H + ["due"], ["PN-1", 5, "x", datetime(2026, 3, 4)]]), {}),
}


@pytest.mark.parametrize("case", GOOD)
def test_accepted_files_import_with_normalised_values(case, db, planner, tenant_a):
    filename, data, form = GOOD[case]
    response = upload(planner, tenant_a.relationship.id, data, filename, **form)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    batch = latest(db)
    assert batch.status == "preview", batch.errors
    confirm = planner.post(f"/relationships/{tenant_a.relationship.id}/imports/{batch.id}/confirm")
    assert confirm.status_code == 303
    db.session.expire_all()
    assert batch.status == "applied"
    assert lead_times(db, tenant_a.relationship.id)["PN-1"] == 5
    item = db.session.scalar(select(Item).where(Item.prime_part_number == "PN-1"))
    if case in ("utf8", "utf8-bom", "cp949-detected", "euc-kr-chosen", "utf16-le-bom", "utf16-be-bom",
                "full-width-and-trailing-spaces", "xlsx"):
        assert item.description == "플랜지"
    if case == "quoted-newline":
        assert item.description == "line one\nline two"


# ---------------------------------------------------------------- files stored as invalid, every bad row named

def _xlsx_row(*cells):
    return xlsx_bytes([H, ["PN-2", 2, "ok"], list(cells)])


BAD_ROWS = {
    "ragged-row": (csv_bytes([H, ["PN-1", "5", "x"], ["PN-2", "6", "x", "extra"], ["PN-3", "7"]]),
                   [(3, None, "4 cells"), (4, None, "2 cells")]),
    "duplicate-headers": (csv_bytes([["part_number", "lead_time", "Lead time"], ["PN-1", "5", "6"]]),
                          [(1, "Lead time", "appears twice")]),
    "html-in-header": (csv_bytes([H + ["<script>alert(1)</script>"], ["PN-1", "5", "x", "y"]]),
                       [(1, "<script>alert(1)</script>", "Unknown column")]),
    "missing-column": (csv_bytes([["part_number", "note"], ["PN-1", "x"]]), [(1, "Lead time", "missing")]),
    "nul-in-cell": (csv_bytes([H, ["PN-1", "5", "a\x00b"], ["PN\x002", "5", "x"]]),
                    [(2, "note", "NUL"), (3, "part_number", "NUL")]),
    "zero-width-in-part": (csv_bytes([H, ["PN\u200b-1", "5", "x"]]), [(2, "part_number", "invisible")]),
    "one-megabyte-cell": (csv_bytes([H, ["PN-1", "5", "x" * 1_048_576]]), [(2, "note", "too long")]),
    "negative": (csv_bytes([H, ["PN-1", "-5", ""]]), [(2, "lead_time", "at least 0")]),
    "nan": (csv_bytes([H, ["PN-1", "NaN", ""]]), [(2, "lead_time", "finite")]),
    "infinity": (csv_bytes([H, ["PN-1", "Infinity", ""]]), [(2, "lead_time", "finite")]),
    "1e309": (csv_bytes([H, ["PN-1", "1e309", ""]]), [(2, "lead_time", "without an exponent")]),
    "2^63": (csv_bytes([H, ["PN-1", str(2 ** 63), ""]]), [(2, "lead_time", "out of range")]),
    "decimal-comma": (csv_bytes([H, ["PN-1", "1,5", ""]]), [(2, "lead_time", "'.' for decimals")]),
    "thousands-separator": (csv_bytes([H, ["PN-1", "1,000", ""]]), [(2, "lead_time", "at most 365")]),  # read as 1000
    "fraction-of-whole-unit": (csv_bytes([H, ["PN-1", "1.5", ""]]), [(2, "lead_time", "whole number")]),
    "boolean": (csv_bytes([H, ["PN-1", "TRUE", ""]]), [(2, "lead_time", "true/false")]),
    "empty-required": (csv_bytes([H, ["PN-1", "", "x"], ["", "5", "x"]]),
                       [(2, "lead_time", "required"), (3, "part_number", "required")]),
    "impossible-date": (csv_bytes([H + ["due"], ["PN-1", "5", "", "2024-02-30"]]), [(2, "due", "no such date")]),
    "excel-serial-as-text": (csv_bytes([H + ["due"], ["PN-1", "5", "", "45000"]]), [(2, "due", "serial")]),
    "day-month-ambiguous": (csv_bytes([H + ["due"], ["PN-1", "5", "", "03/04/2026"]]), [(2, "due", "ambiguous")]),
    "naive-vs-offset-bad-time": (csv_bytes([H + ["at"], ["PN-1", "5", "", "2026-03-04"]]), [(2, "at", "time")]),
    "unknown-part": (csv_bytes([H, ["PN-1", "5", ""], ["NOPE-9", "5", ""]]), [(3, "part_number", "NOPE-9")]),
    "duplicate-rows": (csv_bytes([H, ["PN-1", "5", ""], ["pn-1 ", "6", ""]]), [(3, "part_number", "duplicate")]),
    "xlsx-negative": (_xlsx_row("PN-1", -1, ""), [(3, "lead_time", "at least 0")]),
    "xlsx-boolean": (_xlsx_row("PN-1", True, ""), [(3, "lead_time", "true/false")]),
    "xlsx-fraction": (_xlsx_row("PN-1", 1.5, ""), [(3, "lead_time", "whole number")]),
    "xlsx-serial-number-date": (xlsx_bytes([H + ["due"], ["PN-1", 5, "", 45000]]), [(2, "due", "serial")]),
    "xlsx-ragged": (xlsx_bytes([H, ["PN-1", 5, "", "spill"]]), [(2, None, "4 cells")]),
    "xlsx-formula-without-cached-value": (_xlsx_row("PN-1", "=1+1", ""), [(3, "lead_time", "required")]),
}


@pytest.mark.parametrize("case", BAD_ROWS)
def test_bad_rows_are_each_named_and_nothing_changes(case, db, planner, tenant_a):
    data, expected = BAD_ROWS[case]
    before = lead_times(db, tenant_a.relationship.id)
    filename = "bad.xlsx" if case.startswith("xlsx") else "bad.csv"
    response = upload(planner, tenant_a.relationship.id, data, filename)
    assert response.status_code == 303
    batch = latest(db)
    assert batch.status == "invalid"
    assert batch.content is None
    for row, column, fragment in expected:
        assert any(e["row"] == row and (column is None or e["column"] == column) and fragment in e["message"]
                   for e in batch.errors), (row, column, fragment, batch.errors)
    assert batch.error_count == len(batch.errors) >= len(expected)
    page = planner.get(f"/relationships/{tenant_a.relationship.id}/imports/{batch.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html  # HTML in a header is shown, escaped
    assert 'data-test="confirm"' not in html
    assert lead_times(db, tenant_a.relationship.id) == before


def test_a_file_with_one_bad_row_among_many_changes_nothing_and_lists_every_bad_row(db, planner, tenant_a):
    rows = [H] + [["PN-1", "5", ""], ["PN-2", "x", ""], ["PN-3", "7", ""], ["NOPE", "-1", ""]]
    upload(planner, tenant_a.relationship.id, csv_bytes(rows))
    batch = latest(db)
    assert batch.status == "invalid"
    assert [(e["row"], e["column"]) for e in batch.errors] == [(3, "lead_time"), (5, "lead_time")]
    confirm = planner.post(f"/relationships/{tenant_a.relationship.id}/imports/{batch.id}/confirm")
    assert confirm.status_code == 303
    db.session.expire_all()
    assert batch.status == "invalid"
    assert lead_times(db, tenant_a.relationship.id)["PN-1"] == 0


# ---------------------------------------------------------------- files refused as files

REJECTED = {
    "csv-renamed-to-xlsx": ("renamed.xlsx", csv_bytes([H, ["PN-1", "5", ""]]), 415, "not an XLSX"),
    "password-protected": ("locked.xlsx", support.encrypted_workbook(), 415, "password"),
    "macro-vbaproject": ("macro.xlsm", support.macro_xlsx(), 415, "macros"),
    "macro-content-type": ("macro.xlsx", support.macro_content_type_xlsx(), 415, "macros"),
    "billion-laughs": ("laughs.xlsx", support.billion_laughs_xlsx(), 422, "entities"),
    "billion-laughs-after-a-long-comment": ("laughs.xlsx", support.rezip(
        xlsx_bytes([H, ["PN-1", 1, ""]]), replace={"xl/worksheets/sheet1.xml": support.BILLION_LAUGHS.replace(
            b"?>\n", b"?>\n<!--" + b"x" * 20_000 + b"-->\n", 1)}), 422, "entities"),
    "zip-bomb": ("bomb.xlsx", support.zip_bomb_xlsx(), 422, "zip bomb"),
    "damaged-zip": ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 200, 422, "damaged"),
    "zip-but-not-workbook": ("a.xlsx", support.rezip(xlsx_bytes([H]), replace={}), 0, ""),  # placeholder, see below
    "invalid-bytes": ("bad.csv", b"part_number,lead_time\r\nPN-1,\xff\xfe\xfd\x80\x81\r\n", 422, "not valid"),
    "utf16-without-bom": ("a.csv", csv_bytes([H, ["PN-1", "5", ""]], "utf-16-le"), 422, "UTF-16"),
    "empty": ("empty.csv", b"", 422, "empty"),
    "only-whitespace": ("empty.csv", b"\r\n \r\n", 422, "empty"),
    "unknown-encoding-choice": ("a.csv", csv_bytes([H, ["PN-1", "5", ""]]), 400, "encoding"),
}
REJECTED.pop("zip-but-not-workbook")


@pytest.mark.parametrize("case", REJECTED)
def test_hostile_or_unreadable_files_get_a_clear_4xx_and_no_batch(case, db, planner, tenant_a):
    filename, data, status, fragment = REJECTED[case]
    form = {"encoding": "latin-9"} if case == "unknown-encoding-choice" else {}
    before = db.session.scalar(select(func.count()).select_from(ImportBatch))
    response = upload(planner, tenant_a.relationship.id, data, filename, **form)
    assert response.status_code == status
    assert fragment in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == before


def test_entity_expansion_is_refused_by_calamine_itself_too(app):
    """Even without our prolog check, calamine expands no entity: the sheet is unreadable, not a billion laughs."""
    from python_calamine import CalamineWorkbook, XmlError

    with pytest.raises(XmlError, match="entity"):
        CalamineWorkbook.from_filelike(io.BytesIO(support.billion_laughs_xlsx())).get_sheet_by_index(0)


def test_a_doctype_hidden_behind_a_long_comment_is_refused_before_calamine_reads_the_sheet(app, monkeypatch):
    """The prolog check parses up to the root element with defusedxml, however far that is from the start."""
    import python_calamine

    from cogrow.imports import reader

    def never(*args, **kwargs):
        raise AssertionError("calamine opened a workbook that declares entities")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", never)
    sheet = support.BILLION_LAUGHS.replace(b"?>\n", b"?>\n<!--" + b"x" * 200_000 + b"-->\n", 1)
    data = support.rezip(xlsx_bytes([H, ["PN-1", 1, ""]]), replace={"xl/worksheets/sheet1.xml": sheet})
    with app.test_request_context(), pytest.raises(reader.FileRejected, match="entities"):
        reader.read("laughs.xlsx", data)


def test_a_zip_that_is_not_a_workbook_is_refused(db, planner, tenant_a):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    response = upload(planner, tenant_a.relationship.id, buffer.getvalue(), "a.xlsx")
    assert response.status_code == 415
    assert "not an XLSX workbook" in response.get_data(as_text=True)


def test_unpacked_size_over_the_limit_is_refused(app, db, planner, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_UNZIPPED_BYTES", 1024)
    response = upload(planner, tenant_a.relationship.id, xlsx_bytes([H, ["PN-1", 5, ""]]), "a.xlsx")
    assert response.status_code == 422
    assert "too large once unpacked" in response.get_data(as_text=True)


def test_a_file_over_the_import_limit_is_a_413(app, db, planner, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 100)
    data = csv_bytes([H] + [["PN-1", "5", "x" * 20]] * 10)
    assert upload(planner, tenant_a.relationship.id, data).status_code == 413
    api = _api(app, tenant_a, data, "text/csv")
    assert api.status_code == 413 and api.get_json()["error"]["code"] == "payload_too_large"


def test_a_request_over_the_request_limit_is_a_413(app, db, planner, tenant_a):
    data = b"part_number,lead_time,note\r\n" + b"PN-1,5," + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    assert upload(planner, tenant_a.relationship.id, data).status_code == 413


def test_more_rows_than_the_row_limit_are_refused(app, db, planner, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 3)
    for name, data in (("a.csv", csv_bytes([H] + [["PN-1", "5", ""]] * 4)),
                       ("a.xlsx", xlsx_bytes([H] + [["PN-1", 5, ""]] * 4))):
        response = upload(planner, tenant_a.relationship.id, data, name)
        assert response.status_code == 422, name
        assert "more than 3 rows" in response.get_data(as_text=True)


def test_path_traversal_file_names_are_reduced_to_a_base_name(db, planner, tenant_a):
    upload(planner, tenant_a.relationship.id, csv_bytes([H, ["PN-1", "5", ""]]), "../../etc/..\\win\\passwd.csv")
    name = latest(db).filename
    assert name.endswith("passwd.csv") and "/" not in name and "\\" not in name and ".." not in name


def test_formula_cells_are_stored_as_text_and_escaped_on_export(app, db, planner, tenant_a):
    payload = '=HYPERLINK("http://evil.example","click")'
    upload(planner, tenant_a.relationship.id, csv_bytes([H, ["PN-1", "5", payload], ["PN-2", "6", "@SUM(1)"]]))
    batch = latest(db)
    planner.post(f"/relationships/{tenant_a.relationship.id}/imports/{batch.id}/confirm")
    item = db.session.scalar(select(Item).where(Item.prime_part_number == "PN-1"))
    assert item.description == payload
    from cogrow.imports import export

    with app.test_request_context():
        response = export.respond(["description"], [[item.description]], "items", "csv")
        body = b"".join(response.response)
        response.close()
    assert b"'=HYPERLINK" in body


def test_a_workbook_formula_is_never_evaluated_only_its_cached_value_is_read(db, planner, tenant_a):
    from tests.imports.support import rezip

    data = xlsx_bytes([H, ["PN-1", 5, "x"]])
    import zipfile

    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    # B2 becomes a formula whose cached value is 9: the importer must read 9 and never run the formula.
    sheet = sheet.replace(b'<c r="B2" t="n"><v>5</v></c>', b'<c r="B2"><f>WEBSERVICE("http://x")</f><v>9</v></c>')
    upload(planner, tenant_a.relationship.id, rezip(data, replace={"xl/worksheets/sheet1.xml": sheet}), "f.xlsx")
    batch = latest(db)
    assert batch.status == "preview", batch.errors
    assert batch.summary["lines"][0][1] == "9"


# ---------------------------------------------------------------- JSON bodies through the API

def _api(app, tenant, body, content_type, **query):
    from urllib.parse import urlencode

    client = app.test_client()
    url = f"/api/v1/relationships/{tenant.relationship.id}/imports/{TEST_KIND}"
    if query:
        url += "?" + urlencode(query)
    return client.post(url, data=body, headers={"Authorization": f"Bearer {tenant.tokens['prime:planner']}",
                                                "Content-Type": content_type})


def test_json_rows_with_numbers_as_strings_or_numbers_import(app, db, tenant_a):
    body = json.dumps({"rows": [{"part_number": "PN-1", "lead_time": "5"}, {"part_number": "PN-2", "lead_time": 6}]})
    response = _api(app, tenant_a, body, "application/json", confirm="true")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "applied"
    assert lead_times(db, tenant_a.relationship.id)["PN-2"] == 6


JSON_BAD_ROWS = {
    "boolean": ({"part_number": "PN-1", "lead_time": True}, "true/false"),
    "null-required": ({"part_number": "PN-1", "lead_time": None}, "required"),
    "array": ({"part_number": "PN-1", "lead_time": [5]}, "single value"),
    "object": ({"part_number": "PN-1", "lead_time": {"v": 5}}, "single value"),
    "negative": ({"part_number": "PN-1", "lead_time": -5}, "at least 0"),
    "huge": ({"part_number": "PN-1", "lead_time": 2 ** 63}, "out of range"),
    "1e309": ({"part_number": "PN-1", "lead_time": "1e309"}, "without an exponent"),
    "fraction": ({"part_number": "PN-1", "lead_time": 1.5}, "whole number"),
}


@pytest.mark.parametrize("case", JSON_BAD_ROWS)
def test_json_bad_values_are_named_by_row_and_key(case, app, db, tenant_a):
    row, fragment = JSON_BAD_ROWS[case]
    response = _api(app, tenant_a, json.dumps({"rows": [{"part_number": "PN-2", "lead_time": 1}, row]}),
                    "application/json", confirm="true")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["import"]["status"] == "invalid"
    assert any(e["row"] == 2 and e["column"] == "lead_time" and fragment in e["message"]
               for e in error["import"]["errors"]), error
    assert "row 2: lead_time" in error["fields"]
    assert lead_times(db, tenant_a.relationship.id)["PN-2"] == 0


JSON_REJECTED = {
    "duplicate-keys": (b'{"rows": [{"part_number": "PN-1", "part_number": "PN-2", "lead_time": 1}]}',
                       "application/json", 400, "appears twice"),
    "deep-nesting": (b'{"rows": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "application/json", 400, "nested"),
    "invalid-utf8": (b'{"rows": [{"part_number": "\xff\xfe"}]}', "application/json", 400, "UTF-8"),
    "nan-literal": (b'{"rows": [{"part_number": "PN-1", "lead_time": NaN}]}', "application/json", 400, "JSON"),
    "not-a-list": (b'{"part_number": "PN-1"}', "application/json", 400, "rows"),
    "wrong-content-type": (b"part_number,lead_time\nPN-1,5\n", "application/x-www-form-urlencoded", 415,
                           "Content-Type"),
}


@pytest.mark.parametrize("case", JSON_REJECTED)
def test_json_bodies_that_are_not_rows_are_refused(case, app, db, tenant_a):
    body, content_type, status, fragment = JSON_REJECTED[case]
    response = _api(app, tenant_a, body, content_type)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert fragment in json.dumps(error)


def test_a_50_mb_body_is_a_413(app, db, tenant_a):
    response = _api(app, tenant_a, b"[" + b" " * (50 * 1024 * 1024) + b"]", "application/json")
    assert response.status_code == 413


def test_api_accepts_raw_csv_with_encoding_and_delimiter_in_the_query(app, db, tenant_a):
    data = csv_bytes([H, ["PN-1", "5", "플랜지"]], "cp949", delimiter=";")
    response = _api(app, tenant_a, data, "text/csv", encoding="euc-kr", delimiter=";")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "preview" and body["encoding"] == "cp949" and body["delimiter"] == ";"


def test_api_accepts_a_raw_xlsx_body(app, db, tenant_a):
    response = _api(app, tenant_a, xlsx_bytes([H, ["PN-1", 5, ""]]),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert response.status_code == 201 and response.get_json()["file_format"] == "xlsx"


def test_workbook_cells_reach_the_cell_parsers_as_the_text_a_csv_would_hold(app):
    """Numbers (no "1280.0", no float noise, no exponent), dates, times, booleans, shared and inline strings,
    gaps, missing rows, a data area that starts at column B, and a formula without a cached value."""
    from openpyxl import Workbook

    from cogrow.imports import reader

    workbook = Workbook()
    sheet = workbook.active
    sheet["B2"] = "header"
    sheet.append([None, "text", 1280, -2, 1.5, 0.1 + 0.2, 1e20, True, False, datetime(2026, 3, 4),
                  datetime(2026, 3, 4, 8, 30), 1.15, 123456.789, -0.0])
    sheet["D5"] = "gap before"
    sheet["G6"] = "=1+1"
    sheet.append([None, None, None, "플랜지", "line\nbreak"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with app.test_request_context():
        table = reader.read("a.xlsx", buffer.getvalue())
        rows = list(table.rows)
    assert table.headers == ["", "header"]
    assert rows[0] == (3, [None, "text", "1280", "-2", "1.5", "0.3", "100000000000000000000", "TRUE", "FALSE",
                           "2026-03-04", "2026-03-04T08:30:00", "1.15", "123456.789", "0"])
    assert rows[1:] == [(4, []), (5, [None, None, None, "gap before"]), (6, []),
                        (7, [None, None, None, "플랜지", "line\nbreak"])]


def test_workbook_numbers_keep_their_exact_decimal_value():
    from cogrow.imports.reader import _xlsx_text

    assert _xlsx_text(1280.0) == "1280" and _xlsx_text(-0.0) == "0" and _xlsx_text(7) == "7"
    assert _xlsx_text(1.1499999999999999) == "1.15"  # how Excel stores a typed 1.15
    assert _xlsx_text(0.1 + 0.2) == "0.30000000000000004"  # a formula's noise is kept, and the parser names it
    assert _xlsx_text(2.0 ** 63) == "9223372036854776000"  # as the file stores it: 9.223372036854776e+18
    assert _xlsx_text(1e-7) == "0.0000001"
    assert _xlsx_text("") is None and _xlsx_text(float("nan")) == "NaN"


def test_workbook_numbers_remembered_per_sheet_keep_each_type_apart():
    """The reader remembers each float's text across rows; 1.0, 1 and True are equal keys with different texts."""
    from cogrow.imports.reader import _xlsx_cells

    numbers: dict[float, str] = {}
    row = [1.0, True, 1, 2.5, "", "x", -0.0, float("nan")]
    assert _xlsx_cells(row, [], numbers) == ["1", "TRUE", "1", "2.5", None, "x", "0", "NaN"]
    assert _xlsx_cells(list(reversed(row)), [None], numbers) == [None, "NaN", "0", "x", None, "2.5", "1", "TRUE", "1"]
    assert numbers == {1.0: "1", 2.5: "2.5", 0.0: "0"}
