"""Procurement's journey: sign in, read the exposure and the alerts on the home page, open the newest alert."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.home_journey import (LOCALES, TIMEOUT, VIEWPORTS, assert_no_sideways_scroll, browsing, chart_data,
                                    screenshot, sign_in, switch_locale, table_column, table_labels)

pytestmark = pytest.mark.e2e

EMAIL = "procurement@hanbit.example.com"


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
@pytest.mark.parametrize("locale", LOCALES)
def test_procurement_reads_its_exposure_and_opens_the_newest_alert(browser, live_server, locale, viewport):
    with browsing(browser, live_server, locale, viewport) as page:
        sign_in(page, EMAIL)
        before = switch_locale(page, locale)
        try:
            expect(page.locator("html")).to_have_attribute("lang", locale, timeout=TIMEOUT)
            expect(page.locator("[data-test=home-title]")).to_be_visible(timeout=TIMEOUT)
            total = float(page.locator("[data-test=total-exposure]").get_attribute("data-value"))

            # The trend chart shows its table: 13 weeks, this week's point is the total open exposure.
            trend = chart_data(page, "exposure-trend")
            assert trend["labels"] == table_labels(page, "[data-test=trend-table]")
            assert len(trend["labels"]) == 13
            assert trend["datasets"][0]["data"] == table_column(page, "[data-test=trend-table]", 1)
            assert trend["datasets"][0]["data"][-1] == total
            assert total > 0  # the demo's over-produced items
            assert None not in trend["datasets"][0]["data"]  # the demo writes twelve weeks of history
            # What grew since last week links to the item's ledger.
            growth = page.locator("[data-test=growth-row] a")
            assert growth.count() > 0
            assert re.search(r"/relationships/\d+/items/\d+/ledger$", growth.first.get_attribute("href"))

            # Exposure by supplier: the chart's bars are the sortable table's largest rows, largest first,
            # and the table adds up to the total.
            bars = chart_data(page, "exposure-suppliers")
            values = table_column(page, "[data-test=supplier-table]", 1)
            assert sum(values) == total
            assert bars["datasets"][0]["data"] == [v for v in values if v > 0][:10]
            assert bars["datasets"][0]["data"] == sorted(bars["datasets"][0]["data"], reverse=True)
            assert bars["labels"][0].startswith("Seoul Precision")  # the demo's showcase excess
            assert page.locator("[data-test=supplier-row] a").first.get_attribute("href").startswith("/relationships/")

            # Open alerts: the counts add up to the headline, and the newest opens on its own page.
            counts = page.locator("[data-test=alert-counts] td[data-value]").evaluate_all(
                "cells => cells.reduce((n, c) => n + Number(c.getAttribute('data-value')), 0)")
            assert counts == int(page.locator("[data-test=open-alerts]").get_attribute("data-value")) > 0
            assert_no_sideways_scroll(page, viewport)
            screenshot(page, "home-procurement", locale, viewport)

            newest = page.locator("[data-test=latest-alerts] li").first
            alert_id = newest.get_attribute("data-alert-id")
            part = newest.locator("[data-test=alert-link]").inner_text().split("·")[-1].strip()
            newest.locator("[data-test=alert-link]").click()
            expect(page).to_have_url(re.compile(rf"/alerts/{alert_id}$"), timeout=TIMEOUT)
            expect(page.locator("main")).to_contain_text(part, timeout=TIMEOUT)
            assert_no_sideways_scroll(page, viewport)
        finally:
            if before and before != locale:
                page.goto("/home")
                switch_locale(page, before)  # the demo user's stored language, as other tests expect it
