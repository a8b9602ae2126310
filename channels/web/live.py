"""Live frames for the widget WebSockets one replica holds.

Every replica follows the history's topic (``Feed``): each new entry, wherever it was
written, is shown to the sessions open here (``Sessions``). An entry written on this replica
is shown at once by the code that wrote it, which ``Feed.mark``s it, so the feed skips its
own echo of it: no second decoding, and the reply does not wait for the follower task's next
turn before its frame goes out. The feed still shows every entry written elsewhere.

``Feed.start`` returns only once the subscription is live (on Redis, pub/sub subscribes in
the background: an entry published before that would reach no replica's sessions): it
appends a probe entry on the topic, repeated with a growing wait, until the feed hears one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from channels.base import LogEntry
from channels.web.store import HISTORY, TOPIC, WebStore, origin_of
from config.errors import FrontdeskError

logger = logging.getLogger(__name__)

TYPING_ON = json.dumps({"type": "typing", "on": True})
PROBE = "webprobe:"
_MARKS = 10_000  # entries shown here whose echo has not come back yet (bounded)
_LIVE_WITHIN_S = 15.0


class Session:
    """One widget WebSocket: ``put`` queues a frame (already JSON) for its writer."""

    def __init__(self, conversation: str, put: Callable[[str], None]) -> None:
        self.id = secrets.token_hex(8)
        self.conversation = conversation
        self.put = put
        self.shown = 0  # the last history id sent: nothing is sent twice

    def show(self, seq: int, frame: str) -> bool | None:
        """Send a history frame in order: True when sent now, None when it was sent
        already, False when an earlier entry has not come yet."""
        if seq > self.shown + 1:
            return False
        if seq == self.shown + 1:
            self.shown = seq
            self.put(frame)
            return True
        return None


def message_frame(message: dict[str, Any]) -> str:
    return json.dumps({"type": "message", "message": message}, ensure_ascii=False)


class Sessions:
    """The widget sessions open on this replica, by conversation."""

    def __init__(self, store: WebStore) -> None:
        self.store = store
        self._open: dict[str, set[Session]] = defaultdict(set)
        self._repairs: dict[str, asyncio.Task[None]] = {}

    def attach(self, session: Session) -> None:
        self._open[session.conversation].add(session)

    def detach(self, session: Session) -> None:
        sessions = self._open.get(session.conversation)
        if sessions is not None:
            sessions.discard(session)
            if not sessions:
                del self._open[session.conversation]

    @property
    def count(self) -> int:
        return sum(len(s) for s in self._open.values())

    def show(self, conversation: str, seq: int, message: dict[str, Any], origin: str | None,
             typing: bool) -> None:  # fmt: skip
        """Push one entry to the conversation's sessions here (none: nothing is encoded)."""
        sessions = self._open.get(conversation)
        if not sessions:
            return
        frame = message_frame(message)  # one encoding, whatever the number of sessions
        for session in tuple(sessions):
            if session.id == origin:
                session.shown = max(session.shown, seq)  # its ack carried the entry
                continue
            sent = session.show(seq, frame)
            if sent is False:
                self._repair(conversation)  # another replica's entry is still on its way
            elif sent and typing:
                session.put(TYPING_ON)

    def _repair(self, conversation: str) -> None:
        if conversation not in self._repairs:
            task = asyncio.create_task(self._resend(conversation))
            self._repairs[conversation] = task
            task.add_done_callback(lambda _: self._repairs.pop(conversation, None))

    async def _resend(self, conversation: str) -> None:
        """Send open sessions of one conversation what they have not seen, in order."""
        sessions = self._open.get(conversation)
        if not sessions:
            return
        after = min(s.shown for s in sessions)
        try:
            entries = await self.store.storage.log_read(HISTORY + conversation, after, 1000)
        except FrontdeskError:
            logger.exception("could not catch up conversation %s", conversation)
            return
        for entry in entries:
            message, origin = origin_of(entry)
            frame = message_frame(message)
            for session in tuple(self._open.get(conversation, ())):
                if session.id == origin:
                    session.shown = max(session.shown, entry.seq)
                else:
                    session.show(entry.seq, frame)

    async def catch_up(self) -> None:
        """After a gap in the feed: send every open session what it has not seen."""
        await asyncio.gather(*(self._resend(c) for c in tuple(self._open)))


class Feed:
    """Follows the topic ``web`` on the store and hands each entry to ``heard``, except
    those ``mark``ed (shown here already); ``gap`` runs after the feed lost entries."""

    def __init__(self, store: WebStore, heard: Callable[[LogEntry], None],
                 gap: Callable[[], Awaitable[None]]) -> None:  # fmt: skip
        self.store = store
        self._heard = heard
        self._gap = gap
        self._marks: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._probe = ""
        self._live = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def mark(self, log: str, seq: int) -> None:
        self._marks[(log, seq)] = None
        if len(self._marks) > _MARKS:  # the echo never came (a gap): forget the oldest
            self._marks.popitem(last=False)

    @property
    def running(self) -> bool:
        return self._task is not None

    async def start(self) -> None:
        if self._task is not None:
            return
        self._probe = f"{PROBE}{secrets.token_hex(8)}"
        self._live.clear()
        self._task = asyncio.create_task(self._follow(), name="web-history")
        loop = asyncio.get_running_loop()
        deadline, wait, n = loop.time() + _LIVE_WITHIN_S, 0.01, 0
        while loop.time() < deadline:
            n += 1
            await self.store.storage.log_append(self._probe, str(n), "live", TOPIC)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._live.wait(), wait)
                return
            wait = min(wait * 2, 1.0)
        logger.error("the web history feed did not hear its probe within %.0f s; live frames "
                     "may miss entries until it does", _LIVE_WITHIN_S)  # fmt: skip

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _follow(self) -> None:
        while True:
            try:
                async for entry in self.store.storage.log_follow(TOPIC):
                    if not entry.log:
                        await self._gap()
                    elif entry.log == self._probe:
                        self._live.set()
                    elif self._marks.pop((entry.log, entry.seq), 0) is None:
                        continue  # written and shown here
                    else:
                        self._heard(entry)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("following the web history failed; again in 1 s")
                await asyncio.sleep(1.0)
                await self._gap()
