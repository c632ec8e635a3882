"""Race-free version numbers: real threads and their own sessions against PostgreSQL."""
from __future__ import annotations

import threading

import pytest

from cogrow.forecasts import services
from tests.conftest import actor_of
from tests.forecasts.conftest import horizon


@pytest.mark.postgres_only
def test_concurrent_publishers_get_distinct_version_numbers(app):
    from cogrow.extensions import db as _db
    from tests.conftest import build_tenant
    from tests.forecasts.cleanup import remove_tenant, tenant_ids

    with app.app_context():
        tenant = build_tenant("Race")
        actor = actor_of(tenant.users["prime:planner"], tenant.prime)
        rel_id, item_id = tenant.relationship.id, tenant.item.id
        ids = tenant_ids(tenant)
        _db.session.remove()
    results, errors = [], []
    barrier = threading.Barrier(3)

    def run():
        with app.app_context():
            try:
                barrier.wait()
                results.append(services.publish(actor, rel_id, horizon([item_id])).version_no)
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with app.app_context():
        remove_tenant(_db, ids)
    assert errors == [] and sorted(results) == [1, 2, 3]
