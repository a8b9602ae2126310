"""The layout check a Redis store runs when it opens: never start on top of a queue that the
configured layout cannot see.

A partitioned store records its partition count under ``<namespace>:layout``. Changing the
count (or moving from the single layout to partitions) moves where every lane's keys live,
so a store refuses to open while messages are still queued under the old layout (they would
never be read) and, for the single layout, while it holds tickets (they would vanish from the
desks). docs/operations.md ("Redis: partitions and Cluster") says how to switch.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

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
        if queued or tickets:
            raise StoreError(
                f"this Redis holds Frontdesk data in the single-stream layout ({queued} queued "
                f"messages{', tickets' if tickets else ''}) that {SETTING}="
                f"{layout.partitions} cannot see: run with {SETTING}=1 (and without "
                "REDIS_CLUSTER), or move the data first (docs/operations.md, 'Redis: "
                "partitions and Cluster')"
            )
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


async def _queued(client: Redis | RedisCluster, layout: Layout) -> int:
    return sum([int(await client.xlen(stream)) for stream in layout.streams()])


def _count(marker: str) -> int:
    name, _, value = marker.partition("=")
    if name != "partitions" or not value.isdigit() or int(value) < 1:
        raise StoreError(f"unreadable layout marker {marker!r} in Redis")
    return int(value)
