from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from brain.classify import Classifier
from brain.escalation import Policy
from brain.handler import Brain, BrainParts
from brain.knowledge import KnowledgeBase
from brain.playbook import Playbook
from brain.providers.offline import OfflineAnswerer
from brain.store.base import Store, StoreLimits
from brain.store.sqlite import SqliteStore
from config.settings import PACKAGED_KNOWLEDGE_DIR, PACKAGED_PLAYBOOK
from tests.servers import RedisCluster, RedisServer, start_redis, start_redis_cluster


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    try:
        server = start_redis(tmp_path_factory.mktemp("redis"))
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A real three-master Redis Cluster on loopback, for the whole session."""
    try:
        cluster = start_redis_cluster(tmp_path_factory.mktemp("redis-cluster"))
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    yield cluster
    cluster.stop()


CLUSTER_PARTITIONS = 6  # several slots on every node (tests/test_store_cluster.py checks)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's FRONTDESK_* variables or .env file."""
    import os

    for key in list(os.environ):
        if key.upper().startswith("FRONTDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


StoreFactory = Callable[..., Store]


def make_store_factory(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> StoreFactory:
    """Stores of one backend that share state (like two processes would): ``sqlite``,
    ``redis`` (one redis-server, one stream), ``redis-partitioned`` (one redis-server, four
    streams) or ``redis-cluster`` (a three-master cluster, several streams)."""
    namespace = f"t{uuid.uuid4().hex[:10]}"

    def make(**limits: Any) -> Store:
        store_limits = StoreLimits(**limits)
        if backend == "sqlite":
            return SqliteStore(tmp_path / "state.db", limits=store_limits)
        from brain.store.redis import RedisStore

        if backend == "redis-cluster":
            cluster: RedisCluster = request.getfixturevalue("redis_cluster")
            return RedisStore.from_url(cluster.url, limits=store_limits, namespace=namespace,
                                       cluster=True, partitions=CLUSTER_PARTITIONS)  # fmt: skip
        server: RedisServer = request.getfixturevalue("redis_server")
        partitions = 4 if backend == "redis-partitioned" else 1
        return RedisStore.from_url(server.url, limits=store_limits, namespace=namespace,
                                   partitions=partitions)  # fmt: skip

    return make


@pytest.fixture(params=["sqlite", "redis"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    return make_store_factory(request.param, request, tmp_path)


@pytest.fixture
async def store(store_factory: StoreFactory) -> AsyncIterator[Store]:
    instance = store_factory()
    await instance.open()
    yield instance
    await instance.close()


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeBase:
    return KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)


@pytest.fixture(scope="session")
def classifier(knowledge: KnowledgeBase) -> Classifier:
    """The sample playbook's classifier, trained once per test run."""
    playbook = Playbook.load(PACKAGED_PLAYBOOK, known_kb_ids=[e.id for e in knowledge.entries])
    return Classifier(playbook, ["en", "de", "fr", "es"])


BrainFactory = Callable[..., Brain]


@pytest.fixture
def make_brain(knowledge: KnowledgeBase, classifier: Classifier) -> BrainFactory:
    def make(store: Store, **policy: Any) -> Brain:
        parts = BrainParts(store, knowledge, classifier, OfflineAnswerer(), Policy(**policy))
        return Brain(parts)

    return make
