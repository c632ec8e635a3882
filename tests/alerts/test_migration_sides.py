"""Migration 0009: acknowledged and snoozed alerts move to the view of the side that acted, and the alert is open."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cogrow import config as cogrow_config

NOW = datetime(2026, 11, 18, 1, 0, tzinfo=timezone.utc)


def _filler(column: sa.Column, n: int):
    """A value for a NOT NULL column of an old schema, whatever its type."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, (sa.Integer, sa.BigInteger)):
        return 1
    if isinstance(kind, sa.Numeric):
        return Decimal("1")
    if isinstance(kind, sa.DateTime) or "DateTime" in type(kind).__name__:
        return NOW
    if isinstance(kind, sa.Date):
        return date(2026, 11, 16)
    if isinstance(kind, sa.JSON):
        return {}
    return f"{column.name}-{n}"[: getattr(kind, "length", None) or 64]


def _insert(conn, table: sa.Table, n: int = 1, **values) -> int:
    row = {c.name: _filler(c, n) for c in table.columns
           if not c.nullable and c.name not in values and not c.primary_key and c.server_default is None}
    row.update(values)
    return conn.execute(table.insert().values(row)).inserted_primary_key[0]


@pytest.mark.filterwarnings("ignore")
def test_upgrade_moves_acknowledged_and_snoozed_alerts_to_the_acting_sides_view_and_loses_nothing(tmp_path, monkeypatch):
    from flask_migrate import downgrade, upgrade

    from cogrow import create_app
    from cogrow.extensions import db

    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))
    app = create_app(cogrow_config.TestingConfig(f"sqlite:///{tmp_path / 'm.sqlite'}"))
    with app.app_context():
        upgrade(revision="0008_home_queues")
        meta = sa.MetaData()
        meta.reflect(db.engine)
        t = meta.tables
        with db.engine.begin() as conn:
            prime = _insert(conn, t["organisation"], 1, kind="prime")
            supplier = _insert(conn, t["organisation"], 2, kind="supplier")
            rel = _insert(conn, t["supply_relationship"], prime_id=prime, supplier_id=supplier, status="active",
                          firm_fence_weeks=2, material_fence_weeks=4, material_share=Decimal("0.5"))
            item = _insert(conn, t["item"], relationship_id=rel, lead_time_days=7, unit_price=Decimal("10"))
            user = _insert(conn, t["user_account"], email="u@example.com")
            alerts = {}
            for n, status in enumerate(("acknowledged", "snoozed", "open", "resolved")):
                alerts[status] = _insert(conn, t["alert"], n, type=("excess_inventory", "shortage_risk",
                                                                    "projected_excess", "excess_inventory")[n],
                                         relationship_id=rel, item_id=item, status=status, severity="info",
                                         snoozed_until=NOW + timedelta(days=1) if status == "snoozed" else None,
                                         acknowledged_at=NOW if status == "acknowledged" else None,
                                         acknowledged_by_id=user if status == "acknowledged" else None)
            _insert(conn, t["alert_event"], 1, uuid="e1", alert_id=alerts["acknowledged"], kind="acknowledged",
                    severity="info", status="acknowledged", organisation_id=supplier, user_id=user)
            event = _insert(conn, t["alert_event"], 2, uuid="e2", alert_id=alerts["snoozed"], kind="snoozed",
                            severity="info", status="snoozed", organisation_id=prime, user_id=user)
            _insert(conn, t["inbox_entry"], user_id=user, organisation_id=prime, event_id=event,
                    alert_id=alerts["snoozed"])
        upgrade(revision="0009_alert_sides")
        with db.engine.connect() as conn:
            sides = {r.alert_id: r for r in conn.execute(sa.text("SELECT * FROM alert_side"))}
            statuses = dict(conn.execute(sa.text("SELECT id, status FROM alert")).all())
            kinds = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'alert_event'")).scalar()
            events = conn.execute(sa.text("SELECT uuid FROM alert_event ORDER BY id")).scalars().all()
            inbox = conn.execute(sa.text("SELECT count(*) FROM inbox_entry")).scalar()
        downgrade(revision="0008_home_queues")
        with db.engine.connect() as conn:
            back = dict(conn.execute(sa.text("SELECT id, status FROM alert")).all())
            events_back = conn.execute(sa.text("SELECT count(*) FROM alert_event")).scalar()
            inbox_back = conn.execute(sa.text("SELECT count(*) FROM inbox_entry")).scalar()
        db.engine.dispose()
    # Down again: the prime's view becomes the alert's status; nothing else is lost.
    assert (back[alerts["snoozed"]], back[alerts["acknowledged"]], events_back, inbox_back) == ("snoozed", "open", 2, 1)
    assert set(sides) == {alerts["acknowledged"], alerts["snoozed"]}
    ack, snz = sides[alerts["acknowledged"]], sides[alerts["snoozed"]]
    assert (ack.side, ack.status, ack.acknowledged_by_id) == ("supplier", "acknowledged", user)
    assert (snz.side, snz.status) == ("prime", "snoozed") and snz.snoozed_until is not None
    assert statuses == {alerts["acknowledged"]: "open", alerts["snoozed"]: "open", alerts["open"]: "open",
                        alerts["resolved"]: "resolved"}
    assert "'reopened'" in kinds
    assert events == ["e1", "e2"] and inbox == 1, "rebuilding alert_event loses no event and no inbox entry"
