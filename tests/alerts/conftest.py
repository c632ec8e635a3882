"""Fixtures of the alert tests: ledger rows, a local SMTP server, a local webhook receiver."""
from __future__ import annotations

import json
import socket
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import Date, DateTime, Numeric, delete

from cogrow.core.types import utcnow
from cogrow.core.weeks import current_week


def put_ledger(db, item, **numbers):
    """Write (or replace) the coverage ledger row of `item`; columns not given are zero (dates: none/this week)."""
    from cogrow.coverage.models import CoverageLedger

    db.session.execute(delete(CoverageLedger).where(CoverageLedger.item_id == item.id))
    values = {"item_id": item.id, "relationship_id": item.relationship_id, "unit_price": item.unit_price,
              "currency": numbers.pop("currency", item.currency)}
    for col in CoverageLedger.__table__.columns:
        if col.name in values or col.name in numbers:
            continue
        if isinstance(col.type, Numeric):
            values[col.name] = Decimal("0")
        elif not col.nullable and isinstance(col.type, Date):
            values[col.name] = current_week()
        elif not col.nullable and (isinstance(col.type, DateTime) or "DateTime" in type(col.type).__name__):
            values[col.name] = utcnow()
    values.update({k: Decimal(str(v)) if isinstance(v, (int, str)) else v for k, v in numbers.items()})
    db.session.add(CoverageLedger(**values))
    db.session.flush()


@pytest.fixture
def config(app):
    """Change app.config for one test; every key is put back afterwards."""
    saved = {}

    def set_(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config.get(key))
            app.config[key] = value

    yield set_
    app.config.update(saved)


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp(config):
    """A real SMTP server (aiosmtpd) on a free local port; the app sends its mail there."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    with socket.socket() as probe:  # aiosmtpd's readiness check needs a real port number, not 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_ENABLED=True, MAIL_USE_TLS=False,
               MAIL_USERNAME=None, PUBLIC_URL="https://cogrow.example.com")
        yield box
    finally:
        controller.stop()


class Receiver:
    """A local HTTP server that records every POST and answers with the next scripted status."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                          "path": self.path})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def json(self, i: int = -1) -> dict:
        return json.loads(self.requests[i]["body"])


@pytest.fixture
def receiver(config):
    config(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_TIMEOUT_SECONDS=5)
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()

