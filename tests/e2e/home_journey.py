"""What the home-page journeys share: a browser context per locale and viewport, sign-in, chart data, screenshots."""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect

from cogrow.demo import DEMO_PASSWORD

TIMEOUT = 10_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
LOCALES = ("ko", "en")
VIEWPORTS = ((1366, 768), (390, 844))


@contextmanager
def browsing(browser, live_server: str, locale: str, viewport: tuple[int, int]):
    context = browser.new_context(locale="ko-KR" if locale == "ko" else "en-US", base_url=live_server,
                                  viewport={"width": viewport[0], "height": viewport[1]})
    context.set_default_timeout(TIMEOUT)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)


def page_locale(page: Page) -> str:
    return page.locator("html").get_attribute("lang") or ""


def switch_locale(page: Page, want: str) -> str:
    """Make the page speak `want` (the switch stores it on the user); returns the locale it spoke before."""
    before = page_locale(page)
    if before != want:
        page.locator("[data-test=lang-switch]").click()
        expect(page.locator("html")).to_have_attribute("lang", want, timeout=TIMEOUT)
        page.goto("/home")
    return before


def chart_data(page: Page, chart_id: str) -> dict:
    canvas = page.locator(f"#chart-{chart_id} canvas")
    page.wait_for_function("c => window.Chart && Chart.getChart(c)", arg=canvas.element_handle(), timeout=TIMEOUT)
    return canvas.evaluate("c => { const d = Chart.getChart(c).data;"
                           " return {labels: d.labels, datasets: d.datasets.map(s => ({label: s.label, data: s.data}))}; }")


def table_column(page: Page, selector: str, column: int) -> list[float | None]:
    """The data-value of one column of a table's body rows (None where empty)."""
    return page.locator(selector).evaluate(
        "(t, col) => Array.from(t.tBodies[0].rows).filter(r => !r.hasAttribute('data-chart-skip')).map(r => {"
        " const v = r.cells[col].getAttribute('data-value'); return v === null || v === '' ? null : Number(v); })",
        column)


def table_labels(page: Page, selector: str) -> list[str]:
    return page.locator(selector).evaluate(
        "t => Array.from(t.tBodies[0].rows).filter(r => !r.hasAttribute('data-chart-skip'))"
        ".map(r => r.cells[0].getAttribute('data-x') || r.cells[0].textContent.trim())")


def assert_no_sideways_scroll(page: Page, viewport: tuple[int, int]) -> None:
    if viewport[0] <= 390:
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the page scrolls sideways: {width[0]} px wide in a {width[1]} px window"


def screenshot(page: Page, name: str, locale: str, viewport: tuple[int, int]) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{locale}-{viewport[0]}x{viewport[1]}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
