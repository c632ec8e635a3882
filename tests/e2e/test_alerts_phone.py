"""The alert inbox on a phone (390 × 844), in Korean and in English: rows stack, nothing scrolls sideways, and an
alert is acknowledged in place from its row (htmx), each side on its own view.

Screenshots go to var/screenshots/ (git-ignored): alerts-inbox-<lang>-390.png, alerts-acknowledged-<lang>-390.png,
alerts-detail-<lang>-390.png and alerts-inbox-<lang>-1366.png.
Regenerate them with `.venv/bin/python -m pytest -q -p no:cacheprovider -m e2e tests/e2e/test_alerts_phone.py`.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from cogrow.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

TIMEOUT = 10_000
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
# Each language on one side of Hanbit ↔ Seoul Precision: both acknowledge the same alert, each on its own view.
CASES = [("ko", "production@seoul-precision.example.com"), ("en", "procurement@hanbit.example.com")]
# Against the phone's width, not innerWidth: a mobile layout viewport widens with content that overflows.
NO_SIDEWAYS = "w => document.documentElement.scrollWidth <= w"


@pytest.fixture(scope="module")
def demo_alerts(live_app):
    """The worker's reconciliation, run once so that the demo's alerts exist (as in test_axe)."""
    from cogrow.accounts.models import Organisation
    from cogrow.alerts.models import Alert
    from cogrow.coverage import services as coverage
    from cogrow.extensions import db
    from cogrow.relationships.models import SupplyRelationship

    with live_app.app_context():
        orgs = {o.name.split(" (")[0]: o for o in db.session.scalars(select(Organisation))}
        rel = db.session.scalar(select(SupplyRelationship).where(
            SupplyRelationship.prime_id == orgs["Hanbit Motors"].id,
            SupplyRelationship.supplier_id == orgs["Seoul Precision Co."].id))
        if not db.session.scalar(select(func.count()).select_from(Alert).where(Alert.relationship_id == rel.id)):
            coverage.reconcile(rel.id, None)
            db.session.commit()
        count = db.session.scalar(select(func.count()).select_from(Alert).where(
            Alert.relationship_id == rel.id, Alert.status != "resolved"))
        db.session.remove()
    assert count, "the demo has an open alert between Hanbit and Seoul Precision"
    return count


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(locale="ko-KR", base_url=live_server, viewport=PHONE, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def _sign_in(page: Page, email: str, lang: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)
    html = page.locator("html")
    if html.get_attribute("lang") != lang:
        page.locator("[data-test=lang-switch]").click()
    expect(html).to_have_attribute("lang", lang, timeout=TIMEOUT)


@pytest.mark.parametrize("lang, email", CASES, ids=[c[0] for c in CASES])
def test_the_alert_inbox_works_on_a_phone(phone: Page, demo_alerts, lang: str, email: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    _sign_in(phone, email, lang)
    phone.goto("/alerts?status=unresolved")
    rows = phone.locator("[data-test=alerts] tbody tr[data-alert]")
    expect(rows.first).to_be_visible(timeout=TIMEOUT)
    assert phone.evaluate(NO_SIDEWAYS, phone.viewport_size["width"]), phone.evaluate("document.documentElement.scrollWidth")
    phone.screenshot(path=str(SHOTS / f"alerts-inbox-{lang}-390.png"), full_page=True)

    row = phone.locator("[data-test=alerts] tbody tr[data-status=open]").first
    expect(row).to_be_visible(timeout=TIMEOUT)
    alert_id = row.get_attribute("data-alert")
    button = row.locator("[data-test=row-acknowledge]")
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], "the action is in reach"
    with phone.expect_response(re.compile(rf"/alerts/{alert_id}/acknowledge$")) as answer:
        button.tap()
    assert answer.value.status == 200 and answer.value.request.headers.get("hx-request") == "true", "in place"
    same = phone.locator(f"#alert-row-{alert_id}")
    expect(same).to_have_attribute("data-status", "acknowledged", timeout=TIMEOUT)
    expect(same.locator("[data-test=row-message]")).to_be_visible(timeout=TIMEOUT)
    expect(phone).to_have_url(re.compile(r"/alerts\?status=unresolved$"))  # no reload, no redirect
    assert phone.evaluate(NO_SIDEWAYS, phone.viewport_size["width"]), phone.evaluate("document.documentElement.scrollWidth")
    phone.screenshot(path=str(SHOTS / f"alerts-acknowledged-{lang}-390.png"), full_page=True)

    # The alert page on the phone: no sideways scrolling either.
    phone.goto(f"/alerts/{alert_id}")
    expect(phone.locator("[data-test=status]")).to_have_attribute("class", re.compile("badge-acknowledged"))
    assert phone.evaluate(NO_SIDEWAYS, phone.viewport_size["width"]), phone.evaluate("document.documentElement.scrollWidth")
    phone.screenshot(path=str(SHOTS / f"alerts-detail-{lang}-390.png"), full_page=True)
    _no_serious_violations(phone)
    phone.goto("/alerts?status=unresolved")
    phone.locator("[data-test=alerts] details.row-more summary").first.tap()
    _no_serious_violations(phone)


def _no_serious_violations(page: Page) -> None:
    """axe-core on the page as the phone shows it (the CI scan covers every page at 1366 px)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"resultTypes": ["violations"]})
    blocking = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
                if v.get("impact") in ("serious", "critical")]
    assert blocking == [], blocking


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_alert_inbox_at_1366(page: Page, demo_alerts, lang: str) -> None:
    """The same inbox on a laptop: a table with its actions, no sideways scrolling; the screenshot for the note."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    _sign_in(page, "procurement@hanbit.example.com", lang)
    page.goto("/alerts?status=unresolved")
    expect(page.locator("[data-test=alerts] tbody tr[data-alert]").first).to_be_visible(timeout=TIMEOUT)
    assert page.evaluate(NO_SIDEWAYS, page.viewport_size["width"]), page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(SHOTS / f"alerts-inbox-{lang}-1366.png"), full_page=True)
