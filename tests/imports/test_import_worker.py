"""A real `celery worker` reads a large upload: the request only stored it (issue 9 §4)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.workers.conftest import (  # noqa: F401 - fixtures of the worker tests
    WorkerEnv,
    _restore_celery_default_app,
    embedded_env,
    start_worker,
    wait_for,
)
from tests.workers.test_worker_smoke import _close_celery, _wait_until_ready

pytestmark = pytest.mark.worker


@pytest.fixture
def worker_reads():
    """Replaces the in-process worker of tests/imports: here a real worker process reads the file."""
    return None


def test_a_real_worker_reads_a_large_upload_that_the_request_only_stored(embedded_env: WorkerEnv,
                                                                        start_worker) -> None:
    from sqlalchemy import select

    from cogrow import create_app
    from cogrow.accounts.models import Organisation
    from cogrow.core.auth import Actor
    from cogrow.extensions import db
    from cogrow.imports import services
    from cogrow.imports.models import ImportBatch
    from cogrow.relationships.models import SupplyRelationship

    process = start_worker(embedded_env)
    _wait_until_ready(process, embedded_env)
    app = create_app()
    app.config["IMPORT_INLINE_PARSE_BYTES"] = 1024
    try:
        with app.test_request_context(headers={"Accept-Language": "en"}):
            prime = db.session.scalar(select(Organisation).where(Organisation.name == "Worker Prime"))
            supplier = db.session.scalar(select(Organisation).where(Organisation.name == "Worker Supplier"))
            rel = SupplyRelationship(prime_id=prime.id, supplier_id=supplier.id, status="active",
                                     firm_fence_weeks=4, material_fence_weeks=8, currency="KRW",
                                     material_share=Decimal("0.4"))
            db.session.add(rel)
            db.session.commit()
            actor = Actor(organisation_id=prime.id, org_kind="prime", role="planner", user_id=None)
            body = "Part number,Week,Quantity\r\n" + "BRK-1,2027-W01,\u00b2\r\n" * 3000
            batch = services.upload(actor, rel.id, "forecast", "big.csv", body.encode())
            batch_id = batch.id
            assert batch.status == "pending" and batch.errors is None
            db.session.remove()

            def read() -> ImportBatch | None:
                found = db.session.get(ImportBatch, batch_id)
                done = found if found is not None and found.status != "pending" else None
                if done is None:
                    db.session.remove()
                return done

            done = wait_for(read, 60)
            assert done, f"the worker did not read the file:\n{embedded_env.log()}"
            assert done.status == "invalid" and len(done.errors) == 1000
            assert services.errors_stopped_at(done) is not None
            assert (done.errors[0]["row"], done.errors[0]["column"]) == (2, "Quantity")
            db.session.remove()
        assert "cogrow.imports.parse" in embedded_env.log()
    finally:
        _close_celery(app.extensions["celery"])
        with app.app_context():
            db.engine.dispose()


def test_a_real_worker_applies_a_confirmed_large_import_relayed_from_the_outbox(embedded_env: WorkerEnv,
                                                                               start_worker) -> None:
    from datetime import timedelta

    from sqlalchemy import func, select

    from cogrow import create_app
    from cogrow.accounts.models import Organisation
    from cogrow.catalog.models import Item
    from cogrow.core.auth import Actor
    from cogrow.core.models import OutboxEvent
    from cogrow.core.weeks import current_week, iso_label
    from cogrow.extensions import db
    from cogrow.forecasts.models import ForecastBucket
    from cogrow.imports import services
    from cogrow.imports.models import ImportBatch
    from cogrow.relationships.models import SupplyRelationship

    process = start_worker(embedded_env)
    _wait_until_ready(process, embedded_env)
    app = create_app()
    app.config["IMPORT_ASYNC_ROWS"] = 2  # 30 rows: confirmed in the request, applied by the worker
    try:
        with app.test_request_context(headers={"Accept-Language": "en"}):
            prime = db.session.scalar(select(Organisation).where(Organisation.name == "Worker Prime"))
            supplier = db.session.scalar(select(Organisation).where(Organisation.name == "Worker Supplier"))
            rel = SupplyRelationship(prime_id=prime.id, supplier_id=supplier.id, status="active",
                                     firm_fence_weeks=4, material_fence_weeks=8, currency="KRW",
                                     material_share=Decimal("0.4"))
            db.session.add(rel)
            db.session.flush()
            db.session.add(Item(relationship_id=rel.id, prime_part_number="BRK-APPLY", description="Bracket",
                                uom="EA", unit_price=Decimal("1500"), currency="KRW", lead_time_days=7))
            db.session.commit()
            actor = Actor(organisation_id=prime.id, org_kind="prime", role="planner", user_id=None)
            # Worker tests run on the machine's clock, in this process and the worker's alike.
            weeks = [iso_label(current_week() + timedelta(weeks=n)) for n in range(30)]
            body = "Part number,Week,Quantity\r\n" + "".join(f"BRK-APPLY,{w},{10 + n}\r\n" for n, w in enumerate(weeks))
            batch = services.upload(actor, rel.id, "forecast", "forecast.csv", body.encode())
            assert batch.status == "preview", batch.errors
            batch = services.confirm(actor, rel.id, batch.id)
            batch_id, rel_id = batch.id, rel.id
            assert batch.status == "queued"
            db.session.remove()

            def applied() -> ImportBatch | None:
                found = db.session.get(ImportBatch, batch_id)
                done = found if found is not None and found.status not in ("queued", "running") else None
                if done is None:
                    db.session.remove()
                return done

            done = wait_for(applied, 60)
            assert done, f"the worker did not apply the import:\n{embedded_env.log()}"
            assert done.status == "applied", done.errors
            assert db.session.scalar(select(func.count()).select_from(ForecastBucket)
                                     .where(ForecastBucket.relationship_id == rel_id)) == 30
            event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.topic == services.APPLY_TOPIC,
                                                                OutboxEvent.relationship_id == rel_id))
            assert event.payload == {"import_id": batch_id, "task_id": done.task_id}

            def marked_done() -> bool:
                db.session.remove()
                return db.session.get(OutboxEvent, event.id).done_at is not None

            assert wait_for(marked_done, 30), "the outbox row was not marked done"
            db.session.remove()
        assert "cogrow.imports.apply" in embedded_env.log()
    finally:
        _close_celery(app.extensions["celery"])
        with app.app_context():
            db.engine.dispose()
