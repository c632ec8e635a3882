"""Purchase orders on a phone (390 × 844), in Korean and English: the supplier acknowledges a PO from the floor.

The PO list and the PO page never scroll sideways: their tables collapse into one block per row, each value under
its label, and the acknowledge / reject / propose controls fit the screen. Each PO number is shown with its prime.
The htmx parts run in a real browser too: "Add a line" appends one row without a page load, and the planner
accepts a proposal in place (the line, the state and the version change; the page is not reloaded).

The module serves its own demo app (it adds POs other browser tests would count). Screenshots go to
var/screenshots/ (git-ignored): orders-list-<lang>-390.png, orders-po-<lang>-390.png,
orders-po-acknowledged-<lang>-390.png, orders-new-<lang>-390.png, orders-proposal-accepted-<lang>-1366.png,
shipments-list-<lang>-390.png.
Regenerate them with `.venv/bin/python -m pytest -q -p no:cacheprovider -m e2e tests/e2e/test_orders_phone.py`.
"""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from cogrow.demo import DEMO_PASSWORD
from tests.e2e.conftest import serve_demo_app

pytestmark = pytest.mark.e2e

TIMEOUT = 10_000
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
SUPPLIER = "production@seoul-precision.example.com"
PLANNER = "planner@hanbit.example.com"
# Against the phone's width, not innerWidth: a mobile layout viewport widens with content that overflows.
NO_SIDEWAYS = "w => document.documentElement.scrollWidth <= w"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve_demo_app(tmp_path_factory) as (url, app):
        yield url, app


def _issued_po(app, note: str, *, proposal: bool = False) -> dict:
    """An issued PO of Hanbit to Seoul Precision with two lines (and, if asked, the supplier's open proposal)."""
    from cogrow.accounts.models import Organisation, User
    from cogrow.catalog.models import Item
    from cogrow.core.weeks import local_today
    from cogrow.extensions import db
    from cogrow.orders import services
    from cogrow.relationships.models import SupplyRelationship
    from tests.conftest import actor_of

    with app.test_request_context():
        orgs = {o.name.split(" (")[0]: o for o in db.session.scalars(select(Organisation))}
        prime, supplier = orgs["Hanbit Motors"], orgs["Seoul Precision Co."]
        rel = db.session.scalar(select(SupplyRelationship).where(SupplyRelationship.prime_id == prime.id,
                                                                 SupplyRelationship.supplier_id == supplier.id))
        planner = actor_of(db.session.scalar(select(User).where(User.email == PLANNER)), prime)
        items = db.session.scalars(select(Item).where(Item.relationship_id == rel.id).order_by(Item.id).limit(2)).all()
        due = local_today() + timedelta(days=30)
        lines = [{"index": i, "item_id": item.id, "quantity": Decimal(1280 + i), "due_date": due}
                 for i, item in enumerate(items)]
        po = services.create_po(planner, rel.id, {"note": note, "lines": lines})
        po = services.issue_po(planner, rel.id, po.id, po.version)
        if proposal:
            producer = actor_of(db.session.scalar(select(User).where(User.email == SUPPLIER)), supplier)
            services.propose_change(producer, rel.id, po.id, {"line_id": po.lines[0].id, "quantity": Decimal("1000"),
                                                              "due_date": None, "reason": "Press maintenance"},
                                    po.version)
        out = {"rel": rel.id, "po": po.id, "number": po.number, "prime": prime.name, "line": po.lines[0].id}
        db.session.remove()
    return out


def _context(browser, base_url, viewport):
    small = viewport["width"] < 500
    context = browser.new_context(locale="ko-KR", base_url=base_url, viewport=viewport, device_scale_factor=2,
                                  is_mobile=small, has_touch=small)
    context.set_default_timeout(TIMEOUT)
    return context


