"""Migration 0011 on a database that already holds duplicate numbers: the oldest keeps its number, later ones are
renamed (and the renaming is audited), and no PO line, proposal or shipment line is lost on the way.

SQLite rebuilds a table to change its constraints; with foreign keys on, dropping the old purchase_order would
cascade-delete its lines. This test is what shows the migration does not.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.migrations import database_at

NOW = "2026-11-01 00:00:00"


def _fill(conn) -> None:
    conn.execute(text(
        "INSERT INTO organisation (id, name, kind, created_at) VALUES "
        f"(1, 'Prime', 'prime', '{NOW}'), (2, 'Supplier one', 'supplier', '{NOW}'), "
        f"(3, 'Supplier two', 'supplier', '{NOW}'), (4, 'Other prime', 'prime', '{NOW}')"))
    conn.execute(text(
        "INSERT INTO supply_relationship (id, prime_id, supplier_id, status, firm_fence_weeks, material_fence_weeks, "
        "currency, material_share, over_delivery_pct, po_ack_days, version, created_at) VALUES "
        f"(1, 1, 2, 'active', 4, 8, 'KRW', 0.5, 0, 3, 1, '{NOW}'), (2, 1, 3, 'active', 4, 8, 'KRW', 0.5, 0, 3, 1, '{NOW}'), "
        f"(3, 4, 2, 'active', 4, 8, 'KRW', 0.5, 0, 3, 1, '{NOW}')"))
    conn.execute(text(
        "INSERT INTO item (id, relationship_id, prime_part_number, description, uom, unit_price, currency, "
        "lead_time_days, active, version, created_at) VALUES "
        f"(1, 1, 'P-1', '', 'EA', 10, 'KRW', 7, 1, 1, '{NOW}'), (2, 2, 'P-2', '', 'EA', 10, 'KRW', 7, 1, 1, '{NOW}'), "
        f"(3, 3, 'P-3', '', 'EA', 10, 'KRW', 7, 1, 1, '{NOW}')"))
    # The same PO number once per relationship: twice for prime 1 (a duplicate), once for prime 4 (not one).
    conn.execute(text(
        "INSERT INTO purchase_order (id, relationship_id, number, status, currency, note, created_at, version) VALUES "
        f"(1, 1, 'PO-2026-0001', 'issued', 'KRW', '', '{NOW}', 1), (2, 2, 'PO-2026-0001', 'issued', 'KRW', '', '{NOW}', 1), "
        f"(3, 2, 'PO-2026-0001-2', 'issued', 'KRW', '', '{NOW}', 1), (4, 3, 'PO-2026-0001', 'issued', 'KRW', '', '{NOW}', 1)"))
    conn.execute(text(
        "INSERT INTO purchase_order_line (id, purchase_order_id, relationship_id, line_no, item_id, quantity, due_date, "
        "unit_price, shipped_qty, received_qty) VALUES (1, 1, 1, 1, 1, 10, '2026-12-01', 10, 1, 0), "
        "(2, 2, 2, 1, 2, 10, '2026-12-01', 10, 0, 0), (3, 4, 3, 1, 3, 10, '2026-12-01', 10, 1, 0)"))
    conn.execute(text(
        "INSERT INTO po_change_proposal (id, purchase_order_id, line_id, proposed_quantity, reason, status, created_at) "
        f"VALUES (1, 2, 2, 5, 'capacity', 'open', '{NOW}')"))
    # Supplier 2 sent ASN-000001 to both of its primes.
    conn.execute(text(
        "INSERT INTO shipment (id, relationship_id, number, ship_date, status, carrier, tracking, created_at, version) "
        f"VALUES (1, 1, 'ASN-000001', '2026-11-02', 'shipped', '', '', '{NOW}', 1), "
        f"(2, 3, 'ASN-000001', '2026-11-03', 'shipped', '', '', '{NOW}', 1)"))
    conn.execute(text(
        "INSERT INTO shipment_line (id, shipment_id, relationship_id, po_line_id, item_id, ship_date, quantity_shipped) "
        "VALUES (1, 1, 1, 1, 1, '2026-11-02', 1), (2, 2, 3, 3, 3, '2026-11-03', 1)"))


@pytest.fixture
def old_database(tmp_path, monkeypatch):
    with database_at(tmp_path, monkeypatch, "0010_forecast_cuts", _fill) as found:
        yield found


def test_upgrade_renames_later_duplicates_and_keeps_every_line(old_database):
    app, engine = old_database
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        upgrade(revision="0011_document_numbers")
    with engine.connect() as conn:
        pos = conn.execute(text("SELECT id, prime_id, number FROM purchase_order ORDER BY id")).all()
        # PO 2 collided with PO 1 (same prime); "-2" was taken by PO 3, so it became "-3". Prime 4's stays.
        assert pos == [(1, 1, "PO-2026-0001"), (2, 1, "PO-2026-0001-3"), (3, 1, "PO-2026-0001-2"),
                       (4, 4, "PO-2026-0001")]
        asns = conn.execute(text("SELECT id, supplier_id, number FROM shipment ORDER BY id")).all()
        assert asns == [(1, 2, "ASN-000001"), (2, 2, "ASN-000001-2")]
        assert conn.execute(text("SELECT count(*) FROM purchase_order_line")).scalar() == 3
        assert conn.execute(text("SELECT count(*) FROM po_change_proposal")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM shipment_line")).scalar() == 2
        audit = conn.execute(text("SELECT action, organisation_id, object_id, detail FROM audit_log "
                                  "WHERE action LIKE '%.renumbered' ORDER BY id")).all()
        assert [(a, o, i) for a, o, i, _ in audit] == [("po.renumbered", 1, "2"), ("asn.renumbered", 2, "2")]
        assert '"from": "PO-2026-0001"' in audit[0][3] and '"to": "PO-2026-0001-3"' in audit[0][3]
    with app.app_context():
        from cogrow.extensions import db

        with db.engine.connect() as conn:  # the migration's own (pooled) connection has its foreign keys back on
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    with engine.begin() as conn, pytest.raises(Exception, match="UNIQUE"):
        conn.execute(text("UPDATE purchase_order SET number = 'PO-2026-0001' WHERE id = 2"))
    with app.app_context():
        downgrade(revision="0010_forecast_cuts")
        upgrade()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM purchase_order_line")).scalar() == 3
        assert conn.execute(text("SELECT count(*) FROM shipment_line")).scalar() == 2
