"""Discord messages held while the store is down (``channels/holding.py``): a real
redis-server (AOF) is killed, ``--messages`` customer messages (default 2,000, over
``--conversations`` conversations, default 200) arrive through the fake Discord gateway and
the real discord.py, the server stays down ``--down`` s (default 10) and is restarted.

Past ``FRONTDESK_DISCORD__MAX_HELD_MESSAGES`` (5,000) a message is refused with a reply.
Measured: messages held at the peak, the process's RSS growth while holding them, seconds
from the restart until every one is queued, messages lost or refused, and order violations
(a conversation's messages out of arrival order in the stream). Run: ``python
bench/discord_held.py [--messages N] [--conversations C] [--down S]``. The last line printed
is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr

from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from channels.base import InboundMessage
from channels.discord.connection import DiscordConnection
from channels.discord.customers import NOT_TAKEN, DiscordChannel
from config.settings import DiscordSettings
from tests.fakes.fake_discord import SUPPORT, TOKEN, FakeDiscord
from tests.servers import start_redis


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(messages: int, conversations: int, down_s: float) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp) / "redis", aof=True)
        store = RedisStore.from_url(server.url, limits=StoreLimits(), consumer="bench")
        await store.open()
        async with FakeDiscord() as fake:
            settings = DiscordSettings(enabled=True, bot_token=SecretStr(TOKEN),
                                       support_channel_ids=[SUPPORT],
                                       api_base_url=fake.api_base_url,
                                       gateway_url=fake.gateway_url)  # fmt: skip
            connection = DiscordConnection(settings, ready_timeout_s=0.05)
            channel = DiscordChannel(connection, settings)
            await channel.start(store.enqueue)
            await connection.start()
            try:
                server.kill()
                before = rss_mb()
                sent: dict[str, list[str]] = {}
                for n in range(messages):
                    author = {"id": str(1_600_000_000_000_000_000 + n % conversations),
                              "username": f"c{n % conversations}", "global_name": None,
                              "discriminator": "0", "avatar": None}  # fmt: skip
                    payload = fake.guild_message(f"q{n}", author=author)
                    sent.setdefault(author["id"], []).append(payload["id"])
                    await fake.dispatch("MESSAGE_CREATE", payload)
                held = channel.held
                await fake.wait_for(lambda: held.held + held.refused == messages, within=120)
                held_rss = rss_mb() - before
                await asyncio.sleep(down_s)
                server.restart()
                restarted = time.perf_counter()
                await fake.wait_for(lambda: channel.held.held == 0, within=300)
                drained = time.perf_counter() - restarted
                entries = []
                while batch := await store.read_queue("bench", 1000, 0.1):
                    entries.extend(batch)
                got: dict[str, list[str]] = {}
                for entry in entries:
                    if isinstance(entry.message, InboundMessage):
                        got.setdefault(entry.message.author.id, []).append(entry.message.message_id)
                # Out of order: a conversation's queued messages not in the order they were sent.
                violations = sum(1 for k, ids in got.items()
                                 if ids != [i for i in sent[k] if i in set(ids)])  # fmt: skip
                queued = sum(len(v) for v in got.values())
                lost = messages - queued - channel.held.refused
                replies = [m for m in fake.sent if m.get("content") == NOT_TAKEN]
                return {"held_messages": channel.held.peak, "held_rss_mb": round(held_rss, 1),
                        "held_drain_seconds": round(drained, 2), "held_lost": lost,
                        "held_refused": channel.held.refused,
                        "held_refusal_replies": len(replies),
                        "held_order_violations": violations}  # fmt: skip
            finally:
                await connection.stop()
                await channel.stop()
                await store.close()
                server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--down", type=float, default=10.0)
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(run(args.messages, args.conversations, args.down))
    print(f"{result['held_messages']} messages held over {args.conversations} conversations "
          f"(+{result['held_rss_mb']} MB RSS) while Redis was down {args.down:.0f} s; all "
          f"queued {result['held_drain_seconds']} s after the restart; lost "
          f"{result['held_lost']}, refused {result['held_refused']} (each told to send it again: "
          f"{result['held_refusal_replies']} replies), order violations "
          f"{result['held_order_violations']}")  # fmt: skip
    print(f"# took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(json.dumps({"held_down_seconds": args.down, **result}))


if __name__ == "__main__":
    main()
