"""Webhook endpoints of an organisation: Standard Webhooks signing, safe target addresses, admin use cases."""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from cogrow.alerts.models import AlertEvent, WebhookDelivery, WebhookEndpoint
from cogrow.core import audit, outbox
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from cogrow.core.fields import has_control, has_invisible
from cogrow.core.types import utcnow
from cogrow.extensions import db

logger = logging.getLogger("cogrow.alerts")

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for at least 24
MAX_ENDPOINTS = 10


class UnsafeTarget(ValueError):
    """A webhook URL that points at this network (private, loopback, link-local...) or is not http(s)."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header: 'v1,' + base64(HMAC-SHA256(key, 'id.timestamp.body'))."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


# Address ranges that carry an IPv4 address inside an IPv6 one, or that only a local translator can reach.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a network's own translator
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 (SIIT)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated since 2006; nothing public uses it
# What inet_aton() reads as an IPv4 address: 1 to 4 parts, each decimal, octal (0...) or hex (0x...).
_INET_ATON = re.compile(r"(0[xX][0-9a-fA-F]*|[0-9]+)(\.(0[xX][0-9a-fA-F]*|[0-9]+)){0,3}\.?")


@dataclass(frozen=True)
class Target:
    """A checked webhook URL and the addresses it was checked at; no addresses means "connect as named"."""

    url: str
    host: str
    addresses: tuple[str, ...] = ()
    literal: bool = False  # the URL names an IP address itself


def _plainly_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_unspecified)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: 6to4, Teredo (server and client) and SIIT forms."""
    found: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _IPV4_TRANSLATED:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public(address: str) -> bool:
    """True only for a global unicast address that embeds no private, loopback or otherwise local IPv4 address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return _plainly_public(ip)
    if ip.ipv4_mapped is not None:
        return _plainly_public(ip.ipv4_mapped)
    if ip in _NAT64:  # what DNS64 answers an IPv6-only network for an IPv4 host: as public as that host
        return _plainly_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip in _IPV4_COMPATIBLE or ip in _NAT64_LOCAL or ip.is_site_local or not _plainly_public(ip):
        return False
    return all(_plainly_public(embedded) for embedded in _embedded_ipv4(ip))


def allowed_ports() -> tuple[int, ...]:
    return tuple(current_app.config.get("WEBHOOK_ALLOWED_PORTS") or (80, 443))


def check_target(url: str, allow_private: bool | None = None) -> Target:
    """Refuse anything but http(s) to public addresses on allowed ports; return the addresses that passed.

    Every address the host resolves to must be public. A delivery connects to the returned addresses only, so DNS
    cannot answer otherwise between the check and the connection. The check runs when an endpoint is added and
    again before each delivery.
    """
    if allow_private is None:
        allow_private = bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE", False))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeTarget(_("Not a valid URL.")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget(_("Use an http:// or https:// URL with a host name."))
    if parts.username or parts.password:
        raise UnsafeTarget(_("Credentials in the URL are not allowed; the signature authenticates us."))
    host = parts.hostname
    try:
        literal = str(ipaddress.ip_address(host))
    except ValueError:
        literal = None
        if _INET_ATON.fullmatch(host):
            # 2130706433, 0x7f.1 or 0177.0.0.1: resolvers read these as IPv4 addresses; only one spelling is allowed.
            raise UnsafeTarget(_("Write an IPv4 address as four decimal numbers, such as 203.0.113.10.")) from None
    if allow_private:  # development and tests only (COGROW_WEBHOOK_ALLOW_PRIVATE): any address, any port
        return Target(url, host, (), literal is not None)
    port = port or (443 if parts.scheme == "https" else 80)
    if port not in allowed_ports():
        raise UnsafeTarget(_("Port %(port)s is not allowed for webhooks; use one of: %(ports)s.", port=port,
                             ports=", ".join(str(p) for p in allowed_ports())))
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError):
            raise UnsafeTarget(_("The host name does not resolve.")) from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))  # in the resolver's order of preference
    if not addresses or not all(is_public(a) for a in addresses):
        raise UnsafeTarget(_("The address is private, loopback or link-local; webhooks go to public addresses only."))
    return Target(url, host, tuple(addresses), literal is not None)


def post(target: Target, content: bytes, headers: dict[str, str], timeout: httpx.Timeout,
         client: httpx.Client | None = None) -> httpx.Response:
    """POST to the checked addresses only: the URL names the address, while Host and the TLS server name (SNI, and
    so the certificate check) name the host. Each address is tried in turn until one accepts the connection."""
    url = httpx.URL(target.url)
    routes: list[tuple[httpx.URL, dict[str, str], dict[str, Any]]] = []
    if target.literal or not target.addresses:
        routes.append((url, {}, {}))
    else:
        pinned_headers = {"host": url.netloc.decode("ascii")}
        extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
        routes += [(url.copy_with(host=address.split("%", 1)[0]), pinned_headers, extensions)
                   for address in target.addresses]
    own = client is None
    client = client or httpx.Client(follow_redirects=False, trust_env=False)

    def send(route: httpx.URL, extra: dict[str, str], extensions: dict[str, Any]) -> httpx.Response:
        return client.post(route, content=content, headers={**headers, **extra}, timeout=timeout,
                           extensions=extensions, follow_redirects=False)

    try:
        for route in routes[:-1]:
            try:
                return send(*route)
            except httpx.ConnectError:
                continue  # the next checked address of the same host
        return send(*routes[-1])
    finally:
        if own:
            client.close()


def _admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(_("Only an administrator manages webhooks."))


def list_endpoints(actor: Actor) -> list[WebhookEndpoint]:
    _admin(actor)
    return list(db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.organisation_id == actor.organisation_id)
                                   .order_by(WebhookEndpoint.id)))


def get_endpoint(actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    _admin(actor)
    endpoint = db.session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.organisation_id == actor.organisation_id))
    if endpoint is None:
        raise NotFound(_("No such webhook endpoint."))
    return endpoint


def create_endpoint(actor: Actor, url: str, description: str = "") -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; returns it with its secret, which is shown this once."""
    _admin(actor)
    url = (url or "").strip()
    if not url:
        raise ValidationFailed(_("Some fields are not valid."), fields={"url": _("This field is required.")})
    if len(url) > 2000 or has_control(url) or has_invisible(url) or any(c.isspace() for c in url):
        raise ValidationFailed(_("Some fields are not valid."), fields={"url": _("Not a valid URL.")})
    try:
        check_target(url)
    except UnsafeTarget as exc:
        raise ValidationFailed(_("Some fields are not valid."), fields={"url": str(exc)}) from None
    count = db.session.scalar(select(func.count()).select_from(WebhookEndpoint).where(
        WebhookEndpoint.organisation_id == actor.organisation_id, WebhookEndpoint.active.is_(True))) or 0
    if count >= MAX_ENDPOINTS:
        raise Conflict(_("At most %(n)s active endpoints per organisation.", n=MAX_ENDPOINTS))
    secret = new_secret()
    endpoint = WebhookEndpoint(organisation_id=actor.organisation_id, url=url, description=(description or "")[:200],
                               secret=secret, active=True, created_by_id=actor.user_id)
    db.session.add(endpoint)
    db.session.flush()
    audit.record(actor, "webhook.created", endpoint, detail={"url": url})
    db.session.commit()
    logger.info("webhook endpoint %s added by %s", endpoint.id, actor)
    return endpoint, secret


