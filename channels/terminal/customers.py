"""The terminal channel: the customer types, the bot answers. Works interactively and piped.

Piped (``printf 'q1\nq2\n' | frontdesk run``): one message per line; at end of input
``finished`` is set and the app exits once every line has been answered. Stdin is read on a
daemon thread because a blocking ``readline`` cannot be cancelled and must not keep the process
alive at shutdown.

Nothing typed is lost: bytes that are not valid in the terminal's encoding are replaced (and
the line still goes in), a reading failure is logged and ends input cleanly instead of leaving
the app waiting, and a line the queue cannot take (the store is down) is retried with backoff
while the customer is told once, then taken as soon as the store is back.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from typing import TextIO

from channels.base import Author, ConversationRef, InboundHandler, InboundMessage, OutboundMessage
from config.errors import DeliveryRefused

log = logging.getLogger(__name__)

_EOF = None
WRAP = 100
PROMPT = "you> "
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 10.0
STORE_DOWN = "Sorry, I cannot take messages for a moment; I will pass yours on as soon as I can."


class TerminalChannel:
    name = "terminal"
    width_limit = sys.maxsize  # a terminal has no message size limit; long answers are wrapped

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
        user = customer_name if customer_name != "you" else login_name("customer")
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
            try:
                for line in _lines_of(self.stdin):
                    loop.call_soon_threadsafe(self._lines.put_nowait, line)
            except Exception:
                log.exception("terminal: reading standard input failed; input ends here")
            finally:
                loop.call_soon_threadsafe(self._lines.put_nowait, _EOF)

        threading.Thread(target=read, name="frontdesk-stdin", daemon=True).start()
        self._pump = asyncio.create_task(self._forward(handler))
        if self.interactive:
            self._write("Type a question and press Enter (Ctrl-D to quit).")
            self._prompt()

    def to_inbound(self, text: str, number: int) -> InboundMessage:
        """The ``number``-th line of this session as a message (its id is stable)."""
        return InboundMessage(
            ref=self.ref, message_id=f"{self._session}-{number}", author=self.author, text=text
        )

    async def _forward(self, handler: InboundHandler) -> None:
        number = 0
        while (line := await self._lines.get()) is not _EOF:
            text = line.strip()
            if not text:
                continue
            number += 1
            await self._submit(handler, self.to_inbound(text, number))
        self.finished.set()

    async def _submit(self, handler: InboundHandler, message: InboundMessage) -> None:
        """Queue ``message``; while the queue cannot take it, tell the customer once and retry."""
        delay, told = RETRY_FIRST_S, False
        while True:
            try:
                await handler(message)
                return
            except Exception as err:  # the store is down, or anything else in the intake
                if not told:
                    log.error(
                        "terminal: could not queue message %s (%s); retrying",
                        message.message_id,
                        err,
                    )
                    self._write(f"{self.bot_name}> {STORE_DOWN}")
                    told = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None

    async def send(self, message: OutboundMessage) -> None:
        if message.ref != self.ref:
            # A reply for an earlier session (its window is gone): it can never be shown.
            raise DeliveryRefused(f"terminal session {message.ref.conversation_id} has ended")
        speaker = message.sender_name or self.bot_name
        body = textwrap.fill(message.text, width=WRAP, subsequent_indent="  ")
        self._write(f"{speaker}> {body}")
        self._prompt()

    def _prompt(self) -> None:
        if self.interactive:
            self.stdout.write(PROMPT)
            self.stdout.flush()

    def _write(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()


def _lines_of(stdin: TextIO) -> Iterator[str]:
    """Lines of ``stdin``; bytes invalid in its encoding become U+FFFD instead of an error."""
    raw = getattr(stdin, "buffer", None)
    if raw is None:  # an in-memory text stream: already decoded
        yield from stdin
        return
    encoding = getattr(stdin, "encoding", None) or "utf-8"
    for line in raw:
        yield line.decode(encoding, errors="replace")


def login_name(fallback: str) -> str:
    """The operator's login name, or ``fallback`` where there is none (containers)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return fallback
