"""The accessibility scan: axe-core on every page, for every demo role, in Korean and in English.

Every GET route of the app is visited: routes without parameters as they are, parameterised routes with one
instance each (a relationship, an item, a PO, an alert, a forecast version, an import, an ASN...) taken from the
demo network that `live_server` loads. A new URL parameter fails the scan until `_url_values` learns it.
The scan fails on any violation of impact "serious" or "critical" and prints page, rule, target and summary.

COGROW_AXE_REPORT=<file.json> also writes every finding (all impacts) there, for people fixing pages.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cogrow.demo import DEMO_PASSWORD, demo_logins

pytestmark = pytest.mark.e2e

BLOCKING = ("serious", "critical")
LOCALES = ("ko", "en")
# Never pages: JSON, files, health checks, redirects only.
NOT_PAGES = {"core.health", "core.index", "imports.template", "static", "edi.download"}
ANONYMOUS_PAGES = {"accounts.login", "accounts.accept_invitation"}
AXE_OPTIONS = {"resultTypes": ["violations"]}


@dataclass
class Finding:
    role: str
    locale: str
    page: str
    rule: str
    impact: str
    help: str
    targets: list[str] = field(default_factory=list)
    summary: str = ""

    def line(self) -> str:
        return (f"[{self.impact}] {self.role}/{self.locale} {self.page} — {self.rule}: {self.help}\n"
                + "".join(f"      target {t}\n" for t in self.targets[:8])
                + (f"      … and {len(self.targets) - 8} more\n" if len(self.targets) > 8 else "")
                + (f"      {self.summary.splitlines()[0] if self.summary else ''}\n"))


@pytest.fixture(scope="module")
def axe_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """A demo server of the scan's own: the scan adds what the demo lacks (a shipment in Hanbit ↔ Seoul Precision)."""
    from tests.e2e.conftest import serve_demo_app

    with serve_demo_app(tmp_path_factory) as (url, app):
        yield url, app


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def _demo_ids(app) -> dict:
    """Ids of one instance of everything a parameterised page shows, in Hanbit ↔ Seoul Precision (all demo logins
    belong to one of the two). The ledger is reconciled once so that alerts exist, as the worker would do."""
    from cogrow.accounts.models import Organisation
    from cogrow.alerts.models import Alert
    from cogrow.catalog.models import Item
    from cogrow.core.mail import write_message  # noqa: F401  (the dev mail pages exist in this build)
    from cogrow.coverage import services as coverage
    from cogrow.extensions import db
    from cogrow.forecasts.models import ForecastPublication
    from cogrow.imports.models import ImportBatch
    from cogrow.imports.registry import KINDS
    from cogrow.orders.models import PurchaseOrder
    from cogrow.relationships.models import SupplyRelationship
    from cogrow.shipments.models import Shipment

    with app.app_context():
        orgs = {o.name.split(" (")[0]: o for o in db.session.scalars(select(Organisation))}
        prime, supplier = orgs["Hanbit Motors"], orgs["Seoul Precision Co."]
        rel = db.session.scalar(select(SupplyRelationship).where(SupplyRelationship.prime_id == prime.id,
                                                                 SupplyRelationship.supplier_id == supplier.id))
        if not db.session.scalar(select(func.count()).select_from(Alert).where(Alert.relationship_id == rel.id)):
            coverage.reconcile(rel.id, None)
            db.session.commit()
        if not db.session.scalar(select(func.count()).select_from(Shipment).where(Shipment.relationship_id == rel.id)):
            _ship_one(rel, supplier)
        ids = {
            "relationship_id": rel.id,
            "item_id": db.session.scalar(select(func.min(Item.id)).where(Item.relationship_id == rel.id)),
            "po_id": db.session.scalar(select(func.min(PurchaseOrder.id)).where(PurchaseOrder.relationship_id == rel.id)),
            "version_no": db.session.scalar(select(func.max(ForecastPublication.version_no))
                                            .where(ForecastPublication.relationship_id == rel.id)),
            "alert_id": db.session.scalar(select(func.min(Alert.id)).where(Alert.relationship_id == rel.id)),
            "shipment_id": db.session.scalar(select(func.min(Shipment.id)).where(Shipment.relationship_id == rel.id)),
            "kind": {kind: [k.name for k in KINDS.values() if k.org_kind == kind] for kind in ("prime", "supplier")},
            "import_id": {},
        }
        for kind, org in (("prime", prime), ("supplier", supplier)):
            batch_id = db.session.scalar(select(func.min(ImportBatch.id)).where(
                ImportBatch.relationship_id == rel.id, ImportBatch.organisation_id == org.id))
            if batch_id is None:
                batch = ImportBatch(organisation_id=org.id, relationship_id=rel.id, kind=ids["kind"][kind][0],
                                    filename="axe.csv", file_format="csv", content_sha256=f"{org.id:064x}",
                                    content=b"part_number,week,quantity\n", status="preview", total_rows=0,
                                    summary={"summary": {}, "lines": []}, options={})
                db.session.add(batch)
                db.session.commit()
                batch_id = batch.id
            ids["import_id"][kind] = batch_id
        ids["draft_id"] = _whatif_drafts(rel, ids["po_id"])
        db.session.remove()
    missing = [name for name, value in ids.items() if value in (None, {}, [])]
    assert not missing, f"the demo data has no {missing}: the scan cannot visit those pages"
    return ids


