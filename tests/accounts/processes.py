"""One step of a multi-process test, run as `python -m tests.accounts.processes <step> [arg]` in its own process.

Each step builds a fresh app on the database and var/ named by the environment, so nothing it knows can come
from another step's memory: what one process did reaches the next only through the database or var/.
Prints one JSON line on stdout.
"""
from __future__ import annotations

import json
import sys

EMAIL = "two.processes@example.com"
PASSWORD = "a sturdy password for two processes"


def _app():
    from cogrow import create_app

    app = create_app({"WTF_CSRF_ENABLED": False})
    with app.app_context():
        from cogrow.extensions import db

        db.create_all()
    return app


def _client(app, cookie: str | None):
    client = app.test_client()
    if cookie:
        client.set_cookie("cogrow_session", cookie)
    return client


def setup_and_sign_in(app) -> dict:
    """A member, signed in over HTTP; the session cookie it got."""
    from cogrow.accounts import services
    from cogrow.accounts.models import Membership
    from cogrow.extensions import db

    with app.app_context():
        org = services.create_organisation("Two Processes Co", "prime")
        user = services.create_user(EMAIL, "Two Processes", PASSWORD)
        db.session.add(Membership(user_id=user.id, organisation_id=org.id, role="planner"))
        db.session.commit()
    client = _client(app, None)
    status = client.post("/login", data={"email": EMAIL, "password": PASSWORD}).status_code
    return {"status": status, "cookie": client.get_cookie("cogrow_session").value}


def me(app, cookie: str) -> dict:
    return {"status": _client(app, cookie).get("/api/v1/me").status_code}


def logout(app, cookie: str) -> dict:
    client = _client(app, cookie)
    return {"me_before": client.get("/api/v1/me").status_code, "status": client.post("/logout").status_code}


def failed_logins(app, count: str = "1") -> dict:
    client = _client(app, None)
    return {"statuses": [client.post("/login", data={"email": EMAIL, "password": "wrong"}).status_code
                         for _ in range(int(count))]}


STEPS = {"setup_and_sign_in": setup_and_sign_in, "me": me, "logout": logout, "failed_logins": failed_logins}


def main(argv: list[str]) -> None:
    step = STEPS[argv[1]]
    app = _app()
    result = step(app, *argv[2:]) if argv[2:] else step(app)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
