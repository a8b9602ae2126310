"""Pacing the dispatcher: store outages, back-pressure on reads, per-customer protection.

Kept apart from ``bot/dispatch/`` (the path of one message): how long to wait and when to
stop reading, the "slow down" a customer over their rate gets, and how a burst becomes one
question.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace

from brain.store.base import QueueEntry
from channels.base import InboundMessage

logger = logging.getLogger(__name__)

# Reads: at most READ_BATCH entries at a time; none while READ_BATCH lanes wait to start or
# the event loop lags more than BUSY_LAG_S (CPU-bound work), unless fewer than MIN_PREFETCH
# are in flight: what this process cannot start soon is left to the other replicas.
READ_BATCH = 100
MIN_PREFETCH = 16
BUSY_LAG_S = 0.02
BUSY_PAUSE_S = 0.01
# After a read that did not fill a batch while MIN_PREFETCH or more entries are in flight, the
# next read waits up to BUSY_READ_LINGER_S, so a busy process takes its entries in batches
# (one round trip for many) instead of one read per message: what arrives would wait behind
# that work anyway. With less in flight the next read goes at once: the read shares its round
# trip with the commands of the messages in flight (brain/store/redis_batch.py), and a 2 ms
# linger there (until the seventh pass of issue 13) cost a message 2-4 ms of its ~5 ms at
# 500 msg/s.
BUSY_READ_LINGER_S = 0.01
# The linger (and the busy pause, BUSY_PAUSE_S) ends early once fewer than LINGER_UNTIL_BELOW
# entries are in flight (``Lanes.linger``): the batch before is nearly done, and waiting on
# would leave the loop without work.
LINGER_UNTIL_BELOW = MIN_PREFETCH // 2
# A read that failed, or took this much longer than its 0.2 s wait, may have taken entries it
# never returned (a Redis Cluster failover): the consumer then takes back its own pending
# entries idle at least STRANDED_IDLE_S (not those the last read just returned).
STRANDED_READ_S = 1.2
STRANDED_IDLE_S = 0.3
# While a cluster's slot map settles after a failover, a read that returns at once can still
# have been retried inside redis-py (a MOVED answer resends the whole pipeline) and so strand
# what its first attempt took; after a failed or hung read the consumer therefore takes its own
# entries back twice more, these many seconds later (each costs one claim per partition, and
# at most +2 on the delivery count of an entry still being answered).
TAKE_BACK_AGAIN_S = (2.0, 6.0)
# No read may take longer than this: a node that accepts connections and never answers (a
# hung host) must not stall every conversation. A read cut off here counts as failed.
READ_DEADLINE_S = 10.0


def read_linger(read: int, asked: int, in_flight: int) -> float:
    """How long at most to wait before the next read (0: read at once)."""
    if read == 0 or read >= asked or in_flight < MIN_PREFETCH:
        return 0.0
    return BUSY_READ_LINGER_S


SLOW_DOWN_TEXT = (
    "You're sending messages faster than we can answer them. We'll get to each one in turn: "
    "no need to resend."
)
SLOW_DOWN_QUIET_S = 60.0


class Throttled(Exception):
    """The customer is over their rate: try again in ``wait_s``."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"over the customer rate; next token in {wait_s:.2f} s")
        self.wait_s = wait_s


class Outage:
    """While the store is down: one log line per retry, waits growing from 0.5 s to 30 s, and
    one line once it works again (not a traceback per attempt)."""

    def __init__(self, what: str, first_s: float = 0.5, most_s: float = 30.0) -> None:
        self.what, self.first_s, self.most_s = what, first_s, most_s
        self.failures = 0

    async def failed(self, err: Exception, stopping: asyncio.Event) -> None:
        delay = min(self.first_s * 2 ** min(self.failures, 16), self.most_s)
        self.failures += 1
        logger.warning("%s failed (%s); retrying in %.1f s", self.what, err, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)

    def ok(self) -> None:
        if self.failures:
            logger.warning("%s works again after %d failed attempts", self.what, self.failures)
            self.failures = 0


async def cpu_saturated() -> bool:
    """True when one pass over the ready tasks takes longer than ``BUSY_LAG_S``: the work
    in flight is computing. Waiting on providers or the store leaves the loop idle."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.sleep(0)
    return loop.time() - started > BUSY_LAG_S


def join_burst(head: InboundMessage, companions: Sequence[QueueEntry]) -> InboundMessage:
    """A burst as one question: the texts in order, under the first message's identity."""
    if not companions:
        return head
    texts = [head.text] + [
        e.message.text for e in companions if isinstance(e.message, InboundMessage)
    ]
    return replace(head, text="\n".join(texts))
