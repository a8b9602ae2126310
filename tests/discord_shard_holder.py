"""A replica that reads Discord gateway shards and queues its customers' messages, as a
separate process (kill -9 tests).

``python -m tests.discord_shard_holder URL NAMESPACE TTL SHARDS API_URL GATEWAY_URL [SPACING]``
runs the real ``DiscordConnection`` (shards spread over replicas on the Redis store at
``URL``, each new session reading its gap back) and customer channel (every message into the
store's inbound queue, as the bot's dispatcher takes them) against the fake Discord at
``API_URL`` / ``GATEWAY_URL``, IDENTIFYs ``SPACING`` s apart (default 0.1; Discord's is 5.5);
it prints ``ready`` once started and runs until killed, or until SIGTERM, on which it stops
as ``frontdesk run`` does (gives its shards up).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from pydantic import SecretStr

from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from channels.discord import gateway
from channels.discord.connection import DiscordConnection
from channels.discord.customers import DiscordChannel
from config.settings import DiscordSettings
from tests.fakes.discord_payloads import TOKEN

IDENTIFY_SPACING_S = 0.1  # the fake does not pace IDENTIFYs: keep the test short


async def main(
    url: str, namespace: str, ttl_s: float, shards: int, api: str, ws: str, spacing_s: float
) -> None:
    gateway.IDENTIFY_SPACING_S = spacing_s
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    store = RedisStore.from_url(url, limits=StoreLimits(lock_ttl_s=ttl_s), namespace=namespace)
    await store.open()
    settings = DiscordSettings(enabled=True, bot_token=SecretStr(TOKEN), api_base_url=api,
                               gateway_url=ws, shard_count=shards)  # fmt: skip
    connection = DiscordConnection(settings, ready_timeout_s=0.05, locks=store,
                                   presence_ttl_s=ttl_s)  # fmt: skip
    channel = DiscordChannel(connection, settings)
    await channel.start(store.enqueue)
    async with connection.connected():
        print("ready", flush=True)
        await stop.wait()
    await channel.stop()
    await store.close()


if __name__ == "__main__":
    url, namespace, ttl, shards, api, ws = sys.argv[1:7]
    spacing = float(sys.argv[7]) if len(sys.argv) > 7 else IDENTIFY_SPACING_S
    asyncio.run(main(url, namespace, float(ttl), int(shards), api, ws, spacing))
