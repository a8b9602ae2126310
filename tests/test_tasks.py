"""``channels.tasks.cancel_and_wait``: a caller's own cancellation is never swallowed, and a
task that swallowed its cancellation (Python 3.11's ``asyncio.wait_for``, made to happen here
every time) is cancelled again instead of being waited for forever."""

from __future__ import annotations

import asyncio

import pytest

from channels.tasks import cancel_and_wait


async def test_a_task_that_swallowed_its_cancellation_is_cancelled_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ready, swallowed = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        # 3.11's wait_for returns the result when the cancellation comes in the loop turn
        # the awaited event is set in, as a gateway handshake or a socket write may.
        await asyncio.wait_for(ready.wait(), 60)
        swallowed.set()
        await asyncio.Event().wait()  # goes on with its work: a second cancel ends it

    task = asyncio.create_task(work(), name="swallows")
    await asyncio.sleep(0)
    ready.set()
    async with asyncio.timeout(5):
        await cancel_and_wait(task, again_s=0.2)
    assert swallowed.is_set() and task.cancelled()
    assert any("swallows still runs" in r.getMessage() for r in caplog.records)


async def test_the_callers_cancellation_is_raised_while_the_task_ends_by_itself() -> None:
    ending = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await ending.wait()  # a clean-up that takes a while

    task = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)
    stopper = asyncio.create_task(cancel_and_wait(task))
    await asyncio.sleep(0.01)
    stopper.cancel()  # with ``suppress(CancelledError): await task`` this was swallowed
    done, _ = await asyncio.wait({stopper}, timeout=5)
    assert done and stopper.cancelled()
    assert not task.done()  # still cleaning up; it ends by itself
    ending.set()
    await asyncio.wait({task}, timeout=5)
    assert task.cancelled()


async def test_what_the_task_failed_with_is_raised() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="boom"):
        await cancel_and_wait(task)
