"""Sending e-mail: the one transport every domain's mail goes through (alert deliveries, forecast notices).

MAIL_BACKEND picks it: "smtp" (MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS, MAIL_USERNAME/MAIL_PASSWORD, with
MAIL_TIMEOUT_SECONDS) or "file", where each message is kept as an .eml file under MAIL_DIR for the development
mail pages (/dev/mail) to show. A failure raises OSError or smtplib.SMTPException (SEND_ERRORS); the caller
records it and retries. This module imports no domain.
"""
from __future__ import annotations

import logging
import os
import secrets
import smtplib
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from flask import current_app

logger = logging.getLogger("cogrow.mail")

# What a failed send raises: a refused connection, a timeout, or an SMTP error answer.
SEND_ERRORS = (OSError, smtplib.SMTPException)


def write_message(message: EmailMessage, directory: str | os.PathLike) -> Path:
    """Store one message as `<UTC time>-<random>.eml`; written aside and renamed, so a reader never sees half."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    if message["Date"] is None:
        message["Date"] = format_datetime(now)
    name = f"{now:%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}.eml"
    partial = folder / f".{name}.part"
    partial.write_bytes(message.as_bytes(policy=policy.SMTP))
    os.replace(partial, folder / name)
    logger.info("e-mail to %s kept in %s (COGROW_MAIL_BACKEND=file)", message["To"], folder / name)
    return folder / name


def smtp_send(message: EmailMessage) -> None:
    """Hand the message to the configured SMTP server (STARTTLS and login when configured)."""
    cfg = current_app.config
    with smtplib.SMTP(cfg.get("MAIL_SERVER", "127.0.0.1"), int(cfg.get("MAIL_PORT", 25)),
                      timeout=int(cfg.get("MAIL_TIMEOUT_SECONDS", 10))) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)


def send(message: EmailMessage) -> None:
    """Send a rendered message through the configured backend: SMTP, or a file a developer reads at /dev/mail."""
    cfg = current_app.config
    if cfg.get("MAIL_BACKEND", "smtp") == "file":
        write_message(message, cfg["MAIL_DIR"])
    else:
        smtp_send(message)