def _whatif_drafts(rel, po_id: int) -> int:
    """A forecast draft and the PO's first line marked for cancellation, so that the what-if pages have drafts to
    show; returns the forecast draft's id."""
    from cogrow.extensions import db
    from cogrow.forecasts.models import ForecastDraft
    from cogrow.orders.models import PoCancelDraft, PoCancelDraftLine, PurchaseOrderLine

    draft_id = db.session.scalar(select(func.min(ForecastDraft.id)).where(ForecastDraft.relationship_id == rel.id))
    if draft_id is None:
        draft = ForecastDraft(relationship_id=rel.id, note="axe", bucket_count=0, base_version_no=0)
        db.session.add(draft)
        db.session.flush()
        draft_id = draft.id
    if db.session.scalar(select(PoCancelDraft.id).where(PoCancelDraft.purchase_order_id == po_id)) is None:
        cancel = PoCancelDraft(relationship_id=rel.id, purchase_order_id=po_id)
        db.session.add(cancel)
        db.session.flush()
        db.session.add(PoCancelDraftLine(draft_id=cancel.id, line_id=db.session.scalar(
            select(func.min(PurchaseOrderLine.id)).where(PurchaseOrderLine.purchase_order_id == po_id))))
    db.session.commit()
    return draft_id


def _ship_one(rel, supplier) -> None:
    """An ASN for one line of the relationship's first PO, entered as the supplier's production user would."""
    from cogrow.accounts.models import Membership
    from cogrow.core.auth import Actor
    from cogrow.core.weeks import local_today
    from cogrow.extensions import db
    from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
    from cogrow.shipments import schemas, services

    user_id = db.session.scalar(select(Membership.user_id).where(Membership.organisation_id == supplier.id,
                                                                 Membership.role == "production"))
    producer = Actor(organisation_id=supplier.id, org_kind="supplier", role="production", user_id=user_id)
    line = db.session.scalar(select(PurchaseOrderLine).join(PurchaseOrder)
                             .where(PurchaseOrder.relationship_id == rel.id, PurchaseOrder.status != "draft")
                             .order_by(PurchaseOrderLine.id).limit(1))
    services.create_shipment(producer, rel.id, schemas.parse_shipment(
        {"ship_date": local_today().isoformat(), "lines": [{"po_line_id": line.id, "quantity": "1"}]}))
    db.session.commit()


def _url_values(rule, ids: dict, org_kind: str) -> Iterator[dict]:
    """One set of values per page instance to visit (several for <kind>: every import kind of the side)."""
    values: dict = {}
    for arg in sorted(rule.arguments):
        if arg == "kind":
            continue
        if arg == "import_id":
            values[arg] = ids["import_id"][org_kind]
        elif arg in ids:
            values[arg] = ids[arg]
        else:
            raise AssertionError(f"the axe scan does not know how to fill <{arg}> of {rule.rule}: teach _url_values")
    if "kind" in rule.arguments:
        for kind in ids["kind"][org_kind]:
            yield {**values, "kind": kind}
    else:
        yield values


def _pages(app, ids: dict, org_kind: str) -> list[str]:
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if ("GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.endpoint in ANONYMOUS_PAGES
                    or rule.endpoint.startswith("api.") or rule.rule.startswith("/api/") or rule.endpoint == "static"):
                continue
            if rule.endpoint.startswith("devmail.") and "mail_name" in rule.arguments:
                continue  # a caught message's page: needs a message on disk; the list page is scanned
            for values in _url_values(rule, ids, org_kind):
                urls.append(url_for(rule.endpoint, **values))
    return urls


