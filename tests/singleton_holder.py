"""A replica that only holds one singleton, as a separate process (for kill -9 tests).

``python -m tests.singleton_holder URL NAMESPACE NAME TTL`` takes the singleton ``NAME`` on
the Redis store at ``URL`` and prints ``holding`` once its work runs; it runs until killed.
"""

from __future__ import annotations

import asyncio
import sys

from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from channels.singleton import Singleton


async def main(url: str, namespace: str, name: str, ttl_s: float) -> None:
    store = RedisStore.from_url(url, limits=StoreLimits(lock_ttl_s=ttl_s), namespace=namespace)
    await store.open()

    async def work() -> None:
        print("holding", flush=True)
        await asyncio.Event().wait()

    await Singleton(store, name, retry_base_s=0.05, retry_max_s=0.2, watch_s=0.02).run(work)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
