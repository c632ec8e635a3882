"""The charts as the browser draws them: their datasets (read back from Chart.js) equal their tables and the database.

Screenshots of each chart, in Korean and English at 1366 and 390 px, go to var/screenshots/ (git-ignored):
ledger-<lang>-<width>.png and waterfall-<lang>-<width>.png. Regenerate them with
`.venv/bin/python -m pytest -q -p no:cacheprovider -m e2e tests/e2e/test_charts.py`.
"""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from cogrow.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

TIMEOUT = 10_000
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PLANNER = "planner@hanbit.example.com"  # Hanbit's people have English stored; the switch gives Korean
LEDGER_ITEM = "HA-BRK-1001"  # Hanbit ↔ Seoul Precision's showcase item: excess on hand, FAB authorized
SIZES = [("en", 1366), ("ko", 1366), ("en", 390), ("ko", 390)]

# What the page's script reads from a drawn chart: labels, each dataset's label, kind, stack and values,
# and the fences handed to the fence plugin.
READ_CHART = """c => { const chart = Chart.getChart(c); return {
  labels: chart.data.labels,
  datasets: chart.data.datasets.map(d => ({label: d.label, type: d.type, stack: d.stack || null,
                                           dash: !!(d.borderDash && d.borderDash.length), data: d.data})),
  fences: chart.options.plugins.cogrowFences.fences}; }"""
# The table as cogrow.js reads it: per data-series column, its data-col/data-label and each row's data-value.
READ_TABLE = """t => { const head = t.tHead.rows[t.tHead.rows.length - 1];
  const cols = [...head.cells].map((th, i) => [th, i]).filter(([th]) => th.hasAttribute('data-series'));
  const rows = [...t.tBodies[0].rows];
  return {labels: rows.map(r => r.cells[0].getAttribute('data-x')),
          columns: cols.map(([th, i]) => ({key: th.getAttribute('data-col') || th.getAttribute('data-version'),
                                           values: rows.map(r => r.cells[i].getAttribute('data-value'))}))}; }"""


def _num(value) -> float | None:
    return None if value in (None, "") else float(Decimal(str(value)))


def sign_in(page: Page, email: str = PLANNER) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)


def speak(page: Page, lang: str) -> None:
    html = page.locator("html")
    if html.get_attribute("lang") != lang:
        page.locator("[data-test=lang-switch]").click()
    expect(html).to_have_attribute("lang", lang, timeout=TIMEOUT)


def _orgs(db):
    from cogrow.accounts.models import Organisation

    return {o.name.split(" (")[0]: o for o in db.session.scalars(select(Organisation))}


def _relationship(db, prime: str, supplier: str):
    from cogrow.relationships.models import SupplyRelationship

    orgs = _orgs(db)
    return db.session.scalar(select(SupplyRelationship).where(SupplyRelationship.prime_id == orgs[prime].id,
                                                              SupplyRelationship.supplier_id == orgs[supplier].id))


@pytest.fixture(scope="module")
def ledger_case(live_app):
    """The showcase item's ledger as the database has it, and the chart points computed from those rows."""
    from cogrow.catalog.models import Item
    from cogrow.coverage import services
    from cogrow.coverage.chart import chart_weeks
    from cogrow.extensions import db

    with live_app.app_context():
        rel = _relationship(db, "Hanbit Motors", "Seoul Precision Co.")
        item = db.session.scalar(select(Item).where(Item.relationship_id == rel.id,
                                                    Item.prime_part_number == LEDGER_ITEM))
        services.reconcile(rel.id, [item.id])  # as the worker would; the demo's sweep may be a test or two old
        db.session.commit()
        ledger = db.session.get(services.CoverageLedger, item.id)
        stored = list(db.session.scalars(select(services.CoverageWeek).where(services.CoverageWeek.item_id == item.id)))
        points = chart_weeks(ledger, services.projected_weeks(ledger, stored))
        case = {"url": f"/relationships/{rel.id}/items/{item.id}/ledger",
                "stored": {w.week_start: w for w in stored}, "points": points,
                "guaranteed": ledger.guaranteed, "excess": ledger.excess, "fab": ledger.fab_authorized}
        db.session.remove()
    return case


