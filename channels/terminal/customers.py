"""The terminal channel: the customer types, the bot answers. Works interactively and piped.

Piped (``printf 'q1\nq2\n' | frontdesk run``): one message per line; at end of input
``finished`` is set and the app exits once every line has been answered. Stdin is read on a
daemon thread because a blocking ``readline`` cannot be cancelled and must not keep the process
alive at shutdown.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
import textwrap
import threading
import uuid
from typing import TextIO

from channels.base import Author, ConversationRef, InboundHandler, InboundMessage, OutboundMessage
from config.errors import DeliveryRefused

_EOF = None


class TerminalChannel:
    name = "terminal"

    def __init__(
        self,
        customer_name: str = "you",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        bot_name: str = "frontdesk",
    ) -> None:
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self.bot_name = bot_name
        self.interactive = self.stdin.isatty()
        user = customer_name if customer_name != "you" else _login_name()
        self.author = Author(id=f"terminal:{user}", display_name=user)
        self._session = uuid.uuid4().hex[:12]
        # One conversation per session: like a new chat window, it starts with a clean slate.
        self.ref = ConversationRef(channel=self.name, conversation_id=f"{user}-{self._session}")
        self.finished = asyncio.Event()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None

    async def start(self, handler: InboundHandler) -> None:
        loop = asyncio.get_running_loop()

        def read() -> None:
            for line in self.stdin:
                loop.call_soon_threadsafe(self._lines.put_nowait, line)
            loop.call_soon_threadsafe(self._lines.put_nowait, _EOF)

        threading.Thread(target=read, name="frontdesk-stdin", daemon=True).start()
        self._pump = asyncio.create_task(self._forward(handler))
        if self.interactive:
            self._write("Type a question and press Enter (Ctrl-D to quit).")

    async def _forward(self, handler: InboundHandler) -> None:
        number = 0
        while (line := await self._lines.get()) is not _EOF:
            text = line.strip()
            if not text:
                continue
            number += 1
            await handler(
                InboundMessage(
                    ref=self.ref,
                    message_id=f"{self._session}-{number}",
                    author=self.author,
                    text=text,
                )
            )
        self.finished.set()

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None

    async def send(self, message: OutboundMessage) -> None:
        if message.ref != self.ref:
            # A reply for an earlier session (its window is gone): it can never be shown.
            raise DeliveryRefused(f"terminal session {message.ref.conversation_id} has ended")
        speaker = message.sender_name or self.bot_name
        body = textwrap.fill(message.text, width=100, subsequent_indent="  ")
        self._write(f"{speaker}> {body}")

    def _write(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "customer"
