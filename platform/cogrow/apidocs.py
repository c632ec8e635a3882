"""The API's documentation page: the OpenAPI document the app serves, drawn by the vendored Swagger UI.

Nothing is fetched from another host: the page loads static/vendor/swagger-ui/ (pinned in the vendor manifest)
and static/api-docs.js, which points Swagger UI at /api/v1/openapi.json. The page is public, like the document.
"""
from __future__ import annotations

from flask import Blueprint, render_template

from cogrow.core.auth import public

bp = Blueprint("apidocs", __name__)

SPEC_PATH = "/api/v1/openapi.json"
# The app-wide policy plus data: images, which Swagger UI's stylesheet uses for its icons. Scripts stay 'self'.
CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"


@bp.get("/api/docs")
@public
def index():
    html = render_template("apidocs/index.html", spec_url=SPEC_PATH)
    return html, 200, {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
