"""A production user fills in the grid form in the browser and sees the item's new position."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from cogrow.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

TIMEOUT = 10_000


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)


def test_production_user_reports_through_the_grid_and_sees_the_new_position(page: Page) -> None:
    sign_in(page, "production@seoul-precision.example.com")

    page.goto("/production")
    page.locator("[data-test=positions] [data-test=report-link]").first.click()
    expect(page).to_have_url(re.compile(r"/relationships/\d+/production/grid$"), timeout=TIMEOUT)

    rows = page.locator("[data-test=grid] tbody tr[data-item]")
    expect(rows.first).to_be_visible(timeout=TIMEOUT)
    first, second = rows.nth(0), rows.nth(1)
    part = first.get_attribute("data-part")
    first.locator("input[name$='-good_qty']").fill("80")
    first.locator("input[name$='-wip_qty']").fill("25")
    first.locator("input[name$='-fg_on_hand']").fill("1345")
    # A bad row first: the whole grid comes back with the error on that row and nothing saved.
    second.locator("input[name$='-wip_qty']").fill("-4")
    second.locator("input[name$='-fg_on_hand']").fill("10")
    page.locator("[data-test=grid-submit]").click()
    expect(second.locator(".error[data-field$='-wip_qty']")).to_be_visible(timeout=TIMEOUT)
    expect(first.locator("[data-test=current]")).not_to_contain_text("1,345", timeout=TIMEOUT)
    expect(first.locator("input[name$='-fg_on_hand']")).to_have_value("1345", timeout=TIMEOUT)

    second.locator("input[name$='-wip_qty']").fill("")
    second.locator("input[name$='-fg_on_hand']").fill("")
    page.locator("[data-test=grid-submit]").click()
    expect(page.locator(".flash-success")).to_be_visible(timeout=TIMEOUT)
    expect(first.locator("[data-test=current]")).to_contain_text("1,345", timeout=TIMEOUT)

    first.locator("th a").first.click()
    expect(page.locator("h1")).to_contain_text(part, timeout=TIMEOUT)
    expect(page.locator("[data-test=position] [data-test=fg]")).to_have_text("1,345", timeout=TIMEOUT)
    expect(page.locator("[data-test=position] [data-test=supply]")).to_have_text("1,370", timeout=TIMEOUT)
    # The demo's own report is older; the new one heads the history.
    expect(page.locator("[data-test=reports] tbody tr").first).to_contain_text("1,345", timeout=TIMEOUT)
