"""The commit grid in Chromium at 1366 px: all 26 weeks reachable inside the grid's own scrolling region with the
header row and the part numbers in place, keyboard navigation between cells, and "commit all as forecast"."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from cogrow.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

TIMEOUT = 10_000


def _open_grid(page: Page) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/login")
    page.fill("input[name=email]", "production@seoul-precision.example.com")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)
    page.goto("/forecasts")
    page.locator("[data-test=forecasts] a", has_text="Hanbit Motors").first.click()
    expect(page.locator("[data-test=commit-form]")).to_have_attribute("data-grid-ready", "1", timeout=TIMEOUT)


def test_all_weeks_are_reachable_in_the_grids_own_region_with_sticky_headers(page: Page) -> None:
    _open_grid(page)
    region = page.locator("[data-test=grid-region]")
    expect(region).to_have_attribute("role", "region")
    expect(region).to_have_attribute("tabindex", "0")
    box = region.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1366
    headers = page.locator("[data-test=grid] thead th")
    assert headers.count() >= 26 + 2
    first_col = page.locator("[data-test=grid] tbody th").first
    x_before = first_col.bounding_box()["x"]
    # Scroll the region (not the page) to its right end: the last week is on screen, the part numbers stay put.
    region.focus()
    page.keyboard.press("End")
    region.evaluate("r => { r.scrollLeft = r.scrollWidth; }")
    last_week = headers.nth(headers.count() - 2)
    expect(last_week).to_be_in_viewport(timeout=TIMEOUT)
    assert abs(first_col.bounding_box()["x"] - x_before) < 2
    assert page.evaluate("() => window.scrollX") == 0


def test_arrow_keys_and_enter_move_between_cells_and_fill_copies_the_forecast(page: Page) -> None:
    _open_grid(page)
    inputs = page.locator("[data-test=grid] tbody tr").nth(0).locator("input.commit-input")
    below = page.locator("[data-test=grid] tbody tr").nth(1).locator("input.commit-input")
    inputs.nth(0).focus()
    page.keyboard.press("ArrowDown")
    expect(below.nth(0)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(inputs.nth(0)).to_be_focused()
    page.keyboard.press("ArrowRight")  # the text is selected on arrival: move one week on
    expect(inputs.nth(1)).to_be_focused()
    page.keyboard.press("Enter")  # Enter moves down instead of submitting
    expect(below.nth(1)).to_be_focused()
    url = page.url
    page.locator("[data-test=fill-forecast]").click()
    expect(page.locator("[data-test=commit-form]")).to_have_attribute("data-filled", re.compile(r"^[1-9]\d*$"))
    assert page.url == url  # filled in the page, nothing sent
    values = page.locator("input.commit-input").evaluate_all(
        "els => els.map(e => [e.value, e.dataset.forecast])")
    assert values and all(value == forecast for value, forecast in values)
