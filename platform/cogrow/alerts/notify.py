"""Notifications of alert events: fan-out to inboxes, e-mails and webhooks, each sent once per event id.

Once-only works in two steps. The fan-out inserts one delivery row per (event, user) or (event, endpoint) with
INSERT ... ON CONFLICT DO NOTHING, so running it twice, or concurrently, adds nothing. A sender then *claims* a
row with a conditional UPDATE (status pending or failed, attempt due) and keeps that transaction open while it
sends, marking the row sent before it commits: on PostgreSQL a second sender blocks on the row lock and then
finds the row sent; on SQLite BEGIN IMMEDIATE serialises them. The one window left is a crash after the SMTP
server or the receiver accepted the message and before the commit: the claim rolls back and that one message
is sent again on the retry (at most one duplicate per crash; webhook receivers dedupe on webhook-id).
"""
from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Any

import httpx
from flask import current_app, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from cogrow.accounts.models import Membership, User
from cogrow.alerts import webhooks
from cogrow.alerts.explain import MEASURES, event_label, explain, measure_label, qty_label, reason_text, type_label
from cogrow.alerts.explain import qty as explain_qty
from cogrow.alerts.models import (
    Alert, AlertEvent, EmailDelivery, InboxEntry, NotificationPreference, WebhookDelivery, WebhookEndpoint,
)
from cogrow.alerts.services import RECIPIENT_ROLES, headline
from cogrow.core import formatting, mail
from cogrow.core.fields import decimal_text
from cogrow.core.models import OutboxEvent
from cogrow.core.types import utcnow
from cogrow.core.weeks import local_today
from cogrow.extensions import db
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.alerts")

BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 6 * 3600
RETRYABLE = ("pending", "failed")


@dataclass
class FanOut:
    """What a fan-out left to send: delivery ids for the sender tasks."""

    emails: list[int] = field(default_factory=list)
    webhooks: list[int] = field(default_factory=list)


@dataclass
class Outcome:
    """The result of one send attempt: the row's new status, and when to try again (seconds) if at all."""

    status: str
    retry_in: float | None = None


def backoff(attempts: int) -> float:
    """Exponential backoff with jitter: half the step fixed, half random, capped."""
    step = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return step / 2 + random.uniform(0, step / 2)


def max_attempts() -> int:
    return int(current_app.config.get("NOTIFY_MAX_ATTEMPTS", 8))


def _insert_ignore(model, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING on the table's unique keys (PostgreSQL and SQLite)."""
    if not rows:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(model).values(rows).on_conflict_do_nothing())


def alert_url(alert_id: int) -> str:
    return f"{current_app.config.get('PUBLIC_URL', '').rstrip('/')}/alerts/{alert_id}"


# ---------------------------------------------------------------------------------------------------------------
# Fan-out.

def dispatch(outbox_id: int, now: datetime | None = None) -> FanOut:
    """Fan the alert event named by a notify outbox row out to inboxes, e-mail rows and webhook rows."""
    row = db.session.get(OutboxEvent, outbox_id)
    if row is None or row.topic != "notify" or not isinstance(row.payload, dict):
        logger.warning("outbox row %s is not a notify event", outbox_id)
        return FanOut()
    event = db.session.scalar(select(AlertEvent).where(AlertEvent.uuid == str(row.payload.get("event_id"))))
    if event is None:
        logger.warning("outbox row %s names an unknown event %s", outbox_id, row.payload.get("event_id"))
        return FanOut()
    return fan_out(event.id, now)


def recipients(rel: SupplyRelationship) -> list[tuple[int, int, str]]:
    """(user id, organisation id, e-mail mode) of everyone who gets this relationship's alerts."""
    sides = or_(*[
        (Membership.organisation_id == org_id) & Membership.role.in_(RECIPIENT_ROLES[kind])
        for org_id, kind in ((rel.prime_id, "prime"), (rel.supplier_id, "supplier"))
    ])
    rows = db.session.execute(
        select(Membership.user_id, Membership.organisation_id, NotificationPreference.email_mode)
        .join(User, User.id == Membership.user_id)
        .outerjoin(NotificationPreference, NotificationPreference.user_id == Membership.user_id)
        .where(sides, User.active.is_(True)).order_by(Membership.user_id, Membership.organisation_id))
    seen: dict[int, tuple[int, int, str]] = {}
    for user_id, org_id, mode in rows:
        seen.setdefault(user_id, (user_id, org_id, mode or "each"))
    return list(seen.values())


