"""The layout check a Redis store runs when it opens: never start on top of a queue that the
configured layout cannot see.

A partitioned store records its partition count under ``<namespace>:layout``. Changing the
count (or moving from the single layout to partitions) moves where every lane's keys live,
so a store refuses to open while messages are still queued under the old layout (they would
never be read). On one Redis, the first partitioned start over an empty single-layout queue
renames the tickets, histories, outbox records, logs and counters to their partitioned names; a
cluster refuses single-layout tickets instead (they cannot be renamed across slots).
docs/operations.md ("Redis: partitions and Cluster") says how to switch.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from brain.store.base import conversation_lock
from brain.store.redis_keys import LAYOUT_KEY, Layout
from config.errors import StoreError

logger = logging.getLogger(__name__)

SETTING = "FRONTDESK_STORE__STREAM_PARTITIONS"


async def check_layout(client: Redis | RedisCluster, layout: Layout) -> None:
    marker_key = layout.key(LAYOUT_KEY)
    raw = await client.get(marker_key)
    recorded = raw.decode() if isinstance(raw, bytes) else raw
    if not layout.partitioned:
        if recorded:
            raise StoreError(
                f"this Redis holds Frontdesk data in the partitioned layout ({recorded}, "
                f"namespace {layout.namespace!r}): set {SETTING} to that count again"
            )
        return
    if recorded == layout.marker:
        return
    if recorded is None:
        single = Layout(layout.namespace)
        queued = await _queued(client, single)
        tickets = int(await client.exists(single.tickets("ticket_seq")))
        if queued or (tickets and isinstance(client, RedisCluster)):
            raise StoreError(
                f"this Redis holds Frontdesk data in the single-stream layout ({queued} queued "
                f"messages{', tickets' if tickets else ''}) that {SETTING}="
                f"{layout.partitions} cannot see: run with {SETTING}=1 (and without "
                "REDIS_CLUSTER) until the queue is empty (docs/operations.md, 'Redis: "
                "partitions and Cluster')"
            )
        if not isinstance(client, RedisCluster):
            moved = await _move_single_layout(client, layout)
            if moved:
                logger.warning("moved %d keys from the single-stream layout to %d partitions",
                               moved, layout.partitions)  # fmt: skip
    else:
        old = Layout(layout.namespace, _count(recorded), layout.cluster)
        queued = await _queued(client, old)
        if queued:
            raise StoreError(
                f"{queued} messages are queued under {SETTING}={old.partitions}, which "
                f"{SETTING}={layout.partitions} would never read: run with "
                f"{old.partitions} until the queue is empty, then switch"
            )
        logger.warning(
            "%s changed from %d to %d on an empty queue: conversation histories, outbox "
            "records and idempotency keys written before are no longer found",
            SETTING, old.partitions, layout.partitions,
        )  # fmt: skip
    await client.set(marker_key, layout.marker)


async def _move_single_layout(client: Redis, layout: Layout) -> int:
    """Tickets, conversation histories, outbox records, logs and counters of the single layout,
    to their partitioned names (one Redis: a RENAME may cross hash tags there). Only with an
    empty queue; idempotency keys and lock keys stay behind and expire (which lane an idempotency
    key belonged to cannot be told from the key)."""
    head, moved = layout.namespace + ":", 0
    async for raw in client.scan_iter(match=_glob(head) + "*", count=1000):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        kind, _, rest = key.removeprefix(head).partition(":")
        target = None
        if kind == "ticket_seq" and not rest:
            target = layout.tickets(kind)
        elif kind in ("ticket", "tickets", "openticket") and rest:
            target = layout.tickets(kind, rest)
        elif kind in ("conv", "convturns", "convids") and rest:
            target = layout.of_lane(conversation_lock(rest), kind, rest)
        elif kind == "outbox" and rest:
            target = layout.of_lane(rest, kind, rest)
        elif kind in ("log", "logids", "logseq") and rest:
            target = layout.of_log(rest, kind)
        elif kind == "stats" and rest:
            target = layout.in_partition(0, kind, rest)
        if target is not None and await client.renamenx(key, target):
            moved += 1
    return moved


def _glob(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


async def _queued(client: Redis | RedisCluster, layout: Layout) -> int:
    return sum([int(await client.xlen(stream)) for stream in layout.streams()])


def _count(marker: str) -> int:
    name, _, value = marker.partition("=")
    if name != "partitions" or not value.isdigit() or int(value) < 1:
        raise StoreError(f"unreadable layout marker {marker!r} in Redis")
    return int(value)
