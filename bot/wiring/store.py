"""The store the settings name: Redis when ``FRONTDESK_STORE__REDIS_URL`` is set, else the
embedded SQLite file in the data directory."""

from __future__ import annotations

import socket

from brain.store.base import Store, StoreLimits
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from config.settings import Settings

SQLITE_FILE = "frontdesk.db"


def build_store(settings: Settings) -> Store:
    store = settings.store
    limits = StoreLimits(
        history_limit=store.history_limit,
        retention_s=store.retention_days * 86400,
        idempotency_ttl_s=store.idempotency_ttl_hours * 3600,
        lock_ttl_s=store.lock_ttl_seconds,
    )
    if store.redis_url is not None:
        consumer = store.consumer_name or socket.gethostname()
        return RedisStore.from_url(store.redis_url.get_secret_value(), limits=limits,
                                   cluster=store.redis_cluster, partitions=store.partitions,
                                   affinity=store.partition_affinity,
                                   consumer=consumer)  # fmt: skip
    return SqliteStore(store.data_dir / SQLITE_FILE, limits=limits)
