"""The relationship's reliability tab and its JSON route: both sides see it, the prime's roll-up only the prime,
another organisation gets 404, and a bad window is a 400 naming `weeks`."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cogrow.reliability import services
from tests import factories as f
from tests.conftest import sign_in
from tests.reliability.build import at, po_line, version, week


@pytest.fixture
def history(db, tenant_a):
    """Tenant A's item forecast 120 a week, ordered 100 a week, for the last 13 weeks (bias +20 %)."""
    rel, item = tenant_a.relationship, tenant_a.item
    rel.firm_fence_weeks, rel.material_fence_weeks = 2, 4
    for n in range(1, 17):
        version(rel, n, at(week(-17 + n), days=1), {(item, week(w)): 120 for w in range(-16 + n, -16 + n + 20)})
    for w in range(-13, 0):
        po_line(rel, item, week(w) + timedelta(days=2), 100)
    # Another of the prime's suppliers, forecast exactly: it moves the prime's roll-up, never tenant A's figures.
    other = f.RelationshipFactory(prime=tenant_a.prime)
    other_item = f.ItemFactory(supply_relationship=other)
    version(other, 1, at(week(-16)), {(other_item, week(w)): 100 for w in range(-13, 0)})
    for w in range(-13, 0):
        po_line(other, other_item, week(w), 100)
    db.session.commit()
    services.refresh([rel.id, other.id])
    return rel


def _api(client, tenant, key, rel_id, query=""):
    return client.get(f"/api/v1/relationships/{rel_id}/reliability{query}",
                      headers={"Authorization": f"Bearer {tenant.tokens[key]}"})


def test_supplier_sees_bias_by_lag_and_the_build_share_but_not_the_primes_other_suppliers(client, tenant_a, history):
    sign_in(client, tenant_a.users["supplier:production"])
    page = client.get(f"/relationships/{history.id}/reliability")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "How far to trust this forecast" in html
    assert 'data-test="bias">+20.0%' in html
    assert 'data-test="share" data-value="0.8333"' in html  # 100 / 120
    assert "all your suppliers" not in html


def test_planner_sees_items_and_the_prime_roll_up(client, tenant_a, history):
    sign_in(client, tenant_a.users["prime:planner"])
    html = client.get(f"/relationships/{history.id}/reliability?weeks=13").get_data(as_text=True)
    assert "Bias, all your suppliers" in html
    assert tenant_a.item.prime_part_number in html
    # roll-up at lag 1: forecast 13 x 120 + 13 x 100 against 26 x 100 ordered: +10 %
    assert '<td class="num" data-value="10">+10.0%</td>' in html


def test_api_gives_ratios_as_text_and_null_where_undefined(client, tenant_a, history):
    body = _api(client, tenant_a, "prime:planner", history.id).get_json()
    assert body["lags"][0] == {"lag": 1, "weeks": 13, "observations": 13, "forecast": "1560", "actual": "1300",
                               "abs_error": "260", "wape": "0.2", "bias": "0.2"}
    assert body["build_share"]["share"] == "0.8333" and body["build_share"]["from_lag"] == 4
    assert body["prime_lags"][0]["bias"] == "0.1"
    one_week = _api(client, tenant_a, "supplier:production", history.id, "?weeks=1").get_json()
    assert one_week["prime_lags"] is None
    assert one_week["lags"][0]["bias"] == "0.2"


def test_a_window_without_orders_answers_null_not_an_error(client, db, tenant_a):
    rel, item = tenant_a.relationship, tenant_a.item
    version(rel, 1, at(week(-6)), {(item, week(w)): 50 for w in range(-4, 0)})
    db.session.commit()
    services.refresh([rel.id])
    body = _api(client, tenant_a, "supplier:admin", rel.id).get_json()
    assert body["lags"][0]["wape"] is None and body["lags"][0]["bias"] is None
    assert body["lags"][0]["abs_error"] == "200"
    sign_in(client, tenant_a.users["supplier:admin"])
    assert '<td class="num" data-value="" data-test="bias">—</td>' in client.get(
        f"/relationships/{rel.id}/reliability").get_data(as_text=True)


def test_another_organisation_gets_404(client, tenant_a, tenant_b, history):
    sign_in(client, tenant_b.users["prime:planner"])
    assert client.get(f"/relationships/{history.id}/reliability").status_code == 404
    assert _api(client, tenant_b, "supplier:production", history.id).status_code == 404


@pytest.mark.parametrize("weeks", ["0", "105", "abc", "1e3", "١٢"])
def test_a_bad_window_is_a_400_naming_weeks(client, tenant_a, weeks):
    sign_in(client, tenant_a.users["prime:planner"])
    page = client.get(f"/relationships/{tenant_a.relationship.id}/reliability?weeks={weeks}")
    assert page.status_code == 400
    api = _api(client, tenant_a, "prime:planner", tenant_a.relationship.id, f"?weeks={weeks}")
    assert api.status_code in (400, 422) and "weeks" in api.get_data(as_text=True)


def test_the_panel_lists_every_relationship_of_the_actor(db, tenant_a, history):
    from cogrow.core.auth import Actor

    actor = Actor(organisation_id=tenant_a.prime.id, org_kind="prime", role="planner")
    panel = services.actor_panel(actor)
    assert {row.relationship_id for row in panel.rows} >= {history.id}
    mine = next(row for row in panel.rows if row.relationship_id == history.id)
    assert (mine.fences.bias_firm, mine.fences.bias_material) == (Decimal("0.2000"), Decimal("0.2000"))
    assert mine.counterpart == tenant_a.supplier.name


def test_the_panel_partial_renders_for_the_supplier(app, db, tenant_a, history):
    from flask import render_template_string

    from cogrow.core.auth import Actor

    actor = Actor(organisation_id=tenant_a.supplier.id, org_kind="supplier", role="production")
    with app.test_request_context("/"):
        html = render_template_string('{% include "reliability/_panel.html" %}',
                                      reliability_panel=services.relationship_panel(actor, history.id))
    assert tenant_a.prime.name in html and "+20.0%" in html and "83.3%" in html
    assert f"/relationships/{history.id}/reliability" in html
