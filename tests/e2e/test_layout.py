"""The layout on a phone (390 × 844) and on a laptop (1366 × 768), for every demo role, in Korean and English.

- A phone: no page scrolls sideways, the top bar is one row under 64 px, and its menu button opens the menu.
- A laptop: the administrator's page is not wider than the window; the name and "Sign out" are readable on the
  top bar (computed colours, WCAG AA 4.5:1).
- The skip link is the first tab stop and moves the focus to the main content.
Screenshots go to var/screenshots/layout-*.png (git-ignored); rerun this file to regenerate them.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cogrow.demo import DEMO_PASSWORD, demo_logins

pytestmark = pytest.mark.e2e

TIMEOUT = 10_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
LOGINS = {email.split("@")[0] + "@" + email.split("@")[1].split(".")[0]: (email, role) for email, role, _ in demo_logins()}
# Pages people use on the shop floor and on the road, per side (the home page is always checked first).
ADMIN_PAGES = ["/settings/users", "/settings/invitations", "/settings/tokens", "/settings/webhooks", "/settings/audit"]
KEY_PAGES = {
    "prime": ["/alerts", "/orders", "/relationships/{rel}", "/notifications"],
    "supplier": ["/alerts", "/orders", "/relationships/{rel}/orders/{po}", "/relationships/{rel}/production/grid",
                 "/production"],
}

# Relative luminance and contrast ratio (WCAG 2.x), and the colours a browser actually paints.
EFFECTIVE_COLOURS = """el => {
  const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const fg = parse(getComputedStyle(el).color);
  let node = el, bg = null;
  while (node && node.nodeType === 1) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) { bg = c; break; }
    node = node.parentElement;
  }
  return {fg: fg.slice(0, 3), bg: (bg || [255, 255, 255]).slice(0, 3)};
}"""


def _contrast(fg: list[float], bg: list[float]) -> float:
    def lum(rgb):
        def ch(c):
            c /= 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        r, g, b = (ch(c) for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _sign_in(page: Page, email: str, locale: str) -> None:
    """Sign in with the session's language chosen first on the login page (the account's stored one untouched)."""
    page.goto("/login")
    html = page.locator("html")
    for _ in range(2 if html.get_attribute("lang") == locale else 1):
        with page.expect_navigation():
            page.locator("[data-test=lang-switch]").click()
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"), timeout=TIMEOUT)
    expect(html).to_have_attribute("lang", locale)


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"layout-{name}.png"), full_page=True)


def _ids(live_app) -> dict:
    from sqlalchemy import func, select

    from cogrow.accounts.models import Organisation
    from cogrow.extensions import db
    from cogrow.orders.models import PurchaseOrder
    from cogrow.relationships.models import SupplyRelationship

    with live_app.app_context():
        names = {o.name.split(" (")[0]: o.id for o in db.session.scalars(select(Organisation))}
        rel = db.session.scalar(select(SupplyRelationship.id).where(
            SupplyRelationship.prime_id == names["Hanbit Motors"],
            SupplyRelationship.supplier_id == names["Seoul Precision Co."]))
        po = db.session.scalar(select(func.min(PurchaseOrder.id)).where(PurchaseOrder.relationship_id == rel))
        db.session.remove()
    return {"rel": rel, "po": po}


def _width_and_topbar(page: Page) -> tuple[int, int, float]:
    return tuple(page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth,"
                               " document.querySelector('.topbar').getBoundingClientRect().height]"))


@pytest.mark.parametrize("locale", ("ko", "en"))
@pytest.mark.parametrize("who", list(LOGINS))
def test_pages_fit_a_phone(browser, live_server, live_app, who, locale) -> None:
    email, role = LOGINS[who]
    side = "supplier" if "seoul-precision" in email else "prime"
    ids = _ids(live_app)
    context = browser.new_context(locale="ko-KR" if locale == "ko" else "en-US", base_url=live_server,
                                  viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    problems = []
    try:
        _sign_in(page, email, locale)
        # An admin's settings pages too: the Users table once pushed a phone page to 684 px through the
        # visually hidden labels of its role selects (absolutely positioned, outside the card's scroll area).
        settings = ADMIN_PAGES if role == "admin" else []
        for path in ["/home", *(p.format(**ids) for p in KEY_PAGES[side]), *settings]:
            response = page.goto(path)
            assert response is not None and response.status == 200, f"{path}: {response and response.status}"
            scroll_width, inner_width, topbar = _width_and_topbar(page)
            # A mobile browser widens its layout viewport to content that overflows, so innerWidth can grow with
            # the page: measure against the phone's own width.
            inner_width = min(inner_width, PHONE["width"])
            if scroll_width > inner_width:
                # Name the widest elements, so whoever owns the page knows what to fix.
                culprits = page.evaluate("""w => Array.from(document.querySelectorAll('main *'))
                    .filter(e => e.getBoundingClientRect().right > w + 1)
                    .filter(e => !e.closest('.card, .table-scroll, .scroll') || e.matches('.card, .table-scroll, .scroll'))
                    .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).trim().split(/\\s+/).join('.') : '')
                    + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')""", inner_width)
                problems.append(f"{path}: {scroll_width} px wide in a {inner_width} px window ({', '.join(culprits)})")
            if topbar >= 64:
                problems.append(f"{path}: the top bar is {topbar:.0f} px tall")
            name = re.sub(r"[^a-z0-9]+", "-", path.strip("/")) or "root"
            _shot(page, f"{who.replace('@', '-')}-{locale}-390-{name}")

        # The menu button opens the menu below the bar (the bar itself stays one row).
        page.goto("/home")
        menu = page.locator("[data-test=topmenu]")
        expect(menu.locator("nav.mainnav")).to_be_hidden()
        menu.locator(":scope > summary").click()
        expect(menu.locator("nav.mainnav")).to_be_visible()
        expect(page.locator("[data-test=who]")).to_be_visible()
        assert _width_and_topbar(page)[2] < 64
        _shot(page, f"{who.replace('@', '-')}-{locale}-390-menu-open")
    finally:
        context.close()
    assert not problems, f"{who} ({locale}) on a phone:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("locale", ("ko", "en"))