def disable_endpoint(actor: Actor, endpoint_id: int, reason: str | None = None) -> WebhookEndpoint:
    endpoint = get_endpoint(actor, endpoint_id)
    if endpoint.active:
        endpoint.active, endpoint.disabled_at = False, utcnow()
        endpoint.disabled_reason = (reason or _("Disabled by an administrator."))[:200]
        audit.record(actor, "webhook.disabled", endpoint)
        db.session.commit()
    return endpoint


def recent_deliveries(actor: Actor, limit: int = 100, status: str | None = None) -> list[WebhookDelivery]:
    _admin(actor)
    query = (select(WebhookDelivery).join(WebhookEndpoint)
             .where(WebhookEndpoint.organisation_id == actor.organisation_id)
             .options(joinedload(WebhookDelivery.endpoint), joinedload(WebhookDelivery.event).joinedload(AlertEvent.alert))
             .order_by(WebhookDelivery.id.desc()).limit(limit))
    if status:
        query = query.where(WebhookDelivery.status == status)
    return list(db.session.scalars(query))


def get_delivery(actor: Actor, delivery_id: int) -> WebhookDelivery:
    _admin(actor)
    delivery = db.session.scalar(select(WebhookDelivery).join(WebhookEndpoint).where(
        WebhookDelivery.id == delivery_id, WebhookEndpoint.organisation_id == actor.organisation_id))
    if delivery is None:
        raise NotFound(_("No such delivery."))
    return delivery


def redeliver(actor: Actor, delivery_id: int, now: datetime | None = None) -> WebhookDelivery:
    """Send a failed delivery again from the first attempt; the notify outbox row brings it to a worker."""
    delivery = get_delivery(actor, delivery_id)
    if delivery.status == "delivered":
        raise Conflict(_("This delivery already arrived."), state=delivery.status)
    if not delivery.endpoint.active:
        raise Conflict(_("The endpoint is disabled."), state="disabled")
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, now or utcnow()
    event = db.session.get(AlertEvent, delivery.event_id)
    outbox.enqueue("notify", {"event_id": event.uuid, "alert_id": event.alert_id, "kind": "redeliver"})
    audit.record(actor, "webhook.redelivered", delivery)
    db.session.commit()
    return delivery