@pytest.mark.parametrize(("lang", "width"), SIZES)
def test_the_ledger_chart_shows_its_table_and_the_ledger(page: Page, ledger_case, lang, width) -> None:
    from cogrow.core.weeks import iso_label

    page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})
    sign_in(page)
    page.goto(ledger_case["url"])
    speak(page, lang)
    figure = page.locator('[data-test="chart-coverage"]')
    expect(figure).to_have_attribute("data-chart-ready", re.compile(r"^[1-9]"), timeout=TIMEOUT)
    shown = page.evaluate(READ_CHART, figure.locator("canvas").element_handle())
    table = page.evaluate(READ_TABLE, figure.locator("table[data-chart-table]").element_handle())

    # The chart is its table: same x labels, one dataset per series column, the same numbers.
    assert shown["labels"] == table["labels"]
    by_key = {c["key"]: [_num(v) for v in c["values"]] for c in table["columns"]}
    keys = ["cover_po", "cover_firm", "cover_fab", "supply", "projected", "excess", "shortage"]
    assert list(by_key) == keys
    kinds = [(d["type"], d["stack"] if d["type"] == "bar" else None, d["dash"]) for d in shown["datasets"]]
    assert kinds == [("bar", "cover", False)] * 3 + [("line", None, False), ("line", None, True),
                                                     ("line", None, False), ("line", None, False)]
    for key, dataset in zip(keys, shown["datasets"]):
        expected = by_key[key]
        if key == "shortage":  # a marker only where a week is short
            expected = [v if v else None for v in expected]
        assert dataset["data"] == pytest.approx(expected), key

    # ... and the table is the ledger: the database's weeks and the decomposition of its guarantee.
    points = ledger_case["points"]
    assert table["labels"] == [iso_label(p.week_start) for p in points]
    for n, p in enumerate(points):
        assert [by_key[k][n] for k in keys] == pytest.approx(
            [float(v) for v in (p.cover_po, p.cover_firm, p.cover_fab, p.supply, p.projected, p.excess, p.shortage)])
        stored = ledger_case["stored"].get(p.week_start)
        if stored is not None:
            assert by_key["projected"][n] == pytest.approx(float(stored.projected))
            assert by_key["shortage"][n] == pytest.approx(float(stored.shortage))
    first = points[0]
    assert first.remaining + sum(p.row.guaranteed_due for p in points[:1]) == ledger_case["guaranteed"]
    assert ledger_case["excess"] > 0 and by_key["excess"][0] > 0  # the showcase's excess is shaded from week one

    # The chart fits the screen, even on a phone; its figures are behind the toggle.
    box = figure.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1
    expect(figure.locator("details.chart-data")).not_to_have_attribute("open", "", timeout=TIMEOUT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    figure.screenshot(path=str(SHOTS / f"ledger-{lang}-{width}.png"))


@pytest.fixture(scope="module")
def waterfall_case(live_app):
    """Hanbit ↔ Kumho Wire with a second version (more in the planning weeks, so no firm-zone cut): two lines."""
    from cogrow.core.auth import Actor
    from cogrow.accounts.models import Membership
    from cogrow.extensions import db
    from cogrow.forecasts import services as forecasts
    from cogrow.forecasts.models import ForecastBucket, ForecastPublication

    with live_app.app_context():
        rel = _relationship(db, "Hanbit Motors", "Kumho Wire Harness")
        pubs = list(db.session.scalars(select(ForecastPublication).where(ForecastPublication.relationship_id == rel.id)
                                       .order_by(ForecastPublication.version_no.desc())))
        if len(pubs) < 2:
            planner_id = db.session.scalar(select(Membership.user_id).where(
                Membership.organisation_id == rel.prime_id, Membership.role == "planner"))
            planner = Actor(organisation_id=rel.prime_id, org_kind="prime", role="planner", user_id=planner_id)
            latest = pubs[0]
            buckets = [(b.item_id, b.week_start, b.quantity + (Decimal(40) if b.zone == "planning" else 0))
                       for b in db.session.scalars(select(ForecastBucket)
                                                   .where(ForecastBucket.publication_id == latest.id))]
            forecasts.publish(planner, rel.id, buckets, note="e2e: a second version for the waterfall")
            pubs = list(db.session.scalars(select(ForecastPublication)
                                           .where(ForecastPublication.relationship_id == rel.id)
                                           .order_by(ForecastPublication.version_no.desc())))
        shown = pubs[:6]
        quantities: dict = {}
        for b in db.session.scalars(select(ForecastBucket).where(ForecastBucket.publication_id.in_([p.id for p in shown]))):
            quantities[(b.item_id, b.week_start, b.publication_id)] = b.quantity
        latest = shown[0]
        case = {"url": f"/relationships/{rel.id}/forecasts/waterfall", "versions": [p.version_no for p in shown],
                "pub_ids": [p.id for p in shown], "quantities": quantities,
                "firm_at": latest.base_week + timedelta(weeks=latest.firm_fence_weeks),
                "material_at": latest.base_week + timedelta(weeks=latest.material_fence_weeks)}
        from cogrow.catalog.models import Item

        case["items"] = dict(db.session.execute(select(Item.prime_part_number, Item.id)
                                                .where(Item.relationship_id == rel.id)).all())
        db.session.remove()
    return case


@pytest.mark.parametrize(("lang", "width"), SIZES)
def test_the_waterfall_draws_one_line_per_version_with_the_fences(page: Page, waterfall_case, lang, width) -> None:
    from cogrow.core.weeks import iso_label

    page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})
    sign_in(page)
    page.goto(waterfall_case["url"])
    speak(page, lang)
    figures = page.locator("figure.chart")
    expect(figures).to_have_count(len(waterfall_case["items"]), timeout=TIMEOUT)
    versions = [f"v{n}" for n in waterfall_case["versions"]]
    assert len(versions) >= 2
    for index in range(figures.count()):
        figure = figures.nth(index)
        expect(figure).to_have_attribute("data-chart-ready", re.compile(r"^[1-9]"), timeout=TIMEOUT)
        shown = page.evaluate(READ_CHART, figure.locator("canvas").element_handle())
        table_el = figure.locator("table[data-chart-table]")
        table = page.evaluate(READ_TABLE, table_el.element_handle())
        item_id = waterfall_case["items"][table_el.get_attribute("data-part")]

        assert shown["labels"] == table["labels"]
        assert [d["label"] for d in shown["datasets"]] == versions  # newest first, one line each
        assert all(d["type"] == "line" for d in shown["datasets"])
        weeks = [w for w in {k[1] for k in waterfall_case["quantities"] if k[0] == item_id}]
        assert table["labels"] == [iso_label(w) for w in sorted(weeks)]
        for column, dataset, pub_id in zip(table["columns"], shown["datasets"], waterfall_case["pub_ids"]):
            assert dataset["data"] == pytest.approx([_num(v) for v in column["values"]])
            database = [_num(waterfall_case["quantities"].get((item_id, w, pub_id))) for w in sorted(weeks)]
            assert dataset["data"] == pytest.approx(database)
        # The fences of the latest version, at the first week on or past each (labels in the page's language).
        fences = {f["at"]: f["label"] for f in shown["fences"]}
        assert list(fences) == [iso_label(waterfall_case["firm_at"]), iso_label(waterfall_case["material_at"])]
        assert list(fences.values()) == (["Firm fence", "Material fence"] if lang == "en" else list(fences.values()))
        assert all(fences.values())
        expect(figure.locator("details.chart-data")).not_to_have_attribute("open", "", timeout=TIMEOUT)
        box = figure.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width + 1
    # The 78-row table is behind the toggles: the page is a few screens, not 3,665 px.
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < (2000 if width >= 1100 else 3000), height
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".waterfall-charts").screenshot(path=str(SHOTS / f"waterfall-{lang}-{width}.png"))


