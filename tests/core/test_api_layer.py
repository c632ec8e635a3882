"""The declared API layer (cogrow.core.api): what every route gets from its declaration, shown on the catalog."""
from __future__ import annotations

import re

from cogrow.core.api import build_document


def _h(tenant, key, **extra):
    return {"Authorization": f"Bearer {tenant.tokens[key]}", **extra}


def _items(tenant):
    return f"/api/v1/relationships/{tenant.relationship.id}/items"


def _post_raw(client, tenant, text):
    return client.post(_items(tenant), data=text, content_type="application/json",
                       headers=_h(tenant, "prime:planner"))


def test_a_duplicate_key_is_refused_and_named(client, db, tenant_a):
    response = _post_raw(client, tenant_a, '{"prime_part_number": "A-1", "prime_part_number": "B-2"}')
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"prime_part_number": "duplicate key"}


def test_nan_infinity_and_huge_numbers_are_refused(client, db, tenant_a):
    for text in ('{"prime_part_number": "A-1", "unit_price": NaN}',
                 '{"prime_part_number": "A-1", "unit_price": Infinity}'):
        assert _post_raw(client, tenant_a, text).status_code == 400
    response = _post_raw(client, tenant_a, '{"prime_part_number": "A-1", "unit_price": 1e309}')
    assert response.status_code == 422 and "unit_price" in response.get_json()["error"]["fields"]


def test_unknown_and_missing_fields_are_named_in_the_envelope(client, db, tenant_a):
    response = client.post(_items(tenant_a), json={"unit_pryce": "1"}, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) == {"unit_pryce", "prime_part_number"}


def test_decimals_go_out_as_strings(client, db, tenant_a):
    response = client.post(_items(tenant_a), json={"prime_part_number": "LAYER-1", "unit_price": 12.5},
                           headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 201
    assert response.get_json()["unit_price"] == "12.5"
    assert response.headers["ETag"] == f'"{response.get_json()["version"]}"'


def test_the_guard_answers_before_the_body_is_read(client, db, tenant_a, tenant_b):
    # Another tenant's relationship: 404 whatever the body, never a 422 that tells the relationship exists.
    response = client.post(_items(tenant_b), json={"unit_pryce": "1"}, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 404
    # A role that may not add items hears 403 before anything about its body.
    response = client.post(_items(tenant_a), json={"unit_pryce": "1"}, headers=_h(tenant_a, "supplier:admin"))
    assert response.status_code == 403


def test_if_match_is_required_before_the_body_is_judged(client, db, tenant_a):
    url = f"{_items(tenant_a)}/{tenant_a.item.id}"
    response = client.patch(url, json={"unit_pryce": "1"}, headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 428


def test_a_full_page_links_to_the_next_one_and_the_last_does_not(client, db, tenant_a):
    headers = _h(tenant_a, "prime:planner")
    for n in range(2):
        assert client.post(_items(tenant_a), json={"prime_part_number": f"PAGE-{n}"}, headers=headers).status_code == 201
    total = len(client.get(_items(tenant_a), headers=headers).get_json()["data"])
    first = client.get(_items(tenant_a) + "?limit=2", headers=headers)
    link = first.headers["Link"]
    assert link.endswith('rel="next"') and "offset=2" in link and "limit=2" in link
    next_url = re.match(r"<http://[^/]+(.*)>", link).group(1)
    rest = client.get(next_url, headers=headers).get_json()["data"]
    seen = [i["id"] for i in first.get_json()["data"]] + [i["id"] for i in rest]
    assert len(seen) == len(set(seen)) == total
    last = client.get(_items(tenant_a) + f"?limit=2&offset={total - 1}", headers=headers)
    assert "Link" not in last.headers


def test_bad_paging_is_a_400_naming_the_parameter(client, db, tenant_a):
    response = client.get(_items(tenant_a) + "?limit=0&offset=-1", headers=_h(tenant_a, "prime:planner"))
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) == {"limit", "offset"}


def test_the_document_is_openapi_3_1_with_readable_names(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    create = doc["paths"]["/api/v1/relationships/{relationship_id}/items"]["post"]
    assert create["operationId"] == "createItem"
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ItemCreate"}
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Item"}
    assert create["security"] == [{"bearerAuth": []}]
    listing = doc["paths"]["/api/v1/relationships/{relationship_id}/items"]["get"]
    assert "Link" in listing["responses"]["200"]["headers"]
    assert {p["name"] for p in listing["parameters"]} == {"relationship_id", "limit", "offset"}
    patch = doc["paths"]["/api/v1/relationships/{relationship_id}/items/{item_id}"]["patch"]
    assert any(p["name"] == "If-Match" and p["required"] for p in patch["parameters"])
    schemas = doc["components"]["schemas"]
    assert schemas["Item"]["properties"]["unit_price"]["anyOf"][0]["type"] == "string"
    assert "Error" in schemas and "ItemPage" in schemas
    names = [op["operationId"] for path in doc["paths"].values() for op in path.values()]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][A-Za-z0-9]+", n) for n in names)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]+", n) for n in schemas)
    # A value list is one named component, referenced where it is used (one enum type in a generated client).
    assert schemas["Currency"]["enum"] == ["KRW", "USD", "EUR", "JPY", "CNY"]
    assert {"$ref": "#/components/schemas/Currency"} in schemas["ItemCreate"]["properties"]["currency"]["anyOf"]
    assert "x-cogrow-named" not in response.get_data(as_text=True)
    # What a client may send is what the API takes: at most four places, no sign where zero is the least.
    price = schemas["ItemChange"]["properties"]["unit_price"]["anyOf"][0]["anyOf"][0]
    assert re.fullmatch(price["pattern"], "12.5") and not re.fullmatch(price["pattern"], "-1")
    assert not re.fullmatch(price["pattern"], "0.00001")
    if_match = next(p for p in patch["parameters"] if p["name"] == "If-Match")
    assert re.fullmatch(if_match["schema"]["pattern"], '"3"') and not re.fullmatch(if_match["schema"]["pattern"], "3")
    assert build_document(app) == doc
