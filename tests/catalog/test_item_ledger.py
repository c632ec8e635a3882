"""An item change that moves a ledger term asks for a reconcile at once; a new item has its ledger from the start."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from cogrow.core.models import OutboxEvent
from cogrow.coverage import services as coverage
from cogrow.coverage.models import CoverageLedger
from tests.coverage import builders as b


def _h(tenant, key, **extra):
    return {"Authorization": f"Bearer {tenant.tokens[key]}", **extra}


def _item_url(tenant, item_id=None):
    url = f"/api/v1/relationships/{tenant.relationship.id}/items"
    return url if item_id is None else f"{url}/{item_id}"


def _reconciles(db, tenant):
    rows = db.session.scalars(select(OutboxEvent).where(OutboxEvent.relationship_id == tenant.relationship.id,
                                                        OutboxEvent.topic == "reconcile")
                              .order_by(OutboxEvent.id)).all()
    return [(row.payload["item_ids"], row.payload["reason"]) for row in rows]


def _patch(client, tenant, values, key="prime:planner"):
    url = _item_url(tenant, tenant.item.id)
    etag = client.get(url, headers=_h(tenant, key)).headers["ETag"]
    return client.patch(url, json=values, headers=_h(tenant, key, **{"If-Match": etag}))


@pytest.mark.parametrize("values", [{"unit_price": "2500"}, {"lead_time_days": 45}])
def test_a_change_to_a_ledger_term_enqueues_a_reconcile_of_the_item(client, db, tenant_a, values):
    answer = _patch(client, tenant_a, values)
    assert answer.status_code == 200, answer.get_json()
    assert _reconciles(db, tenant_a) == [([tenant_a.item.id], "item.updated")]


def test_a_change_the_ledger_does_not_read_enqueues_nothing(client, db, tenant_a):
    assert _patch(client, tenant_a, {"description": "Caliper, left"}).status_code == 200
    assert _patch(client, tenant_a, {"unit_price": str(tenant_a.item.unit_price)}).status_code == 200  # same price
    assert _reconciles(db, tenant_a) == []


def test_a_refused_price_change_enqueues_nothing(client, db, tenant_a):
    refused = _patch(client, tenant_a, {"unit_price": "1"}, key="supplier:production")
    assert refused.status_code == 403
    stale = client.patch(_item_url(tenant_a, tenant_a.item.id), json={"unit_price": "9"},
                         headers=_h(tenant_a, "prime:planner", **{"If-Match": '"99"'}))
    assert stale.status_code == 412
    assert _reconciles(db, tenant_a) == []


def test_the_exposure_follows_a_price_change_as_soon_as_the_relay_runs(client, db, tenant_a):
    rel, it = tenant_a.relationship, tenant_a.item
    b.report(it, fg=100)
    coverage.reconcile(rel.id, [it.id])
    assert db.session.get(CoverageLedger, it.id).exposure_amount == Decimal(100) * it.unit_price
    assert _patch(client, tenant_a, {"unit_price": "2000"}).status_code == 200

    def run_now(task_name, args):  # what the worker does with the relayed message
        assert task_name == "cogrow.coverage.reconcile"
        coverage.reconcile(args[0], args[1])

    assert coverage.relay_outbox(publish=run_now) == 1
    db.session.expire_all()
    assert db.session.get(CoverageLedger, it.id).exposure_amount == Decimal(200000)


def test_a_new_item_has_its_empty_ledger_at_once(client, db, tenant_a):
    created = client.post(_item_url(tenant_a), json={"prime_part_number": "NEW-1", "unit_price": "10"},
                          headers=_h(tenant_a, "prime:planner"))
    assert created.status_code == 201, created.get_json()
    item_id = created.get_json()["id"]
    answer = client.get(f"{_item_url(tenant_a, item_id)}/ledger", headers=_h(tenant_a, "supplier:production"))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["ledger"] is not None and body["pending"] is False and body["computed_at"]
    ledger = body["ledger"]
    assert (ledger["guaranteed"], ledger["supply"], ledger["excess"], ledger["exposure_amount"]) == ("0", "0", "0", "0")
    assert ledger["unit_price"] == "10"
    listed = client.get(f"/api/v1/relationships/{tenant_a.relationship.id}/ledger",
                        headers=_h(tenant_a, "prime:procurement")).get_json()
    assert item_id in [row["item_id"] for row in listed["data"]]


def test_a_refused_new_item_leaves_no_ledger_row(client, db, tenant_a):
    before = db.session.scalars(select(CoverageLedger.item_id)).all()
    duplicate = client.post(_item_url(tenant_a), json={"prime_part_number": tenant_a.item.prime_part_number},
                            headers=_h(tenant_a, "prime:planner"))
    assert duplicate.status_code == 422
    assert db.session.scalars(select(CoverageLedger.item_id)).all() == before
