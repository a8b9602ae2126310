"""Waiting for something another task or process does, with a deadline; handing a message
over as a platform does, until the bot takes it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from channels.base import InboundMessage
from channels.tasks import awaiting
from config.errors import StoreError

T = TypeVar("T")


async def until(predicate: Callable[[], bool], within: float) -> float:
    """Seconds until ``predicate()`` holds, polled every 10 ms; AssertionError after
    ``within`` seconds."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def hand_over(
    inject: Callable[[InboundMessage], Awaitable[object]], message: InboundMessage
) -> None:
    """``inject(message)`` again every 50 ms while the bot refuses it (its store is down), as
    a platform retries a message until the bot takes it."""
    while True:
        try:
            await inject(message)
            return
        except StoreError:
            await asyncio.sleep(0.05)


async def bounded(step: Awaitable[T], what: str, within: float) -> T:
    """``await step``, or after ``within`` seconds an AssertionError that names ``what`` and
    shows where it and every other task of the loop wait (what a hang waits for, without a
    rerun). The step runs as a task of its own so that its chain of awaits can be shown."""
    task = asyncio.ensure_future(step)
    try:
        done, _ = await asyncio.wait({task}, timeout=within)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        where = tasks_waiting()
        task.cancel()
        raise AssertionError(f"{what}: not done within {within:g} s\n{where}")
    return task.result()


def tasks_waiting() -> str:
    """Where every pending task but the current one waits (its chain of awaits)."""
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    return "\n".join(f"-- {task.get_name()}: {awaiting(task)}" for task in pending)
