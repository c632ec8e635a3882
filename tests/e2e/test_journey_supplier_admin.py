"""The supplier admin's journey: the stock no customer has promised to buy, by customer and by its own part
number across customers, then one part's ledger at a customer."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.home_journey import (LOCALES, TIMEOUT, VIEWPORTS, assert_no_sideways_scroll, browsing, chart_data,
                                    screenshot, sign_in, switch_locale, table_column, table_labels)

pytestmark = pytest.mark.e2e

EMAIL = "admin@seoul-precision.example.com"


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
@pytest.mark.parametrize("locale", LOCALES)
def test_supplier_admin_sees_its_risk_across_customers_and_opens_a_parts_ledger(browser, live_server, locale,
                                                                               viewport):
    with browsing(browser, live_server, locale, viewport) as page:
        sign_in(page, EMAIL)
        before = switch_locale(page, locale)
        try:
            expect(page.locator("[data-test=risk]")).to_be_visible(timeout=TIMEOUT)
            total = float(page.locator("[data-test=risk-exposure]").get_attribute("data-value"))

            # By customer: the chart is the table, and the table adds up to the headline.
            primes = chart_data(page, "risk-primes")
            assert primes["labels"] == table_labels(page, "[data-test=prime-table]")
            assert primes["datasets"][0]["data"] == table_column(page, "[data-test=prime-table]", 1)
            assert sum(primes["datasets"][0]["data"]) == total > 0
            assert len(primes["labels"]) == 2  # Seoul Precision serves both demo primes

            # By its own part number: one stacked series per customer; SEO1001 is sold to both under two prime
            # part numbers, and its row's total is the sum of its customers' bars.
            parts = chart_data(page, "risk-parts")
            assert [s["label"] for s in parts["datasets"]] == primes["labels"]
            labels = table_labels(page, "[data-test=part-table]")
            assert parts["labels"] == labels
            row = labels.index("SEO1001")
            per_prime = [s["data"][row] for s in parts["datasets"]]
            assert all(v and v > 0 for v in per_prime)
            n = len(parts["datasets"])
            assert sum(per_prime) == table_column(page, "[data-test=part-table]", 1 + n)[row]
            shared = page.locator("[data-test=part-row][data-part=SEO1001]")
            expect(shared).to_have_attribute("data-primes", "2")
            expect(shared.locator("td.home-lines a")).to_have_count(2)
            expect(shared).to_contain_text("HA-BRK-1001")
            expect(shared).to_contain_text("DA-BRK-1001")
            # The administration content stays, below the risk view.
            expect(page.locator("[data-test=relationships]")).to_be_visible()
            assert_no_sideways_scroll(page, viewport)
            screenshot(page, "home-supplier-admin", locale, viewport)

            shared.locator("td.home-lines a", has_text="DA-BRK-1001").click()
            expect(page).to_have_url(re.compile(r"/relationships/\d+/items/\d+/ledger$"), timeout=TIMEOUT)
            expect(page.locator("h1")).to_contain_text("DA-BRK-1001", timeout=TIMEOUT)
        finally:
            if before != locale:
                page.goto("/home")
                switch_locale(page, before or ("ko" if locale == "en" else "en"))