# Where each drawn point or bar top sits on the value axis, read back through the scale (no pixels compared).
READ_DRAWN = """c => { const chart = Chart.getChart(c); const axis = chart.scales.y;
  return chart.data.datasets.map((d, i) => chart.getDatasetMeta(i).data.map((el, n) =>
    (d.data[n] === null || d.data[n] === undefined) ? null : axis.getValueForPixel(el.y))); }"""


def test_the_ledger_lines_sit_at_their_own_values_and_only_the_coverage_stacks(page: Page, ledger_case) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page)
    page.goto(ledger_case["url"])
    canvas = page.locator('[data-test="chart-coverage"] canvas')
    expect(page.locator('[data-test="chart-coverage"]')).to_have_attribute("data-chart-ready", re.compile(r"^[1-9]"),
                                                                          timeout=TIMEOUT)
    shown = page.evaluate(READ_CHART, canvas.element_handle())
    drawn = page.evaluate(READ_DRAWN, canvas.element_handle())
    points = ledger_case["points"]
    # Bars: each source's top is the sum of the sources below it; the last top is the coverage still standing.
    assert drawn[2] == pytest.approx([float(p.remaining) for p in points], abs=1e-6)
    assert drawn[0] == pytest.approx([float(p.cover_po) for p in points], abs=1e-6)
    # Lines, the excess area and the shortage markers: at their own values, not stacked on one another.
    for dataset, values in zip(shown["datasets"][3:], drawn[3:]):
        assert values == pytest.approx(dataset["data"], abs=1e-6), dataset["label"]
