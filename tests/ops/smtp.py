"""A real SMTP server for tests (aiosmtpd), on a free port, that can be stopped and started
again on the same port to play a mail outage."""

from __future__ import annotations

import threading
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller

from tests.ops.servers import free_port


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self.messages.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        with self._lock:
            return [str(m["Subject"]) for m in self.messages]


class PrivateSmtp:
    """An SMTP server on 127.0.0.1 that the test starts, stops and starts again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def settings(self) -> dict:
        return {
            "MAIL_TRANSPORT": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_USE_TLS": False,
            "MAIL_USERNAME": "",
        }

    def start(self) -> PrivateSmtp:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
