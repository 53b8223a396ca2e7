"""Outgoing e-mail: an outbox table in development and tests, SMTP in production.

Services build an `Email`; routes hand it to `send()` only after their commit, so that no
message goes out for a change that was rolled back. The outbox transport writes the message
to `outbox_message` (shown to staff at /outbox) instead of sending it.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import db
from clinic.models.base import UTCDateTime, utcnow


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


class OutboxMessage(db.Model):
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
    """Deliver a message after the caller's commit (the outbox commits its own row)."""
    transport = current_app.config["MAIL_TRANSPORT"]
    if transport == "outbox":
        db.session.add(
            OutboxMessage(recipient=message.to, subject=message.subject, body=message.body)
        )
        db.session.commit()
    elif transport == "smtp":
        _send_smtp(message)
    else:
        raise RuntimeError(f"unknown MAIL_TRANSPORT {transport!r}")


def _send_smtp(message: Email) -> None:
    config = current_app.config
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
