"""``asyncio.timeout`` for a path that starts one with the same length for every message.

``asyncio.timeout(s)`` costs a ``Timeout`` object, two coroutines (``__aenter__`` and
``__aexit__``) and, above all, a ``TimerHandle`` per use: built, pushed onto the loop's heap
and, once cancelled, popped off it again, each heap step a Python-level ``__lt__``. The brain's
time limit and the queue read's deadline are started for every message (or read) and almost
never expire, so that was a visible share of the dispatcher's CPU (issue 13).

``Deadlines(seconds)`` gives the same limit with one timer for all the turns in flight: their
deadlines all have the same length, so they expire in the order they were started, and the
timer only ever waits for the oldest one still running. Entering and leaving ``within()`` is
then a dict insertion and removal. What happens at expiry is what ``asyncio.timeout`` does: the
task is cancelled, and the ``CancelledError`` that reaches the end of the block is turned into
``TimeoutError``, unless someone else also cancelled the task meanwhile (then it stays a
cancellation).

It sits in ``channels`` beside ``frozen`` and ``wire_json`` (generic helpers of the message
path) so that every layer may use it: any limit of one fixed length started per message fits.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class Deadlines:
    """Time limits of ``seconds`` each, for any number of tasks at once (``within``)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        # Oldest first: with one length for all, the order they started is the order they
        # expire (the loop's clock never goes back).
        self._running: dict[Within, None] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def within(self) -> Within:
        """``with deadlines.within(): await ...``: like ``async with asyncio.timeout(s)``."""
        return Within(self)

    def _start(self, within: Within, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not loop:  # a test may run a second loop: the first one's are gone
            if self._timer is not None:
                self._timer.cancel()
            self._running.clear()
            self._timer, self._loop = None, loop
        self._running[within] = None
        if self._timer is None:
            self._timer = loop.call_at(within.when, self._expire)

    def _expire(self) -> None:
        """The oldest deadline is due: every one that is due now expires, and the timer waits
        for the next."""
        self._timer = None
        loop = self._loop
        assert loop is not None
        now = loop.time()
        due: list[Within] = []
        for within in self._running:
            if within.when > now:
                self._timer = loop.call_at(within.when, self._expire)
                break
            due.append(within)
        for within in due:
            del self._running[within]
            within.expire()


class Within:
    """One use of a ``Deadlines``' limit (see ``asyncio.timeouts.Timeout``, which it mirrors)."""

    __slots__ = ("_cancelling", "_deadlines", "_task", "expired", "when")

    def __init__(self, deadlines: Deadlines) -> None:
        self._deadlines = deadlines
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0
        self.when = 0.0
        self.expired = False

    def __enter__(self) -> Within:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a deadline must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self.when = loop.time() + self._deadlines.seconds
        self._deadlines._start(self, loop)
        return self

    def expire(self) -> None:
        assert self._task is not None
        self.expired = True
        self._task.cancel()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.expired:
            self._deadlines._running.pop(self, None)
            return
        assert self._task is not None
        # As ``Timeout.__aexit__``: our own cancellation becomes a timeout; one that someone
        # else asked for meanwhile stays a cancellation.
        if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc
