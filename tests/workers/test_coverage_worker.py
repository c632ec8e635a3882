"""A real worker on the embedded sqla+sqlite broker: an outbox row becomes a ledger row through relay and reconcile."""
from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.workers.conftest import WorkerEnv, wait_for
from tests.workers.test_worker_smoke import _close_celery, _wait_until_ready

pytestmark = pytest.mark.worker

LEDGER_TIMEOUT = 60


def _query(worker_env: WorkerEnv, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(worker_env.database_path, timeout=10)) as conn:
        return conn.execute(sql).fetchall()


def _write_a_change(app) -> tuple[int, int]:
    """A relationship with one item and a PO line, written with its outbox row as the services do."""
    from cogrow.catalog.models import Item
    from cogrow.core import outbox
    from cogrow.core.weeks import local_today
    from cogrow.extensions import db
    from cogrow.orders.models import PurchaseOrder, PurchaseOrderLine
    from cogrow.relationships.models import SupplyRelationship

    with app.app_context():
        rel = SupplyRelationship(prime_id=1, supplier_id=2, status="active")
        db.session.add(rel)
        db.session.flush()
        item = Item(relationship_id=rel.id, prime_part_number="WK-1", unit_price=Decimal("100"))
        po = PurchaseOrder(relationship_id=rel.id, number="PO-WK-1", status="issued")
        db.session.add_all([item, po])
        db.session.flush()
        db.session.add(PurchaseOrderLine(purchase_order_id=po.id, relationship_id=rel.id, line_no=1, item_id=item.id,
                                         quantity=Decimal("37"), due_date=local_today() + timedelta(days=10),
                                         unit_price=Decimal("100")))
        outbox.enqueue_reconcile(rel.id, [item.id], "po issued")
        db.session.commit()
        ids = rel.id, item.id
        db.engine.dispose()
    return ids


def test_the_worker_relays_the_outbox_and_reconciles_the_item(embedded_env, start_worker):
    from cogrow import create_app

    app = create_app()
    celery_app = app.extensions["celery"]
    try:
        _rel_id, item_id = _write_a_change(app)
        process = start_worker(embedded_env)
        _wait_until_ready(process, embedded_env)
        celery_app.send_task("cogrow.coverage.relay").forget()
        rows = wait_for(lambda: _query(embedded_env, f"SELECT open_po FROM coverage_ledger WHERE item_id = {item_id}"),
                        LEDGER_TIMEOUT)
        assert rows, f"no ledger row after {LEDGER_TIMEOUT}s:\n{embedded_env.log()}"
        assert Decimal(str(rows[0][0])) == Decimal("37")
        pending = _query(embedded_env, "SELECT count(*) FROM outbox_event WHERE published_at IS NULL "
                                       "AND topic = 'reconcile'")
        assert pending == [(0,)]
        assert process.poll() is None, embedded_env.log()
    finally:
        _close_celery(celery_app)
