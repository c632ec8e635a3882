"""Exports: CSV with a BOM for Korean Excel, XLSX typed, and formula-looking text escaped in both."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from cogrow.core.errors import BadRequest
from cogrow.imports import export

ROWS = [["=1+1", Decimal("1.50"), date(2026, 3, 4)], ["+82-10", Decimal("-2"), None], ["@SUM(A1)", 3, "\tx"],
        ["\rcr", 0, "-x"], ["플랜지", Decimal("1000"), "plain"]]


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


def body(response) -> bytes:
    """What the server sends: the streamed file (a direct-passthrough response has no get_data())."""
    assert response.direct_passthrough and response.is_streamed
    data = b"".join(response.response)
    response.close()
    assert len(data) == response.content_length
    return data


def test_csv_has_a_bom_and_escapes_formula_cells():
    response = export.respond(["part", "qty", "due"], ROWS, "예측 list", "csv")
    data = body(response)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8")
    assert "'=1+1,1.5,2026-03-04" in text
    assert "'+82-10,-2," in text  # a negative *number* stays a number; text starting with + is escaped
    assert "'@SUM(A1)" in text and "'\tx" in text and "'-x" in text and "\"'\rcr\"" in text
    assert "플랜지,1000,plain" in text
    assert response.mimetype == "text/csv"
    assert "filename*=UTF-8''%EC%98%88%EC%B8%A1%20list.csv" in response.headers["Content-Disposition"]


def test_xlsx_keeps_numbers_and_dates_typed_and_never_writes_a_formula():
    response = export.respond(["part", "qty", "due"], ROWS, "forecast", "xlsx")
    sheet = load_workbook(io.BytesIO(body(response))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("part", "qty", "due")
    assert values[1][0] == "'=1+1" and values[1][1] == 1.5 and values[1][2].date() == date(2026, 3, 4)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert values[3][0] == "'@SUM(A1)"


def test_an_unknown_format_is_a_400_naming_format():
    with pytest.raises(BadRequest) as caught:
        export.respond(["a"], [], "x", "pdf")
    assert "format" in caught.value.fields


def test_file_names_lose_path_separators():
    response = export.respond(["a"], [], "../../etc/passwd", "csv")
    response.close()  # the server closes what it sent; the file goes with it
    assert "/" not in response.headers["Content-Disposition"].split("filename=")[1].split(";")[0]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_large_export_is_written_to_a_temporary_file_and_sent_from_it(fmt, monkeypatch):
    """The rows go to a spooled file that moves to disk past SPOOL_BYTES; send_file streams it with the
    headers downloads always had."""
    monkeypatch.setattr(export, "SPOOL_BYTES", 4096)
    rows = ([f"PN-{n}", Decimal(n), date(2026, 3, 4)] for n in range(5000))  # read once, as a query's rows are
    response = export.respond(["part", "qty", "due"], rows, "예측", fmt)
    assert not isinstance(response.response.file, io.BytesIO)  # the spooled file, on disk by now
    assert response.response.file._rolled
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=\"download.{fmt}\"; filename*=UTF-8''%EC%98%88%EC%B8%A1.{fmt}")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    data = body(response)
    if fmt == "csv":
        lines = data.decode("utf-8-sig").splitlines()
        assert len(lines) == 5001 and lines[-1] == "PN-4999,4999,2026-03-04"
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    else:
        sheet = load_workbook(io.BytesIO(data), read_only=True).active
        assert sum(1 for _row in sheet.iter_rows()) == 5001
        assert response.mimetype == export.XLSX_MIMETYPE


def test_rows_that_fail_fail_before_the_response_starts():
    def rows():
        yield ["PN-1", 1, None]
        raise BadRequest("stop")

    with pytest.raises(BadRequest):
        export.respond(["part", "qty", "due"], rows(), "x", "csv")