def _sign_in(page: Page, email: str, lang: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"))
    html = page.locator("html")
    if html.get_attribute("lang") != lang:
        page.locator("[data-test=lang-switch]").click()
    expect(html).to_have_attribute("lang", lang)


def _no_sideways(page: Page, where: str) -> None:
    page.wait_for_load_state("load")  # measure with the stylesheets applied, not a half-styled page
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert page.evaluate(NO_SIDEWAYS, page.viewport_size["width"]), f"{where}: the page is {widths[0]} px wide on a {widths[1]} px screen"


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def _axe_clean(page: Page, axe, where: str) -> None:
    """axe-core on the page as the phone shows it: no serious or critical violation (the CI scan runs at 1366 px)."""
    violations = axe.run(page, options={"resultTypes": ["violations"]}).response["violations"]
    blocking = [f"{v['id']} ({v.get('impact')}): {[n['target'] for n in v['nodes']][:4]}" for v in violations
                if v.get("impact") in ("serious", "critical")]
    assert not blocking, f"{where}: {blocking}"


def _on_screen(page: Page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, (selector, box)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_supplier_acknowledges_a_po_on_a_phone(browser, server, axe, lang: str) -> None:
    base_url, app = server
    po = _issued_po(app, f"phone-{lang}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = _context(browser, base_url, PHONE)
    try:
        page = context.new_page()
        _sign_in(page, SUPPLIER, lang)

        page.goto("/orders")
        _no_sideways(page, "PO list")
        row = page.locator(f"[data-test=orders] tbody tr[data-po='{po['po']}']")
        number = row.locator(".doc-number")
        expect(number).to_have_attribute("data-number", po["number"])
        expect(number).to_have_attribute("data-party", po["prime"])  # the issuing prime beside its number
        # Stacked rows: each value sits under its label, inside the screen.
        assert row.evaluate("r => getComputedStyle(r).display") == "block"
        box = row.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        _axe_clean(page, axe, "PO list")
        page.screenshot(path=str(SHOTS / f"orders-list-{lang}-390.png"), full_page=True)

        number.locator("a").click()
        expect(page).to_have_url(re.compile(rf"/relationships/{po['rel']}/orders/{po['po']}$"))
        expect(page.locator("#po-state")).to_have_attribute("data-state", "issued")
        _no_sideways(page, "PO page")
        for control in ("[data-test=acknowledge]", "[data-test=reject]", "[data-test=propose]",
                        "input[name=reject-reason]", "select[name=line_id]", "input[name=quantity]"):
            _on_screen(page, control)
        _axe_clean(page, axe, "PO page")
        page.screenshot(path=str(SHOTS / f"orders-po-{lang}-390.png"), full_page=True)

        page.locator("[data-test=acknowledge]").click()
        expect(page.locator(".flash-success")).to_be_visible()
        expect(page.locator("#po-state")).to_have_attribute("data-state", "acknowledged")
        _no_sideways(page, "PO page after acknowledging")
        page.screenshot(path=str(SHOTS / f"orders-po-acknowledged-{lang}-390.png"), full_page=True)
    finally:
        context.close()

    from cogrow.extensions import db
    from cogrow.orders.models import PurchaseOrder

    with app.app_context():
        assert db.session.get(PurchaseOrder, po["po"]).status == "acknowledged"
        db.session.remove()


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_planner_adds_lines_and_decides_a_proposal_without_reloading(browser, server, axe, lang: str) -> None:
    base_url, app = server
    po = _issued_po(app, f"proposal-{lang}", proposal=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = _context(browser, base_url, PHONE)
    try:
        page = context.new_page()
        _sign_in(page, PLANNER, lang)

        # Add a line: one more row, fetched and appended; the page is the same page (the marker survives).
        page.goto(f"/relationships/{po['rel']}/orders/new")
        _no_sideways(page, "new PO form")
        rows = page.locator("#line-rows tr")
        expect(rows).to_have_count(3)
        page.locator("input[name=lines-0-quantity]").fill("1,280")
        page.evaluate("() => { window.__same_page = true; }")
        page.locator("[data-test=add-line]").click()
        expect(rows).to_have_count(4)
        page.locator("[data-test=add-line]").click()
        expect(rows).to_have_count(5)
        assert page.evaluate("() => window.__same_page === true")
        expect(page.locator("input[name=lines-4-quantity]")).to_be_visible()
        expect(page.locator("input[name=lines-0-quantity]")).to_have_value("1,280")
        _no_sideways(page, "new PO form with added lines")
        _axe_clean(page, axe, "new PO form")
        page.screenshot(path=str(SHOTS / f"orders-new-{lang}-390.png"), full_page=True)
    finally:
        context.close()

    context = _context(browser, base_url, DESKTOP)
    try:
        page = context.new_page()
        _sign_in(page, PLANNER, lang)
        page.goto(f"/relationships/{po['rel']}/orders/{po['po']}")
        version = page.locator("[data-test=version]").inner_text()
        line = page.locator(f"#po-line-{po['line']}")
        expect(line.locator("[data-test=line-quantity]")).to_have_text("1,280")
        _axe_clean(page, axe, "PO page with an open proposal")
        page.evaluate("() => { window.__same_page = true; }")
        line.locator("[data-test^=accept-proposal-]").click()
        expect(line.locator("[data-test=line-quantity]")).to_have_text("1,000")
        expect(line.locator("tr.proposal")).to_have_attribute("data-state", "accepted")
        expect(page.locator("#po-state")).to_have_attribute("data-state", "acknowledged")
        expect(page.locator("[data-test=version]")).not_to_have_text(version)
        assert page.evaluate("() => window.__same_page === true"), "the decision reloaded the page"
        page.screenshot(path=str(SHOTS / f"orders-proposal-accepted-{lang}-1366.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_asn_pages_fit_a_phone(browser, server, axe, lang: str) -> None:
    """The shipments list, the new-ASN form and an ASN's page: no sideways scroll, each ASN with its customer."""
    base_url, app = server
    po = _issued_po(app, f"asn-{lang}")
    context = _context(browser, base_url, PHONE)
    try:
        page = context.new_page()
        _sign_in(page, SUPPLIER, lang)
        page.goto(f"/relationships/{po['rel']}/shipments/new")
        _no_sideways(page, "new ASN form")
        _axe_clean(page, axe, "new ASN form")
        field = page.locator(f"input[name=qty-{po['line']}]")
        _on_screen(page, f"input[name=qty-{po['line']}]")
        field.fill("1,000")
        page.locator("form[action$='/shipments'] button.primary").click()
        expect(page.locator(".flash-success")).to_be_visible()
        heading = page.locator("[data-test=asn-heading] .doc-number")
        expect(heading).to_have_attribute("data-party", po["prime"])
        _no_sideways(page, "ASN page")
        _axe_clean(page, axe, "ASN page")
        number = heading.get_attribute("data-number")
        page.goto("/shipments")
        _no_sideways(page, "shipments list")
        _axe_clean(page, axe, "shipments list")
        expect(page.locator(f"[data-test=shipments] .doc-number[data-number='{number}']").first).to_have_attribute(
            "data-party", po["prime"])
        page.screenshot(path=str(SHOTS / f"shipments-list-{lang}-390.png"), full_page=True)
    finally:
        context.close()
