"""Cross-message pipelining for one Redis: commands issued in the same event-loop tick share
one pipeline.

Many conversations are worked on at once, and each step of each one is a command or a
script. Sent one by one, every command costs a connection checkout, a ``send`` system call
and a wake-up of redis-server (which, on a small machine, competes with this process for
the same cores). ``Coalescer.call`` queues the command and, on the first call of a tick,
schedules a flush for the end of that tick (``loop.call_soon``: every task the loop is
running now reaches its next ``await`` first), or, while a pipeline is still unanswered,
for when its reply is in (``IN_FLIGHT``); the flush writes everything queued as one
pipeline (one write, no MULTI) on a connection the coalescer keeps between pipelines, and
reads the replies in order, each parsed as redis-py parses that command.

Each caller gets its own reply or its own error: a command that fails (a script's error,
NOSCRIPT, a wrong type) fails only its caller, the others in the same pipeline still get
their replies. Commands from one caller keep their order: a caller awaits each reply before
its next command, and commands queued in one tick are sent in the order they were queued,
on one connection, and Redis runs them in that order. A connection error fails every
command of that pipeline (each may or may not have run, exactly as for a single command
whose connection breaks); the connection's retry policy (none, for the store's pools) and
the pool's check of a reused connection apply per pipeline, as redis-py applies them per
command. So does the socket timeout: the whole exchange (the write and every reply) must end
within the connection's ``socket_timeout``, where redis-py would time each reply alone (an
``asyncio.timeout`` per reply cost about 4% of a message's CPU in ``bench/pipeline.py``).

What never goes through here: blocking commands (XREADGROUP BLOCK would hold up every
command behind it), WATCH/MULTI transactions (they need their own connection), pub/sub, and
everything on a Redis Cluster (its client routes each command to a node; the store calls it
directly there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection, Connection
from redis.exceptions import DataError, NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import ScriptTextT

from channels.frozen import constructor

logger = logging.getLogger(__name__)

MAX_BATCH = 512
"""At most this many commands per pipeline; more queued in one tick go in further pipelines
(one huge write and its replies would hold the loop for a long stretch)."""


IN_FLIGHT = 1
"""Pipelines sent and not yet answered, at most: what is queued meanwhile waits for the reply
and goes in the next pipeline. Under load each pipeline then carries what a whole round trip
gathered (about 5 commands in ``bench/pipeline.py``, one pipeline per message, against 3 and
1.7 when every tick sent its own); an idle store still sends at the end of the first tick."""


@dataclass(frozen=True, slots=True)
class _Call:
    args: tuple[Any, ...]
    options: Mapping[str, Any]
    future: asyncio.Future[Any]


_new_call = constructor(_Call)  # about four a message: the class call at half the cost


class Coalescer:
    """One pipeline per event-loop tick for the commands of every caller."""

    def __init__(
        self,
        client: aioredis.Redis,
        max_batch: int = MAX_BATCH,
        keep: int = 4,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        self.client = client
        self.max_batch = max_batch
        self.commands = 0
        self.pipelines = 0
        """Pipelines sent so far (for tests and benchmarks)."""
        self._queued: list[_Call] = []
        self._scheduled = False
        self._sending: set[asyncio.Task[None]] = set()
        # Connections this coalescer keeps between pipelines: taking one from redis-py's
        # pool and giving it back costs more Python than packing a small pipeline.
        self.keep = keep
        self.in_flight = in_flight
        self._pool = client.connection_pool
        self._idle: list[AbstractConnection] = []
        self._closing = False
        # The connections' own socket timeout, applied to a whole pipeline (see the module's
        # docstring); set aside on a connection while the coalescer holds it.
        self._socket_timeout: float | None = None

    async def call(self, *args: Any, **options: Any) -> Any:
        """``client.execute_command(*args, **options)``, sent with whatever else is queued in
        this tick; the reply is parsed as redis-py parses that command's reply."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queued.append(_new_call(args, options, future))
        if len(self._queued) >= self.max_batch:
            self._flush()
        elif not self._scheduled and len(self._sending) < self.in_flight:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    async def evalsha(
        self, sha: str, source: ScriptTextT, keys: list[str], args: tuple[Any, ...]
    ) -> Any:
        """A script by its digest; loaded again (once) when the server lost its scripts."""
        try:
            return await self.call("EVALSHA", sha, len(keys), *keys, *args)
        except NoScriptError:
            # A restart (or SCRIPT FLUSH) emptied the script cache. Loading is idempotent.
            await self.client.script_load(source)
            return await self.call("EVALSHA", sha, len(keys), *keys, *args)

    async def close(self) -> None:
        """Wait for the pipelines already sent; give the kept connections back."""
        self._closing = True
        if self._queued:
            self._flush()
        await asyncio.gather(*self._sending, return_exceptions=True)
        while self._idle:
            await self._release(self._idle.pop())

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._queued = self._queued, []
        batch = [c for c in batch if not c.future.done()]  # cancelled before it was sent
        if not batch:
            return
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if self._queued and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def _send(self, batch: list[_Call]) -> None:
        self.pipelines += 1
        self.commands += len(batch)
        try:
            conn = await self._connection()
        except asyncio.CancelledError:
            _fail(batch, None)
            raise
        except Exception as err:  # no connection to be had: every caller hears why
            _fail(batch, err)
            return
        try:
            # As redis-py's own pipeline does: on a connection error the connection is
            # dropped and the batch sent again (its retry policy), so coalescing changes
            # nothing about what a broken connection means for a command.
            replies = await conn.retry.call_with_retry(
                lambda: self._exchange(conn, batch), lambda _: conn.disconnect()
            )
        except asyncio.CancelledError:
            _fail(batch, None)
            await self._drop(conn)
            raise
        except Exception as err:  # the connection, not one command: every caller hears it
            await self._drop(conn)
            _fail(batch, err)
            return
        if len(self._idle) < self.keep and not self._closing:
            self._idle.append(conn)
        else:
            await self._release(conn)
        for call, reply in zip(batch, replies, strict=True):
            if call.future.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(reply, Exception):
                call.future.set_exception(reply)
            else:
                call.future.set_result(reply)

    async def _exchange(self, conn: AbstractConnection, batch: list[_Call]) -> list[Any]:
        """Write the batch in one send, then read every reply (all of them, even after an
        error reply, so the connection stays in step), each parsed as redis-py parses it;
        all within the socket timeout (the connection is dropped when it runs out)."""
        try:
            async with asyncio.timeout(self._socket_timeout):
                return await self._replies(conn, batch)
        except TimeoutError:  # asyncio's (redis-py's is not one): callers expect redis-py's
            raise RedisTimeoutError(
                f"no reply to a pipeline of {len(batch)} within {self._socket_timeout} s"
            ) from None

    async def _replies(self, conn: AbstractConnection, batch: list[_Call]) -> list[Any]:
        await conn.send_packed_command(_pack(conn, batch))
        replies: list[Any] = []
        parse, connection = self.client.parse_response, cast("Connection", conn)
        for call in batch:
            try:
                replies.append(await parse(connection, call.args[0], **call.options))
            except ResponseError as err:
                replies.append(err)
        return replies

    async def _connection(self) -> AbstractConnection:
        """A kept connection, checked as the pool checks the ones it hands out (the server
        may have closed it meanwhile: a restart, a timeout), or a new one from the pool."""
        if not self._idle:
            take: Any = self._pool.get_connection  # untyped in redis-py
            fresh: AbstractConnection = await take()
            # Timed per pipeline instead (``_exchange``); given back on release. Every
            # connection of one pool has the same timeout.
            self._socket_timeout = fresh.socket_timeout
            fresh.socket_timeout = None
            return fresh
        conn = self._idle.pop()
        try:
            await self._pool.ensure_connection(conn)
        except BaseException:
            await self._drop(conn)
            raise
        return conn

    async def _drop(self, conn: AbstractConnection) -> None:
        """A connection whose replies may be half read goes back to the pool closed."""
        with contextlib.suppress(Exception):
            await conn.disconnect()
        await self._release(conn)

    async def _release(self, conn: AbstractConnection) -> None:
        conn.socket_timeout = self._socket_timeout  # as the pool's other users expect it
        await self._pool.release(conn)


