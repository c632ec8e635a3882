"""The forecasts JSON API: bulk publish, versions, authorizations and commits, and their errors."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cogrow.core.weeks import iso_label
from cogrow.forecasts.models import ForecastBucket, ForecastCommit, ForecastPublication
from tests.forecasts.conftest import week


def _h(tenant, key, **extra):
    return {"Authorization": f"Bearer {tenant.tokens[key]}", **extra}


def _url(tenant, suffix=""):
    return f"/api/v1/relationships/{tenant.relationship.id}/forecasts{suffix}"


def _body(part, weeks=26, quantity="12"):
    return {"note": "weekly", "buckets": [{"part_number": part, "week": iso_label(week(n)), "quantity": quantity}
                                          for n in range(weeks)]}


def _publications(db):
    return db.session.scalar(select(func.count()).select_from(ForecastPublication))


def test_bulk_publish_as_json_then_read_it_back(client, db, tenant_a):
    body = _body(tenant_a.item.prime_part_number.lower())
    body["buckets"][0] = {"item_id": tenant_a.item.id, "week_start": week(0).isoformat(), "quantity": 12}
    response = client.post(_url(tenant_a), json=body, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 201, response.get_json()
    pub = response.get_json()
    assert (pub["version_no"], pub["bucket_count"], pub["note"], pub["firm_fence_weeks"]) == (1, 26, "weekly", 4)

    listed = client.get(_url(tenant_a), headers=_h(tenant_a, "supplier:production")).get_json()
    assert [p["version_no"] for p in listed["data"]] == [1]
    shown = client.get(_url(tenant_a, "/1?limit=5"), headers=_h(tenant_a, "supplier:production")).get_json()
    assert len(shown["buckets"]) == 5
    first = shown["buckets"][0]
    assert first == {"id": first["id"], "item_id": tenant_a.item.id, "part_number": tenant_a.item.prime_part_number,
                     "week": iso_label(week(0)), "week_start": week(0).isoformat(), "quantity": "12", "zone": "firm",
                     "commit": None}
    latest = client.get(_url(tenant_a, "/latest"), headers=_h(tenant_a, "prime:procurement")).get_json()
    assert latest["version_no"] == 1


def test_every_bad_entry_is_reported_and_nothing_is_published(client, db, tenant_a, tenant_b):
    body = _body(tenant_a.item.prime_part_number)
    body["buckets"] += [
        {"part_number": tenant_b.item.prime_part_number, "week": iso_label(week(1)), "quantity": "1"},  # 26
        {"part_number": tenant_a.item.prime_part_number, "week": iso_label(week(-1)), "quantity": "1"},  # 27
        {"part_number": tenant_a.item.prime_part_number, "week": iso_label(week(30)), "quantity": "NaN"},  # 28
        {"part_number": tenant_a.item.prime_part_number, "week": "2026-13-01", "quantity": "1"},  # 29
        {"item_id": tenant_b.item.id, "week": iso_label(week(2)), "quantity": "1"},  # 30
        {"part_number": tenant_a.item.prime_part_number, "week_start": week(0).isoformat(), "quantity": "1"},  # 31
        {"part_number": tenant_a.item.prime_part_number, "week": iso_label(week(31)), "quantity": -3},  # 32
        {"part_number": tenant_a.item.prime_part_number, "week": iso_label(week(33)), "quantity": True},  # 33
        {"part_number": tenant_a.item.prime_part_number, "week": iso_label(week(34)), "qty": "1"},  # 34
    ]
    response = client.post(_url(tenant_a), json=body, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422, response.get_json()
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"buckets[26].part_number", "buckets[27].week", "buckets[28].quantity", "buckets[29].week",
                           "buckets[30].item_id", "buckets[31].week_start", "buckets[32].quantity",
                           "buckets[33].quantity", "buckets[34].qty", "buckets[34].quantity"}
    assert _publications(db) == 0


@pytest.mark.parametrize("body,field", [
    ({"buckets": []}, "buckets"), ({"buckets": "all"}, "buckets"), ({"buckets": [1]}, "buckets[0]"),
    ({"buckets": [{"part_number": "X", "week": "2030-W01", "quantity": "1"}], "extra": 1}, "extra"),
    ({"note": 5, "buckets": []}, "note"),
])
def test_malformed_bodies_name_the_field(client, db, tenant_a, body, field):
    response = client.post(_url(tenant_a), json=body, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]


def test_a_short_horizon_is_refused_over_the_api(client, db, tenant_a):
    response = client.post(_url(tenant_a), json=_body(tenant_a.item.prime_part_number, weeks=8),
                           headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["buckets[7].week"]


def test_wrong_content_type_and_duplicate_keys_are_refused(client, db, tenant_a):
    headers = _h(tenant_a, "prime:planner")
    assert client.post(_url(tenant_a), data="buckets=1", headers=headers).status_code == 415
    raw = '{"buckets": [], "buckets": []}'
    dup = client.post(_url(tenant_a), data=raw, headers={**headers, "Content-Type": "application/json"})
    assert dup.status_code == 400 and "buckets" in dup.get_json()["error"]["fields"]


def test_a_foreign_relationship_is_404_before_the_body_is_read(client, db, tenant_a, tenant_b):
    response = client.post(_url(tenant_a), json={"buckets": []}, headers=_h(tenant_b, "prime:planner"))
    assert response.status_code == 404


def test_the_supplier_cannot_publish(client, db, tenant_a):
    response = client.post(_url(tenant_a), json=_body(tenant_a.item.prime_part_number),
                           headers=_h(tenant_a, "supplier:admin"))
    assert response.status_code == 403


def test_latest_without_any_version_is_404(client, db, tenant_a):
    assert client.get(_url(tenant_a, "/latest"), headers=_h(tenant_a, "prime:planner")).status_code == 404


def test_authorizations_are_granted_and_never_lowered(client, db, tenant_a):
    url, headers = _url(tenant_a, "/authorizations"), _h(tenant_a, "prime:planner")
    body = {"part_number": tenant_a.item.prime_part_number, "kind": "fab", "cum_start_date": "2026-01-05",
            "quantity": "400"}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    assert (first.get_json()["kind"], first.get_json()["maximum"]) == ("FAB", "400")
    lower = client.post(url, json={**body, "quantity": "300"}, headers=headers)
    assert lower.status_code == 422
    assert "400" in lower.get_json()["error"]["fields"]["quantity"]
    listed = client.get(url, headers=_h(tenant_a, "supplier:production")).get_json()
    assert listed["current"] == [{"item_id": tenant_a.item.id, "part_number": tenant_a.item.prime_part_number,
                                  "kind": "FAB", "cum_start_date": "2026-01-05", "maximum": "400", "grants": 1}]
    assert len(listed["data"]) == 1


@pytest.mark.parametrize("body,field", [
    ({"kind": "FAB", "cum_start_date": "2026-01-05", "quantity": "1"}, "item_id"),
    ({"item_id": 0, "kind": "FAB", "cum_start_date": "2026-01-05", "quantity": "1"}, "item_id"),
    ({"item_id": "ITEM", "kind": "FAB", "cum_start_date": "2026-01-05", "quantity": "1"}, "item_id"),
    ({"item_id": None, "kind": "XYZ", "cum_start_date": "2026-01-05", "quantity": "1"}, "kind"),
    ({"item_id": None, "kind": "RAW", "cum_start_date": "2024-02-30", "quantity": "1"}, "cum_start_date"),
    ({"item_id": None, "kind": "RAW", "cum_start_date": "45000", "quantity": "1"}, "cum_start_date"),
    ({"item_id": None, "kind": "RAW", "cum_start_date": "2026-01-05", "quantity": "1e309"}, "quantity"),
    ({"item_id": None, "kind": "RAW", "cum_start_date": "2026-01-05", "quantity": "1,5"}, "quantity"),
    ({"item_id": None, "kind": "RAW", "cum_start_date": "2026-01-05", "quantity": "1", "x": 1}, "x"),
])
def test_bad_grants_name_the_field(client, db, tenant_a, body, field):
    if body.get("item_id", 0) is None:
        body = {**body, "item_id": tenant_a.item.id}
    response = client.post(_url(tenant_a, "/authorizations"), json=body, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"], response.get_json()


def _publish(client, tenant, quantity="12"):
    response = client.post(_url(tenant), json=_body(tenant.item.prime_part_number, quantity=quantity),
                           headers=_h(tenant, "prime:planner"))
    assert response.status_code == 201
    return response.get_json()["version_no"]


def test_supplier_commits_in_bulk_and_recommits(client, db, tenant_a):
    version = _publish(client, tenant_a)
    url, headers = _url(tenant_a, f"/{version}/commits"), _h(tenant_a, "supplier:production")
    part = tenant_a.item.prime_part_number
    body = {"commits": [{"part_number": part, "week": iso_label(week(0)), "quantity": "12"},
                        {"part_number": part, "week": iso_label(week(1)), "quantity": "8", "reason_code": "capacity",
                         "comment": "line 2 down"}]}
    response = client.put(url, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"version_no": version, "created": 2, "updated": 0, "unchanged": 0}
    again = client.put(url, json={"commits": [{"part_number": part, "week": iso_label(week(1)), "quantity": "12"}]},
                       headers=headers)
    assert again.get_json()["updated"] == 1
    listed = client.get(url, headers=_h(tenant_a, "prime:planner")).get_json()["data"]
    assert [(c["week"], c["forecast"], c["quantity"], c["reason_code"]) for c in listed] == [
        (iso_label(week(0)), "12", "12", None), (iso_label(week(1)), "12", "12", None)]


def test_a_commit_below_the_forecast_without_reason_is_422(client, db, tenant_a):
    version = _publish(client, tenant_a)
    body = {"commits": [{"part_number": tenant_a.item.prime_part_number, "week": iso_label(week(0)), "quantity": "3"}]}
    response = client.put(_url(tenant_a, f"/{version}/commits"), json=body, headers=_h(tenant_a, "supplier:production"))
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["commits[0].reason_code"]
    assert db.session.scalar(select(func.count()).select_from(ForecastCommit)) == 0


def test_a_commit_on_an_old_version_is_409(client, db, tenant_a):
    old = _publish(client, tenant_a)
    _publish(client, tenant_a, quantity="30")
    body = {"commits": [{"part_number": tenant_a.item.prime_part_number, "week": iso_label(week(0)), "quantity": "12"}]}
    response = client.put(_url(tenant_a, f"/{old}/commits"), json=body, headers=_h(tenant_a, "supplier:production"))
    assert response.status_code == 409 and response.get_json()["error"]["latest_version_no"] == 2


def test_buckets_stay_as_published_after_commits(client, db, tenant_a):
    version = _publish(client, tenant_a)
    body = {"commits": [{"part_number": tenant_a.item.prime_part_number, "week": iso_label(week(0)), "quantity": "99"}]}
    client.put(_url(tenant_a, f"/{version}/commits"), json=body, headers=_h(tenant_a, "supplier:production"))
    assert set(db.session.scalars(select(ForecastBucket.quantity))) == {Decimal("12")}


BAD_QUANTITIES = [-1, "-1", "NaN", "Infinity", "1e309", 2**63, "1,5", "1.234,5", True, None, [1], {"v": 1}, "12abc",
                  "0.00001", "1.2e1", "²", "١٢"]


@pytest.mark.parametrize("value", BAD_QUANTITIES, ids=[repr(v) for v in BAD_QUANTITIES])
def test_bad_quantities_name_the_entry_and_publish_nothing(client, db, tenant_a, value):
    body = _body(tenant_a.item.prime_part_number)
    body["buckets"][5]["quantity"] = value
    response = client.post(_url(tenant_a), json=body, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["buckets[5].quantity"]
    assert _publications(db) == 0


@pytest.mark.parametrize("value", ["１２", 12, "12.0"])
def test_numbers_as_strings_or_json_numbers_are_accepted(client, db, tenant_a, value):
    body = _body(tenant_a.item.prime_part_number)
    body["buckets"][0]["quantity"] = value
    response = client.post(_url(tenant_a), json=body, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 201, response.get_json()
    first = db.session.scalar(select(ForecastBucket.quantity).where(ForecastBucket.week_start == week(0)))
    assert first == Decimal("12")


@pytest.mark.parametrize("value,key", [("2026-W54", "week"), ("2026W7X", "week"), ("12/01/2026", "week"),
                                       ("2026-02-30", "week_start"), ("2030-01-02", "week_start"), (45000, "week")])
def test_bad_weeks_name_the_key_the_client_used(client, db, tenant_a, value, key):
    body = _body(tenant_a.item.prime_part_number)
    body["buckets"][2] = {"part_number": tenant_a.item.prime_part_number, key: value, "quantity": "1"}
    response = client.post(_url(tenant_a), json=body, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422
    assert f"buckets[2].{key}" in response.get_json()["error"]["fields"]


def test_a_bad_commit_body_for_a_version_that_does_not_exist_is_404(client, db, tenant_a):
    _publish(client, tenant_a)
    response = client.put(_url(tenant_a, "/99/commits"), json={"commits": "all"}, headers=_h(tenant_a, "supplier:production"))
    assert response.status_code == 404
    response = client.put(_url(tenant_a, "/1/commits"), json={"commits": "all"}, headers=_h(tenant_a, "supplier:production"))
    assert response.status_code == 422 and "commits" in response.get_json()["error"]["fields"]


def test_the_internal_note_reaches_only_the_prime_and_bad_paging_names_the_parameter(client, db, tenant_a):
    _publish(client, tenant_a)
    prime = client.get(_url(tenant_a, "/1?limit=1"), headers=_h(tenant_a, "prime:planner")).get_json()
    supplier = client.get(_url(tenant_a, "/1?limit=1"), headers=_h(tenant_a, "supplier:production")).get_json()
    assert prime["note"] == "weekly" and "note" not in supplier
    assert {k for k in prime if k != "note"} == set(supplier)
    assert prime["published_at"].endswith("Z") and prime["base_week"] == supplier["base_week"]
    response = client.get(_url(tenant_a, "/1?item_id=x"), headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 400 and "item_id" in response.get_json()["error"]["fields"]


def test_an_entry_naming_its_week_twice_or_its_item_twice_is_named(client, db, tenant_a):
    body = _body(tenant_a.item.prime_part_number)
    body["buckets"][3] = {"part_number": tenant_a.item.prime_part_number, "item_id": tenant_a.item.id,
                          "week": iso_label(week(3)), "quantity": "1"}
    body["buckets"][4] = {"part_number": tenant_a.item.prime_part_number, "week": iso_label(week(4)),
                          "week_start": week(4).isoformat(), "quantity": "1"}
    body["buckets"][5] = {"part_number": tenant_a.item.prime_part_number, "week_start": week(5).isoformat() + "x",
                          "quantity": "1"}
    response = client.post(_url(tenant_a), json=body, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"buckets[3].item_id", "buckets[4].week",
                                                           "buckets[5].week_start"}
    assert _publications(db) == 0
