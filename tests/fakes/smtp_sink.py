"""aiosmtpd as the SMTP peer: records every accepted mail; outages and refusals on demand."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.servers import free_port


@dataclass
class Sink:
    """Handler: ``fail_data`` answers DATA with that reply (after recording the mail when
    ``record_failed``: a server that took the mail but whose reply was lost)."""

    messages: list[EmailMessage] = field(default_factory=list)
    accepted_at: list[float] = field(default_factory=list)  # time.monotonic() of each 250
    fail_data: str | None = None
    record_failed: bool = False
    refuse_rcpt: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse_rcpt is not None:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        mail = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        if self.fail_data is not None:
            if self.record_failed:
                self.messages.append(mail)
            return self.fail_data
        self.messages.append(mail)
        self.accepted_at.append(time.monotonic())
        return "250 Message accepted"

    async def wait_for(self, count: int, within: float = 10.0) -> list[EmailMessage]:
        """The SMTP server runs in its own thread: poll (an asyncio.Event cannot cross it)."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.messages) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{len(self.messages)} of {count} mails after {within} s")
            await asyncio.sleep(0.02)
        return self.messages


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.sink = Sink()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
