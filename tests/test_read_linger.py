"""When the reader waits before its next read (``bot.flow.read_linger``), and for how long
(``Lanes.linger``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from bot.dispatch.base import DispatchConfig
from bot.dispatch.lanes import Lanes
from bot.flow import BUSY_READ_LINGER_S, LINGER_UNTIL_BELOW, MIN_PREFETCH, READ_BATCH, read_linger
from brain.store.base import QueueEntry
from channels.base import Author, ConversationRef, InboundMessage


def test_with_little_in_flight_the_next_read_goes_at_once() -> None:
    # A read that did not fill its batch with a few messages in flight: the next one is not
    # held back (it shares its round trip with those messages' commands).
    for in_flight in range(MIN_PREFETCH):
        assert read_linger(1, READ_BATCH, in_flight) == 0.0


def test_a_busy_process_lingers_after_a_partial_read() -> None:
    assert read_linger(3, READ_BATCH, MIN_PREFETCH) == BUSY_READ_LINGER_S
    assert read_linger(READ_BATCH - 1, READ_BATCH, 10 * MIN_PREFETCH) == BUSY_READ_LINGER_S


def test_a_full_or_empty_read_never_lingers() -> None:
    # A full batch: more is waiting, read it now. An empty one: the read blocked already.
    assert read_linger(READ_BATCH, READ_BATCH, 10 * MIN_PREFETCH) == 0.0
    assert read_linger(0, READ_BATCH, 10 * MIN_PREFETCH) == 0.0


def _lanes_with(in_flight: int) -> tuple[Lanes, list[QueueEntry]]:
    """Lanes with ``in_flight`` entries taken (only ``linger`` and releasing are used)."""
    lanes = Lanes(DispatchConfig(consumer="t"), cast(Any, None), cast(Any, None), asyncio.Event())
    message = InboundMessage(ref=ConversationRef(channel="fake", conversation_id="c"),
                             message_id="m", author=Author(id="u"), text="hi")  # fmt: skip
    entries = [QueueEntry(f"1-{n}", message, 1) for n in range(in_flight)]
    lanes.in_flight.update(entry.entry_id for entry in entries)
    return lanes, entries


async def test_a_linger_ends_once_the_batch_before_is_nearly_done() -> None:
    lanes, entries = _lanes_with(MIN_PREFETCH)
    waiting = asyncio.create_task(lanes.linger(LINGER_UNTIL_BELOW, 30.0))
    await asyncio.sleep(0)
    for entry in entries[: MIN_PREFETCH - LINGER_UNTIL_BELOW]:
        assert not waiting.done()  # LINGER_UNTIL_BELOW or more still in flight
        lanes._release(entry)
        await asyncio.sleep(0)
    assert not waiting.done()
    lanes._release(entries[-1])
    await asyncio.wait_for(waiting, 1.0)  # fewer than LINGER_UNTIL_BELOW: read again now


async def test_a_linger_lasts_at_most_its_time() -> None:
    lanes, _ = _lanes_with(MIN_PREFETCH)
    started = time.monotonic()
    await asyncio.wait_for(lanes.linger(LINGER_UNTIL_BELOW, 0.05), 5.0)
    assert time.monotonic() - started >= 0.04


async def test_no_linger_with_little_in_flight() -> None:
    lanes, _ = _lanes_with(LINGER_UNTIL_BELOW - 1)
    await asyncio.wait_for(lanes.linger(LINGER_UNTIL_BELOW, 30.0), 1.0)
