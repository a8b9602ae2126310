"""``FRONTDESK_STORE__*``: where state lives (SQLite or Redis, one node or a cluster)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from config.sections.base import Key, NonEmptyPath, PositiveSeconds, Section

CLUSTER_PARTITIONS = 16  # default inbound streams on a Redis Cluster


class StoreSettings(Section):
    """Where state lives: SQLite in ``data_dir`` unless ``redis_url`` is set."""

    redis_url: Key = None
    # REDIS_URL names one node of a Redis Cluster, or several separated by commas (startup
    # nodes: any one that answers tells the client the rest).
    redis_cluster: bool = False
    # Inbound streams (Redis only); unset: 1 on one Redis, CLUSTER_PARTITIONS on a cluster.
    stream_partitions: int | None = Field(None, ge=1, le=1024)
    # Each replica reads only the partitions it holds a lease for (Redis only).
    partition_affinity: bool = False
    data_dir: NonEmptyPath = Path(".frontdesk")
    history_limit: int = Field(50, ge=2, le=10_000)
    retention_days: float = Field(30.0, gt=0)
    idempotency_ttl_hours: float = Field(72.0, gt=0)
    lock_ttl_seconds: PositiveSeconds = 30.0
    reclaim_idle_seconds: PositiveSeconds = 90.0
    consumer_name: str | None = None

    @property
    def backend(self) -> Literal["sqlite", "redis"]:
        return "redis" if self.redis_url is not None else "sqlite"

    @property
    def partitions(self) -> int:
        """How many inbound streams a Redis store reads."""
        if self.stream_partitions is not None:
            return self.stream_partitions
        return CLUSTER_PARTITIONS if self.redis_cluster else 1

    @model_validator(mode="after")
    def _cluster(self) -> StoreSettings:
        for name, value in (("REDIS_CLUSTER", self.redis_cluster),
                            ("STREAM_PARTITIONS", self.stream_partitions),
                            ("PARTITION_AFFINITY", self.partition_affinity)):  # fmt: skip
            if value and self.redis_url is None:
                raise ValueError(f"FRONTDESK_STORE__{name}: needs FRONTDESK_STORE__REDIS_URL")
        if self.redis_url is None:
            return self
        urls = redis_urls(self.redis_url.get_secret_value())
        if len(urls) > 1 and not self.redis_cluster:
            raise ValueError("FRONTDESK_STORE__REDIS_URL: several nodes (a comma-separated "
                             "list) are for a Redis Cluster only; set "
                             "FRONTDESK_STORE__REDIS_CLUSTER=true or name one Redis")  # fmt: skip
        for url in urls if self.redis_cluster else ():
            parts = urlsplit(url)
            if parts.scheme == "unix":
                raise ValueError("FRONTDESK_STORE__REDIS_URL: a cluster is reached over TCP "
                                 "(redis:// or rediss://), not a unix socket")  # fmt: skip
            if parts.path.strip("/") not in ("", "0"):
                raise ValueError("FRONTDESK_STORE__REDIS_URL: a cluster has only database 0 "
                                 f"(the URL asks for /{parts.path.strip('/')})")  # fmt: skip
        return self

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        urls = redis_urls(value.get_secret_value())
        for n, url in enumerate(urls, 1):
            # Never the URL itself in the message: it may carry a password.
            where = f"node {n} of {len(urls)}: " if len(urls) > 1 else ""
            try:
                _check_url(url)
            except ValueError as err:
                raise ValueError(f"{where}{err}") from None
        if len({urlsplit(url).scheme for url in urls}) > 1:
            raise ValueError("the nodes of one cluster use one scheme (all redis:// or all "
                             "rediss://)")  # fmt: skip
        return value


def redis_urls(value: str) -> list[str]:
    """The URLs of ``FRONTDESK_STORE__REDIS_URL``: one, or a cluster's startup nodes
    separated by commas (each a whole URL; the client connects with the first one's
    credentials and options)."""
    return [url.strip() for url in value.split(",")]


def _check_url(url: str) -> None:
    if not url:
        raise ValueError("an empty entry in the comma-separated list of nodes")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must start with redis://, rediss:// or unix://")
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return
    # redis-py parses the URL only when it connects: a bad port would surface as a traceback
    # at start-up, after `frontdesk check` said all was well.
    try:
        port = parts.port
    except ValueError as err:
        port_text = parts.netloc.rpartition(":")[2]
        raise ValueError(f"port {port_text} is not a port number (1-65535)") from err
    if port == 0:
        raise ValueError("port 0 is not a port number (1-65535)")
    if not parts.hostname:
        raise ValueError("no host in the URL (redis://HOST:PORT/DB)")
