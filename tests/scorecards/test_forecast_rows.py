"""The prime's forecast rows of the scorecard come from the reliability figures of the month's weeks."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from cogrow.core.weeks import current_week
from cogrow.forecasts.models import ForecastCut
from cogrow.reliability import services as reliability
from cogrow.scorecards import services
from cogrow.scorecards.periods import month_of
from tests.reliability.build import at, po_line, version


def test_the_months_wape_bias_and_firm_cuts_are_the_reliability_figures_of_its_weeks(client, db, tenant_a):
    rel, item = tenant_a.relationship, tenant_a.item  # fences: firm 4, material 8
    target = current_week() - timedelta(weeks=1)
    published = version(rel, 1, at(target - timedelta(weeks=10), days=1), {(item, target): 120})
    po_line(rel, item, target, 100)
    db.session.add(ForecastCut(publication_id=published.id, relationship_id=rel.id, item_id=item.id,
                               week_start=target, previous_qty=Decimal("130"), new_qty=Decimal("120"),
                               amount=Decimal("15000")))
    db.session.commit()
    reliability.refresh([rel.id])
    month = month_of(target)
    figures = services.forecast_figures([rel.id], [month])[rel.id]
    assert (figures.value("wape_firm"), figures.value("bias_firm")) == (Decimal("0.2"), Decimal("0.2"))
    assert figures.value("wape_material") == Decimal("0.2")
    publication_month = month_of((target - timedelta(weeks=10)))
    cuts = services.forecast_figures([rel.id], [publication_month])[rel.id].cuts
    assert cuts.units == Decimal("10") and cuts.amount == Decimal("15000")
    headers = {"Authorization": f"Bearer {tenant_a.tokens['supplier:production']}"}
    body = client.get(f"/api/v1/relationships/{rel.id}/scorecard?start={month.label}&end={month.label}",
                      headers=headers).get_json()
    assert body["forecast"][0]["month"] == month.label and body["forecast"][0]["wape_firm"] == "0.2"


def test_a_month_without_demand_has_no_forecast_figure(db, tenant_a):
    month = month_of(current_week())
    figures = services.forecast_figures([tenant_a.relationship.id], [month])[tenant_a.relationship.id]
    assert figures.value("wape_firm") is None and figures.cuts.units == 0
