"""``channels.deadline``: the same outcomes as ``asyncio.timeout`` (each scenario runs with
both and must end the same way), with one timer for many turns in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from channels.deadline import Deadlines

KINDS = ["asyncio", "deadlines"]


class Limit:
    """One time limit of ``seconds``, as ``asyncio.timeout`` or as a shared ``Deadlines``."""

    def __init__(self, kind: str, seconds: float) -> None:
        self.kind, self.seconds = kind, seconds
        self.deadlines = Deadlines(seconds)

    async def run(self, body: Callable[[], Awaitable[Any]]) -> Any:
        if self.kind == "asyncio":
            async with asyncio.timeout(self.seconds):
                return await body()
        with self.deadlines.within():
            return await body()


async def outcome(limit: Limit, body: Callable[[], Awaitable[Any]]) -> tuple[str, float]:
    """What running ``body`` under ``limit`` in a task of its own ends with, and when."""
    started = time.monotonic()
    task = asyncio.create_task(limit.run(body))
    try:
        result = await task
        what = f"result {result!r}"
    except TimeoutError:
        what = "timeout"
    except asyncio.CancelledError:
        what = "cancelled"
    return what, time.monotonic() - started


@pytest.mark.parametrize("kind", KINDS)
async def test_work_past_the_limit_is_cut_off_then(kind: str) -> None:
    what, took = await outcome(Limit(kind, 0.15), lambda: asyncio.sleep(10, "late"))
    assert what == "timeout"
    assert 0.14 <= took < 1.0


@pytest.mark.parametrize("kind", KINDS)
async def test_work_within_the_limit_keeps_its_result_and_is_not_cancelled_later(
    kind: str,
) -> None:
    limit = Limit(kind, 0.1)

    async def body() -> str:
        return await asyncio.sleep(0.02, "in time")

    async def then_more() -> str:
        result = await limit.run(body)
        await asyncio.sleep(0.25)  # past the deadline: the finished limit must not fire
        return str(result)

    assert await asyncio.create_task(then_more()) == "in time"
    assert not limit.deadlines._running


@pytest.mark.parametrize("kind", KINDS)
async def test_each_of_many_expires_at_its_own_deadline(kind: str) -> None:
    """Started 0.1 s apart with 0.3 s each: the first finishes early, the second hangs and
    must be cut off at its own deadline (0.4 s), the third finishes in time after the first
    one's deadline has passed."""
    limit = Limit(kind, 0.3)
    begin = time.monotonic()

    async def after(delay: float, body: Callable[[], Awaitable[Any]]) -> tuple[str, float]:
        await asyncio.sleep(delay)
        what, _ = await outcome(limit, body)
        return what, time.monotonic() - begin

    first, second, third = await asyncio.gather(
        after(0.0, lambda: asyncio.sleep(0.05, 1)),
        after(0.1, lambda: asyncio.sleep(10, 2)),
        after(0.2, lambda: asyncio.sleep(0.25, 3)),
    )
    assert first[0] == "result 1"
    assert second[0] == "timeout"
    assert 0.39 <= second[1] < 0.9
    assert third[0] == "result 3"
    assert third[1] >= 0.44


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cancel_at", [0.05, 0.3])
async def test_a_cancellation_from_outside_stays_a_cancellation(
    kind: str, cancel_at: float
) -> None:
    """Cancelled by someone else before the limit, or after it expired while the work was
    still shielding itself: the caller sees the cancellation, not a timeout."""
    limit = Limit(kind, 0.1)

    async def body() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.4)  # winding down, past the limit and the outside cancel
            raise

    task = asyncio.create_task(limit.run(body))
    await asyncio.sleep(cancel_at)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("kind", KINDS)
async def test_a_cancellation_the_work_swallows_ends_the_block_normally(kind: str) -> None:
    limit = Limit(kind, 0.05)

    async def body() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "swallowed"
        return "slept"

    async def check() -> tuple[str, int]:
        result = await limit.run(body)
        task = asyncio.current_task()
        assert task is not None
        return str(result), task.cancelling()

    assert await asyncio.create_task(check()) == ("swallowed", 0)


@pytest.mark.parametrize("kind", KINDS)
async def test_an_error_inside_passes_through(kind: str) -> None:
    async def body() -> None:
        await asyncio.sleep(0)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await Limit(kind, 1.0).run(body)


def test_one_deadlines_keeps_working_on_a_second_event_loop() -> None:
    deadlines = Deadlines(0.1)

    async def hang() -> str:
        with deadlines.within():
            await asyncio.sleep(10)
        return "not cut off"

    async def one_run() -> str:
        try:
            return await asyncio.wait_for(hang(), 2.0)
        except TimeoutError:
            return "cut off"

    assert asyncio.run(one_run()) == "cut off"
    assert asyncio.run(one_run()) == "cut off"


async def test_many_turns_in_flight_share_one_timer() -> None:
    deadlines = Deadlines(5.0)
    loop = asyncio.get_running_loop()
    gate = asyncio.Event()

    async def turn() -> None:
        with deadlines.within():
            await gate.wait()

    timers_before = len(loop._scheduled)  # type: ignore[attr-defined]
    tasks = [asyncio.create_task(turn()) for _ in range(50)]
    await asyncio.sleep(0.01)
    assert len(deadlines._running) == 50
    assert len(loop._scheduled) - timers_before == 1  # type: ignore[attr-defined]
    gate.set()
    await asyncio.gather(*tasks)
    assert not deadlines._running