def _pack(conn: AbstractConnection, batch: list[_Call]) -> list[bytes]:
    """The batch in the Redis protocol, packed by hiredis in C: the same bytes as redis-py's
    asyncio connection packs in Python (arguments UTF-8, numbers as ``repr``), at about an
    eighth of the CPU. Connections that encode otherwise are packed by redis-py."""
    encoder = conn.encoder
    if encoder.encoding.lower() in ("utf-8", "utf8") and encoder.encoding_errors == "strict":
        packed: list[bytes] = []
        for call in batch:
            name = call.args[0]
            if (" " if isinstance(name, str) else b" ") in name:
                break  # "SCRIPT LOAD": redis-py sends it as two words
            try:
                packed.append(hiredis.pack_command(call.args))
            except TypeError as err:  # None, a bool, a list: redis-py's encoder refuses them
                raise DataError(f"cannot send an argument of {name!r}: {err}") from None
        else:
            return [b"".join(packed)]
    return conn.pack_commands([call.args for call in batch])


def _fail(batch: list[_Call], err: Exception | None) -> None:
    """Every caller of ``batch`` still waiting hears ``err`` (None: is cancelled)."""
    for call in batch:
        if call.future.done():
            continue
        if err is None:
            call.future.cancel()
        else:
            call.future.set_exception(_copy(err))


def _copy(err: Exception) -> Exception:
    """A fresh exception per caller: one object raised in many tasks would collect all their
    tracebacks."""
    try:
        fresh = type(err)(*err.args)
    except Exception:  # an exception type whose constructor wants something else
        return err
    fresh.__cause__ = err
    return fresh
