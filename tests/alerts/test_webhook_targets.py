"""Webhook targets: every embedded private form is refused, ports are limited, and delivery goes to the checked address."""
from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select

from cogrow.alerts import notify, services, webhooks
from cogrow.alerts.models import WebhookDelivery
from cogrow.core.models import OutboxEvent
from cogrow.core.types import utcnow
from tests.alerts.conftest import put_ledger
from tests.alerts.factories import WebhookEndpointFactory

PUBLIC_V4 = "93.184.216.34"

REFUSED = [
    # IPv6 forms that lead to a private or loopback IPv4 address.
    "http://[2002:7f00:1::]/", "http://[2002:a00:1::]/hook", "http://[2002:c0a8:101::1]/",  # 6to4
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:a00:1]/",  # IPv4-mapped
    "http://[::127.0.0.1]/", "http://[::5db8:d822]/",  # IPv4-compatible (deprecated: refused whatever it holds)
    "http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b:1::5db8:d822]/",  # NAT64
    "http://[::ffff:0:7f00:1]/",  # SIIT
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "http://[2001:0:7f00:1::]/",  # Teredo
    # IPv4 written the ways inet_aton() reads it.
    "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://0x7f000001/", "http://127.1/",
    "http://127.0.0.1./", "http://017700000001/", "http://0x5d.0xb8.0xd8.0x22/",
    # Unspecified, multicast, reserved, link-local, unique local, shared (CGNAT), documentation, benchmarking.
    "http://0.0.0.0/", "http://[::]/", "http://224.0.0.1/", "http://239.255.255.250/", "http://[ff02::1]/",
    "http://[ff0e::1]/", "http://240.0.0.1/", "http://255.255.255.255/", "http://169.254.169.254/",
    "http://[fe80::1]/", "http://[fe80::1%25eth0]/", "http://[fd00::1]/", "http://[fc00::1]/", "http://[fec0::1]/",
    "http://100.64.0.1/", "http://100.127.255.254/", "http://192.0.2.1/", "http://198.18.0.1/", "http://[2001:db8::1]/",
    "http://127.0.0.1/", "http://[::1]/", "http://10.0.0.1/",
]

