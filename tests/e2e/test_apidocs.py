"""The API reference page in Chromium: Swagger UI draws every operation of the app's OpenAPI document, with every
request answered by this app (any other host is refused, as on a machine without the internet), and axe finds
no serious or critical violation, before and after an operation is opened."""
from __future__ import annotations

from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.e2e

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
BLOCKING = ("serious", "critical")


def _operations(spec: dict) -> list[tuple[str, str, str]]:
    return [(method.upper(), path, operation.get("operationId", ""))
            for path, item in spec["paths"].items() for method, operation in item.items() if method in HTTP_METHODS]


def _blocking(axe, page) -> list[str]:
    results = axe.run(page, options={"resultTypes": ["violations"]})
    return [f"[{v['impact']}] {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
            for v in results.response["violations"] if v.get("impact") in BLOCKING]


@pytest.fixture
def offline_page(browser, live_server):
    """An anonymous English page whose requests to any host but the app's are aborted and recorded."""
    own = urlparse(live_server).netloc
    context = browser.new_context(locale="en-US", base_url=live_server, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    elsewhere: list[str] = []

    def route(request_route):
        if urlparse(request_route.request.url).netloc == own:
            return request_route.continue_()
        elsewhere.append(request_route.request.url)
        return request_route.abort("internetdisconnected")

    context.route("**/*", route)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}") if urlparse(r.url).netloc == own else None)
    try:
        yield page, elsewhere, problems
    finally:
        context.close()


def test_swagger_ui_draws_every_operation_without_the_internet(offline_page):
    page, elsewhere, problems = offline_page
    spec = page.request.get("/api/v1/openapi.json").json()
    operations = _operations(spec)
    assert operations, "the OpenAPI document has no operations"

    page.goto("/api/docs")
    blocks = page.locator("#swagger-ui .opblock")
    blocks.first.wait_for()
    page.wait_for_function("n => document.querySelectorAll('#swagger-ui .opblock').length === n", arg=len(operations))
    assert page.locator("#swagger-ui .information-container .title").inner_text().startswith(spec["info"]["title"])
    # Operation ids are shown next to each path (they are the names a generated client uses).
    shown = set(page.locator("#swagger-ui .opblock-summary-operation-id").all_inner_texts())
    assert {op_id for _, _, op_id in operations if op_id} <= shown
    # Each tag of the document is a section.
    tags = {tag for item in spec["paths"].values() for m, op in item.items() if m in HTTP_METHODS
            for tag in op.get("tags", [])}
    for tag in tags:
        assert page.locator(f"#swagger-ui .opblock-tag[data-tag='{tag}']").count() == 1, tag
    assert elsewhere == [], f"the page asked other hosts: {elsewhere}"
    assert problems == []


def test_opening_an_operation_shows_its_responses(offline_page):
    page, elsewhere, problems = offline_page
    spec = page.request.get("/api/v1/openapi.json").json()
    method, path, op_id = next(op for op in _operations(spec) if op[0] == "POST" and op[2])
    page.goto("/api/docs")
    block = page.locator(f"#swagger-ui .opblock:has(.opblock-summary-operation-id:text-is('{op_id}'))")
    block.locator(".opblock-summary-control").click()
    block.locator(".responses-wrapper").wait_for()
    assert block.locator(".opblock-summary-path").inner_text().replace("\u200b", "") == path
    assert block.locator(".responses-table").count() >= 1
    assert elsewhere == [] and problems == []


def test_the_reference_has_no_serious_accessibility_violation(offline_page):
    from axe_playwright_python.sync_playwright import Axe

    page, _, _ = offline_page
    axe = Axe()
    page.goto("/api/docs")
    page.locator("#swagger-ui .opblock").first.wait_for()
    found = _blocking(axe, page)
    # Operations open (parameters, a request body, responses): Swagger UI draws more of its own markup then.
    for block in (page.locator("#swagger-ui .opblock").first, page.locator("#swagger-ui .opblock-post").first):
        block.locator(".opblock-summary-control").click()
        block.locator(".responses-wrapper").wait_for()
    found += [f"(operations open) {line}" for line in _blocking(axe, page)]
    assert found == [], "\n".join(found)


def test_the_api_token_page_links_to_the_reference(page):
    from cogrow.demo import DEMO_PASSWORD

    page.goto("/login")
    page.fill("input[name=email]", "admin@hanbit.example.com")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url("**/home")
    page.goto("/settings/tokens")
    page.locator("[data-test=api-docs-link]").click()
    page.wait_for_url("**/api/docs")
    page.locator("#swagger-ui .opblock").first.wait_for()
