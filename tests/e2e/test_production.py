"""A production user fills in the grid form in the browser and sees the item's new position."""
from __future__ import annotations

import re
import secrets

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
    bad = second.locator("input[name$='-wip_qty']")
    expect(bad).to_have_attribute("aria-invalid", "true", timeout=TIMEOUT)
    expect(bad).to_have_value("-4", timeout=TIMEOUT)  # what was typed comes back, beside its error
    error_id = (bad.get_attribute("aria-describedby") or "").split()[-1]
    expect(page.locator(f"[id='{error_id}']")).to_have_attribute("data-field", bad.get_attribute("name"))
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


def test_supplier_admin_adds_a_production_line_and_a_refused_field_shows_beside_it(page: Page) -> None:
    sign_in(page, "admin@seoul-precision.example.com")
    page.goto("/production")
    page.locator("[data-test=positions] [data-test=report-link]").first.click()
    expect(page).to_have_url(re.compile(r"/relationships/\d+/production/grid$"), timeout=TIMEOUT)
    page.goto(page.url.replace("/production/grid", "/production-lines"))
    form = page.locator("[data-test=line-form]")
    code = form.locator("input[name=code]")
    code.fill("1234")  # an all-digit code is refused: a line is addressed by its code or id in one URL segment
    form.locator("input[name=counter_max]").fill("65,535")
    form.locator("button.primary").click()
    form = page.locator("[data-test=line-form]")
    expect(form.locator(".error[data-field=code]")).to_be_visible(timeout=TIMEOUT)
    expect(form.locator("input[name=code]")).to_have_attribute("aria-invalid", "true")
    expect(form.locator("input[name=counter_max]")).to_have_value("65,535")
    new_code = f"E2E-{secrets.token_hex(3).upper()}"
    form.locator("input[name=code]").fill(new_code)
    form.locator("button.primary").click()
    expect(page.locator(".flash-success")).to_contain_text(new_code, timeout=TIMEOUT)
    row = page.locator(f"[data-test=lines] form:has(input[name=code][value='{new_code}'])")
    expect(row.locator("input[name=counter_max]")).to_have_value("65535", timeout=TIMEOUT)
