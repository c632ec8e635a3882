"""Fixtures of the import tests: a test-only import kind and signed-in clients of tenant A."""
from __future__ import annotations

import pytest

from tests.conftest import sign_in
from tests.imports import support


@pytest.fixture(autouse=True)
def _forget_parsed_files():
    """Each test rolls its rows back, so the next test's batch can get the same id as this one's: the process's
    memory of parsed files (keyed by batch id and file hash) must not carry over between tests."""
    from cogrow.imports import services

    services._PARSED.clear()
    yield
    services._PARSED.clear()


@pytest.fixture(autouse=True)
def worker_reads(app, monkeypatch):
    """Files too large for the request are read by the worker: here the task runs at once, in this process,
    after the upload's transaction has committed (as a worker would). Returns the outbox ids it was given."""
    from cogrow.imports import tasks

    given: list[int] = []

    def run_now(args, **_options):
        given.append(args[0])
        tasks.parse_import.apply(args=args)

    monkeypatch.setattr(tasks.parse_import, "apply_async", run_now)
    return given


@pytest.fixture
def worker_idle(app, monkeypatch):
    """The worker has not picked the parse task up yet: published ids are recorded, nothing runs."""
    from cogrow.imports import tasks

    given: list[int] = []
    monkeypatch.setattr(tasks.parse_import, "apply_async", lambda args, **_options: given.append(args[0]))
    return given


@pytest.fixture
def test_kind(app):
    kind = support.register_test_kind()
    try:
        yield kind
    finally:
        support.unregister_test_kind()


@pytest.fixture
def planner(app, db, tenant_a):
    """A test client signed in as tenant A's prime planner."""
    client = app.test_client()
    sign_in(client, tenant_a.users["prime:planner"])
    return client


@pytest.fixture
def items(db, tenant_a):
    """Three more items in tenant A's relationship: PN-1, PN-2, PN-3."""
    from tests import factories as f

    return [f.ItemFactory(supply_relationship=tenant_a.relationship, prime_part_number=f"PN-{n}", lead_time_days=0,
                          description="") for n in (1, 2, 3)]
