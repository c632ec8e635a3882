"""Two people confirm two previews of the same file at the same moment: the partial unique index lets one in."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from cogrow.core.errors import Conflict
from cogrow.extensions import db
from cogrow.imports import services
from tests.conftest import actor_of, build_tenant
from tests.imports import support
from tests.imports.support import HEADER, TEST_KIND, csv_bytes


def _cleanup(tenant) -> None:
    rel = tenant.relationship.id
    orgs = {"a": tenant.prime.id, "b": tenant.supplier.id}
    users = [u.id for u in tenant.users.values()]
    db.session.rollback()
    for statement in (
        "DELETE FROM audit_log WHERE organisation_id IN (:a, :b)",
        f"DELETE FROM audit_log WHERE user_id IN ({','.join(map(str, users))})",
        f"DELETE FROM import_batch WHERE relationship_id = {rel}",
        f"DELETE FROM outbox_event WHERE relationship_id = {rel}",
        f"DELETE FROM item WHERE relationship_id = {rel}",
        f"DELETE FROM supply_relationship WHERE id = {rel}",
        "DELETE FROM api_token WHERE organisation_id IN (:a, :b)",
        "DELETE FROM membership WHERE organisation_id IN (:a, :b)",
        f"DELETE FROM user_account WHERE id IN ({','.join(map(str, users))})",
        "DELETE FROM organisation WHERE id IN (:a, :b)",
    ):
        db.session.execute(text(statement), orgs if ":a" in statement else {})
    db.session.commit()


@pytest.mark.postgres_only
def test_two_racing_confirms_of_one_file_apply_it_exactly_once(app):
    support.register_test_kind()
    with app.app_context():
        tenant = build_tenant("RACE")
        try:
            from tests import factories as f

            f.ItemFactory(supply_relationship=tenant.relationship, prime_part_number="PN-1", lead_time_days=0)
            db.session.commit()
            actor = actor_of(tenant.users["prime:planner"], tenant.prime)
            rel_id = tenant.relationship.id
            data = csv_bytes([HEADER, ["PN-1", "5", "x"]])
            with app.test_request_context():
                ids = [services.upload(actor, rel_id, TEST_KIND, name, data).id for name in ("a.csv", "b.csv")]
            barrier = threading.Barrier(2)
            results: list[str] = []

            def confirm(import_id: int) -> None:
                with app.app_context(), app.test_request_context():
                    barrier.wait()
                    try:
                        services.confirm(actor, rel_id, import_id)
                        results.append("applied")
                    except Conflict:
                        results.append("conflict")
                    finally:
                        db.session.remove()

            threads = [threading.Thread(target=confirm, args=(i,)) for i in ids]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert sorted(results) == ["applied", "conflict"]
            statuses = db.session.execute(text(f"SELECT status FROM import_batch WHERE relationship_id = {rel_id}"
                                               " ORDER BY id")).scalars().all()
            assert sorted(statuses) == ["applied", "preview"]
        finally:
            _cleanup(tenant)
            support.unregister_test_kind()