def fan_out(event_id: int, now: datetime | None = None) -> FanOut:
    """Insert the delivery rows of one event (idempotent) and commit; return the rows still to be sent."""
    now = now or utcnow()
    event = db.session.get(AlertEvent, event_id)
    alert = db.session.get(Alert, event.alert_id)
    rel = db.session.get(SupplyRelationship, alert.relationship_id)
    people = recipients(rel)
    _insert_ignore(InboxEntry, [{"user_id": u, "organisation_id": o, "event_id": event.id, "alert_id": alert.id,
                                 "created_at": now, "read_at": None} for u, o, _mode in people])
    _insert_ignore(EmailDelivery, [
        {"user_id": u, "event_id": event.id, "digest_key": None, "digest_id": None,
         "status": "pending" if mode == "each" else "digest", "attempts": 0, "next_attempt_at": None,
         "last_error": None, "created_at": now, "sent_at": None}
        for u, _o, mode in people if mode in ("each", "digest")])
    endpoints = db.session.scalars(select(WebhookEndpoint.id).where(
        WebhookEndpoint.organisation_id.in_((rel.prime_id, rel.supplier_id)), WebhookEndpoint.active.is_(True))).all()
    _insert_ignore(WebhookDelivery, [
        {"event_id": event.id, "endpoint_id": e, "status": "pending", "attempts": 0, "next_attempt_at": None,
         "last_status_code": None, "last_error": None, "created_at": now, "delivered_at": None} for e in endpoints])
    db.session.commit()
    emails = db.session.scalars(select(EmailDelivery.id).where(
        EmailDelivery.event_id == event.id, EmailDelivery.status.in_(RETRYABLE)).order_by(EmailDelivery.id)).all()
    hooks = db.session.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.event_id == event.id, WebhookDelivery.status.in_(RETRYABLE)).order_by(WebhookDelivery.id)).all()
    logger.info("event %s (%s of alert %s): %s people, %s e-mails, %s webhooks to send", event.uuid, event.kind,
                alert.id, len(people), len(emails), len(hooks))
    return FanOut(list(emails), list(hooks))


# ---------------------------------------------------------------------------------------------------------------
# Claiming and recording attempts.

def _lease_seconds() -> int:
    """How long a claimed row is left to its sender: twice the longest network timeout, plus a margin."""
    cfg = current_app.config
    if cfg.get("NOTIFY_LEASE_SECONDS"):
        return int(cfg["NOTIFY_LEASE_SECONDS"])
    return 2 * max(int(cfg.get("MAIL_TIMEOUT_SECONDS") or 10), int(cfg.get("WEBHOOK_TIMEOUT_SECONDS") or 10)) + 10


def _claim(model, delivery_id: int, now: datetime) -> bool:
    """Lease a due, unsent row and commit at once: no lock is held while the message is on the wire (SQLite would
    stop every writer, reconciliation included, for the whole SMTP or HTTP timeout). Until the lease ends the row
    is not due, so no other sender takes it; a sender that died is replaced by retry_due after it."""
    due = or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now)
    lease = now + timedelta(seconds=_lease_seconds())
    result = db.session.execute(update(model).where(model.id == delivery_id, model.status.in_(RETRYABLE), due)
                                .values(attempts=model.attempts + 1, next_attempt_at=lease))
    if (result.rowcount or 0) != 1:
        return False
    db.session.commit()
    return True


def _failed(delivery, error: str, now: datetime) -> Outcome:
    delivery.last_error = error[:500]
    if delivery.attempts >= max_attempts():
        delivery.status, delivery.next_attempt_at = "dead", None
        db.session.commit()
        logger.warning("%s %s dead after %s attempts: %s", type(delivery).__tablename__, delivery.id,
                       delivery.attempts, error)
        return Outcome("dead")
    delay = backoff(delivery.attempts)
    delivery.status, delivery.next_attempt_at = "failed", now + timedelta(seconds=delay)
    db.session.commit()
    return Outcome("failed", retry_in=delay)


# ---------------------------------------------------------------------------------------------------------------
# E-mail.

