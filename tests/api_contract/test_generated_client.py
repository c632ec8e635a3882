"""A client generated from the app's own OpenAPI document (openapi-python-client, outside the product) calls the
app: `getMe`, `listRelationships` and `createProductionReport` with a bearer token, and its typed models read the
answers. The client talks HTTP to the real application through httpx's WSGI transport (the full request stack:
token, tenancy, validation, serialisation), inside the test's rolled-back transaction."""
from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from tests.services import unavailable

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "cogrow_client"


@pytest.fixture(scope="module")
def generated_client(app, tmp_path_factory):
    """The generated package, importable (generated once per module from the spec the app serves)."""
    if not GENERATOR.exists() and not shutil.which("openapi-python-client"):
        unavailable("openapi-python-client (pip install -e '.[dev]')")
    work = tmp_path_factory.mktemp("generated-client")
    spec = app.test_client().get("/api/v1/openapi.json")
    assert spec.status_code == 200
    (work / "openapi.json").write_bytes(spec.data)
    # No post-hooks: the generator would otherwise run ruff over the output.
    (work / "config.json").write_text(json.dumps({"post_hooks": [], "package_name_override": PACKAGE,
                                                  "project_name_override": "cogrow-client"}))
    result = subprocess.run(
        [str(GENERATOR if GENERATOR.exists() else shutil.which("openapi-python-client")), "generate",
         "--path", str(work / "openapi.json"), "--config", str(work / "config.json"), "--meta", "none",
         "--output-path", str(work / PACKAGE)],
        capture_output=True, text=True, timeout=300, cwd=str(work))
    assert result.returncode == 0, f"generation failed:\n{result.stdout}\n{result.stderr}"
    # The one warning the generator may give: it has no model for a raw file body (an import uploaded as
    # text/csv, XLSX...), so those media types of the upload are left out; its multipart form is generated.
    output = result.stdout + result.stderr
    warnings = re.findall(r"WARNING parsing (\S+ \S+)[^\n]*\n\s*\n?\s*([^\n]+)", output)
    unexpected = [w for w in warnings if not (w[1].startswith("Unsupported content type") and "/imports/" in w[0])]
    assert unexpected == [], f"the generator warned:\n{output}"
    sys.path.insert(0, str(work))
    try:
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))


def _client(generated, app, token: str):
    return generated.AuthenticatedClient(base_url="http://cogrow.test", token=token, raise_on_unexpected_status=True,
                                         httpx_args={"transport": httpx.WSGITransport(app=app)})


def test_generated_client_reads_me_and_relationships(generated_client, app, db, tenant_a, tenant_b):
    from cogrow_client.api.accounts import get_me
    from cogrow_client.api.relationships import list_relationships
    from cogrow_client.models import Me, RelationshipPage

    client = _client(generated_client, app, tenant_a.tokens["prime:planner"])
    me = get_me.sync(client=client)
    assert isinstance(me, Me)
    assert (me.organisation_id, me.organisation_kind, me.role) == (tenant_a.prime.id, "prime", "planner")

    page = list_relationships.sync(client=client)
    assert isinstance(page, RelationshipPage)
    assert [r.id for r in page.data] == [tenant_a.relationship.id]  # never tenant B's
    assert (page.data[0].prime.id, page.data[0].supplier.name) == (tenant_a.prime.id, tenant_a.supplier.name)

    detailed = list_relationships.sync_detailed(client=client, limit=1)
    assert detailed.status_code == 200 and detailed.parsed.limit == 1


def test_generated_client_posts_a_production_report(generated_client, app, db, tenant_a):
    from cogrow_client.api.production import create_production_report
    from cogrow_client.models import Error, ProductionReport, ProductionReportCreate

    client = _client(generated_client, app, tenant_a.tokens["supplier:production"])
    as_of = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0)  # the frozen clock
    body = ProductionReportCreate.from_dict({"item_id": tenant_a.item.id, "as_of": as_of.isoformat(),
                                             "good_qty": "12.5", "scrap_qty": "1", "wip_qty": "3",
                                             "fg_on_hand": "40"})
    report = create_production_report.sync(client=client, relationship_id=tenant_a.relationship.id, body=body)
    assert isinstance(report, ProductionReport)
    assert report.item_id == tenant_a.item.id and report.good_qty == "12.5"  # decimals travel as strings

    refused = create_production_report.sync_detailed(
        client=client, relationship_id=tenant_a.relationship.id,
        body=ProductionReportCreate.from_dict({**body.to_dict(), "good_qty": "-1"}))
    assert refused.status_code == 422 and isinstance(refused.parsed, Error)
    assert "good_qty" in json.dumps(refused.parsed.error.fields.to_dict())
