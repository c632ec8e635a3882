"""The development mail catcher's pages: where an admin reads the e-mail kept as .eml files under MAIL_DIR.

With COGROW_MAIL_BACKEND=file (the embedded default) nothing is sent by SMTP; cogrow.core.mail writes each message
to `var/mail/`. The pages live here, not in core, because who may read a message depends on the organisation's
members. They exist only in development and testing. An admin sees the messages addressed to members of their own
organisation, never another organisation's mail.
"""
from __future__ import annotations

import os
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from flask import Blueprint, current_app, g, render_template
from sqlalchemy import func, select

from cogrow.accounts.models import Membership, User
from cogrow.core.auth import requires
from cogrow.core.errors import NotFound
from cogrow.extensions import db

bp = Blueprint("devmail", __name__)

ENVIRONMENTS = ("development", "testing")
LIST_LIMIT = 200
_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,120}\.eml$")


def _read(path: Path) -> EmailMessage:
    with path.open("rb") as fh:
        return BytesParser(policy=policy.default).parse(fh)


def _recipients(message: EmailMessage) -> set[str]:
    return {address.strip().lower() for _name, address in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))
            if address}


def _member_addresses(organisation_id: int) -> set[str]:
    rows = db.session.scalars(select(func.lower(User.email)).join(Membership, Membership.user_id == User.id)
                              .where(Membership.organisation_id == organisation_id))
    return set(rows)


def _summary(path: Path, message: EmailMessage) -> dict:
    try:
        sent = parsedate_to_datetime(message["Date"]) if message["Date"] else None
    except (TypeError, ValueError):
        sent = None
    return {"name": path.name, "subject": str(message["Subject"] or ""), "to": str(message["To"] or ""),
            "sender": str(message["From"] or ""), "sent": sent}


def visible_messages(organisation_id: int, directory: str | os.PathLike, limit: int = LIST_LIMIT) -> list[dict]:
    """The newest messages addressed to a member of the organisation."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    members = _member_addresses(organisation_id)
    found = []
    for path in sorted((p for p in folder.iterdir() if _NAME.match(p.name)), key=lambda p: p.name, reverse=True):
        message = _read(path)
        if _recipients(message) & members:
            found.append(_summary(path, message))
            if len(found) >= limit:
                break
    return found


def _guard() -> None:
    # Outside development and testing the pages do not exist (production mail goes out by SMTP).
    if current_app.config.get("ENV_NAME") not in ENVIRONMENTS:
        raise NotFound()


@bp.get("/dev/mail")
@requires("admin")
def inbox():
    _guard()
    directory = current_app.config["MAIL_DIR"]
    return render_template("dev/mail.html", messages=visible_messages(g.actor.organisation_id, directory),
                           message=None, directory=directory, backend=current_app.config.get("MAIL_BACKEND"))


@bp.get("/dev/mail/<mail_name>")
@requires("admin")
def show(mail_name: str):
    _guard()
    directory = Path(current_app.config["MAIL_DIR"])
    path = directory / mail_name
    if not _NAME.match(mail_name) or not path.is_file():
        raise NotFound()
    message = _read(path)
    if not _recipients(message) & _member_addresses(g.actor.organisation_id):
        raise NotFound()  # another organisation's mail: as if it did not exist
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    return render_template("dev/mail.html", messages=None, message=_summary(path, message), body=text,
                           directory=str(directory), backend=current_app.config.get("MAIL_BACKEND"))
