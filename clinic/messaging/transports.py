"""How a patient message leaves: e-mail through the mail transport, texts through an SMS
transport (a local outbox in development, Twilio's HTTP API in production, or none at all when
the clinic sends no texts).

Everything here runs in the worker, never in a request. E-mail is written into the worker's
own transaction (the outbox row, or the `outgoing_message` queue that `flask worker` delivers
with retries), so it exists exactly when the message is marked sent. A text message to Twilio
is an HTTP call made outside any transaction; the worker records the outcome afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from flask import current_app

from clinic.jobs import queue
from clinic.jobs.models import OutgoingMessage
from clinic.mail import OutboxMessage
from clinic.messaging.models import SmsOutboxMessage

TWILIO_TIMEOUT_SECONDS = 15


class SmsFailure(Exception):
    """The SMS provider did not take the message; `permanent` when retrying cannot help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def email_into(session: queue.AnySession, to: str, subject: str, body: str) -> int | None:
    """Write one e-mail into `session` the way `clinic.mail.send` does: the outbox row, or the
    delivery queue (returns the queued message's id, to show its delivery status)."""
    transport = current_app.config["MAIL_TRANSPORT"]
    if transport == "outbox":
        session.add(OutboxMessage(recipient=to, subject=subject, body=body))
        session.flush()
        return None
    if transport == "smtp":
        queued: OutgoingMessage = queue.enqueue(session, to, subject, body)
        return queued.id
    raise RuntimeError(f"unknown MAIL_TRANSPORT {transport!r}")


@dataclass(frozen=True)
class SmsResult:
    provider_id: str | None


class SmsTransport(Protocol):
    """Sends one text message; raises SmsFailure when it was not taken."""

    in_transaction: bool  # True: writes into the worker's transaction (the outbox)

    def send(self, session: queue.AnySession | None, to: str, body: str) -> SmsResult: ...


class OutboxSms:
    """Development: the text is kept in `sms_outbox_message` for staff to read."""

    in_transaction = True

    def send(self, session: queue.AnySession | None, to: str, body: str) -> SmsResult:
        assert session is not None
        row = SmsOutboxMessage(recipient=to, body=body)
        session.add(row)
        session.flush()
        return SmsResult(provider_id=f"outbox-{row.id}")


TEXTS_OFF = "Text messages are turned off at this clinic."


class NoSms:
    """SMS_TRANSPORT=off: the clinic sends no texts; a text already written (one waiting for
    a retry) fails for good rather than waiting for a provider that will never come."""

    in_transaction = False

    def send(self, session: queue.AnySession | None, to: str, body: str) -> SmsResult:
        raise SmsFailure(TEXTS_OFF, permanent=True)


class TwilioSms:
    """Twilio's Messages API (POST …/Accounts/{sid}/Messages.json, HTTP basic auth)."""

    in_transaction = False

    def __init__(self, account_sid: str, auth_token: str, from_number: str, base: str) -> None:
        if not (account_sid and auth_token and from_number):
            raise RuntimeError(
                "SMS_TRANSPORT=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                "TWILIO_FROM_NUMBER."
            )
        if not base.startswith(("https://", "http://")):
            raise RuntimeError("TWILIO_API_BASE must be an http(s) address.")
        self.sid, self.token, self.sender, self.base = account_sid, auth_token, from_number, base

    def send(self, session: queue.AnySession | None, to: str, body: str) -> SmsResult:
        url = f"{self.base.rstrip('/')}/2010-04-01/Accounts/{self.sid}/Messages.json"
        data = urllib.parse.urlencode({"To": to, "From": self.sender, "Body": body}).encode()
        credentials = base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        # the scheme is http(s) only: checked in __init__
        request = urllib.request.Request(  # noqa: S310
            url,
            data=data,
            method="POST",
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TWILIO_TIMEOUT_SECONDS) as answer:  # noqa: S310
                payload = json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as err:
            # 4xx: Twilio refused this message (bad number, unsubscribed); 429 / 5xx: try later
            permanent = 400 <= err.code < 500 and err.code != 429
            raise SmsFailure(f"Twilio answered {err.code}.", permanent=permanent) from None
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise SmsFailure(f"Twilio could not be reached ({type(err).__name__}).") from None
        return SmsResult(provider_id=payload.get("sid"))


def sms_transport() -> SmsTransport:
    config = current_app.config
    name = config["SMS_TRANSPORT"]
    if name == "outbox":
        return OutboxSms()
    if name == "off":
        return NoSms()
    if name == "twilio":
        return TwilioSms(
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            config["TWILIO_FROM_NUMBER"],
            config["TWILIO_API_BASE"],
        )
    raise RuntimeError(f"unknown SMS_TRANSPORT {name!r}")


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's request signature: HMAC-SHA1 over the URL and the sorted POST parameters."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(auth_token: str, url: str, params: Mapping[str, str], given: str) -> bool:
    if not auth_token or not given:
        return False
    return hmac.compare_digest(twilio_signature(auth_token, url, params), given)
