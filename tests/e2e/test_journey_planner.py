"""The planner's journey: sign in, land on the work queue, open a change proposal from it, accept it, and see it
leave the queue. In Korean and English, on a laptop and on a phone."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from cogrow.demo import DEMO_PASSWORD
from tests.e2e.home_work_seed import (LOCALES, VIEWPORTS, chart_data, no_sideways_scroll, screenshot,  # noqa: F401
                                      seeder, tag_of)

pytestmark = pytest.mark.e2e

TIMEOUT = 10_000
PLANNER = "planner@hanbit.example.com"
PRODUCER = "production@seoul-precision.example.com"


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)


@pytest.fixture
def journey_page(request, browser, live_server):
    locale, viewport = request.param
    context = browser.new_context(locale="ko-KR" if locale == "ko" else "en-US", base_url=live_server,
                                  viewport={"width": viewport[0], "height": viewport[1]})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    try:
        yield page, locale, viewport
    finally:
        context.close()


@pytest.mark.parametrize("journey_page", [(loc, vp) for loc in LOCALES for vp in VIEWPORTS], indirect=True,
                         ids=[f"{loc}-{vp[0]}" for loc in LOCALES for vp in VIEWPORTS])
def test_planner_opens_a_proposal_from_home_and_accepts_it(journey_page, seeder) -> None:  # noqa: F811
    page, locale, viewport = journey_page
    tag = tag_of(locale, viewport)
    rel_id, item_id = seeder.relationship("Hanbit", "Seoul Precision")
    po_id, number = seeder.issued_po(PLANNER, rel_id, item_id, f"journey {tag}")
    proposal_id = seeder.proposal(PRODUCER, rel_id, po_id, "90", f"Press maintenance {tag}")
    email = seeder.user_like(PLANNER, locale, tag)

    sign_in(page, email)
    expect(page.locator("html")).to_have_attribute("lang", locale)
    expect(page.locator("[data-test=home-title]")).to_be_visible()
    queue = page.locator("[data-test=queue-proposals]")
    row = queue.locator(f"[data-test=proposal-row][data-proposal='{proposal_id}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text(number)
    expect(row).to_contain_text("Seoul Precision")
    expect(row).to_contain_text("120")  # ordered, struck through
    expect(row).to_contain_text("90")  # proposed
    expect(row).to_contain_text(f"Press maintenance {tag}")
    # The tile counts what the queue lists (every open proposal is listed: far fewer than the limit).
    listed = queue.locator("[data-test=proposal-row]").count()
    expect(page.locator("[data-test=count-proposals] .num")).to_have_text(str(listed))
    # The chart draws the open PO value table beside it.
    figure = page.locator("[data-test=chart-open-po-value]")
    table_values = [float(v) for v in figure.locator("tbody td[data-value]").evaluate_all(
        "cells => cells.map(c => c.dataset.value)")]
    drawn = chart_data(page, "open-po-value")
    assert drawn["datasets"][0]["data"] == table_values and len(table_values) >= 1
    assert any(label.startswith("Seoul Precision") for label in drawn["labels"])
    if viewport[0] == 390:
        assert no_sideways_scroll(page), "the planner's home scrolls sideways on a phone"
    screenshot(page, f"home-planner-{locale}-{viewport[0]}x{viewport[1]}")

    row.locator("[data-test=open-proposal]").click()
    expect(page).to_have_url(re.compile(rf"/relationships/{rel_id}/orders/{po_id}(#proposals)?$"))
    page.locator(f"[data-test=accept-proposal-{proposal_id}]").click()
    expect(page.locator(f"[data-test=accept-proposal-{proposal_id}]")).to_have_count(0)
    expect(page.locator("[data-test=po-lines]")).to_contain_text("90")

    page.goto("/home")
    expect(page.locator(f"[data-test=proposal-row][data-proposal='{proposal_id}']")).to_have_count(0)
    expect(page.locator("[data-test=count-proposals] .num")).to_have_text(str(listed - 1))
