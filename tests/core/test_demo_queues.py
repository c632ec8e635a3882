"""The demo gives every work queue of the planner's and the production user's homes something to do, any day."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

SEOUL = ZoneInfo("Asia/Seoul")

# The suite's own Wednesday; a Sunday night (the week's last hours); New Year's Day in Seoul, still 31 December in
# UTC and in ISO week 53 of 2026; and a Monday just after midnight in Seoul (still Sunday in UTC).
MOMENTS = [None, datetime(2026, 12, 6, 23, 30, tzinfo=SEOUL), datetime(2027, 1, 1, 0, 30, tzinfo=SEOUL),
           datetime(2026, 12, 7, 0, 15, tzinfo=SEOUL)]


def _actor(email: str):
    from cogrow.accounts.models import Membership, Organisation, User
    from cogrow.core.auth import Actor
    from cogrow.extensions import db

    role, org_id, kind, user_id = db.session.execute(
        select(Membership.role, Organisation.id, Organisation.kind, User.id)
        .join(User, User.id == Membership.user_id).join(Organisation, Organisation.id == Membership.organisation_id)
        .where(User.email == email)).one()
    return Actor(organisation_id=org_id, org_kind=kind, role=role, user_id=user_id)


@pytest.mark.parametrize("moment", MOMENTS, ids=["frozen", "sunday-night", "new-year-w53", "monday-early"])
def test_every_queue_of_the_demo_homes_has_work(app, db, time_machine, moment):
    from cogrow.demo import load_demo
    from cogrow.home import queues

    if moment is not None:
        time_machine.move_to(moment, tick=False)
    assert load_demo() is True

    for prime in ("hanbit", "daesung"):
        planner = _actor(f"planner@{prime}.example.com")
        sizes = {
            "proposals": queues.open_proposals(planner).total,
            "unacknowledged": queues.unacknowledged_pos(planner).overdue,
            "below_forecast": queues.commits_below_forecast(planner).total,
            "firm_cuts": queues.firm_cuts(planner).total,
            "authorizations": queues.authorizations_near_limit(planner).total,
        }
        assert all(sizes.values()), (prime, sizes)
        cuts = queues.firm_cuts(planner).rows
        assert all(row["cut_reason"] for row in cuts)

    for supplier in ("seoul-precision", "mirae-cast", "hana-rubber", "jinwoo-press", "kumho-wire",
                     "taeyang-plastics"):
        producer = _actor(f"production@{supplier}.example.com")
        to_ack, groups = queues.pos_to_acknowledge(producer)
        versions, cells = queues.new_forecast_versions(producer)
        at_risk, _per_customer = queues.items_at_risk(producer)
        sizes = {
            "overdue_acks": groups["overdue"],
            "versions_with_changes": sum(1 for row in versions.rows if row["up"] or row["down"]),
            "changed_cells": sum(len(c) for c in cells.values()),
            "at_risk": at_risk.total,
            "stale": queues.stale_reports(producer).total,
            "due_this_week": queues.lines_due_this_week(producer).total,
        }
        assert all(sizes.values()), (supplier, sizes)
        assert to_ack.total >= groups["overdue"]


def test_the_demo_load_runs_once_with_its_queue_work(app, db):
    from sqlalchemy import func

    from cogrow.demo import load_demo
    from cogrow.forecasts.models import ForecastCut, ForecastPublication
    from cogrow.orders.models import ChangeProposal, PurchaseOrder

    assert load_demo() is True
    counts = [db.session.scalar(select(func.count()).select_from(model))
              for model in (PurchaseOrder, ChangeProposal, ForecastPublication, ForecastCut)]
    assert load_demo() is False
    assert counts == [db.session.scalar(select(func.count()).select_from(model))
                      for model in (PurchaseOrder, ChangeProposal, ForecastPublication, ForecastCut)]
