"""The supplier production user's journey: sign in, land on the work queue, open a PO to acknowledge from it,
acknowledge it, and see it leave the queue. In Korean and English, on a laptop and on a phone."""
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
def test_production_user_acknowledges_a_po_from_home_and_it_leaves_the_queue(journey_page,
                                                                             seeder) -> None:  # noqa: F811
    page, locale, viewport = journey_page
    tag = tag_of(locale, viewport)
    rel_id, item_id = seeder.relationship("Hanbit", "Seoul Precision")
    po_id, number = seeder.issued_po(PLANNER, rel_id, item_id, f"journey {tag}")
    email = seeder.user_like(PRODUCER, locale, tag)

    sign_in(page, email)
    expect(page.locator("html")).to_have_attribute("lang", locale)
    queue = page.locator("[data-test=queue-acknowledge]")
    row = queue.locator(f"[data-test=acknowledge-row][data-po='{number}']")
    expect(row).to_be_visible()
    # Just issued with 3 days agreed: it sits in "later", and the group counts add up to the queue.
    expect(row).to_have_attribute("data-group", "later")
    expect(row).to_contain_text("Hanbit Motors")
    expect(row.locator("td.num").first).to_have_text("1")  # one line
    expect(row.locator("td.num").last).to_contain_text("KRW")
    listed = queue.locator("[data-test=acknowledge-row]").count()
    groups = sum(int(page.locator(f"[data-test=ack-group-{g}] .num").inner_text())
                 for g in ("overdue", "today", "soon", "later"))
    assert groups == listed
    expect(page.locator("[data-test=count-acknowledge] .num")).to_have_text(str(listed))
    # The demo's showcase item (Hanbit's first at Seoul Precision) holds stock nobody guaranteed: the risk
    # chart draws the per-customer table beside it.
    figure = page.locator("[data-test=chart-risk-by-customer]")
    exposure = [float(v) for v in figure.locator("tbody tr td:nth-child(2)").evaluate_all(
        "cells => cells.map(c => c.dataset.value)")]
    drawn = chart_data(page, "risk-by-customer")
    assert drawn["datasets"][0]["data"] == exposure
    assert any(label.startswith("Hanbit Motors") for label in drawn["labels"]) and max(exposure) > 0
    expect(page.locator("[data-test=at-risk-row]").first).to_be_visible()
    if viewport[0] == 390:
        assert no_sideways_scroll(page), "the production home scrolls sideways on a phone"
    screenshot(page, f"home-production-{locale}-{viewport[0]}x{viewport[1]}")

    row.locator("[data-test=open-po]").click()
    expect(page).to_have_url(re.compile(rf"/relationships/{rel_id}/orders/{po_id}$"))
    page.locator("[data-test=acknowledge]").click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("[data-test=acknowledge]")).to_have_count(0)
    if viewport[0] == 390:
        assert no_sideways_scroll(page), "the PO page scrolls sideways on a phone"

    page.goto("/home")
    expect(page.locator(f"[data-test=acknowledge-row][data-po='{number}']")).to_have_count(0)
    expect(page.locator("[data-test=count-acknowledge] .num")).to_have_text(str(listed - 1))
