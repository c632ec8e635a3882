"""Sessions live on the server: logout, a password change, removal and "sign out everywhere" end them at once."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from cogrow.accounts.models import UserSession
from cogrow.core.models import AuditLog
from tests import factories as f
from tests.conftest import sign_in
from tests.factories import PASSWORD
from tests.services import require_redis

REPO = Path(__file__).resolve().parents[2]
COOKIE = "cogrow_session"


def _member(role="planner", kind="prime", org=None):
    org = org or f.OrganisationFactory(kind=kind)
    user = f.UserFactory()
    f.MembershipFactory(user=user, organisation=org, role=role)
    return user, org


def _signed_in(client, user):
    """A client signed in through the real login form, and the cookie it holds."""
    c = client.application.test_client()
    assert c.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return c, c.get_cookie(COOKIE).value


def _replay(client, cookie):
    """A fresh client that carries only a saved copy of the cookie, as an attacker would."""
    c = client.application.test_client()
    c.set_cookie(COOKIE, cookie)
    return c


def test_a_cookie_saved_before_logout_is_refused_after_it(client, db):
    user, _ = _member()
    c, cookie = _signed_in(client, user)
    assert _replay(client, cookie).get("/api/v1/me").status_code == 200
    assert c.post("/logout").status_code == 302
    replay = _replay(client, cookie)
    me = replay.get("/api/v1/me")
    assert me.status_code == 401 and me.get_json()["error"]["code"] == "unauthorized"
    page = replay.get("/alerts")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_logout_ends_only_that_session(client, db):
    user, _ = _member()
    laptop, _ = _signed_in(client, user)
    phone, _ = _signed_in(client, user)
    laptop.post("/logout")
    assert phone.get("/api/v1/me").status_code == 200


def test_a_session_the_server_does_not_know_is_refused(client, db):
    """A validly signed cookie without a server-side session (older cookies, forged ids) gets nowhere."""
    user, _ = _member()
    c = client.application.test_client()
    sign_in(c, user)
    assert c.get("/api/v1/me").status_code == 200
    with c.session_transaction() as session:
        session["sid"] = "made-up"
    assert c.get("/api/v1/me").status_code == 401
    with c.session_transaction() as session:
        session.pop("sid", None)
    assert c.get("/api/v1/me").status_code == 401


def test_a_session_id_of_another_user_is_refused(client, db):
    victim, _ = _member()
    attacker, _ = _member()
    c = client.application.test_client()
    sign_in(c, victim)
    with c.session_transaction() as session:
        victim_sid = session["sid"]
    sign_in(c, attacker)
    with c.session_transaction() as session:
        session["sid"] = victim_sid
    assert c.get("/api/v1/me").status_code == 401


def test_password_change_ends_every_other_session(client, db):
    user, _ = _member()
    here, _ = _signed_in(client, user)
    _, elsewhere = _signed_in(client, user)
    response = here.post("/settings/account/password",
                         data={"current_password": PASSWORD, "new_password": "a brand new long password"})
    assert response.status_code == 302
    assert _replay(client, elsewhere).get("/api/v1/me").status_code == 401
    assert here.get("/api/v1/me").status_code == 200  # the session that changed it goes on
    fresh = client.application.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": "a brand new long password"}).status_code == 302


def test_password_change_needs_the_current_password(client, db):
    user, _ = _member()
    here, _ = _signed_in(client, user)
    _, elsewhere = _signed_in(client, user)
    response = here.post("/settings/account/password",
                         data={"current_password": "not it at all", "new_password": "a brand new long password"})
    assert response.status_code == 422 and b"current_password" in response.data
    response = here.post("/settings/account/password", data={"current_password": PASSWORD, "new_password": "short"})
    assert response.status_code == 422
    assert _replay(client, elsewhere).get("/api/v1/me").status_code == 200


def test_account_page_offers_password_change_and_sign_out_everywhere(client, db):
    user, _ = _member("production", "supplier")
    sign_in(client, user)
    page = client.get("/settings/account")
    assert page.status_code == 200
    assert b'data-test="change-password"' in page.data and b'data-test="sign-out-everywhere"' in page.data


def test_sign_out_everywhere_ends_all_my_sessions(client, db):
    user, _ = _member()
    here, mine = _signed_in(client, user)
    _, other = _signed_in(client, user)
    response = here.post("/settings/account/sign-out-everywhere")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for cookie in (mine, other):
        assert _replay(client, cookie).get("/api/v1/me").status_code == 401
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "user.signed_out_everywhere")) is not None


def test_admin_signs_a_member_out_everywhere(client, db):
    admin, org = _member("admin")
    member, _ = _member("planner", org=org)
    _, cookie = _signed_in(client, member)
    admin_client, _ = _signed_in(client, admin)
    membership_id = member.memberships[0].id
    assert b"/sign-out" in admin_client.get("/settings/users").data
    assert admin_client.post(f"/settings/users/{membership_id}/sign-out").status_code == 302
    assert _replay(client, cookie).get("/api/v1/me").status_code == 401
    assert admin_client.get("/api/v1/me").status_code == 200


def test_an_admin_cannot_sign_out_someone_of_another_organisation(client, db):
    admin, _ = _member("admin")
    stranger, _ = _member("planner")
    _, cookie = _signed_in(client, stranger)
    admin_client, _ = _signed_in(client, admin)
    assert admin_client.post(f"/settings/users/{stranger.memberships[0].id}/sign-out").status_code == 404
    assert _replay(client, cookie).get("/api/v1/me").status_code == 200


def test_removal_ends_the_members_sessions_in_that_organisation(client, db):
    admin, org = _member("admin")
    member, _ = _member("planner", org=org)
    other_org = f.OrganisationFactory(kind="supplier")
    f.MembershipFactory(user=member, organisation=other_org, role="production")
    _, in_org = _signed_in(client, member)
    elsewhere, in_other = _signed_in(client, member)
    elsewhere.post("/switch-organisation", data={"organisation_id": str(other_org.id)})
    assert elsewhere.get("/api/v1/me").get_json()["organisation_id"] == other_org.id
    admin_client, _ = _signed_in(client, admin)
    membership_id = next(m.id for m in member.memberships if m.organisation_id == org.id)
    assert admin_client.post(f"/settings/users/{membership_id}/remove").status_code == 302
    assert _replay(client, in_org).get("/api/v1/me").status_code == 401
    # Their session in the other organisation is not this admin's to end, and it cannot reach the old one.
    me = _replay(client, in_other).get("/api/v1/me")
    assert me.status_code == 200 and me.get_json()["organisation_id"] == other_org.id


def test_sessions_are_recorded_with_their_organisation(client, db):
    user, org = _member()
    c, _ = _signed_in(client, user)
    c.get("/home")
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(rows) == 1 and rows[0].organisation_id == org.id and rows[0].revoked_at is None
    assert rows[0].sid_hash not in c.get_cookie(COOKIE).value  # only a hash is kept


def _step(env, *args):
    done = subprocess.run([sys.executable, "-m", "tests.accounts.processes", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _process_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGROW_")}
    env.update(COGROW_VAR_DIR=str(tmp_path), COGROW_DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite'}",
               COGROW_LOGIN_RATE_LIMIT="3 per hour", PYTHONPATH=str(REPO))
    return env


def test_logout_in_one_process_ends_the_session_in_every_other(tmp_path):
    """Three processes on one database: sign in in the first, log out in the second, replay in the third."""
    env = _process_env(tmp_path)
    signed_in = _step(env, "setup_and_sign_in")
    assert signed_in["status"] == 302
    logged_out = _step(env, "logout", signed_in["cookie"])
    assert logged_out == {"me_before": 200, "status": 302}
    assert _step(env, "me", signed_in["cookie"]) == {"status": 401}


def test_the_login_limit_is_shared_by_processes(tmp_path):
    """Three web processes share one count of 3 per hour: a sign-in, then two failures, then none left."""
    env = _process_env(tmp_path)
    assert _step(env, "setup_and_sign_in")["status"] == 302
    assert _step(env, "failed_logins", "2") == {"statuses": [401, 401]}
    assert _step(env, "failed_logins", "1") == {"statuses": [429]}


@pytest.mark.redis
def test_with_a_redis_broker_the_login_limit_is_counted_in_redis(tmp_path):
    """Production's shape: the broker is Redis, so the processes count there (nothing in var/)."""
    import redis

    url = require_redis().rsplit("/", 1)[0] + "/12"
    redis.Redis.from_url(url).flushdb()
    env = _process_env(tmp_path)
    env["COGROW_BROKER_URL"] = url
    try:
        assert _step(env, "setup_and_sign_in")["status"] == 302
        assert _step(env, "failed_logins", "3") == {"statuses": [401, 401, 429]}
        assert not (tmp_path / "ratelimit.sqlite").exists()
        assert any(b"LIMITER" in key for key in redis.Redis.from_url(url).keys())
    finally:
        redis.Redis.from_url(url).flushdb()
