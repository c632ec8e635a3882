"""A planner publishes a forecast workbook through the import pages; the supplier then sees it and commits."""
from __future__ import annotations

import re

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect

from cogrow.core.weeks import current_week, iso_label
from cogrow.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

TIMEOUT = 10_000
PARTS = ("HA-BRK-1001", "HA-HSG-2040", "HA-BSH-0310")  # the demo items of Hanbit Motors -> Seoul Precision


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)


def forecast_workbook(path) -> None:
    """Every demo item for the coming 26 weeks, 120 a week, built here rather than downloaded."""
    from datetime import timedelta

    book = Workbook()
    sheet = book.active
    sheet.append(["Part number", "Week", "Quantity"])
    for part in PARTS:
        for n in range(26):
            sheet.append([part, iso_label(current_week() + timedelta(weeks=n)), 120])
    book.save(path)


def open_forecast_of(page: Page, counterpart: str) -> None:
    page.goto("/forecasts")
    page.locator("[data-test=forecasts] a", has_text=counterpart).first.click()
    expect(page.locator(".subnav a.active")).to_have_attribute("href", re.compile(r"/forecasts$"), timeout=TIMEOUT)


def published_version(page: Page) -> int:
    """The version shown on a relationship's forecast page (0 when nothing is published; the demo may publish)."""
    publication = page.locator("[data-test=publication]")
    if publication.count() == 0:
        expect(page.locator("[data-test=no-forecast]")).to_be_visible(timeout=TIMEOUT)
        return 0
    return int(publication.get_attribute("data-version") or 0)


def test_planner_publishes_a_workbook_and_the_supplier_commits(page: Page, browser, live_server, tmp_path) -> None:
    workbook = tmp_path / "forecast.xlsx"
    forecast_workbook(workbook)
    week0 = iso_label(current_week())

    sign_in(page, "planner@hanbit.example.com")
    open_forecast_of(page, "Seoul Precision")
    before = published_version(page)
    page.locator("[data-test=import-forecast]").click()
    page.locator("input[name=file]").set_input_files(str(workbook))
    page.locator("[data-test=upload]").click()

    preview = page.locator("[data-test=import-preview]")
    expect(preview).to_be_visible(timeout=TIMEOUT)
    for part in PARTS:
        expect(preview).to_contain_text(part, timeout=TIMEOUT)
    expect(preview).to_contain_text("3120", timeout=TIMEOUT)  # 26 weeks x 120 per item
    # 120 a week cuts the demo's firm weeks (150 and 200): the confirm form asks why before it publishes.
    page.locator("[data-test=cut-reason]").fill("Line 2 retooling: volume moved to January")
    page.locator("[data-test=confirm]").click()
    expect(page.locator("[data-test=import-status]")).to_have_attribute("data-status", "applied", timeout=TIMEOUT)

    open_forecast_of(page, "Seoul Precision")
    expect(page.locator("[data-test=publication]")).to_have_attribute("data-version", str(before + 1), timeout=TIMEOUT)
    cell = page.locator(f'[data-test="cell-{PARTS[0]}-{week0}"]')
    expect(cell.locator("[data-test=forecast]")).to_have_text("120", timeout=TIMEOUT)
    expect(cell).to_have_class(re.compile("zone-firm"), timeout=TIMEOUT)
    expect(page.locator("[data-test=commit-form]")).to_have_count(0)

    supplier_context = browser.new_context(locale="ko-KR", base_url=live_server)
    supplier_context.set_default_timeout(TIMEOUT)
    supplier = supplier_context.new_page()
    try:
        sign_in(supplier, "production@seoul-precision.example.com")
        open_forecast_of(supplier, "Hanbit Motors")
        cell = supplier.locator(f'[data-test="cell-{PARTS[0]}-{week0}"]')
        expect(cell.locator("[data-test=forecast]")).to_have_text("120", timeout=TIMEOUT)

        cell.locator("input.commit-input").fill("90")
        supplier.locator("[data-test=save-commits]").click()
        cell = supplier.locator(f'[data-test="cell-{PARTS[0]}-{week0}"]')
        expect(cell.locator(".error")).to_be_visible(timeout=TIMEOUT)  # below the forecast: a reason is required

        cell.locator("select").select_option("CAPACITY")
        supplier.locator("[data-test=save-commits]").click()
        expect(supplier.locator(".flash-success")).to_be_visible(timeout=TIMEOUT)
        cell = supplier.locator(f'[data-test="cell-{PARTS[0]}-{week0}"]')
        expect(cell.locator("input.commit-input")).to_have_value("90", timeout=TIMEOUT)
        expect(cell.locator("select")).to_have_value("CAPACITY", timeout=TIMEOUT)
    finally:
        supplier_context.close()

    page.goto(page.url.rsplit("/forecasts", 1)[0] + "/forecasts/waterfall")
    row = page.locator(f'[data-test="wf-{PARTS[0]}-{week0}"]')
    expect(row).to_contain_text("90", timeout=TIMEOUT)
    expect(row).to_contain_text("CAPACITY", timeout=TIMEOUT)
