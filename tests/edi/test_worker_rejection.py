"""A large interchange is read by the worker; one it finds invalid gets its rejecting 997 logged there (no request
is left to return it to), and nothing else changes."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from cogrow.core.models import OutboxEvent
from cogrow.edi import importers, services, x12
from cogrow.edi.models import Interchange
from cogrow.forecasts import services as forecasts
from cogrow.imports import services as imports
from cogrow.imports.models import ImportBatch
from tests.edi.support import envelope
from tests.edi.test_rejection_detail import _forecast, _positions

pytestmark = pytest.mark.usefixtures("in_request", "partner", "items")


def test_an_invalid_interchange_read_by_the_worker_gets_its_997_logged(app, db, tenant_a, planner, items,
                                                                      monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_INLINE_PARSE_BYTES", 100)
    partner = services.partner_of(tenant_a.relationship.id)
    text = x12.write([_forecast(items, parts=[items[0].prime_part_number, "NO-SUCH-PART"])],
                     envelope("830", "000000800"), partner)
    batch, rejection = services.receive(planner, tenant_a.relationship.id, None, text.encode())
    assert batch.status == "pending" and rejection is None
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "import"))
    monkeypatch.setattr(importers, "has_request_context", lambda: False)  # the worker has no request
    imports.run_parse(event.id)
    batch = db.session.get(ImportBatch, batch.id)
    assert batch.status == "invalid"
    (row,) = db.session.scalars(select(Interchange)).all()
    assert (row.direction, row.message_type, row.status, row.reference) == ("out", "997", "sent", "830 000000800")
    tags = _positions(text, "~", "*")
    st = next(p for p, t in tags.items() if t == "ST")
    lin = [p for p, t in tags.items() if t == "LIN"][1]
    _env, (ack,) = x12.parse(row.content.decode(), partner)
    assert (ack.control_number, ack.accepted) == ("800", False)
    assert f"AK3*LIN*{lin - st + 1}" in row.content.decode()
    assert forecasts.latest_of(tenant_a.relationship.id) is None
