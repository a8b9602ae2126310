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
"""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Future[Any] | None) -> None:
    """Cancel ``task`` and wait until it has ended. A cancellation of the caller meanwhile is
    raised in the caller (the task goes on ending by itself); an exception the task ended
    with, other than its cancellation, is raised here."""
    if task is None:
        return
    task.cancel()
    await asyncio.wait({task})
    error = None if task.cancelled() else task.exception()
    if error is not None:
        raise error
