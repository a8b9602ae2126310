"""The doorbell a Redis Cluster's readers wait on instead of polling every partition.

One Redis blocks on all inbound streams in one XREADGROUP. A cluster cannot (the streams sit in
different slots), and blocking on each partition at once would hold a partition's arrival
until the others' waits end. So the enqueue script also PUBLISHes one byte on
``<namespace>:doorbell`` (classic pub/sub reaches every node of a cluster), and an idle reader
waits for that, then sweeps the partitions. A reader subscribes before its first sweep, so
nothing enqueued after that sweep goes unheard; doorbells that rang while the reader was busy
are cleared before each sweep. If the subscription breaks, the reader polls the partitions
every ``POLL_S`` until it can subscribe again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

logger = logging.getLogger(__name__)

POLL_S = 0.05
CLEAR_AT_MOST = 10_000  # doorbells read (and ignored) before one sweep


class Doorbell:
    def __init__(self, client: RedisCluster, channel: str) -> None:
        self.client = client
        self.channel = channel
        self._pubsub: PubSub | None = None

    async def clear(self) -> None:
        """Subscribed, with the doorbells that rang so far read and ignored."""
        pubsub = await self._subscribed()
        if pubsub is None:
            return
        try:
            for _ in range(CLEAR_AT_MOST):
                if await pubsub.get_message(ignore_subscribe_messages=True, timeout=0) is None:
                    return
        except (RedisError, RedisClusterException, OSError) as err:
            await self._broken(err)

    async def wait(self, timeout_s: float) -> bool:
        """True when it rang within ``timeout_s`` (or, unsubscribed, after a poll interval:
        the caller sweeps either way)."""
        pubsub = await self._subscribed()
        if pubsub is None:
            await asyncio.sleep(min(timeout_s, POLL_S))
            return True
        try:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout_s)
        except (RedisError, RedisClusterException, OSError) as err:
            await self._broken(err)
            return True
        return message is not None

    async def close(self) -> None:
        if self._pubsub is not None:
            pubsub, self._pubsub = self._pubsub, None
            await cast("Any", pubsub).aclose()  # typed only from redis-py 8.2 on

    async def _subscribed(self) -> PubSub | None:
        if self._pubsub is None:
            pubsub = self.client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                # The confirmation: from here on every ring reaches us.
                await pubsub.get_message(timeout=1.0)
            except (RedisError, RedisClusterException, OSError) as err:
                logger.warning("cannot subscribe to %s (%s); polling", self.channel, err)
                await pubsub.aclose()
                return None
            self._pubsub = pubsub
        return self._pubsub

    async def _broken(self, err: Exception) -> None:
        logger.warning("the subscription to %s broke (%s); subscribing again", self.channel, err)
        await self.close()