ACCEPTED = [
    f"https://{PUBLIC_V4}/hook", f"http://{PUBLIC_V4}:80/", f"https://{PUBLIC_V4}:443/",
    "http://[2606:2800:220:1:248:1893:25c8:1946]/", "http://[2002:5db8:d822::]/",  # 6to4 around a public address
    "http://[64:ff9b::5db8:d822]/", f"http://[::ffff:{PUBLIC_V4}]/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_every_private_or_local_form_is_refused(app, url):
    with app.test_request_context(), pytest.raises(webhooks.UnsafeTarget):
        webhooks.check_target(url, allow_private=False)


@pytest.mark.parametrize("url", ACCEPTED)
def test_public_addresses_on_ports_80_and_443_are_accepted(app, url):
    with app.test_request_context():
        target = webhooks.check_target(url, allow_private=False)
    assert target.addresses and all(webhooks.is_public(a) for a in target.addresses)


def _resolver(monkeypatch, answers: dict[str, list[list[str]]]):
    """Replace DNS: each look-up of a name takes the next answer in its list (the last one repeats)."""
    calls: dict[str, int] = {}
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        n = calls[host] = calls.get(host, 0) + 1
        addresses = answers[host][min(n, len(answers[host])) - 1]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return calls


@pytest.mark.parametrize("addresses", [["127.0.0.1"], ["2002:7f00:1::"], [PUBLIC_V4, "10.0.0.7"],
                                       ["64:ff9b::a00:1"], ["100.64.1.1"]])
def test_a_name_is_refused_when_any_address_it_resolves_to_is_not_public(app, monkeypatch, addresses):
    _resolver(monkeypatch, {"hooks.example.com": [addresses]})
    with app.test_request_context(), pytest.raises(webhooks.UnsafeTarget):
        webhooks.check_target("https://hooks.example.com/in", allow_private=False)


@pytest.mark.parametrize("url", [f"https://{PUBLIC_V4}:8443/", f"http://{PUBLIC_V4}:8080/", f"http://{PUBLIC_V4}:25/",
                                 "https://hooks.example.com:22/"])
def test_other_ports_are_refused_unless_the_setting_allows_them(app, config, monkeypatch, url):
    _resolver(monkeypatch, {"hooks.example.com": [[PUBLIC_V4]]})
    with app.test_request_context():
        with pytest.raises(webhooks.UnsafeTarget, match="Port"):
            webhooks.check_target(url, allow_private=False)
        config(WEBHOOK_ALLOWED_PORTS=(80, 443, 8443, 8080, 25, 22))
        webhooks.check_target(url, allow_private=False)


def test_the_allowed_ports_are_read_from_the_environment(monkeypatch, tmp_path):
    from cogrow.config import Config

    monkeypatch.setenv("COGROW_VAR_DIR", str(tmp_path))
    assert Config().WEBHOOK_ALLOWED_PORTS == (80, 443)
    monkeypatch.setenv("COGROW_WEBHOOK_ALLOWED_PORTS", "443, 8443")
    assert Config().WEBHOOK_ALLOWED_PORTS == (443, 8443)


def test_the_admin_page_and_the_api_refuse_a_6to4_loopback_endpoint(db, client, tenant_a, config):
    from tests.conftest import sign_in

    config(WEBHOOK_ALLOW_PRIVATE=False)
    token = tenant_a.tokens["prime:admin"]
    refused = client.post("/api/v1/webhooks", json={"url": "http://[2002:7f00:1::]/"},
                          headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 422 and "url" in refused.get_json()["error"]["fields"]
    sign_in(client, tenant_a.users["prime:admin"])
    page = client.post("/settings/webhooks", data={"url": f"https://{PUBLIC_V4}:8443/hook"})
    assert page.status_code == 422 and 'data-field="url"' in page.get_data(as_text=True)


# --- the delivery goes where the check looked -----------------------------------------------------------------

class _Server:
    """A local HTTP server that records what it is sent."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                server.requests.append({"host": self.headers.get("host"), "path": self.path})
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return self.http.server_address[:2]

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def network(monkeypatch):
    """Two local servers standing in for a public receiver (PUBLIC_V4:80) and an internal service (127.0.0.1:80).

    Connections are made through socket.create_connection; a host name given to it is resolved by the
    (substituted) resolver there and then, as a client that does not pin the address would do.
    """
    public, internal = _Server(), _Server()
    real_connect = socket.create_connection
    connected: list[tuple[str, int]] = []

    def connect(address, *args, **kwargs):
        host, port = address[:2]
        try:
            ip = str(ipaddress.ip_address(host))
        except ValueError:
            ip = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0]
        connected.append((ip, port))
        stand_in = {(PUBLIC_V4, 80): public.address, ("127.0.0.1", 80): internal.address}.get((ip, port))
        if stand_in is None:
            raise ConnectionRefusedError(f"nothing listens on {ip}:{port} in this test")
        return real_connect(stand_in, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    try:
        yield public, internal, connected
    finally:
        public.close()
        internal.close()


def _delivery(db, tenant, url):
    WebhookEndpointFactory(organisation_id=tenant.prime.id, url=url)
    put_ledger(db, tenant.item, supply=300, guaranteed=200, excess=100, exposure_amount=150000)
    services.sync_alerts(tenant.relationship.id, [tenant.item.id], utcnow())
    db.session.commit()
    row = db.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "notify")).first()
    (delivery_id,) = notify.dispatch(row.id).webhooks
    return delivery_id


def test_a_name_that_rebinds_to_loopback_after_the_check_is_still_delivered_to_the_checked_address(
        db, tenant_a, config, monkeypatch, network):
    public, internal, connected = network
    config(WEBHOOK_ALLOW_PRIVATE=False, WEBHOOK_TIMEOUT_SECONDS=5)
    delivery_id = _delivery(db, tenant_a, "http://hooks.example.com/in")
    calls = _resolver(monkeypatch, {"hooks.example.com": [[PUBLIC_V4], ["127.0.0.1"]]})
    assert notify.deliver_webhook(delivery_id).status == "delivered"
    assert internal.requests == [] and (PUBLIC_V4, 80) in connected and ("127.0.0.1", 80) not in connected
    assert public.requests == [{"host": "hooks.example.com", "path": "/in"}]
    assert calls["hooks.example.com"] == 1, "resolved once, at the check"


def test_when_the_first_checked_address_refuses_the_next_one_is_tried(db, tenant_a, config, monkeypatch, network):
    public, internal, connected = network
    config(WEBHOOK_ALLOW_PRIVATE=False, WEBHOOK_TIMEOUT_SECONDS=5)
    delivery_id = _delivery(db, tenant_a, "http://hooks.example.com/in")
    _resolver(monkeypatch, {"hooks.example.com": [["93.184.216.35", PUBLIC_V4], ["127.0.0.1"]]})
    assert notify.deliver_webhook(delivery_id).status == "delivered"
    assert connected == [("93.184.216.35", 80), (PUBLIC_V4, 80)] and len(public.requests) == 1


def test_a_rebound_name_is_refused_at_the_next_delivery(db, tenant_a, config, monkeypatch, network):
    public, internal, connected = network
    config(WEBHOOK_ALLOW_PRIVATE=False)
    delivery_id = _delivery(db, tenant_a, "http://hooks.example.com/in")
    _resolver(monkeypatch, {"hooks.example.com": [["127.0.0.1"]]})
    assert notify.deliver_webhook(delivery_id).status == "dead"
    assert connected == [] and internal.requests == []
    assert "refused" in db.session.get(WebhookDelivery, delivery_id).last_error


def test_https_is_pinned_with_the_host_as_server_name_and_host_header(app, monkeypatch):
    _resolver(monkeypatch, {"hooks.example.com": [[PUBLIC_V4], ["127.0.0.1"]]})
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers["host"], request.extensions.get("sni_hostname")))
        return httpx.Response(204)

    with app.test_request_context():
        target = webhooks.check_target("https://hooks.example.com/in?x=1", allow_private=False)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        webhooks.post(target, b"{}", {"content-type": "application/json"}, httpx.Timeout(5), client=client)
    assert seen == [(f"https://{PUBLIC_V4}/in?x=1", "hooks.example.com", "hooks.example.com")]
