"""Forecast notices: firm-zone cuts told to the supplier, commits below forecast told to the prime's planners.

A notice is a row per user, written in the same transaction as the publication or the commits that caused it,
so it exists exactly when the change does. It shows on the user's forecast pages until read, and is e-mailed
once through the product's mail backend (cogrow.core.mail: SMTP, or files read at /dev/mail) by a Celery
task (`cogrow.forecasts.send_notices`, queued by tasks.send_pending after the commit: this module never imports
the tasks, the tasks import it). A row is claimed before it is sent (pending or failed -> sent, committed), so
two senders never send the same notice; a send that fails marks it failed and the next run tries again, up to
MAX_ATTEMPTS. Users whose alert e-mail preference is "off" get the notice in the app only.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from cogrow.accounts.models import Membership, User
from cogrow.core import mail
from cogrow.core.fields import decimal_text
from cogrow.core.types import utcnow
from cogrow.core.weeks import iso_label
from cogrow.extensions import db
from cogrow.forecasts.models import ForecastNotice, ForecastPublication
from cogrow.relationships.models import SupplyRelationship

logger = logging.getLogger("cogrow.forecasts")

NOTICE_CELLS = 200  # cells kept per notice (the version page shows them all)
MAX_ATTEMPTS = 5
SEND_BATCH = 200
SUPPLIER_ROLES = ("admin", "production")
PLANNER_ROLES = ("admin", "planner")


def _people(organisation_id: int, roles: Sequence[str]) -> list[tuple[int, str]]:
    """(user id, e-mail mode) of the organisation's active users in these roles: one query."""
    from cogrow.alerts.models import NotificationPreference

    rows = db.session.execute(
        select(Membership.user_id, NotificationPreference.email_mode)
        .join(User, User.id == Membership.user_id)
        .outerjoin(NotificationPreference, NotificationPreference.user_id == Membership.user_id)
        .where(Membership.organisation_id == organisation_id, Membership.role.in_(list(roles)),
               User.active.is_(True)).order_by(Membership.user_id)).all()
    return [(user_id, mode or "each") for user_id, mode in rows]


def _add(rel: SupplyRelationship, pub: ForecastPublication, organisation_id: int, roles: Sequence[str], kind: str,
         detail: dict[str, Any]) -> int:
    now = utcnow()
    people = _people(organisation_id, roles)
    db.session.add_all([ForecastNotice(
        relationship_id=rel.id, publication_id=pub.id, organisation_id=organisation_id, user_id=user_id, kind=kind,
        detail=detail, created_at=now, email_status="none" if mode == "off" else "pending", email_attempts=0)
        for user_id, mode in people])
    return len(people)


def firm_cuts(rel: SupplyRelationship, pub: ForecastPublication, previous: ForecastPublication | None,
              cuts: Sequence[Any]) -> int:
    """Tell the supplier's production people and admins that `pub` cut firm-zone cells (in the caller's
    transaction), with the prime's liability for the cut items before and after the cut."""
    total = sum((c.amount for c in cuts), Decimal(0))
    detail = {**_liability(rel, pub, previous, cuts),
        "version_no": pub.version_no, "previous_version_no": previous.version_no if previous else None,
        "reason": pub.cut_reason or "", "count": len(cuts), "amount": decimal_text(total),
        "units": decimal_text(sum((c.units for c in cuts), Decimal(0))),
        "currency": cuts[0].currency if cuts else rel.currency,
        "cells": [{"part": c.part_number, "week": iso_label(c.week), "from": decimal_text(c.previous),
                   "to": decimal_text(c.new), "amount": decimal_text(c.amount)} for c in cuts[:NOTICE_CELLS]],
    }
    return _add(rel, pub, rel.supplier_id, SUPPLIER_ROLES, "firm_cut", detail)


def _liability(rel: SupplyRelationship, pub: ForecastPublication, previous: ForecastPublication | None,
               cuts: Sequence[Any]) -> dict[str, str]:
    """The liability (coverage.liability, what the prime owes if it stopped buying now) of the cut items, over the
    new version (already written in this transaction) and over the previous one, by the ledger's own SQL."""
    from cogrow.coverage import whatif

    item_ids = {c.item_id for c in cuts}
    after = whatif.figures(rel.id, item_ids)
    before = whatif.figures(rel.id, item_ids, whatif.VERSION, previous.id) if previous is not None else {}
    return {"liability": decimal_text(sum((f.liability.amount for f in after.values()), Decimal(0))),
            "liability_before": decimal_text(sum((f.liability.amount for f in before.values()), Decimal(0)))}


def commits_below(rel: SupplyRelationship, pub: ForecastPublication, cells: Sequence[dict[str, Any]]) -> int:
    """Tell the prime's planners that the supplier committed below the forecast in these cells
    ({"part", "week", "forecast", "commit", "reason_code"})."""
    if not cells:
        return 0
    detail = {"version_no": pub.version_no, "count": len(cells), "cells": list(cells[:NOTICE_CELLS])}
    return _add(rel, pub, rel.prime_id, PLANNER_ROLES, "commit_below", detail)


# ---------------------------------------------------------------- reading

