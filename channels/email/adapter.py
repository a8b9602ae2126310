"""What ``channels.email.build`` returns: the customer channel and the mailbox connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from channels.base import Channel, Desk, Part
from channels.email.connection import MailboxWatcher
from channels.email.customers import EmailChannel
from channels.email.smtp import MailSender, SmtpSender
from channels.email.state import MemoryState
from config.settings import EmailSettings, Settings

logger = logging.getLogger(__name__)


class MailboxStore(Protocol):
    async def kv_get(self, key: str) -> str | None: ...

    async def kv_set(self, key: str, value: str, ttl_s: float | None = None) -> None: ...

    def lock(self, name: str) -> AbstractAsyncContextManager[object]: ...


class EmailAdapter:
    name = "email"

    def __init__(
        self,
        settings: Settings,
        store: MailboxStore | None = None,
        sender: MailSender | None = None,
    ) -> None:
        self.settings = settings.email
        self.channel = EmailChannel(
            self.settings,
            sender if sender is not None else SmtpSender(self.settings),
            MemoryState(),
            languages=tuple(settings.classifier.languages),
        )
        self.watcher = MailboxWatcher(self.settings, self.channel.accept, MemoryState(),
                                      MemoryState())  # fmt: skip
        self.use_store(store if store is not None else MemoryState())
        self.channels: Sequence[Channel] = (self.channel,)
        self.desks: Sequence[Desk] = ()
        self._task: asyncio.Task[None] | None = None

    def use_store(self, store: MailboxStore) -> None:
        """Keep the mailbox position, thread memory and sent-mail ledger in ``store`` (the
        Frontdesk store fits as it is) and take the mailbox lease from it. Call before
        ``connection()``; without it all of that lives in this process only."""
        self.channel.state = store
        self.watcher.state = store
        self.watcher.locks = store

    @contextlib.asynccontextmanager
    async def _connected(self) -> AsyncIterator[None]:
        self._task = asyncio.create_task(self.watcher.run(), name="email-mailbox")
        try:
            yield
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def connection(self) -> AbstractAsyncContextManager[None]:
        """Reading starts on enter (in the background: an unreachable server is retried with
        backoff, never a start-up failure of the whole bot); leaving stops it."""
        return self._connected()

    def describe(self) -> list[Part]:
        return describe(self.settings)


def describe(email: EmailSettings) -> list[Part]:
    if not email.enabled:
        return [Part("channel", "email", False, "FRONTDESK_EMAIL__ENABLED is not true")]
    imap = "IMAPS" if email.imap_tls else "IMAP"
    push = "IDLE when offered" if email.imap_idle else f"polling every {email.poll_seconds:g} s"
    why = (f"{imap} {email.imap_username}@{email.imap_host}:{email.imap_port}/"
           f"{email.imap_folder} ({push}); SMTP {email.smtp_host}:{email.smtp_port} "
           f"({email.smtp_security}) as {email.from_address}")  # fmt: skip
    return [Part("channel", "email", True, why)]
