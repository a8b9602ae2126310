"""Stopping a background task without losing the caller's own cancellation.

The usual idiom, ``task.cancel()`` then ``with suppress(CancelledError): await task``, is wrong
whenever the caller itself can be cancelled while it waits: asyncio passes the caller's
cancellation on to ``task`` (the awaited future) instead of raising it in the caller, and the
one ``CancelledError`` that comes back out of ``await task`` is then suppressed. The caller goes
on as if nobody had asked it to stop. That is how the Discord shard spread's beat task, stopped
while it handed a shard over (``spread._hand_over`` -> ``Shard.release`` -> ``Shard.stop``),
started the shard again, kept beating, and left ``DiscordConnection.stop()`` waiting for it
forever. ``asyncio.wait`` never raises what the task raised, so a ``CancelledError`` out of it
is always the caller's.

A task may also swallow its own cancellation: Python 3.11's ``asyncio.wait_for`` returns the
result instead of raising when the cancellation arrives in the loop turn the awaited thing
completes in (fixed in 3.12), and libraries use it (discord.py's gateway handshake, redis-py's
socket writes with a timeout). A task still running ``AGAIN_S`` after its cancellation is
cancelled again, with a warning that says where it waits.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

logger = logging.getLogger(__name__)

AGAIN_S = 15.0
"""Longer than any bounded clean-up of the tasks stopped this way (a gateway client's close
waits at most 10 s), so only a task that went on with its work is cancelled twice."""


async def cancel_and_wait(task: asyncio.Future[Any] | None, again_s: float = AGAIN_S) -> None:
    """Cancel ``task`` and wait until it has ended. A cancellation of the caller meanwhile is
    raised in the caller (the task goes on ending by itself); an exception the task ended
    with, other than its cancellation, is raised here."""
    if task is None:
        return
    if not task.done() and logger.isEnabledFor(logging.DEBUG):
        logger.debug("cancelling task %s (it waits in %s)", _name(task), awaiting(task))
    task.cancel()
    while not (await asyncio.wait({task}, timeout=again_s))[0]:
        logger.warning("task %s still runs %.0f s after its cancellation; cancelling it again "
                       "(it waits in %s)", _name(task), again_s, awaiting(task))  # fmt: skip
        task.cancel()
    error = None if task.cancelled() else task.exception()
    if error is not None:
        raise error


def _name(task: asyncio.Future[Any]) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)


def awaiting(task: asyncio.Future[Any]) -> str:
    """Where ``task`` waits: its chain of awaits, innermost last (``Task.get_stack`` shows
    only the outermost coroutine of a suspended task)."""
    chain: list[str] = []
    awaited: object = task.get_coro() if isinstance(task, asyncio.Task) else task
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            chain.append(repr(awaited)[:120])
            break
        chain.append(f"{frame.f_code.co_name} ({frame.f_code.co_filename}:{frame.f_lineno})")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return " -> ".join(chain)