def unread(user_id: int, organisation_id: int, relationship_id: int | None = None, limit: int = 20
           ) -> list[ForecastNotice]:
    query = (select(ForecastNotice).where(ForecastNotice.user_id == user_id,
                                          ForecastNotice.organisation_id == organisation_id,
                                          ForecastNotice.read_at.is_(None))
             .order_by(ForecastNotice.id.desc()).limit(limit))
    if relationship_id is not None:
        query = query.where(ForecastNotice.relationship_id == relationship_id)
    return list(db.session.scalars(query))


def mark_read(user_id: int, organisation_id: int, relationship_id: int, publication_id: int) -> int:
    """The user opened the version: its notices to this user are read. Commits."""
    done = db.session.execute(update(ForecastNotice).where(
        ForecastNotice.user_id == user_id, ForecastNotice.organisation_id == organisation_id,
        ForecastNotice.relationship_id == relationship_id, ForecastNotice.publication_id == publication_id,
        ForecastNotice.read_at.is_(None)).values(read_at=utcnow())).rowcount
    db.session.commit()
    return done or 0


# ---------------------------------------------------------------- e-mail

def version_url(notice: ForecastNotice, version_no: int) -> str:
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    return f"{base}/relationships/{notice.relationship_id}/forecasts/{version_no}"


def render(notice: ForecastNotice, user: User) -> EmailMessage:
    rel = db.session.get(SupplyRelationship, notice.relationship_id)
    detail = notice.detail or {}
    with force_locale(user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "ko")):
        counterpart = rel.prime.name if notice.kind == "firm_cut" else rel.supplier.name
        if notice.kind == "firm_cut":
            subject = _("[Cogrow] %(prime)s cut %(n)s firm-zone forecast quantities (version %(v)s)",
                        prime=counterpart, n=detail.get("count", 0), v=detail.get("version_no"))
        else:
            subject = _("[Cogrow] %(supplier)s committed below forecast in %(n)s weeks (version %(v)s)",
                        supplier=counterpart, n=detail.get("count", 0), v=detail.get("version_no"))
        body = render_template("forecasts/email.txt", user=user, notice=notice, detail=detail,
                               counterpart=counterpart, url=version_url(notice, detail.get("version_no")))
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config.get("MAIL_FROM", "Cogrow <no-reply@cogrow.localhost>")
    message["To"] = formataddr((user.name, user.email))
    domain = parseaddr(message["From"])[1].partition("@")[2] or "cogrow.localhost"
    message["Message-ID"] = f"<forecast-notice-{notice.id}@{domain}>"
    message.set_content(body)
    return message


# The product's mail backend, the one alert e-mail uses (a test puts a failing one in its place).
transport = mail.send


def send(notice_id: int) -> str:
    """Claim one notice's e-mail (pending/failed -> sent, committed), then send it; a failure marks it failed."""
    claimed = db.session.execute(update(ForecastNotice).where(
        ForecastNotice.id == notice_id, ForecastNotice.email_status.in_(("pending", "failed")))
        .values(email_status="sent", emailed_at=utcnow(),
                email_attempts=ForecastNotice.email_attempts + 1)).rowcount
    db.session.commit()
    if not claimed:
        return "skipped"
    notice = db.session.get(ForecastNotice, notice_id)
    user = db.session.get(User, notice.user_id)
    if user is None or not user.active or not current_app.config.get("MAIL_ENABLED", True):
        notice.email_status, notice.last_error = "none", "user inactive or mail disabled"
        db.session.commit()
        return "none"
    try:
        message = render(notice, user)
        db.session.commit()
        transport(message)
    except mail.SEND_ERRORS as exc:
        notice.email_status = "dead" if notice.email_attempts >= MAX_ATTEMPTS else "failed"
        notice.last_error = f"{type(exc).__name__}: {exc}"[:500]
        db.session.commit()
        logger.warning("forecast notice %s e-mail %s: %s", notice_id, notice.email_status, exc)
        return notice.email_status
    logger.info("forecast notice %s e-mailed to user %s", notice_id, user.id)
    return "sent"


def send_all(limit: int = SEND_BATCH) -> dict[str, int]:
    ids = db.session.scalars(select(ForecastNotice.id).where(
        or_(ForecastNotice.email_status == "pending", ForecastNotice.email_status == "failed"))
        .order_by(ForecastNotice.id).limit(limit)).all()
    db.session.rollback()
    out: dict[str, int] = {}
    for notice_id in ids:
        status = send(notice_id)
        out[status] = out.get(status, 0) + 1
    return out


def count_unread(user_id: int, organisation_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ForecastNotice).where(
        ForecastNotice.user_id == user_id, ForecastNotice.organisation_id == organisation_id,
        ForecastNotice.read_at.is_(None))) or 0


def unread_by_relationship(user_id: int | None, organisation_id: int) -> dict[int, int]:
    """relationship id -> the user's unread forecast notices there: one GROUP BY query."""
    if user_id is None:
        return {}
    return dict(db.session.execute(
        select(ForecastNotice.relationship_id, func.count()).where(
            ForecastNotice.user_id == user_id, ForecastNotice.organisation_id == organisation_id,
            ForecastNotice.read_at.is_(None)).group_by(ForecastNotice.relationship_id)).all())
