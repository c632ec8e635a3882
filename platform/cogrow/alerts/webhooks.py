"""Webhook endpoints of an organisation: Standard Webhooks signing, safe target addresses, admin use cases."""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from cogrow.alerts.models import AlertEvent, WebhookDelivery, WebhookEndpoint
from cogrow.core import audit, outbox
from cogrow.core.auth import Actor
from cogrow.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from cogrow.core.types import utcnow
from cogrow.core.validation import has_control_chars
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


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_unspecified)


def check_target(url: str, allow_private: bool | None = None) -> None:
    """Refuse anything but http(s) to public addresses; every address the host resolves to must be public.

    The check runs when an endpoint is added and again before each delivery (DNS may have changed).
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
    if allow_private:
        return
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError):
            raise UnsafeTarget(_("The host name does not resolve.")) from None
        addresses = sorted({info[4][0] for info in infos})
    if not addresses or not all(_is_public(a) for a in addresses):
        raise UnsafeTarget(_("The address is private, loopback or link-local; webhooks go to public addresses only."))


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
    if len(url) > 2000 or has_control_chars(url) or any(c.isspace() for c in url):
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
