"""Onboarding through the API (invitations, tokens), tokens ending with their creator, API and login limits."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from cogrow.accounts import services
from cogrow.accounts.models import ApiToken, Membership, User
from cogrow.core.auth import Actor
from tests import factories as f
from tests.conftest import actor_of, sign_in
from tests.factories import PASSWORD


def _admin(kind="prime", org=None):
    org = org or f.OrganisationFactory(kind=kind)
    user = f.UserFactory()
    f.MembershipFactory(user=user, organisation=org, role="admin")
    return user, org


def _token(user, org, role="admin", name="ERP"):
    return services.create_api_token(actor_of(user, org), name, role)[1]


def _bearer(raw):
    return {"Authorization": f"Bearer {raw}"}


# --- tokens through the API ---

def test_an_admin_token_creates_lists_and_revokes_tokens(client, db):
    admin, org = _admin("supplier")
    raw = _token(admin, org)
    created = client.post("/api/v1/tokens", json={"name": "Line 3 gateway", "role": "production"}, headers=_bearer(raw))
    assert created.status_code == 201
    body = created.get_json()
    assert body["token"].startswith("cgw_") and body["role"] == "production" and body["status"] == "active"
    assert body["created_by"] == {"id": admin.id, "name": admin.name}  # made by a token: the person behind it
    stored = db.session.get(ApiToken, body["id"])
    assert stored.token_hash != body["token"] and body["token"].startswith(stored.prefix)
    assert client.get("/api/v1/me", headers=_bearer(body["token"])).get_json()["role"] == "production"

    listed = client.get("/api/v1/tokens", headers=_bearer(raw)).get_json()["data"]
    assert {t["name"] for t in listed} == {"ERP", "Line 3 gateway"}
    assert all("token" not in t and "token_hash" not in t for t in listed)  # the raw value is shown once only
    erp = next(t for t in listed if t["name"] == "ERP")
    assert erp["last_used_at"] is not None  # this very request used it

    revoked = client.post(f"/api/v1/tokens/{body['id']}/revoke", headers=_bearer(raw))
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert client.get("/api/v1/me", headers=_bearer(body["token"])).status_code == 401


def test_token_creation_errors_name_the_field(client, db):
    admin, org = _admin("supplier")
    raw = _token(admin, org)
    response = client.post("/api/v1/tokens", json={"name": "", "role": "planner", "extra": 1}, headers=_bearer(raw))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and set(error["fields"]) == {"name", "role", "extra"}
    response = client.post("/api/v1/tokens", json={"name": "x", "role": "production", "expires_in_days": "²"},
                           headers=_bearer(raw))
    assert response.status_code == 422 and "expires_in_days" in response.get_json()["error"]["fields"]


def test_only_admins_manage_tokens_and_only_their_own_organisations(client, db):
    admin, org = _admin()
    planner = f.UserFactory()
    f.MembershipFactory(user=planner, organisation=org, role="planner")
    planner_raw = _token(admin, org, role="planner")
    assert client.get("/api/v1/tokens", headers=_bearer(planner_raw)).status_code == 403
    other_admin, other_org = _admin()
    foreign = services.create_api_token(actor_of(other_admin, other_org), "theirs", "admin")[0]
    raw = _token(admin, org)
    response = client.post(f"/api/v1/tokens/{foreign.id}/revoke", headers=_bearer(raw))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert db.session.get(ApiToken, foreign.id).revoked_at is None


# --- tokens end with their creator ---

def test_removing_an_admin_revokes_the_tokens_they_made(client, db):
    admin, org = _admin()
    leaving, _ = _admin(org=org)
    theirs = _token(leaving, org)
    # A token made by their token is theirs too.
    child = client.post("/api/v1/tokens", json={"name": "child", "role": "planner"}, headers=_bearer(theirs))
    child_raw = child.get_json()["token"]
    mine = _token(admin, org)
    organisation_token = services.create_api_token(Actor(organisation_id=org.id, org_kind="prime", role="admin"),
                                                   "org-wide", "planner")[1]
    assert client.get("/api/v1/me", headers=_bearer(theirs)).status_code == 200
    membership_id = db.session.scalar(select(Membership.id).where(Membership.user_id == leaving.id))
    services.remove_member(actor_of(admin, org), membership_id)
    assert client.get("/api/v1/me", headers=_bearer(theirs)).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(child_raw)).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(mine)).status_code == 200
    assert client.get("/api/v1/me", headers=_bearer(organisation_token)).status_code == 200  # no creator: the org's


def test_tokens_page_shows_creator_and_last_use(client, db):
    admin, org = _admin()
    raw = _token(admin, org, name="Gateway")
    client.get("/api/v1/me", headers=_bearer(raw))
    sign_in(client, admin)
    page = client.get("/settings/tokens").get_data(as_text=True)
    row = page.split("Gateway", 1)[1].split("</tr>", 1)[0]
    assert 'data-test="token-creator"' in row and admin.name in row
    assert "never" not in row  # its last use is shown


# --- accepting an invitation through the API ---

def _invitation(role="admin", email="new.admin@example.com", kind="supplier"):
    admin, org = _admin(kind)
    return services.invite_user(actor_of(admin, org), email, role)[1], org


def test_an_invitation_is_accepted_through_the_api_with_a_first_token(client, db):
    raw, org = _invitation()
    response = client.post(f"/api/v1/invitations/{raw}/accept",
                           json={"name": "New Admin", "password": "a sturdy password", "token_name": "ERP"})
    assert response.status_code == 201
    body = response.get_json()
    user = db.session.scalar(select(User).where(User.email == "new.admin@example.com"))
    assert body["user_id"] == user.id and body["role"] == "admin" and body["organisation"]["id"] == org.id
    token = body["api_token"]["token"]
    assert client.get("/api/v1/me", headers=_bearer(token)).get_json()["organisation_id"] == org.id
    assert body["api_token"]["created_by"]["id"] == user.id
    again = client.post(f"/api/v1/invitations/{raw}/accept", json={"password": "a sturdy password"})
    assert again.status_code == 404 and again.get_json()["error"]["code"] == "not_found"  # single use


def test_invitation_api_errors_name_the_field(client, db):
    raw, _ = _invitation(role="production", email="line@example.com")
    short = client.post(f"/api/v1/invitations/{raw}/accept", json={"password": "short"})
    assert short.status_code == 422 and "password" in short.get_json()["error"]["fields"]
    missing = client.post(f"/api/v1/invitations/{raw}/accept", json={"name": "x"})
    assert missing.status_code == 422 and "password" in missing.get_json()["error"]["fields"]
    token = client.post(f"/api/v1/invitations/{raw}/accept", json={"password": "a sturdy password", "token_name": "x"})
    assert token.status_code == 422 and "token_name" in token.get_json()["error"]["fields"]
    assert db.session.scalar(select(User).where(User.email == "line@example.com")) is None
    unknown = client.post("/api/v1/invitations/not-a-real-token/accept", json={"password": "a sturdy password"})
    assert unknown.status_code == 404


def test_an_existing_account_accepts_with_its_own_password(client, db):
    existing = f.UserFactory(email="known@example.com")
    raw, org = _invitation(role="production", email="known@example.com")
    wrong = client.post(f"/api/v1/invitations/{raw}/accept", json={"password": "not the password"})
    assert wrong.status_code == 422
    right = client.post(f"/api/v1/invitations/{raw}/accept", json={"password": PASSWORD})
    assert right.status_code == 201 and right.get_json()["user_id"] == existing.id
    assert org.id in {m.organisation_id for m in existing.memberships}


# --- limits ---

def test_the_api_limit_is_per_token_and_answers_429_in_the_envelope(client, db, app):
    admin, org = _admin()
    first, second = _token(admin, org), _token(admin, org, name="other")
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [client.get("/api/v1/me", headers=_bearer(first)).status_code for _ in range(3)]
        limited = client.get("/api/v1/me", headers=_bearer(first))
        other = client.get("/api/v1/me", headers=_bearer(second))
    finally:
        app.config["API_RATE_LIMIT"] = "100000 per minute"
    assert codes == [200, 200, 200]
    assert limited.status_code == 429
    error = limited.get_json()["error"]
    assert error["code"] == "too_many_requests" and error["message"] and error["fields"] == {}
    assert 0 < int(limited.headers["Retry-After"]) <= 61  # the window of a minute, rounded up
    assert other.status_code == 200  # another token has its own count


def test_embedded_default_counts_in_a_shared_file_and_production_in_redis(monkeypatch, tmp_path):
    from cogrow.config import Config

    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("COGROW_RATELIMIT_STORAGE_URL", raising=False)
    monkeypatch.delenv("COGROW_BROKER_URL", raising=False)
    assert Config().RATELIMIT_STORAGE_URI == f"sqlite:///{tmp_path / 'ratelimit.sqlite'}"
    monkeypatch.setenv("COGROW_BROKER_URL", "redis://127.0.0.1:6379/0")
    assert Config().RATELIMIT_STORAGE_URI == "redis://127.0.0.1:6379/0"
    assert Config().API_RATE_LIMIT == "600 per minute"


def test_two_storages_on_one_file_share_their_counts(tmp_path):
    """What two processes see: separate storage objects, one count."""
    from limits.storage import storage_from_string

    uri = f"sqlite:///{tmp_path / 'limits.sqlite'}"
    one, two = storage_from_string(uri), storage_from_string(uri)
    assert one.incr("login", 60) == 1 and two.incr("login", 60) == 2 and one.get("login") == 2
    assert 0 < two.get_expiry("login") - __import__("time").time() <= 60
    two.clear("login")
    assert one.get("login") == 0


# --- where to go after signing in ---

@pytest.mark.parametrize("target", ["/alerts\r\nSet-Cookie: x=1", "/alerts%0d%0a", "//evil.example.com/",
                                    "https://evil.example.com/", "/\\evil.example.com", "/ok\tno", "javascript:alert(1)"])
def test_unsafe_next_after_login_goes_home(client, db, target):
    user, _ = _admin()
    response = client.post("/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.endswith("/home") or location == "/alerts%0d%0a", location
    assert "\r" not in location and "\n" not in location and "evil" not in location


def test_a_local_next_is_kept(client, db):
    user, _ = _admin()
    response = client.post("/login", query_string={"next": "/alerts?status=open"},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/alerts?status=open")


def test_a_bad_body_for_an_unknown_invitation_is_404_and_no_token_key_without_a_token_name(client, db):
    response = client.post("/api/v1/invitations/not-a-real-token/accept", json={"pasword": "x"})
    assert response.status_code == 404
    raw, _ = _invitation(role="production", email="plain@example.com")
    response = client.post(f"/api/v1/invitations/{raw}/accept", json={"password": "a sturdy password", "extra": 1})
    assert response.status_code == 422 and set(response.get_json()["error"]["fields"]) == {"extra"}
    response = client.post(f"/api/v1/invitations/{raw}/accept", json={"password": "a sturdy password"})
    assert response.status_code == 201 and "api_token" not in response.get_json()


def test_token_times_are_utc_and_the_list_never_carries_values(client, db):
    admin, org = _admin("supplier")
    raw = _token(admin, org)
    created = client.post("/api/v1/tokens", json={"name": "Feed", "role": "production", "expires_in_days": "30"},
                          headers=_bearer(raw)).get_json()
    assert created["created_at"].endswith("Z") and created["expires_at"].endswith("Z")
    assert created["revoked_at"] is None and created["last_used_at"] is None
    listed = client.get("/api/v1/tokens", headers=_bearer(raw)).get_json()
    assert set(listed) == {"data"} and all(set(t) == set(created) - {"token"} for t in listed["data"])
