"""The IMAP side: one session at a time on the mailbox, new mail handed over by UID.

Lifecycle: take the mailbox lease (``channels/singleton.py``: one replica reads a mailbox; when
the holder loses its lease it logs out and tries again later, and a standby takes over once
the lease expires) -> connect (IMAPS, or plain for a local server) -> LOGIN -> SELECT ->
fetch every UID above the last one handled -> IDLE until the server pushes (re-issued every
``idle_reissue_seconds``, at most 29 minutes: RFC 2177 lets servers drop an IDLE after 30) or
poll when the server has no IDLE -> repeat. Any failure closes the session and reconnects
after an exponential backoff with jitter.

Per mail: fetch (``BODY.PEEK``, so reading does not flag it) -> ``accept`` (durably queued)
-> ``STORE +FLAGS (\\Seen)`` -> remember its UID. A crash in between re-fetches the mail and
the queue drops the duplicate; the remembered UID means mail already handled is never
re-imported even when someone marks it unseen again. A UIDVALIDITY change makes UIDs
meaningless: then only unseen mail is imported (no mass re-import of the folder).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.email.smtp import tls_context
from channels.email.state import KeyValue, Locks
from channels.singleton import Singleton
from config.errors import ChannelError
from config.settings import EmailSettings

logger = logging.getLogger(__name__)

Accept = Callable[[bytes, str, bool], Awaitable[bool]]

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
BACKOFF_BASE_S = 1.0
# A session that failed sooner (e.g. the queue is down and every mail fails) keeps backing
# off instead of reconnecting every second.
HEALTHY_SESSION_S = 60.0


def backoff(attempt: int, cap_s: float, rng: random.Random) -> float:
    """Exponential, capped, with full jitter (so replicas and restarts do not stampede)."""
    ceiling = min(cap_s, BACKOFF_BASE_S * 2**attempt)
    return rng.uniform(ceiling / 2, ceiling)


@dataclass
class MailboxStatus:
    uidvalidity: int
    last_uid: int | None  # None: nothing known for this UIDVALIDITY, import unseen mail only


class MailboxWatcher:
    def __init__(
        self,
        settings: EmailSettings,
        accept: Accept,
        state: KeyValue,
        locks: Locks,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.accept = accept
        self.state = state
        self.locks = locks
        self.rng = rng or random.Random()
        self.mailbox = f"{settings.imap_username}@{settings.imap_host}/{settings.imap_folder}"
        self.connected = asyncio.Event()  # a session is selected and watching
        self.sessions = 0
        self.idles = 0  # IDLE commands issued (re-issued every idle_reissue_seconds)
        self.mode = "idle"
        self._lost = asyncio.Event()
        self._healthy = False
        self._since = 0.0
        self._news = False
        self._uidnext: int | None = None
        self.singleton: Singleton | None = None  # while ``run`` runs

    def _key(self, name: str) -> str:
        return f"email:mailbox:{self.mailbox}:{name}"

    async def run(self) -> None:
        """Watch the mailbox until cancelled, whenever this process holds its lease."""
        self.singleton = Singleton(self.locks, f"email-mailbox:{self.mailbox}", rng=self.rng,
                                   retry_max_s=self.settings.reconnect_max_seconds)  # fmt: skip
        await self.singleton.run(self._read)

    async def _read(self) -> None:
        """Read the mailbox (reconnecting after failures) until cancelled: the lease is lost,
        or the bot stops. Leaving closes the IMAP session."""
        logger.info("reading mailbox %s", self.mailbox)
        attempt = 0
        try:
            while True:
                try:
                    await self._session()
                except asyncio.CancelledError:
                    raise
                except Exception as err:
                    self.connected.clear()
                    if self._healthy and time.monotonic() - self._since > HEALTHY_SESSION_S:
                        attempt = 0  # a long good session: the next failure starts afresh
                    delay = backoff(attempt, self.settings.reconnect_max_seconds, self.rng)
                    attempt += 1
                    logger.warning("mailbox %s: %s; reconnecting in %.1f s", self.mailbox,
                                   _describe(err), delay)  # fmt: skip
                    await asyncio.sleep(delay)
        finally:
            self.connected.clear()

    async def _session(self) -> None:
        self._healthy = False
        async with self._client() as client:
            status = await self._select(client)
            self.sessions += 1
            self._healthy = True
            self._since = time.monotonic()
            idle = self.settings.imap_idle and client.has_capability("IDLE")
            self.mode = "idle" if idle else "poll"
            self.connected.set()
            # A dropped connection leaves aioimaplib's pending command waiting for its
            # timeout: race the work against the loss so a reconnect starts at once.
            work = asyncio.ensure_future(self._watch(client, status, idle))
            lost = asyncio.ensure_future(self._lost.wait())
            try:
                await asyncio.wait({work, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (work, lost):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            error = work.exception() if work.done() and not work.cancelled() else None
            if error is not None:
                raise error
            raise ChannelError("the IMAP connection was lost")

    async def _watch(self, client: Any, status: MailboxStatus, idle: bool) -> None:
        while True:
            self._news = False
            await self._fetch_new(client, status)
            if self._news:
                # New mail was announced while we fetched: IDLE would only report it with the
                # next change, so fetch again first.
                continue
            if idle:
                await self._idle(client)
            else:
                await self._poll(client)

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[Any]:
        import aioimaplib  # noqa: PLC0415

        s = self.settings
        timeout = s.imap_timeout_seconds
        client: aioimaplib.IMAP4
        if s.imap_tls:
            client = aioimaplib.IMAP4_SSL(host=s.imap_host, port=s.imap_port, timeout=timeout,
                                          ssl_context=tls_context(s))  # fmt: skip
        else:
            client = aioimaplib.IMAP4(host=s.imap_host, port=s.imap_port, timeout=timeout)
        self._lost = asyncio.Event()
        client.protocol.conn_lost_cb = lambda _exc: self._lost.set()
        self._hear_unsolicited(client.protocol)
        try:
            await client.wait_hello_from_server()
            password = s.imap_password.get_secret_value() if s.imap_password else ""
            response = await client.login(s.imap_username or "", password)
            if response.result != "OK":
                raise ChannelError("IMAP login refused (check FRONTDESK_EMAIL__IMAP_USERNAME "
                                   "and FRONTDESK_EMAIL__IMAP_PASSWORD)")  # fmt: skip
            yield client
        finally:
            with contextlib.suppress(Exception):
                if client.has_pending_idle():
                    client.idle_done()
                await asyncio.wait_for(client.logout(), 2.0)
            await _close(client)

    async def _select(self, client: Any) -> MailboxStatus:
        response = await client.select(self.settings.imap_folder)
        if response.result != "OK":
            raise ChannelError(f"cannot select folder {self.settings.imap_folder!r}")
        data = b" ".join(bytes(line) for line in response.lines)
        validity = _number(_UIDVALIDITY, data)
        uidnext = _number(_UIDNEXT, data)
        if validity is None:
            raise ChannelError("the server sent no UIDVALIDITY")
        stored = await self.state.kv_get(self._key("uidvalidity"))
        last: int | None = None
        if stored == str(validity):
            raw_last = await self.state.kv_get(self._key("last_uid"))
            last = int(raw_last) if raw_last is not None else None
        elif stored is not None:
            logger.warning("mailbox %s: UIDVALIDITY changed (%s -> %s); importing unseen mail "
                           "only", self.mailbox, stored, validity)  # fmt: skip
        await self.state.kv_set(self._key("uidvalidity"), str(validity))
        self._uidnext = uidnext
        return MailboxStatus(validity, last)

    async def _fetch_new(self, client: Any, status: MailboxStatus) -> None:
        criteria = "UNSEEN" if status.last_uid is None else f"UID {status.last_uid + 1}:*"
        response = self._heard(await client.uid_search(criteria))
        if response.result != "OK":
            raise ChannelError(f"UID SEARCH failed: {response.result}")
        # Untagged responses (``* 3 EXISTS``) can come in the same reply: the result is the
        # line made of numbers only.
        uids = sorted({int(t) for line in response.lines[:-1] if isinstance(line, bytes)
                       and line.split() and all(t.isdigit() for t in line.split())
                       for t in line.split()})  # fmt: skip
        for uid in uids:
            if status.last_uid is not None and uid <= status.last_uid:
                continue  # "N:*" always matches the highest UID, even below N
            await self._import(client, status, uid)
        if status.last_uid is None and self._uidnext is not None:
            await self._remember(status, self._uidnext - 1)

    async def _import(self, client: Any, status: MailboxStatus, uid: int) -> None:
        if self.singleton is not None:
            self.singleton.check()  # a reader whose lease ran out imports nothing more
        meta = self._heard(await client.uid("fetch", str(uid), "(RFC822.SIZE FLAGS)"))
        head = b" ".join(bytes(x) for x in meta.lines if isinstance(x, bytes | bytearray))
        size = _number(_SIZE, head) or 0
        flags = _FLAGS.search(head)
        limit = self.settings.max_message_bytes
        truncated = size > limit
        # BODY.PEEK leaves \Seen alone: it is set only once the mail is queued.
        part = f"BODY.PEEK[]<0.{limit}>" if truncated else "BODY.PEEK[]"
        body = self._heard(await client.uid("fetch", str(uid), f"({part})"))
        raw = next((bytes(x) for x in body.lines if isinstance(x, bytearray)), None)
        if body.result != "OK" or raw is None:
            raise ChannelError(f"could not fetch UID {uid}")
        if truncated:
            logger.warning("mail UID %d is %d bytes; reading the first %d", uid, size, limit)
        await self.accept(raw, f"uid:{status.uidvalidity}:{uid}", truncated)
        if flags is None or b"\\Seen" not in flags.group(1):
            stored = self._heard(await client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen)"))
            if stored.result != "OK":
                raise ChannelError(f"could not flag UID {uid} as seen")
        await self._remember(status, uid)

    def _hear_unsolicited(self, protocol: Any) -> None:
        # aioimaplib drops an untagged ``* N EXISTS`` that arrives while no command is pending
        # (after our SEARCH, before IDLE starts): IDLE would then wait for the next change, up
        # to its 29-minute re-issue. Note every announcement on its way in, so ``_idle`` can
        # see one that came in that gap.
        original = protocol._untagged_response

        def untagged(line: bytes) -> Any:
            if line.rstrip().endswith(b"EXISTS"):
                self._news = True
            return original(line)

        protocol._untagged_response = untagged

    def _heard(self, response: Any) -> Any:
        """Note an untagged ``* N EXISTS`` that came with a command's response."""
        if any(isinstance(x, bytes) and x.endswith(b" EXISTS") for x in response.lines[:-1]):
            self._news = True
        return response

    async def _remember(self, status: MailboxStatus, uid: int) -> None:
        if status.last_uid is not None and uid <= status.last_uid:
            return
        status.last_uid = uid
        await self.state.kv_set(self._key("last_uid"), str(uid))

    async def _idle(self, client: Any) -> None:
        reissue = self.settings.idle_reissue_seconds
        idle = await client.idle_start(timeout=reissue)
        self.idles += 1
        if not self._news:  # mail announced before IDLE began is fetched at once instead
            with contextlib.suppress(TimeoutError):
                await client.wait_server_push(timeout=reissue + 30)
        if client.has_pending_idle():
            client.idle_done()
        await asyncio.wait_for(idle, self.settings.imap_timeout_seconds)

    async def _poll(self, client: Any) -> None:
        await asyncio.sleep(self.settings.poll_seconds)
        response = await client.noop()
        if response.result != "OK":
            raise ChannelError("NOOP failed")


async def _close(client: Any) -> None:
    """After a lost connection, a failed LOGOUT or a stop in the middle of connecting, the
    socket would otherwise linger until garbage collection: cancel a connect still under way
    (aioimaplib keeps it as ``_client_task``) and close the transport."""
    connecting = getattr(client, "_client_task", None)
    if connecting is not None and not connecting.done():
        connecting.cancel()
        with contextlib.suppress(BaseException):
            await connecting
    transport = getattr(client.protocol, "transport", None)
    if transport is not None:
        transport.close()


def _number(pattern: re.Pattern[bytes], data: bytes) -> int | None:
    match = pattern.search(data)
    return int(match.group(1)) if match else None


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
