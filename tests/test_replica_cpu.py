"""``tests/replica.py``'s witness for ``bench/replicas.py``: once its queue is empty, a replica
prints the CPU and wall time it took from the go (``bench/replicas.py`` refuses a run
without it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from channels.base import Author, ConversationRef, InboundMessage
from tests.servers import RedisServer
from tests.test_faults import replica, replica_queue


async def test_a_replica_reports_the_cpu_and_wall_time_it_worked(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    store, namespace, out, go = await replica_queue(redis_server, tmp_path, "cpu")
    for n in range(40):
        ref = ConversationRef(channel="fake", conversation_id=f"c{n % 4}")
        await store.enqueue(InboundMessage(ref=ref, message_id=f"m{n}", author=Author("u"),
                                           text=f"q{n}"))  # fmt: skip
    await store.close()
    process = replica(redis_server, namespace, "r0", out, go)  # 20 ms a message
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        await asyncio.sleep(1.5)  # waiting for the go is not counted
        go.touch()
        output, _ = await asyncio.to_thread(process.communicate, timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert len(out.read_text().splitlines()) == 40
    word, cpu, wall = output.split()
    assert word == "cpu"
    # Ten messages a conversation at 20 ms each, one after another: at least 0.2 s of work
    # (about 0.26 s here), and neither the 1.5 s before the go nor the 1.5 s of idling before
    # the exit.
    assert 0.2 <= float(wall) < 1.4
    assert 0 < float(cpu) < float(wall) + 1
