"""When the reader waits before its next read (``bot.flow.read_linger``)."""

from __future__ import annotations

from bot.flow import BUSY_READ_LINGER_S, MIN_PREFETCH, READ_BATCH, read_linger


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
