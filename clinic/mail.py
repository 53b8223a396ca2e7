"""Outgoing e-mail: an outbox table in development and tests, a delivery queue for SMTP.

Services build an `Email` and hand it to `send()` inside the request's transaction; either
way the message is a row written in that same transaction, so it exists exactly when the
change that caused it was committed, and a mail server that is down loses nothing.
- `outbox`: the row is kept in `outbox_message` for staff to read at /outbox (never sent).
- `smtp`: the row goes to the `outgoing_message` queue (`clinic.jobs`); `flask worker`
  delivers it with retries (JOBS_MODE=worker), or this process does, right after the commit
  (JOBS_MODE=inline, development). No request ever waits for the mail server to fail.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from functools import partial

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context, request, url_for
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import Model, db
from clinic.jobs import queue
from clinic.models.base import UTCDateTime, utcnow
from clinic.transaction import after_commit

SMTP_TIMEOUT_SECONDS = 15


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
    """Write the message in the request's transaction (delivered only if it commits)."""
    transport = current_app.config["MAIL_TRANSPORT"]
    if transport == "outbox":
        db.session.add(
            OutboxMessage(recipient=message.to, subject=message.subject, body=message.body)
        )
    elif transport == "smtp":
        queue.enqueue(db.session, message.to, message.subject, message.body)
        deliver_soon()
    else:
        raise RuntimeError(f"unknown MAIL_TRANSPORT {transport!r}")


def queued_notice(what: str, to: str) -> str:
    """What staff are told once a message is written: queued, not yet delivered."""
    if outbox_enabled():
        return f"{what} for {to} is in the outbox."
    return (
        f"{what} for {to} is queued and will be e-mailed shortly. If the mail server is down, "
        "it goes out as soon as it is back; there is no need to send it again."
    )


class PermanentFailure(Exception):
    """The mail server refused the message for good (a 5xx answer): retrying cannot help."""


# Development's in-process delivery after the commit; `clinic.jobs.worker` fills it in when it
# is imported (the app factory imports it), so this transport never imports the worker.
INLINE_DELIVERY: list[Callable[[Flask], None]] = []


def deliver_soon() -> None:
    """In development, deliver what is due once this transaction commits; a worker does it
    otherwise."""
    config = current_app.config
    if config["JOBS_MODE"] != "inline" or config["MAIL_TRANSPORT"] != "smtp":
        return

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for deliver in INLINE_DELIVERY:
        after_commit(partial(deliver, app))


def deliver_smtp(claimed) -> None:
    """Hand one queued message to the SMTP server (raises on any failure)."""

    config = current_app.config
    mime = EmailMessage()
    mime["From"] = config["MAIL_FROM"]
    mime["To"] = claimed.recipient
    mime["Subject"] = claimed.subject
    mime.set_content(claimed.body)
    try:
        with smtplib.SMTP(
            config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=SMTP_TIMEOUT_SECONDS
        ) as smtp:
            if config["MAIL_USE_TLS"]:
                # Verify the server's certificate and name: starttls() without a context
                # encrypts but trusts any certificate, so anyone on the path could read the
                # sign-in links. A private CA: SSL_CERT_FILE names its certificate.
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(mime)
    except smtplib.SMTPRecipientsRefused:
        raise PermanentFailure("The mail server refused the recipient's address.") from None
    except smtplib.SMTPResponseException as err:
        if 500 <= err.smtp_code < 600:
            raise PermanentFailure(
                f"The mail server refused the message (answer {err.smtp_code})."
            ) from None
        raise


DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, on the clinic's public address (PUBLIC_BASE_URL).

    Without one (development), the address this request came in on, so a link written while
    the app runs on another port still works; outside a request, the development default.
    """
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        base = request.host_url if has_request_context() else DEVELOPMENT_BASE_URL
    return base.rstrip("/") + url_for(endpoint, **values)


_URL = re.compile(r"https?://[^\s<>\"\[\]]+")


def link_parts(body: str) -> list[tuple[str, bool]]:
    """A message body as (text, is_link) pieces, so the outbox shows its links as links.
    A link whose token is masked ("…/[hidden: …]") stays plain text."""
    parts: list[tuple[str, bool]] = []
    last = 0
    for match in _URL.finditer(body):
        url = match.group(0).rstrip(".,;:)")
        end = match.start() + len(url)
        masked = body[end : end + 7] == "[hidden"
        parts.append((body[last : match.start()], False))
        parts.append((url, not masked))
        last = end
    parts.append((body[last:], False))
    return [p for p in parts if p[0]]