def _render_email(delivery: EmailDelivery, user: User) -> EmailMessage:
    locale = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "ko")
    with force_locale(locale):
        if delivery.event_id is not None:
            event = db.session.get(AlertEvent, delivery.event_id)
            items = [_email_item(event)]
            subject = _("[Cogrow] %(kind)s: %(type)s, %(part)s", kind=event_label(event.kind),
                        type=items[0]["type"], part=items[0]["part"])
        else:
            events = db.session.scalars(select(AlertEvent).join(EmailDelivery, EmailDelivery.event_id == AlertEvent.id)
                                        .where(EmailDelivery.digest_id == delivery.id).order_by(AlertEvent.id)
                                        .limit(500)).all()
            items = [_email_item(e) for e in events]
            subject = _("[Cogrow] Daily digest: %(n)s alert events", n=len(items))
        body = render_template("alerts/email.txt", user=user, items=items, digest=delivery.event_id is None,
                               settings_url=f"{current_app.config.get('PUBLIC_URL', '').rstrip('/')}/settings/notifications")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config.get("MAIL_FROM", "Cogrow <no-reply@cogrow.localhost>")
    message["To"] = formataddr((user.name, user.email))
    # A stable Message-ID per (delivery): a mail system that sees the same message twice can drop the copy.
    domain = parseaddr(message["From"])[1].partition("@")[2] or "cogrow.localhost"
    message["Message-ID"] = f"<delivery-{delivery.id}@{domain}>"
    message.set_content(body)
    return message


def _email_item(event: AlertEvent) -> dict[str, Any]:
    alert = db.session.get(Alert, event.alert_id)
    rel = db.session.get(SupplyRelationship, alert.relationship_id)
    qty, amount = (event.qty, event.amount) if event.qty is not None else headline(alert.type, event.numbers)
    return {"kind": event_label(event.kind), "type": type_label(alert.type), "part": alert.item.prime_part_number,
            "severity": event.severity, "url": alert_url(alert.id),
            "text": explain(alert.type, event.numbers, alert.context, rel.currency),
            "figures": f"{qty_label(alert.type)} {explain_qty(qty)} · {measure_label(alert.type)} "
                       f"{formatting.format_money(amount, rel.currency, locale=get_locale())}",
            "at": formatting.format_moment(event.at, locale=get_locale()),
            "reason": reason_text(alert.type, event.reason, event.numbers) if event.reason else ""}


def send_email(delivery_id: int, now: datetime | None = None) -> Outcome:
    """Send one e-mail delivery if it is due and nobody else has sent it; record the outcome."""
    now = now or utcnow()
    if not _claim(EmailDelivery, delivery_id, now):
        db.session.rollback()
        return Outcome("skipped")
    delivery = db.session.get(EmailDelivery, delivery_id)
    db.session.refresh(delivery)
    user = db.session.get(User, delivery.user_id)
    if user is None or not user.active:
        delivery.status, delivery.last_error = "dead", "user inactive"
        db.session.commit()
        return Outcome("dead")
    if not current_app.config.get("MAIL_ENABLED", True):
        return _failed(delivery, "mail is disabled (COGROW_MAIL_ENABLED)", now)
    try:
        message = _render_email(delivery, user)
        db.session.commit()  # no transaction (on SQLite: no write lock) stays open while the mail server answers
        mail.send(message)
    except mail.SEND_ERRORS as exc:
        return _failed(delivery, f"{type(exc).__name__}: {exc}", now)
    delivery.status, delivery.sent_at, delivery.next_attempt_at, delivery.last_error = "sent", now, None, None
    db.session.commit()
    logger.info("e-mail delivery %s sent to user %s", delivery.id, user.id)
    return Outcome("sent")


def collect_digests(now: datetime | None = None) -> list[int]:
    """Gather every digest user's waiting events into one digest row per user and day; return rows to send."""
    now = now or utcnow()
    key = local_today(now).isoformat()
    users = db.session.scalars(select(EmailDelivery.user_id).where(EmailDelivery.status == "digest").distinct()).all()
    if not users:
        db.session.rollback()
        return []
    _insert_ignore(EmailDelivery, [{"user_id": u, "event_id": None, "digest_key": key, "digest_id": None,
                                    "status": "pending", "attempts": 0, "next_attempt_at": None, "last_error": None,
                                    "created_at": now, "sent_at": None} for u in users])
    digests = db.session.execute(select(EmailDelivery.id, EmailDelivery.user_id).where(
        EmailDelivery.digest_key == key, EmailDelivery.user_id.in_(users),
        EmailDelivery.status == "pending")).all()
    for digest_id, user_id in digests:
        # Only a digest not sent yet takes events; a second run the same day leaves later ones for tomorrow.
        db.session.execute(update(EmailDelivery).where(EmailDelivery.user_id == user_id,
                                                       EmailDelivery.status == "digest")
                           .values(status="digested", digest_id=digest_id))
    db.session.commit()
    return [d for d, _u in digests]


