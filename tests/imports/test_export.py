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


def test_csv_has_a_bom_and_escapes_formula_cells():
    response = export.respond(["part", "qty", "due"], ROWS, "예측 list", "csv")
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body[3:].decode("utf-8")
    assert "'=1+1,1.5,2026-03-04" in text
    assert "'+82-10,-2," in text  # a negative *number* stays a number; text starting with + is escaped
    assert "'@SUM(A1)" in text and "'\tx" in text and "'-x" in text and "\"'\rcr\"" in text
    assert "플랜지,1000,plain" in text
    assert response.mimetype == "text/csv"
    assert "filename*=UTF-8''%EC%98%88%EC%B8%A1%20list.csv" in response.headers["Content-Disposition"]


def test_xlsx_keeps_numbers_and_dates_typed_and_never_writes_a_formula():
    response = export.respond(["part", "qty", "due"], ROWS, "forecast", "xlsx")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
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
    assert "/" not in response.headers["Content-Disposition"].split("filename=")[1].split(";")[0]
