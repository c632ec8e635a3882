"""Signing in and out, sessions, CSRF and rate limits."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from cogrow.accounts.models import User
from cogrow.core.models import AuditLog
from tests import factories as f
from tests.factories import PASSWORD


def _member(role="planner", kind="prime", **user_kwargs):
    org = f.OrganisationFactory(kind=kind)
    user = f.UserFactory(**user_kwargs)
    f.MembershipFactory(user=user, organisation=org, role=role)
    return user, org


def test_planner_signs_in_and_lands_on_planning_desk(client, db):
    user, _ = _member("planner")
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/home")
    page = client.get("/home")
    assert page.status_code == 200 and b'data-test="home-title"' in page.data and b"Planning desk" in page.data


def test_each_role_lands_on_its_own_home_page(client, db):
    titles = {("prime", "procurement"): b"Procurement desk", ("supplier", "production"): b"Production desk",
              ("prime", "admin"): b"Administration"}
    for (kind, role), title in titles.items():
        user, _ = _member(role, kind)
        c = client.application.test_client()
        c.post("/login", data={"email": user.email, "password": PASSWORD})
        assert title in c.get("/home").data, role


def test_wrong_password_is_refused_and_audited(client, db):
    user, _ = _member()
    response = client.post("/login", data={"email": user.email, "password": "not the password"})
    assert response.status_code == 401
    assert client.get("/home").status_code == 302
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "login.failed"))
    assert row is not None and row.outcome == "denied"


def test_sign_in_starts_a_new_session(client, db):
    user, _ = _member()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"] == user.get_id()


def test_long_passwords_are_accepted(client, db):
    long_password = "p" * 64 + "한글도 됩니다" + "x" * 100
    from cogrow.accounts.services import hash_password

    user, _ = _member(password_hash=hash_password(long_password))
    assert user.password_hash.startswith("$argon2")
    response = client.post("/login", data={"email": user.email, "password": long_password})
    assert response.status_code == 302


def test_logout_ends_the_session(client, db):
    user, _ = _member()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert client.post("/logout").status_code == 302
    assert client.get("/home").status_code == 302


@pytest.mark.parametrize("stamp, limit", [("seen", "SESSION_IDLE_TIMEOUT"), ("login_at", "SESSION_ABSOLUTE_TIMEOUT")],
                         ids=["idle", "absolute"])
def test_session_expires_after_its_timeouts(client, db, app, stamp, limit):
    user, _ = _member()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert client.get("/home").status_code == 200
    with client.session_transaction() as session:
        session[stamp] = time.time() - app.config[limit].total_seconds() - 5
    assert client.get("/home").status_code == 302


def test_removed_member_loses_open_sessions(client, db):
    user, org = _member("planner")
    admin = f.UserFactory()
    f.MembershipFactory(user=admin, organisation=org, role="admin")
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    admin_client = client.application.test_client()
    admin_client.post("/login", data={"email": admin.email, "password": PASSWORD})
    membership_id = user.memberships[0].id
    assert admin_client.post(f"/settings/users/{membership_id}/remove").status_code == 302
    assert client.get("/home").status_code == 302


def test_session_cookie_is_httponly_and_lax(client, db):
    user, _ = _member()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("cogrow_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    from cogrow.config import Config

    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("COGROW_ENV", "production")
    monkeypatch.setenv("COGROW_SECRET_KEY", "s" * 40)
    assert Config().SESSION_COOKIE_SECURE is True
    monkeypatch.setenv("COGROW_ENV", "development")
    assert Config().SESSION_COOKIE_SECURE is False


def test_forms_without_csrf_token_are_refused(client, db, app):
    user, _ = _member()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 400 and b"Reload the page" in response.data
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302
        # A browser session posting to the API must prove the same; a token client need not.
        api = client.post("/api/v1/relationships", json={})
        assert api.status_code == 400 and api.get_json()["error"]["code"] == "csrf_failed"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_login_is_rate_limited(client, db, app):
    user, _ = _member()
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [client.post("/login", data={"email": user.email, "password": "wrong"}).status_code for _ in range(4)]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    assert codes[:3] == [401, 401, 401] and codes[3] == 429


def test_get_requests_never_change_state(app):
    """No route answers GET with a change: every state-changing view is POST/PATCH only."""
    from cogrow.core.auth import access_of

    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        name = view.__name__
        if "GET" in rule.methods and any(w in name for w in ("revoke", "remove", "accept", "suspend", "delete", "logout")):
            assert rule.endpoint == "accounts.accept_invitation", rule.endpoint  # GET shows the form only
        assert access_of(view) is not None or rule.endpoint.startswith(("core.", "accounts.", "static", "apidocs.")) \
            or rule.endpoint in ("api.accept_invitation", "api.openapi_document")


def test_password_is_stored_as_argon2_hash(db):
    from cogrow.accounts.services import create_user

    user = create_user("Hash@Example.com", "H", "a good long password")
    assert user.email == "hash@example.com"
    assert user.password_hash.startswith("$argon2id$") and "a good long password" not in user.password_hash
    assert db.session.get(User, user.id) is not None


def test_member_of_two_organisations_switches_between_them(client, db):
    user, first = _member("planner", "prime")
    second = f.OrganisationFactory(kind="supplier", name="Second Supplier Co")
    f.MembershipFactory(user=user, organisation=second, role="production")
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert b"Planning desk" in client.get("/home").data
    assert b'data-test="org-switch"' in client.get("/home").data
    client.post("/switch-organisation", data={"organisation_id": str(second.id)})
    assert b"Production desk" in client.get("/home").data
    outsider = f.OrganisationFactory(kind="prime")
    client.post("/switch-organisation", data={"organisation_id": str(outsider.id)})
    assert b"Production desk" in client.get("/home").data  # not a member: nothing changes


def test_a_rate_limited_sign_in_says_what_to_do_in_the_users_language(client, db, app):
    user, _ = _member()
    app.config["LOGIN_RATE_LIMIT"] = "1 per minute"
    try:
        client.post("/login", data={"email": user.email, "password": "wrong"})
        english = client.post("/login", data={"email": user.email, "password": "wrong"}, headers={"Accept-Language": "en"})
        korean = client.post("/login", data={"email": user.email, "password": "wrong"}, headers={"Accept-Language": "ko"})
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    assert english.status_code == korean.status_code == 429
    assert "Wait a minute and try again" in english.get_data(as_text=True)
    assert "잠시 후 다시 시도" in korean.get_data(as_text=True)
