"""Production reporting on a phone (390 × 844), in Korean and in English: shop-floor staff report from the floor.

The grid scrolls inside its own labelled, keyboard-focusable region, never the page; the single-item form stacks;
numbers are typed as the app shows them ("1,280"). The lines page draws the machine feed (output per day) from its
table, and the chart shows what the table says.

Screenshots go to var/screenshots/ (git-ignored): production-grid-<lang>-390.png, production-item-<lang>-390.png,
production-feed-<lang>-390.png and production-feed-<lang>-1366.png. Regenerate them with
`.venv/bin/python -m pytest -q -p no:cacheprovider -m e2e tests/e2e/test_production_phone.py`.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from cogrow.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

TIMEOUT = 10_000
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
EMAIL = "production@seoul-precision.example.com"
# Against the phone's width, not innerWidth: a mobile layout viewport widens with content that overflows.
NO_SIDEWAYS = "w => document.documentElement.scrollWidth <= w"
# What each language types: a grouped number, as the pages display them.
CASES = [("ko", "1,280", "1,345"), ("en", "2,460", "2,525")]


@pytest.fixture(scope="module")
def fed_line(live_app):
    """A production line of Seoul Precision for Hanbit with counter readings over the last days (the demo has none)."""
    from cogrow.accounts.models import Organisation, User
    from cogrow.catalog.models import Item
    from cogrow.extensions import db
    from cogrow.production import services
    from cogrow.production.models import ProductionLine
    from cogrow.relationships.models import SupplyRelationship
    from tests.conftest import actor_of

    with live_app.test_request_context():
        orgs = {o.name.split(" (")[0]: o for o in db.session.scalars(select(Organisation))}
        rel = db.session.scalar(select(SupplyRelationship).where(
            SupplyRelationship.prime_id == orgs["Hanbit Motors"].id,
            SupplyRelationship.supplier_id == orgs["Seoul Precision Co."].id))
        line = db.session.scalar(select(ProductionLine).where(ProductionLine.relationship_id == rel.id,
                                                              ProductionLine.code == "PHONE-1"))
        if line is None:
            user = db.session.scalar(select(User).where(User.email == EMAIL))
            actor = actor_of(user, orgs["Seoul Precision Co."])
            item = db.session.scalar(select(Item).where(Item.relationship_id == rel.id).order_by(Item.id).limit(1))
            line = services.create_line(actor, rel.id, {"code": "PHONE-1", "name": "Press", "item_id": item.id})
            now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
            readings, counter = [], 0
            for hours in range(24 * 6, 0, -3):
                counter += 7 + hours % 11
                readings.append((now - timedelta(hours=hours), counter))
            services.record_readings(actor, rel.id, line.id, readings)
        rel_id = rel.id
        db.session.remove()
    return rel_id


def _context(browser, live_server, viewport):
    context = browser.new_context(locale="ko-KR", base_url=live_server, viewport=viewport, device_scale_factor=2,
                                  is_mobile=viewport["width"] < 500, has_touch=viewport["width"] < 500)
    context.set_default_timeout(TIMEOUT)
    return context


@pytest.fixture
def phone(browser, live_server):
    context = _context(browser, live_server, PHONE)
    try:
        yield context.new_page()
    finally:
        context.close()


def _sign_in(page: Page, lang: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)
    html = page.locator("html")
    if html.get_attribute("lang") != lang:
        page.locator("[data-test=lang-switch]").click()
    expect(html).to_have_attribute("lang", lang, timeout=TIMEOUT)


def _no_sideways(page: Page, where: str) -> None:
    page.wait_for_load_state("load")  # measure with the stylesheets applied, not a half-styled page
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert page.evaluate(NO_SIDEWAYS, page.viewport_size["width"]), f"{where}: the page is {width[0]} px wide on a {width[1]} px screen"


@pytest.mark.parametrize("lang, grid_fg, item_fg", CASES, ids=[c[0] for c in CASES])
def test_production_is_reported_from_a_phone(phone: Page, lang: str, grid_fg: str, item_fg: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    _sign_in(phone, lang)

    # The grid: reached from the positions page, it scrolls inside its own region.
    phone.goto("/production")
    _no_sideways(phone, "positions")
    phone.locator("[data-test=positions] [data-test=report-link]").first.click()
    expect(phone).to_have_url(re.compile(r"/relationships/\d+/production/grid$"))
    region = phone.locator("[data-test=grid-region]")
    expect(region).to_have_attribute("role", "region")
    expect(region).to_have_attribute("tabindex", "0")
    assert (region.get_attribute("aria-label") or "").strip()
    region.focus()
    assert phone.evaluate("() => document.activeElement.getAttribute('data-test')") == "grid-region"
    assert region.evaluate("r => r.scrollWidth > r.clientWidth"), "the grid is wider than a phone: it scrolls inside"
    _no_sideways(phone, "grid")

    row = phone.locator("[data-test=grid] tbody tr[data-item]").first
    part = row.get_attribute("data-part")
    fg = row.locator("input[name$='-fg_on_hand']")
    label = fg.get_attribute("aria-label") or ""
    assert label.startswith(f"{part} — ") and "fg_on_hand" not in label  # a readable label, not a code name
    assert fg.get_attribute("type") == "text" and fg.get_attribute("inputmode") == "decimal"
    assert (fg.input_value() or "").strip(), "the grid is pre-filled with the last report"
    fg.fill(grid_fg)
    phone.locator("[data-test=grid-submit]").click()
    expect(phone.locator(".flash-success")).to_be_visible()
    expect(phone.locator(f"[data-test=grid] tbody tr[data-part='{part}'] [data-test=current]")).to_contain_text(grid_fg)
    _no_sideways(phone, "grid after saving")
    phone.screenshot(path=str(SHOTS / f"production-grid-{lang}-390.png"), full_page=True)

    # The single-item form: it stacks, and takes a grouped number.
    phone.locator(f"[data-test=grid] tbody tr[data-part='{part}'] th a").first.click()
    expect(phone.locator("h1")).to_contain_text(part)
    _no_sideways(phone, "item page")
    form = phone.locator("[data-test=report-form]")
    phone.wait_for_load_state("load")
    boxes = [form.locator(f"input[name={name}]").bounding_box() for name in ("good_qty", "wip_qty", "fg_on_hand")]
    assert len({round(b["x"]) for b in boxes}) == 1 and boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"], boxes
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= PHONE["width"] for b in boxes), boxes
    expect(form.locator("input[name=fg_on_hand]")).to_have_value(grid_fg)  # pre-filled with the last report
    form.locator("input[name=good_qty]").fill("40")
    form.locator("input[name=fg_on_hand]").fill(item_fg)
    form.locator("[data-test=report-submit]").click()
    expect(phone.locator(".flash-success")).to_be_visible()
    expect(phone.locator("[data-test=position] [data-test=fg]")).to_have_text(item_fg)
    _no_sideways(phone, "item page after saving")
    phone.screenshot(path=str(SHOTS / f"production-item-{lang}-390.png"), full_page=True)


def _chart_against_table(page: Page) -> None:
    figure = page.locator("[data-test=chart-machine-feed]")
    expect(figure).to_be_visible()
    canvas = figure.locator("canvas")
    page.wait_for_function("c => window.Chart && Chart.getChart(c)", arg=canvas.element_handle())
    data = page.evaluate("c => { const d = Chart.getChart(c).data; return {labels: d.labels, "
                         "datasets: d.datasets.map(s => ({label: s.label, data: s.data}))}; }", canvas.element_handle())
    table = figure.locator("[data-test=feed-table]")
    codes = table.locator("thead th[data-series]").evaluate_all("ths => ths.map(th => th.textContent.trim())")
    rows = table.locator("tbody tr").evaluate_all(
        "trs => trs.map(tr => ({x: tr.cells[0].getAttribute('data-x'),"
        " values: Array.from(tr.querySelectorAll('td')).map(td => Number(td.getAttribute('data-value')))}))")
    assert data["labels"] == [r["x"] for r in rows]
    assert [d["label"] for d in data["datasets"]] == codes and "PHONE-1" in codes
    for index, dataset in enumerate(data["datasets"]):
        assert dataset["data"] == [r["values"][index] for r in rows], dataset["label"]
    totals = [r["values"][-1] for r in rows]
    assert sum(totals) > 0 and totals == [sum(r["values"][:-1]) for r in rows]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_machine_feed_chart_shows_its_table(browser, live_server, fed_line, lang: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for viewport in (PHONE, DESKTOP):
        context = _context(browser, live_server, viewport)
        try:
            page = context.new_page()
            _sign_in(page, lang)
            page.goto(f"/relationships/{fed_line}/production-lines")
            _chart_against_table(page)
            _no_sideways(page, f"lines page at {viewport['width']} px")
            page.screenshot(path=str(SHOTS / f"production-feed-{lang}-{viewport['width']}.png"), full_page=True)
        finally:
            context.close()
