"""The inbox keeps its own filters across a bulk action and nothing else from the query string."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.alerts.walk import _alert
from tests.conftest import sign_in

# Names that url_for reads itself: passed through, they crash it or change where it points.
FOREIGN_ARGS = {"endpoint": "x", "_external": "1", "_scheme": "javascript", "_anchor": "x", "values": "1",
                "_method": "GET", "alert_id": "1"}


@pytest.mark.parametrize("name", sorted(FOREIGN_ARGS))
def test_a_bulk_action_redirects_with_the_known_filters_only(app, db, tenant_a, name):
    alert = _alert(tenant_a, db)
    client = app.test_client()
    sign_in(client, tenant_a.users["prime:planner"])
    query = {name: FOREIGN_ARGS[name], "status": "all", "severity": "warning"}
    response = client.post("/alerts/bulk", query_string=query, data={"ids": [str(alert.id)], "action": "acknowledge"})
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("", "", "/alerts")
    assert parse_qs(target.query) == {"status": ["all"], "severity": ["warning"]}


@pytest.mark.parametrize("name", sorted(FOREIGN_ARGS))
def test_the_inbox_renders_whatever_else_the_query_holds(app, db, tenant_a, name):
    client = app.test_client()
    sign_in(client, tenant_a.users["prime:planner"])
    response = client.get("/alerts", query_string={name: FOREIGN_ARGS[name], "sort": "updated"})
    assert response.status_code == 200
    assert 'action="/alerts/bulk?sort=updated"' in response.get_data(as_text=True)
