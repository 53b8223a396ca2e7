"""Outgoing e-mail: an outbox table in development and tests, SMTP in production.

Services build an `Email` and hand it to `send()` inside the request's transaction. The outbox
transport writes the message to `outbox_message` (shown to staff at /outbox) in that same
transaction; SMTP delivery is held until the transaction has committed
(`transaction.after_commit`), so no message goes out for a change that was rolled back.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import Model, db
from clinic.models.base import UTCDateTime, utcnow
from clinic.transaction import after_commit


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


class OutboxMessage(Model):
    """A message kept locally instead of being sent (MAIL_TRANSPORT=outbox)."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    recipient: Mapped[str] = mapped_column(sa.String(254), nullable=False, index=True)
    subject: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)


def outbox_enabled() -> bool:
    return current_app.config["MAIL_TRANSPORT"] == "outbox"


def send(message: Email) -> None:
    """Deliver a message once the request's change is committed (never if it rolls back)."""
    transport = current_app.config["MAIL_TRANSPORT"]
    if transport == "outbox":
        db.session.add(
            OutboxMessage(recipient=message.to, subject=message.subject, body=message.body)
        )
    elif transport == "smtp":
        config = current_app.config
        after_commit(lambda: _send_smtp(message, config))
    else:
        raise RuntimeError(f"unknown MAIL_TRANSPORT {transport!r}")


def _send_smtp(message: Email, config) -> None:
    mime = EmailMessage()
    mime["From"] = config["MAIL_FROM"]
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime.set_content(message.body)
    with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=15) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(mime)
