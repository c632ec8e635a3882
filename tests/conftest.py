"""Fixtures: the schema is built once per session by the migrations; every test runs in a rolled-back transaction."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime

import pytest
import time_machine
from sqlalchemy import create_engine, text

from cogrow import create_app
from cogrow.config import TestingConfig
from cogrow.extensions import db as _db
from cogrow.extensions import limiter

DEMO_PASSWORD = "correct horse battery staple"


# The instant every test starts at: an ordinary Wednesday morning in Seoul, unless COGROW_TEST_NOW names another.
DEFAULT_TEST_NOW = "2026-11-18T10:00:00+09:00"
# These tests drive real worker processes and a real browser, whose clocks no fixture can move; they run on the
# machine's clock and compute dates through the same business-day helper as those processes.
REAL_CLOCK_MARKERS = ("worker", "e2e")
_COLLECTION_CLOCK = pytest.StashKey[time_machine.travel]()


def frozen_now() -> datetime:
    """The fixed instant of this run: COGROW_TEST_NOW (ISO 8601 with an offset) or DEFAULT_TEST_NOW."""
    text = os.environ.get("COGROW_TEST_NOW") or DEFAULT_TEST_NOW
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise pytest.UsageError(f"COGROW_TEST_NOW={text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:  # a naive instant would mean the machine's zone, which is what we are avoiding
        raise pytest.UsageError(f"COGROW_TEST_NOW={text!r} needs an offset, e.g. 2026-12-28T09:00:00+09:00")
    return moment




def pytest_configure(config):
    """Freeze the clock before collection, so module-level dates in test files are taken at the run's instant."""
    traveller = time_machine.travel(frozen_now(), tick=False)
    traveller.start()
    config.stash[_COLLECTION_CLOCK] = traveller


def _stop_collection_clock(config) -> None:
    traveller = config.stash.get(_COLLECTION_CLOCK, None)
    if traveller is not None:
        del config.stash[_COLLECTION_CLOCK]
        traveller.stop()


def pytest_collection_finish(session):
    _stop_collection_clock(session.config)


def pytest_unconfigure(config):
    _stop_collection_clock(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Each test (its fixtures included) starts at the run's instant; the clock ticks so timeouts still pass."""
    if any(item.get_closest_marker(name) for name in REAL_CLOCK_MARKERS):
        return (yield)
    with time_machine.travel(frozen_now(), tick=True):
        return (yield)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # a URL given on purpose that does not answer is a failure, never a skip
        pytest.exit(f"COGROW_TEST_DATABASE_URL={url} is not reachable: {exc}", returncode=3)
    finally:
        engine.dispose()


def on_postgres() -> bool:
    return (os.environ.get("COGROW_TEST_DATABASE_URL") or "").startswith("postgresql")


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres_only run in the PostgreSQL pass of `make test` and those marked sqlite_only in the SQLite
    pass; each pass deselects the other's (never a skip)."""
    other = "sqlite_only" if on_postgres() else "postgres_only"
    kept = [item for item in items if other not in item.keywords]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if other in item.keywords])
        items[:] = kept


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    patch = pytest.MonkeyPatch()
    patch.setenv("COGROW_VAR_DIR", str(var))
    url = os.environ.get("COGROW_TEST_DATABASE_URL") or f"sqlite:///{var / 'test.sqlite'}"
    if url.startswith("postgresql"):
        _reset_postgres(url)
    application = create_app(TestingConfig(url))
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield application
    with application.app_context():
        _db.engine.dispose()
    patch.undo()


@pytest.fixture
def db(app):
    """The database, inside a transaction that is rolled back after the test (commits become savepoints)."""
    # A test that creates another app (the browser tests' server, the launcher and logging tests) makes that app's
    # Celery the process's current one; tasks run in-process here must run under this app and its settings.
    app.extensions["celery"].set_current()
    app.extensions["celery"].set_default()
    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        _db.session.remove()
        _db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
        limiter.reset()
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session.configure(bind=None)
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


def sign_in(client, user, organisation_id: int | None = None) -> None:
    """Put a signed-in session on the test client without paying for an argon2 verification."""
    from cogrow.accounts.services import open_session

    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        now = time.time()
        session["login_at"] = now
        session["seen"] = now
        session["org_id"] = organisation_id or user.memberships[0].organisation_id
        session["sid"] = open_session(user.id, session["org_id"])  # the server-side record a real sign-in makes
    _db.session.commit()


@dataclass
class Tenant:
    """One prime and one supplier linked by an active relationship, with a user per role and an item."""

    prime: object
    supplier: object
    relationship: object
    item: object
    users: dict[str, object] = field(default_factory=dict)  # "prime:planner" -> User
    tokens: dict[str, str] = field(default_factory=dict)  # "prime:admin" -> raw token


def build_tenant(label: str) -> Tenant:
    from cogrow.accounts import services as accounts
    from cogrow.accounts.models import ROLES_BY_KIND
    from cogrow.core.auth import Actor
    from tests import factories as f

    prime = f.OrganisationFactory(kind="prime", name=f"Prime {label}")
    supplier = f.OrganisationFactory(kind="supplier", name=f"Supplier {label}")
    rel = f.RelationshipFactory(prime=prime, supplier=supplier)
    item = f.ItemFactory(supply_relationship=rel, prime_part_number=f"PN-{label}-SECRET")
    tenant = Tenant(prime, supplier, rel, item)
    for org in (prime, supplier):
        for role in ROLES_BY_KIND[org.kind]:
            user = f.UserFactory(email=f"{role}.{org.kind}.{label.lower()}@example.com")
            f.MembershipFactory(user=user, organisation=org, role=role)
            tenant.users[f"{org.kind}:{role}"] = user
            actor = Actor(organisation_id=org.id, org_kind=org.kind, role=role, user_id=user.id)
            _, raw = accounts.create_api_token(actor, f"{role} token", role)
            tenant.tokens[f"{org.kind}:{role}"] = raw
    _db.session.commit()
    return tenant


@pytest.fixture
def tenant_a(db):
    return build_tenant("A")


@pytest.fixture
def tenant_b(db):
    return build_tenant("B")


def actor_of(user, org):
    from cogrow.accounts.models import Membership
    from cogrow.core.auth import Actor

    membership = _db.session.query(Membership).filter_by(user_id=user.id, organisation_id=org.id).one()
    return Actor(organisation_id=org.id, org_kind=org.kind, role=membership.role, user_id=user.id)
