"""The single path every customer message takes.

    channel -> submit(): durable enqueue + duplicate drop -> (platform may be acked now)
    run(): read queue -> per-conversation lane (in order) -> conversation lock (across
    processes) -> outbox already has replies? deliver them : brain -> outbox -> deliver -> ack

Different conversations run concurrently up to ``max_concurrency``. An exception or timeout in
the brain is caught per message: it is logged with the conversation and message ids, a ticket is
opened and the customer gets a polite fallback. Entries a dead process left unacked are
reclaimed after ``reclaim_idle_s``; the outbox guarantees a reclaimed message is never answered
a second time once its reply was delivered.

A lane holds its head: while a conversation's message is neither delivered nor dead-lettered
(``bot/delivery.py``), the lane retries it with backoff and the next message waits. Relays
of customers' follow-ups to a ticket's thread run in a lane of their own per ticket and take
no worker slot, so a desk's posting pace never holds up answering.

The parts, in the order a message meets them: ``base`` (``DispatchConfig``, the ``Responder``
and ``Drafter`` protocols), ``dispatcher`` (``Dispatcher``: submit, run, stop, drain),
``reader`` (the read loop and its back-pressure, resume and reclaim), ``lanes`` (order per
conversation, retries with backoff, coalescing bursts), ``turn`` (one entry under the
conversation's lock: older entries first, outbox, desks, delivery, ack) and ``decide`` (the
customer's rate, the brain within its time limit, the fallback). Pacing lives in
``bot/flow.py``, delivery and dead letters in ``bot/delivery.py``.
"""

from __future__ import annotations

from bot.dispatch.base import DispatchConfig, Drafter, Responder
from bot.dispatch.dispatcher import Dispatcher
from bot.flow import SLOW_DOWN_TEXT

__all__ = ["SLOW_DOWN_TEXT", "DispatchConfig", "Dispatcher", "Drafter", "Responder"]