def _scan(page, axe, role: str, locale: str, url: str) -> list[Finding]:
    results = axe.run(page, options=AXE_OPTIONS)
    found = []
    for violation in results.response["violations"]:
        found.append(Finding(
            role=role, locale=locale, page=url, rule=violation["id"], impact=violation.get("impact") or "",
            help=violation.get("help", ""),
            targets=[" ".join(map(str, node["target"])) for node in violation["nodes"]],
            summary=(violation["nodes"][0].get("failureSummary") or "") if violation["nodes"] else ""))
    return found


def _report(findings: list[Finding]) -> None:
    target = os.environ.get("COGROW_AXE_REPORT")
    if not target:
        return
    path = Path(target)
    existing = json.loads(path.read_text()) if path.exists() else []
    existing += [f.__dict__ for f in findings]
    path.write_text(json.dumps(existing, ensure_ascii=False, indent=1))


def _set_language(page, locale: str) -> None:
    """Choose the session's language from the login page (anonymous: nothing stored on the user's account, and
    the session's choice wins over the account's stored locale after signing in)."""
    html = page.locator("html")
    for _ in range(2 if html.get_attribute("lang") == locale else 1):
        with page.expect_navigation():
            page.locator("[data-test=lang-switch]").click()
    assert html.get_attribute("lang") == locale


def _fail_on(findings: list[Finding], visited: int) -> None:
    blocking = [f for f in findings if f.impact in BLOCKING]
    if blocking:
        pytest.fail(f"{len(blocking)} serious/critical accessibility violations on {visited} pages:\n"
                    + "".join(f.line() for f in blocking), pytrace=False)


@pytest.mark.parametrize("locale", LOCALES)
def test_anonymous_pages_have_no_serious_violations(browser, axe_server, axe, locale) -> None:
    live_server, _ = axe_server
    context = browser.new_context(locale="ko-KR" if locale == "ko" else "en-US", base_url=live_server,
                                  viewport={"width": 1366, "height": 768})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        findings = []
        page.goto("/login")
        _set_language(page, locale)
        findings += _scan(page, axe, "anonymous", locale, "/login")
        page.fill("input[name=email]", "nobody@example.com")
        page.fill("input[name=password]", "wrong-password")
        page.locator("form:has(input[name=password]) button[type=submit]").click()
        page.wait_for_load_state()
        findings += _scan(page, axe, "anonymous", locale, "/login (refused)")
        for url in ("/invitations/not-a-real-token", "/no-such-page"):
            page.goto(url)
            findings += _scan(page, axe, "anonymous", locale, url)
        _report(findings)
        _fail_on(findings, 4)
    finally:
        context.close()


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("email,role,organisation", demo_logins(),
                         ids=[email.replace(".example.com", "") for email, _, _ in demo_logins()])
def test_every_page_has_no_serious_violations(browser, axe_server, axe, email, role, organisation, locale) -> None:
    live_server, live_app = axe_server
    ids = _demo_ids(live_app)
    org_kind = "supplier" if organisation == "Seoul Precision Co." else "prime"
    who = f"{org_kind}-{role}"
    context = browser.new_context(locale="ko-KR" if locale == "ko" else "en-US", base_url=live_server,
                                  viewport={"width": 1366, "height": 768})
    context.set_default_timeout(15_000)
    page = context.new_page()
    findings: list[Finding] = []
    visited = 0
    scanned_errors: set[int] = set()
    try:
        page.goto("/login")
        _set_language(page, locale)
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.locator("form:has(input[name=password]) button[type=submit]").click()
        page.wait_for_url(re.compile(r"/home$"))
        for url in _pages(live_app, ids, org_kind):
            response = page.goto(url)
            status = response.status if response else 0
            assert status < 500, f"{who}: {url} answered {status}"
            if "<html" not in (response.text()[:500].lower() if response else ""):
                continue  # an htmx fragment (e.g. the unread count), scanned inside the page that shows it
            if status >= 400:
                if status in scanned_errors:
                    continue  # an error page is scanned once per role and language
                scanned_errors.add(status)
            assert page.locator("html").get_attribute("lang") == locale, f"{url} is not in {locale}"
            findings += _scan(page, axe, who, locale, f"{url} ({status})" if status != 200 else url)
            visited += 1
        # The phone layout: the top bar with its menu open (links, account menu, sign-out on the dark panel).
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/home")
        page.locator("[data-test=topmenu] > summary").click()
        page.locator("[data-test=settings-menu] > summary").click()
        findings += _scan(page, axe, who, locale, "/home (390 px, menus open)")
        visited += 1
        _report(findings)
        _fail_on(findings, visited)
    finally:
        context.close()
