"""What the tenant-isolation walk needs to know about the development mail pages."""
from __future__ import annotations

from email.message import EmailMessage

from flask import current_app

from cogrow.core.mail import write_message


def _message_name(tenant, org, db) -> str:
    """A caught message addressed to an admin of `org` (the walk's allowed user opens it; nobody else may)."""
    admin = next(user for key, user in tenant.users.items() if key == f"{org.kind}:admin")
    message = EmailMessage()
    message["Subject"] = f"Walk message for {tenant.item.prime_part_number}"
    message["From"] = "Cogrow <no-reply@cogrow.localhost>"
    message["To"] = admin.email
    message.set_content(f"About {tenant.item.prime_part_number}.")
    return write_message(message, current_app.config["MAIL_DIR"]).name


WALK_VALUES = {"mail_name": _message_name}
