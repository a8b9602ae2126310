"""Small pieces the Redis store's modules share: error mapping, units, reply decoding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from redis.exceptions import RedisClusterException, RedisError

from brain.store.base import OutboxRecord, QueueEntry, outbox_from_json
from brain.store.records import new_entry, new_outbox_record
from channels.base import decode_queue_item
from config.errors import StoreError

K = TypeVar("K")
V = TypeVar("V")


class _failures:  # (used as a function: ``with _failures("what"):``)
    """Redis' errors as ``StoreError("Redis <what> failed: ...")``.

    A class rather than a ``contextlib.contextmanager``: it wraps every store call, several
    times for every message, and a generator-based manager costs several times as much."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        if err is None:
            return
        if isinstance(err, (RedisError, RedisClusterException)):
            raise StoreError(f"Redis {self.what} failed: {err}") from err
        if isinstance(err, (AttributeError, TypeError)) and _raised_in_redis_py(err):
            # During a cluster failover redis-py's RedisCluster answers CLUSTERDOWN by closing
            # every node's connections, also those other tasks are using right then; such a
            # task fails inside redis-py ("'NoneType' object has no attribute 'writelines'")
            # instead of with a ConnectionError (tests/test_faults_cluster.py hits it). That
            # is the store failing, to be retried like any outage: a loop that only expects
            # StoreError would otherwise die. The same error raised by our own code stays a
            # bug.
            raise StoreError(
                f"Redis {self.what} failed (connection reset mid-command): {err}"
            ) from err


def _raised_in_redis_py(err: BaseException) -> bool:
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_globals.get("__name__", "").startswith("redis.")


def _ms(seconds: float) -> int:
    """Milliseconds for PX and BLOCK: at least 1, since BLOCK 0 would wait forever."""
    return max(1, int(seconds * 1000))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _keep(cache: dict[K, V], key: K, value: V, limit: int) -> V:
    """``value`` into ``cache`` under ``key``, the oldest entry dropped past ``limit``: the
    store's memos of what never changes once written (a stream entry, a stored turn)."""
    cache[key] = value
    if len(cache) > limit:
        del cache[next(iter(cache))]
    return value


def _stream_entries(reply: Any) -> list[tuple[Any, Any, Any]]:
    """(stream, id, fields) of an XREADGROUP reply, whichever protocol (RESP2/3) it speaks."""
    if not reply:
        return []
    groups = reply.items() if isinstance(reply, dict) else ((item[0], item[1]) for item in reply)
    entries: list[tuple[Any, Any, Any]] = []
    for stream, group in groups:  # RESP3 replies wrap each stream's entries in one more list
        rows = group[0] if group and isinstance(group[0], list) else group
        entries += [(stream, entry_id, fields) for entry_id, fields in rows if fields]
    return entries


def _pairs(counters: Mapping[str, float] | None) -> list[str | float]:
    """Counter name/amount pairs for the scripts' ``count``: a whole amount as an integer
    (``1`` rather than ``1.0``), which HINCRBY takes."""
    return [item for name, amount in (counters or {}).items()
            for item in (name, _whole(amount))]  # fmt: skip


def _whole(amount: float) -> float:
    return int(amount) if type(amount) is float and amount.is_integer() else amount


def _outbox(inbound_key: str, row: Sequence[Any]) -> OutboxRecord | None:
    raw, sent, failures, dead = row
    if raw is None:
        return None
    return new_outbox_record(inbound_key, outbox_from_json(raw), int(sent or 0), int(failures or 0),
                        dead is not None)  # fmt: skip


def _entry(entry_id: str, fields: dict[Any, Any], deliveries: int) -> QueueEntry:
    data = {_text(k): v for k, v in fields.items()}
    message = decode_queue_item(_text(data["message"]))
    return new_entry(entry_id, message, deliveries)