# ---------------------------------------------------------------------------------------------------------------
# Webhooks.

def webhook_body(event: AlertEvent) -> bytes:
    """The JSON payload of one event; built from the event's own snapshot, so every retry sends the same body."""
    alert = db.session.get(Alert, event.alert_id)
    qty, amount = (event.qty, event.amount) if event.qty is not None else headline(alert.type, event.numbers)
    payload = {
        "type": f"alert.{event.kind}",
        "timestamp": event.at.isoformat(),
        "data": {
            "event_id": event.uuid, "alert_id": alert.id, "alert_type": alert.type, "status": event.status,
            "severity": event.severity, "relationship_id": alert.relationship_id, "item_id": alert.item_id,
            "prime_part_number": alert.item.prime_part_number,
            "supplier_part_number": alert.item.supplier_part_number,
            "numbers": event.numbers, "context": alert.context, "url": alert_url(alert.id),
            # The alert's figures at this event; `measure` names what the amount is (a shortage's is
            # revenue_at_risk, not exposure).
            "qty": decimal_text(qty), "amount": decimal_text(amount), "measure": MEASURES.get(alert.type),
            "currency": alert.supply_relationship.currency,  # of amount and of numbers' amounts
            "reason": event.reason,
        },
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def deliver_webhook(delivery_id: int, now: datetime | None = None, client: httpx.Client | None = None) -> Outcome:
    """POST one signed delivery if due and unsent: 2xx delivered, 410 disables the endpoint, else retry/dead."""
    now = now or utcnow()
    if not _claim(WebhookDelivery, delivery_id, now):
        db.session.rollback()
        return Outcome("skipped")
    delivery = db.session.get(WebhookDelivery, delivery_id)
    db.session.refresh(delivery)
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    if not endpoint.active:
        delivery.status, delivery.last_error, delivery.next_attempt_at = "dead", "endpoint disabled", None
        db.session.commit()
        return Outcome("dead")
    try:
        with force_locale("en"):  # a worker has no request to pick a language from; the log is in English
            target = webhooks.check_target(endpoint.url)
    except webhooks.UnsafeTarget as exc:
        with force_locale("en"):
            reason = f"refused target: {exc}"[:500]
        delivery.status, delivery.last_error, delivery.next_attempt_at = "dead", reason, None
        db.session.commit()
        return Outcome("dead")
    event = db.session.get(AlertEvent, delivery.event_id)
    body = webhook_body(event)
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": "Cogrow-Webhooks/1",
        "webhook-id": event.uuid,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhooks.sign(endpoint.secret, event.uuid, timestamp, body),
    }
    seconds = float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", 10))
    timeout = httpx.Timeout(seconds, connect=min(seconds, 5.0))
    db.session.commit()  # no transaction (on SQLite: no write lock) stays open while the receiver answers
    try:
        response = webhooks.post(target, body, headers, timeout, client=client)  # to the checked address only
    except httpx.HTTPError as exc:
        delivery.last_status_code = None
        return _failed(delivery, f"{type(exc).__name__}: {exc}", now)
    delivery.last_status_code = response.status_code
    if 200 <= response.status_code < 300:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at, delivery.last_error = "delivered", now, None, None
        db.session.commit()
        return Outcome("delivered")
    if response.status_code == 410:
        # The receiver says the endpoint is gone for good: stop sending anything to it.
        endpoint.active, endpoint.disabled_at = False, now
        endpoint.disabled_reason = "410 Gone from the receiver"
        delivery.status, delivery.last_error, delivery.next_attempt_at = "dead", "410 Gone: endpoint disabled", None
        db.session.commit()
        logger.warning("webhook endpoint %s answered 410 and is disabled", endpoint.id)
        return Outcome("dead")
    return _failed(delivery, f"HTTP {response.status_code}", now)


# ---------------------------------------------------------------------------------------------------------------
# The safety net: rows whose task was lost (a broker restart) are picked up again.

def due_deliveries(now: datetime | None = None, limit: int = 500) -> FanOut:
    now = now or utcnow()
    out = FanOut()
    for model, target in ((EmailDelivery, out.emails), (WebhookDelivery, out.webhooks)):
        due = or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now)
        target.extend(db.session.scalars(select(model.id).where(model.status.in_(RETRYABLE), due)
                                         .order_by(model.id).limit(limit)))
    db.session.rollback()
    return out
