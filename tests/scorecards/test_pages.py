"""The scorecard page, its drill-down and exports, the API, and who may see them."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from openpyxl import load_workbook

from cogrow.core.types import utcnow
from cogrow.scorecards import services
from cogrow.scorecards.periods import month_of
from tests.conftest import sign_in
from tests.scorecards.helpers import po_line, ship, today


def _otif_month(db, tenant):
    """Three PO lines judged in one month: two on time in full, one short."""
    due = today() - timedelta(days=5)
    for qty in ("100", "100", "40"):
        ship(tenant, po_line(tenant, due), qty, due)
    db.session.commit()
    return month_of(due)


def _url(tenant, path="", **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/relationships/{tenant.relationship.id}/scorecard{path}" + (f"?{query}" if query else "")


def test_both_sides_see_both_scorecards_with_a_chart_per_measure(client, db, tenant_a):
    month = _otif_month(db, tenant_a)
    for user in ("prime:procurement", "supplier:production"):
        sign_in(client, tenant_a.users[user])
        page = client.get(_url(tenant_a, start=month.label, end=month_of(today()).label))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert 'data-test="scorecard-supplier"' in html and 'data-test="scorecard-prime"' in html
        for key in services.MEASURES:
            assert f'data-test="chart-scorecard-{key}"' in html
        assert f'data-month="{month.label}" data-value="{Decimal(2) / 3}"' in html
        asn = html[html.index('<tr data-measure="asn_accuracy">'):]
        assert asn.index(f'data-month="{month.label}" data-value=""') < asn.index("</tr>")  # nothing received
        assert ">—</a>" in asn[:asn.index("</tr>")]


def test_the_drill_down_lists_exactly_the_rows_the_figure_counts(client, db, tenant_a):
    month = _otif_month(db, tenant_a)
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get(_url(tenant_a, "/rows", measure="otif", month=month.label)).get_data(as_text=True)
    assert page.count('data-test="counted-row"') == 3
    assert page.count('data-counted="1"') == 2
    assert client.get(_url(tenant_a, "/rows")).status_code == 200  # no measure named: OTIF
    fig = services.figures([tenant_a.relationship.id], [month], today(), utcnow(), ["otif"])["otif"]
    assert fig[(tenant_a.relationship.id, month.label)].den == 3


def test_the_rows_export_as_csv_and_xlsx_with_the_same_rows(client, db, tenant_a):
    month = _otif_month(db, tenant_a)
    sign_in(client, tenant_a.users["prime:planner"])
    answer = client.get(_url(tenant_a, "/rows", measure="otif", month=month.label, format="csv"))
    assert answer.status_code == 200
    table = list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    flags = [row[-1] for row in table[1:]]
    assert sorted(flags) == ["0", "1", "1"]
    xlsx = client.get(_url(tenant_a, "/rows", measure="otif", month=month.label, format="xlsx"))
    sheet = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True).active
    assert sorted(row[-1] for row in list(sheet.iter_rows(values_only=True))[1:]) == [0, 1, 1]


def test_the_figures_export_parses_back_to_the_page_figures(client, db, tenant_a):
    month = _otif_month(db, tenant_a)
    sign_in(client, tenant_a.users["prime:planner"])
    args = {"start": month.label, "end": month.label}
    table = list(csv.reader(io.StringIO(client.get(_url(tenant_a, format="csv", **args)).get_data().decode("utf-8-sig"))))
    otif = {row[3]: row for row in table[1:] if row[1] == "otif"}
    assert otif[month.label][4:] == ["2", "3", "0.666667"] and otif[""][4:] == ["2", "3", "0.666667"]
    assert {row[1] for row in table[1:]} >= set(services.MEASURES) | {"wape_firm", "firm_cut_units"}
    sheet = load_workbook(io.BytesIO(client.get(_url(tenant_a, format="xlsx", **args)).get_data()), read_only=True).active
    cells = {(r[1], r[3] or ""): r for r in list(sheet.iter_rows(values_only=True))[1:]}
    assert Decimal(str(cells[("otif", month.label)][6])) == Decimal("0.666667")
    empty = cells[("asn_accuracy", month.label)]
    assert (list(empty) + [None] * 7)[4:7] == [0, 0, None]  # nothing received: no figure, no division


def test_the_api_answers_both_scorecards(client, db, tenant_a):
    month = _otif_month(db, tenant_a)
    headers = {"Authorization": f"Bearer {tenant_a.tokens['supplier:production']}"}
    answer = client.get(f"/api/v1/relationships/{tenant_a.relationship.id}/scorecard?start={month.label}"
                        f"&end={month.label}", headers=headers)
    assert answer.status_code == 200
    body = answer.get_json()
    otif = next(m for m in body["measures"] if m["key"] == "otif")
    assert otif["months"][0] == {"month": month.label, "numerator": "2", "denominator": "3", "value": "0.666667"}
    asn = next(m for m in body["measures"] if m["key"] == "asn_accuracy")
    assert asn["period"]["value"] is None
    assert {m["side"] for m in body["measures"]} == {"supplier", "prime"} and body["forecast"][-1]["month"] == ""
    doc = client.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/api/v1/relationships/{relationship_id}/scorecard"]["get"]
    assert operation["operationId"] == "getScorecard"
    assert {p["name"] for p in operation["parameters"]} >= {"relationship_id", "start", "end"}


def test_another_organisations_scorecard_is_404_everywhere(client, db, tenant_a, tenant_b):
    sign_in(client, tenant_a.users["prime:planner"])
    for path, args in (("", {}), ("/rows", {"measure": "otif"}), ("", {"format": "csv"})):
        assert client.get(_url(tenant_b, path, **args)).status_code == 404
    headers = {"Authorization": f"Bearer {tenant_a.tokens['prime:planner']}"}
    assert client.get(f"/api/v1/relationships/{tenant_b.relationship.id}/scorecard", headers=headers).status_code == 404


def test_a_bad_period_or_measure_is_a_4xx_naming_it(client, db, tenant_a):
    sign_in(client, tenant_a.users["prime:planner"])
    assert client.get(_url(tenant_a, start="2026-13")).status_code == 422
    assert client.get(_url(tenant_a, start="2026-10", end="2026-01")).status_code == 422
    assert client.get(_url(tenant_a, start="2020-01", end="2026-01")).status_code == 422
    assert client.get(_url(tenant_a, "/rows", measure="nope")).status_code == 422
    assert client.get(_url(tenant_a, "/rows", measure="otif", format="pdf")).status_code == 400
    headers = {"Authorization": f"Bearer {tenant_a.tokens['prime:planner']}"}
    base = f"/api/v1/relationships/{tenant_a.relationship.id}/scorecard"
    bad = client.get(f"{base}?start=11-2026", headers=headers)
    assert bad.status_code == 400 and "start" in bad.get_json()["error"]["fields"]
    backwards = client.get(f"{base}?start=2026-10&end=2026-01", headers=headers)
    assert backwards.status_code == 422 and "start" in backwards.get_json()["error"]["fields"]


def test_months_far_off_or_in_other_scripts_are_refused_not_crashed(client, db, tenant_a):
    headers = {"Authorization": f"Bearer {tenant_a.tokens['prime:planner']}"}
    base = f"/api/v1/relationships/{tenant_a.relationship.id}/scorecard"
    for text in ("9999-12", "0000-01", "2026-٠١", "2026-1x", "２０２６-１３"):
        answer = client.get(f"{base}?start={text}&end={text}", headers=headers)
        assert answer.status_code == 400 and set(answer.get_json()["error"]["fields"]) >= {"start"}, text
    assert client.get(f"{base}?start=２０２６-０１&end=2026-02", headers=headers).status_code == 200
