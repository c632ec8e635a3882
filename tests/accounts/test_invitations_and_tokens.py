"""Invitations by token, members, and API tokens for machines."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from cogrow.accounts import services
from cogrow.accounts.models import ApiToken, Invitation, Membership, User
from cogrow.core.models import AuditLog
from tests import factories as f
from tests.conftest import actor_of, sign_in


def _admin(kind="prime"):
    org = f.OrganisationFactory(kind=kind)
    user = f.UserFactory()
    f.MembershipFactory(user=user, organisation=org, role="admin")
    return user, org


def test_invited_person_joins_with_the_invited_role(client, db):
    admin, org = _admin()
    sign_in(client, admin)
    page = client.post("/settings/invitations", data={"email": "New.Planner@Example.com", "role": "planner"})
    assert page.status_code == 200
    link = page.get_data(as_text=True).split("<code>")[1].split("</code>")[0]
    token = link.rsplit("/", 1)[1]
    invitation = db.session.scalar(select(Invitation).where(Invitation.email == "new.planner@example.com"))
    assert invitation.token_hash != token  # only a hash is kept

    anonymous = client.application.test_client()
    assert anonymous.get(f"/invitations/{token}").status_code == 200
    response = anonymous.post(f"/invitations/{token}", data={"name": "New Planner", "password": "a sturdy password"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new.planner@example.com"))
    assert [(m.organisation_id, m.role) for m in user.memberships] == [(org.id, "planner")]
    # single use
    assert anonymous.get(f"/invitations/{token}").status_code == 404


def test_invitation_refuses_a_role_of_the_other_side(client, db):
    admin, _ = _admin("supplier")
    sign_in(client, admin)
    response = client.post("/settings/invitations", data={"email": "x@example.com", "role": "planner"})
    assert response.status_code == 422
    assert db.session.scalar(select(Invitation).where(Invitation.email == "x@example.com")) is None


def test_expired_and_revoked_invitations_cannot_be_used(client, db):
    admin, org = _admin()
    actor = actor_of(admin, org)
    expired, expired_raw = services.invite_user(actor, "late@example.com", "planner")
    expired.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    revoked, revoked_raw = services.invite_user(actor, "gone@example.com", "planner")
    services.revoke_invitation(actor, revoked.id)
    db.session.commit()
    for raw in (expired_raw, revoked_raw):
        response = client.post(f"/invitations/{raw}", data={"name": "x", "password": "a sturdy password"})
        assert response.status_code == 404
    assert db.session.scalar(select(User).where(User.email.in_(["late@example.com", "gone@example.com"]))) is None


def test_short_password_is_refused_on_joining(client, db):
    admin, org = _admin()
    _, raw = services.invite_user(actor_of(admin, org), "short@example.com", "procurement")
    response = client.post(f"/invitations/{raw}", data={"name": "S", "password": "short"})
    assert response.status_code == 422 and b'data-field="password"' in response.data


def test_last_admin_cannot_be_demoted(client, db):
    admin, org = _admin()
    sign_in(client, admin)
    membership = admin.memberships[0]
    response = client.post(f"/settings/users/{membership.id}/role", data={"role": "planner"})
    assert response.status_code == 409
    assert db.session.get(Membership, membership.id).role == "admin"


def test_role_and_token_forms_refuse_what_they_do_not_offer(client, db):
    admin, org = _admin("supplier")
    other = f.UserFactory()
    member = f.MembershipFactory(user=other, organisation=org, role="production")
    sign_in(client, admin)
    # A supplier has no planners: the role select offers only the supplier's roles and refuses others.
    page = client.get("/settings/users").get_data(as_text=True)
    assert 'value="planner"' not in page and 'value="production"' in page
    response = client.post(f"/settings/users/{member.id}/role", data={"role": "planner"})
    assert response.status_code == 422
    assert db.session.get(Membership, member.id).role == "production"
    assert client.post(f"/settings/users/{member.id}/role", data={"role": "admin"}).status_code == 302
    assert db.session.get(Membership, member.id).role == "admin"

    # The token form: every field names its problem and keeps what was typed; no token is made.
    page = client.post("/settings/tokens", data={"name": "Gate\u200bway", "role": "planner", "expires_in_days": "١٢"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    for name in ("name", "role", "expires_in_days"):
        assert f'data-field="{name}"' in html, name
    assert 'value="١٢"' in html
    assert db.session.scalar(select(ApiToken).where(ApiToken.organisation_id == org.id, ApiToken.name.like("Gate%"))) is None
    ok = client.post("/settings/tokens", data={"name": "Line 1", "role": "production", "expires_in_days": "1,000"})
    assert ok.status_code == 200 and 'data-test="raw-token"' in ok.get_data(as_text=True)


def test_api_token_is_stored_hashed_and_records_its_use(client, db):
    admin, org = _admin("supplier")
    sign_in(client, admin)
    page = client.post("/settings/tokens", data={"name": "Line 3 gateway", "role": "production"})
    raw = page.get_data(as_text=True).split('data-test="raw-token">')[1].split("<code>")[1].split("</code>")[0]
    token = db.session.scalar(select(ApiToken).where(ApiToken.name == "Line 3 gateway"))
    assert raw.startswith("cgw_") and token.token_hash != raw and raw not in token.token_hash
    assert token.last_used_at is None

    machine = client.application.test_client()
    me = machine.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200
    assert me.get_json() == {"organisation_id": org.id, "organisation_kind": "supplier", "role": "production",
                             "user_id": None, "token_id": token.id}
    db.session.refresh(token)
    assert token.last_used_at is not None


def test_revoked_expired_and_unknown_tokens_get_401(client, db):
    admin, org = _admin()
    actor = actor_of(admin, org)
    revoked, revoked_raw = services.create_api_token(actor, "old", "planner")
    services.revoke_api_token(actor, revoked.id)
    expired, expired_raw = services.create_api_token(actor, "short-lived", "planner", expires_in_days=1)
    expired.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    db.session.commit()
    for raw in (revoked_raw, expired_raw, "cgw_unknown", "garbage"):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "api.token_rejected")) is not None


def test_token_in_query_string_is_ignored(client, db):
    admin, org = _admin()
    _, raw = services.create_api_token(actor_of(admin, org), "t", "planner")
    assert client.get(f"/api/v1/me?access_token={raw}").status_code == 401


def test_token_does_not_open_html_pages(client, db):
    admin, org = _admin()
    _, raw = services.create_api_token(actor_of(admin, org), "t", "admin")
    response = client.get("/home", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_members_page_costs_the_same_queries_for_few_or_many_members(client, db):
    from sqlalchemy import event

    admin, org = _admin()
    sign_in(client, admin)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    costs = []
    for extra in (1, 8):
        for _ in range(extra):
            f.MembershipFactory(organisation=org, role="planner")
        db.session.commit()
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/settings/users").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        costs.append(len(statements))
    assert costs[0] == costs[1], costs
