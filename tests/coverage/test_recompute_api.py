"""`POST .../ledger/recompute` queues a reconcile; the ledger answers say whether a change is still pending."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from cogrow.core import outbox
from cogrow.core.models import AuditLog, OutboxEvent
from cogrow.coverage import services
from tests.conftest import sign_in
from tests.coverage import builders as b


def _h(tenant, key):
    return {"Authorization": f"Bearer {tenant.tokens[key]}"}


def _url(tenant):
    return f"/api/v1/relationships/{tenant.relationship.id}/ledger/recompute"


def _rows(db, rel_id=None):
    query = select(OutboxEvent).order_by(OutboxEvent.id)
    if rel_id is not None:
        query = query.where(OutboxEvent.relationship_id == rel_id)
    return db.session.scalars(query).all()


@pytest.mark.parametrize("key", ["prime:planner", "prime:procurement", "prime:admin", "supplier:production",
                                 "supplier:admin"])
def test_either_side_queues_a_reconcile_of_every_item(client, db, tenant_a, key):
    answer = client.post(_url(tenant_a), headers=_h(tenant_a, key))
    assert answer.status_code == 202, answer.get_json()
    body = answer.get_json()
    [row] = _rows(db, tenant_a.relationship.id)
    assert body == {"outbox_id": row.id, "relationship_id": tenant_a.relationship.id, "item_ids": None,
                    "pending": True}
    assert (row.topic, row.payload["item_ids"], row.published_at, row.done_at) == ("reconcile", None, None, None)
    assert answer.headers["Location"].endswith(f"/api/v1/relationships/{tenant_a.relationship.id}/ledger")
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "coverage.recompute_requested"))
    assert (audit.object_type, audit.object_id) == ("supply_relationship", str(tenant_a.relationship.id))


def test_a_signed_in_user_can_ask_too(client, db, tenant_a):
    sign_in(client, tenant_a.users["supplier:production"])
    answer = client.post(_url(tenant_a), json={"item_ids": [tenant_a.item.id]})
    assert answer.status_code == 202
    assert [r.payload["item_ids"] for r in _rows(db)] == [[tenant_a.item.id]]


def test_named_items_are_queued_alone(client, db, tenant_a):
    other = b.item(tenant_a.relationship)
    ids = [other.id, tenant_a.item.id, other.id]
    answer = client.post(_url(tenant_a), json={"item_ids": ids}, headers=_h(tenant_a, "prime:procurement"))
    assert answer.status_code == 202
    assert answer.get_json()["item_ids"] == sorted({other.id, tenant_a.item.id})
    assert [r.payload["item_ids"] for r in _rows(db)] == [sorted({other.id, tenant_a.item.id})]


def test_an_item_of_another_relationship_is_not_found_and_nothing_is_queued(client, db, tenant_a, tenant_b):
    answer = client.post(_url(tenant_a), json={"item_ids": [tenant_a.item.id, tenant_b.item.id]},
                         headers=_h(tenant_a, "prime:planner"))
    assert answer.status_code == 404
    foreign = client.post(_url(tenant_b), headers=_h(tenant_a, "prime:planner"))
    assert foreign.status_code == 404
    assert _rows(db) == []


@pytest.mark.parametrize("body", [{"item_ids": []}, {"item_ids": ["1"]}, {"item_ids": [True]}, {"item_ids": [0]},
                                  {"item_ids": [2**63]}, {"item_ids": 5}, {"item_ids": [1.5]},
                                  {"item_ids": list(range(1, 502))}, {"items": [1]}])
def test_a_malformed_item_list_is_refused(client, db, tenant_a, body):
    answer = client.post(_url(tenant_a), json=body, headers=_h(tenant_a, "prime:planner"))
    assert answer.status_code == 422, answer.get_json()
    assert set(answer.get_json()["error"]["fields"]) <= {"item_ids", "items"}
    assert _rows(db) == []


def test_the_item_ledger_says_when_a_change_is_still_pending(client, db, tenant_a):
    rel, it = tenant_a.relationship, tenant_a.item
    other = b.item(rel)
    services.reconcile(rel.id, None)
    url = f"/api/v1/relationships/{rel.id}/items/{it.id}/ledger"
    headers = _h(tenant_a, "supplier:production")
    fresh = client.get(url, headers=headers).get_json()
    assert fresh["pending"] is False and fresh["computed_at"] == fresh["ledger"]["computed_at"]

    event = outbox.enqueue_reconcile(rel.id, [other.id], "test")  # another item's change
    db.session.commit()
    assert client.get(url, headers=headers).get_json()["pending"] is False
    mine = outbox.enqueue_reconcile(rel.id, [it.id], "test")
    db.session.commit()
    assert client.get(url, headers=headers).get_json()["pending"] is True
    listed = client.get(f"/api/v1/relationships/{rel.id}/ledger", headers=headers).get_json()["data"]
    assert {row["item_id"]: row["pending"] for row in listed} == {it.id: True, other.id: True}

    outbox.mark_done([event.id, mine.id])
    assert client.get(url, headers=headers).get_json()["pending"] is False
    listed = client.get(f"/api/v1/relationships/{rel.id}/ledger", headers=headers).get_json()["data"]
    assert {row["item_id"]: row["pending"] for row in listed} == {it.id: False, other.id: False}

    client.post(f"/api/v1/relationships/{rel.id}/ledger/recompute", headers=headers)  # every item
    assert client.get(url, headers=headers).get_json()["pending"] is True
    listed = client.get(f"/api/v1/relationships/{rel.id}/ledger", headers=headers).get_json()["data"]
    assert all(row["pending"] for row in listed)


def test_a_pending_row_of_another_relationship_does_not_count(client, db, tenant_a, tenant_b):
    services.reconcile(tenant_a.relationship.id, None)
    outbox.enqueue_reconcile(tenant_b.relationship.id, None, "test")
    outbox.enqueue("notify", {"alert_id": 1}, tenant_a.relationship.id)  # not a reconcile
    db.session.commit()
    body = client.get(f"/api/v1/relationships/{tenant_a.relationship.id}/items/{tenant_a.item.id}/ledger",
                      headers=_h(tenant_a, "prime:procurement")).get_json()
    assert body["pending"] is False


def test_the_item_ledger_page_says_when_a_change_is_pending(client, db, tenant_a):
    rel, it = tenant_a.relationship, tenant_a.item
    services.reconcile(rel.id, None)
    sign_in(client, tenant_a.users["prime:procurement"])
    page = f"/relationships/{rel.id}/items/{it.id}/ledger"
    assert 'data-test="pending"' not in client.get(page).get_data(as_text=True)
    client.post(f"{page}/recompute")
    assert 'data-test="pending"' in client.get(page).get_data(as_text=True)
