"""The item ledger's chart table: the ledger's own weekly numbers, and guaranteed coverage split by source.

The table is what static/cogrow.js draws, so these are the numbers the chart shows (tests/e2e/test_charts.py reads
them back from the drawn chart).
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import event

from cogrow.core.formatting import format_moment, format_week
from cogrow.coverage import services
from cogrow.coverage.chart import chart_weeks
from cogrow.extensions import db as _db
from tests.conftest import sign_in
from tests.coverage import builders as b
from tests.coverage.builders import CW, NOW, D, ledger_of, week, weeks_of

SERIES = ["cover_po", "cover_firm", "cover_fab", "supply", "projected", "excess", "shortage"]
LEDGER_COLUMNS = {"po_due": 1, "firm_forecast": 2, "guaranteed_due": 3, "planned_output": 4}


class _ChartTable(HTMLParser):
    """The figure's data-chart-table: header data-col/data-series per column, and each row's data-x and data-values."""

    def __init__(self):
        super().__init__()
        self.columns: list[dict] = []
        self.rows: list[dict] = []
        self.fences = None
        self._in_table = self._in_head = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure" and a.get("data-test") == "chart-coverage":
            self.fences = a.get("data-fences")
        if tag == "table" and "data-chart-table" in a:
            self._in_table = True
        if not self._in_table:
            return
        if tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._in_head = False
        elif tag == "th" and self._in_head:
            self.columns.append(a)
        elif tag == "tr" and not self._in_head:
            self.rows.append({"week": a.get("data-week"), "cells": []})
        elif tag == "th" and a.get("scope") == "row":
            self.rows[-1]["x"] = a.get("data-x")
        elif tag == "td":
            self.rows[-1]["cells"].append(Decimal(a["data-value"]))

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False

    def series(self) -> list[dict]:
        """Per row: {col name: value} for the columns that the chart draws, and the ledger columns."""
        out = []
        for row in self.rows:
            values = {name: row["cells"][index - 1] for name, index in LEDGER_COLUMNS.items()}
            for index, column in enumerate(self.columns):
                if column.get("data-series") is not None:
                    values[column["data-col"]] = row["cells"][index - 1]
            out.append({"x": row["x"], "week": row["week"], **values})
        return out


def _page(client, tenant, it, lang="en"):
    sign_in(client, tenant.users["prime:procurement"])
    with client.session_transaction() as session:
        session["lang"] = lang
    answer = client.get(f"/relationships/{tenant.relationship.id}/items/{it.id}/ledger")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    parser = _ChartTable()
    parser.feed(html)
    return html, parser


@pytest.fixture
def mixed(db, tenant_a):
    """PO, firm forecast partly covered by POs, a FAB authorization above both, a big planned week: every series.

    open PO 150 (100 in week 1, 50 in week 3); firm 100/80/120 in weeks 1-3, so 0 + 80 + 70 = 150 uncovered;
    FAB 650 with 50 shipped = 600 > 300, so guaranteed 600 with a FAB-only part of 300. Supply 20, 900 planned in
    week 2: short 80 in week 1 and 160 in week 2, excess 20 + 900 − 600 = 320 from week 2.
    """
    rel = tenant_a.relationship
    rel.firm_fence_weeks, rel.material_fence_weeks = 4, 8
    it = tenant_a.item
    it.lead_time_days = 28
    b.po_line(it, 100, week(1))
    b.po_line(it, 50, week(3) + timedelta(days=1))
    b.publication(rel, {it: {week(1): 100, week(2): 80, week(3): 120}})
    start = CW - timedelta(days=30)
    b.authorization(it, "FAB", 650, start)
    b.shipment(it, 50, start + timedelta(days=3))
    b.report(it, fg=20, wip=0, plan={week(2): 900})
    services.reconcile(rel.id, [it.id], NOW)
    _db.session.commit()
    return tenant_a, it


def test_the_table_has_the_ledgers_numbers_for_every_week(client, mixed, db):
    tenant, it = mixed
    ledger = ledger_of(db, it)
    assert (ledger.open_po, ledger.firm_uncovered, ledger.fab_authorized, ledger.cum_shipped, ledger.guaranteed,
            ledger.supply) == (D(150), D(150), D(650), D(50), D(600), D(20))
    stored = weeks_of(db, it)
    _, table = _page(client, tenant, it)
    rows = table.series()
    assert rows[0]["week"] == ledger.current_week.isoformat() and len(rows) >= 26
    for row in rows:
        monday = CW.fromisoformat(row["week"])
        assert row["x"] == format_week(monday, "en").split(" ")[0]
        if monday in stored:
            w = stored[monday]
            assert (row["po_due"], row["firm_forecast"], row["guaranteed_due"], row["planned_output"],
                    row["projected"], row["shortage"]) == (w.po_due, w.firm_forecast, w.guaranteed_due,
                                                           w.planned_output, w.projected, w.shortage)
    assert set(stored) <= {CW.fromisoformat(r["week"]) for r in rows}


def test_the_stacked_sources_sum_to_the_coverage_still_standing(client, mixed, db):
    tenant, it = mixed
    ledger = ledger_of(db, it)
    _, table = _page(client, tenant, it)
    due = Decimal(0)
    for row in table.series():
        due += row["guaranteed_due"]
        assert row["cover_po"] + row["cover_firm"] + row["cover_fab"] == ledger.guaranteed - due
        assert row["excess"] == max(Decimal(0), row["projected"] - (ledger.guaranteed - due))
        assert row["supply"] - due == row["projected"]
    by_week = {r["week"]: r for r in table.series()}
    first, w1, w2, w3 = (by_week[week(n).isoformat()] for n in range(4))
    # Nothing is due in the current week: the whole guarantee stands, split 150 PO / 150 firm / 300 FAB only.
    assert (first["cover_po"], first["cover_firm"], first["cover_fab"]) == (D(150), D(150), D(300))
    assert (w1["cover_po"], w1["cover_firm"], w1["cover_fab"]) == (D(50), D(150), D(300))
    assert (w2["cover_po"], w2["cover_firm"], w2["cover_fab"]) == (D(50), D(70), D(300))
    assert (w3["cover_po"], w3["cover_firm"], w3["cover_fab"]) == (D(0), D(0), D(300))
    # Shortage weeks are the ledger's; the excess appears with the planned output, as the ledger projects it.
    assert [r["week"] for r in table.series() if r["shortage"] > 0] == [week(1).isoformat(), week(2).isoformat()]
    assert (w1["shortage"], w2["shortage"]) == (D(80), D(160))
    assert first["excess"] == ledger.excess == D(0)
    assert w3["excess"] == ledger.excess + ledger.projected_excess_qty == D(320)


def test_excess_now_is_the_ledgers_excess(client, db, tenant_a):
    it = tenant_a.item
    b.po_line(it, 100, week(1))
    b.report(it, fg=250, wip=10, plan={week(1): 40})
    services.reconcile(tenant_a.relationship.id, [it.id], NOW)
    _db.session.commit()
    ledger = ledger_of(db, it)
    html, table = _page(client, tenant_a, it)
    first, second = table.series()[:2]
    assert first["excess"] == ledger.excess == D(160)
    assert (first["cover_po"], first["cover_firm"], first["cover_fab"]) == (D(100), D(0), D(0))
    assert (second["cover_po"], second["supply"], second["projected"], second["excess"]) == (D(0), D(300), D(200),
                                                                                           D(200))
    # The chart's series are declared on the header, as cogrow.js reads them.
    kinds = {c["data-col"]: (c["data-series"], c.get("data-stack"), c.get("data-color"), "data-dash" in c)
             for c in table.columns if "data-series" in c}
    assert kinds == {"cover_po": ("bar", "cover", "po", False), "cover_firm": ("bar", "cover", "firm", False),
                     "cover_fab": ("bar", "cover", "fab", False), "supply": ("line", None, "supply", False),
                     "projected": ("line", None, "projected", True), "excess": ("area", None, "excess", False),
                     "shortage": ("marker", None, "shortage", False)}


def test_times_and_weeks_are_shown_in_seoul_in_the_users_language(client, mixed, db):
    tenant, it = mixed
    ledger = ledger_of(db, it)
    for lang in ("ko", "en"):
        html, _ = _page(client, tenant, it, lang)
        assert format_moment(ledger.computed_at, lang) in html
        assert format_week(ledger.current_week, lang) in html
        assert "UTC" not in html


def test_the_chart_costs_no_query_and_follows_the_fab_top_up_down():
    """chart_weeks is arithmetic on the rows the page already has; the FAB-only part never goes negative."""
    ledger = services.CoverageLedger(open_po=D(300), firm_uncovered=D(0), fab_authorized=D(250), cum_shipped=D(0),
                                     supply=D(0), guaranteed=D(300))
    rows = [services.WeekRow(week(0), D(300), D(0), D(0), D(300), D(-300), D(300), True, True)]
    (only,) = chart_weeks(ledger, rows)
    assert (only.cover_po, only.cover_firm, only.cover_fab, only.excess) == (D(0), D(0), D(0), D(0))
    assert chart_weeks(None, rows) == []


def test_the_page_runs_as_many_queries_for_many_weeks_as_for_one(client, db, tenant_a):
    it = tenant_a.item
    b.report(it, fg=10, plan={week(1): 5})
    services.reconcile(tenant_a.relationship.id, [it.id], NOW)
    _db.session.commit()

    sign_in(client, tenant_a.users["prime:procurement"])
    url = f"/relationships/{tenant_a.relationship.id}/items/{it.id}/ledger"

    def count():
        _db.session.expire_all()  # each count starts from the same cold identity map
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(_db.engine, "before_cursor_execute", listener)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(_db.engine, "before_cursor_execute", listener)
        return seen

    few = count()
    b.report(it, fg=10, plan={week(n): 5 for n in range(1, 40)})
    b.po_line(it, 10, week(30))
    services.reconcile(tenant_a.relationship.id, [it.id], NOW)
    _db.session.commit()
    assert len(weeks_of(db, it)) >= 39
    more = count()
    assert len(more) == len(few)
