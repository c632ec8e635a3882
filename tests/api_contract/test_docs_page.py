"""The API reference page (/api/docs): public, and built only from files this app serves."""
from __future__ import annotations

import re

from cogrow import vendor

SWAGGER_FILES = ("swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css", "swagger-ui/LICENSE",
                 "swagger-ui/NOTICE")


def test_the_page_is_public_and_points_swagger_ui_at_the_apps_own_document(app, client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    for static in ("vendor/swagger-ui/swagger-ui-bundle.js", "vendor/swagger-ui/swagger-ui.css", "api-docs.js",
                   "css/apidocs.css"):
        assert f'="/static/{static}"' in html, static
    # Script only from files: the CSP keeps 'self' for scripts and allows data: images (Swagger UI's icons).
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy and "unsafe" not in policy
    assert "<script>" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html), "no inline script"


def test_the_page_names_no_other_host(client):
    html = client.get("/api/docs").get_data(as_text=True)
    foreign = [url for url in re.findall(r"""(?:src|href|action)=["']([^"']+)""", html)
               if re.match(r"(?:https?:)?//", url) and not url.startswith(("http://localhost", "//localhost"))]
    assert foreign == []
    assert not re.search(r"https?://(?!localhost)", html), "an absolute URL to another host in the page"


def test_the_init_script_turns_off_the_online_validator():
    from pathlib import Path

    script = (Path(vendor.VENDOR_DIR).parent / "api-docs.js").read_text(encoding="utf-8")
    assert "validatorUrl: null" in script
    assert not re.search(r"https?://", script)


def test_swagger_ui_is_vendored_pinned_and_checksummed():
    package = next(p for p in vendor.load_manifest()["packages"] if p["name"] == "swagger-ui-dist")
    assert package["version"].startswith("5.") and package["license"] == "Apache-2.0"
    listed = {entry["dest"]: entry["sha256"] for entry in package["files"]}
    assert set(SWAGGER_FILES) <= set(listed)
    for dest, digest in listed.items():
        assert vendor.sha256_of(vendor.VENDOR_DIR / dest) == digest, dest
    assert not [line for line in vendor.problems() if "swagger-ui" in line]


def test_the_api_token_page_links_to_the_reference(client, db, tenant_a):
    from tests.conftest import sign_in

    sign_in(client, tenant_a.users["prime:admin"])
    html = client.get("/settings/tokens").get_data(as_text=True)
    assert 'data-test="api-docs-link"' in html and 'href="/api/docs"' in html