@pytest.mark.parametrize("who", ["admin@hanbit", "admin@seoul-precision"])
def test_admin_top_bar_fits_a_laptop_and_reads_well(browser, live_server, who, locale) -> None:
    email, _ = LOGINS[who]
    context = browser.new_context(locale="ko-KR" if locale == "ko" else "en-US", base_url=live_server, viewport=LAPTOP)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    try:
        _sign_in(page, email, locale)
        for path in ("/home", "/settings/users", "/settings/audit"):
            page.goto(path)
            scroll_width, inner_width, topbar = _width_and_topbar(page)
            assert scroll_width <= inner_width, f"{path}: {scroll_width} px wide in a {inner_width} px window"
            assert topbar < 64, f"{path}: the top bar is {topbar:.0f} px tall at 1366 px (one row expected)"
            for selector in ("[data-test=who] .who-name", "[data-test=who] .role", "button.sign-out",
                             "[data-test=lang-switch]", "nav.mainnav a"):
                element = page.locator(selector).first
                expect(element).to_be_visible()
                colours = element.evaluate(EFFECTIVE_COLOURS)
                ratio = _contrast(colours["fg"], colours["bg"])
                assert ratio >= 4.5, f"{path}: {selector} has contrast {ratio:.2f}:1 ({colours})"
        # Settings live in the account menu: closed at first, its links reachable once opened.
        menu = page.locator("[data-test=settings-menu]")
        expect(menu.locator(".menu-list")).to_be_hidden()
        menu.locator(":scope > summary").click()
        expect(menu.locator(".menu-list a[href='/settings/users']")).to_be_visible()
        hrefs = menu.locator(".menu-list a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert {"/settings/users", "/settings/invitations", "/settings/tokens", "/settings/webhooks",
                "/settings/audit", "/settings/account"} <= set(hrefs)
        assert not page.locator("nav.mainnav a[href^='/settings/']").count(), "settings stay out of the main menu"
        _shot(page, f"{who.replace('@', '-')}-{locale}-1366-settings-open")
    finally:
        context.close()


@pytest.mark.parametrize("locale", ("ko", "en"))
def test_skip_link_is_the_first_tab_stop(browser, live_server, locale) -> None:
    context = browser.new_context(locale="ko-KR" if locale == "ko" else "en-US", base_url=live_server, viewport=LAPTOP)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    try:
        _sign_in(page, "planner@hanbit.example.com", locale)
        page.goto("/alerts")
        page.keyboard.press("Tab")
        focused = page.evaluate("() => [document.activeElement.getAttribute('data-test'),"
                                " document.activeElement.getAttribute('href')]")
        assert focused == ["skip-link", "#main"]
        skip = page.locator("[data-test=skip-link]")
        expect(skip).to_be_in_viewport()  # shown when focused
        # Its focus ring is drawn, and stands out from the bar (3:1).
        ring = skip.evaluate("e => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }")
        assert ring[0] != "none" and float(ring[1].rstrip("px")) >= 2
        rgb = [float(x) for x in re.findall(r"[\d.]+", ring[2])[:3]]
        assert _contrast(rgb, [11, 46, 41]) >= 3
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main"
        # The next tab stop is inside the main content, not back in the top bar.
        page.keyboard.press("Tab")
        assert page.evaluate("() => !!document.activeElement.closest('main')")
        # The Production menu item is not the role's name.
        labels = page.locator("nav.mainnav a").all_inner_texts()
        assert "생산 담당" not in labels and "Production" not in labels
    finally:
        context.close()
