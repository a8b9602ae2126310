"""A whole bot built by ``bot.wiring.build_parts`` around an in-memory channel and desk, run
like ``bot/app.py`` runs it (ops server, dispatcher, desks, channels, connection)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bot.wiring import Parts, build_parts
from brain.store.base import Store
from channels.base import Author, BotEvent, DeskAction, DeskEvent, DeskFeedback, Part
from channels.fake import FakeChannel, FakeDesk
from config.settings import Settings

ALICE = Author(id="U_ALICE", display_name="Alice")


class FakeAdapter:
    name = "fake"

    def __init__(self, channel: FakeChannel, desk: FakeDesk) -> None:
        self.channels = (channel,)
        self.desks = (desk,)
        self.up = True
        self.events: list[BotEvent] = []

    async def emit(self, event: BotEvent) -> None:  # an EventSink, as the web channel is
        self.events.append(event)

    @property
    def connected(self) -> bool:
        return self.up

    def connection(self) -> contextlib.AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()

    def describe(self) -> list[Part]:
        return []


@dataclass
class Bot:
    parts: Parts
    channel: FakeChannel
    desk: FakeDesk
    adapter: FakeAdapter

    @property
    def base_url(self) -> str:
        assert self.parts.ops is not None
        return f"http://127.0.0.1:{self.parts.ops.bound_port}"

    async def customer(self, text: str, conversation: str = "c1", **fields: Any) -> list[str]:
        before = len(self.channel.sent_to(conversation))
        message = self.channel.message(text, conversation=conversation, **fields)
        await self.channel.inject(message)
        await self.parts.dispatcher.drain()
        return self.channel.sent_to(conversation)[before:]

    async def agent(self, action: DeskAction, who: Author = ALICE, **fields: Any) -> DeskFeedback:
        feedback = await self.desk.act(DeskEvent(action=action, agent=who, **fields))
        await self.parts.dispatcher.drain()
        return feedback


def settings_for(data_dir: str, **sections: dict[str, Any]) -> Settings:
    observability = {"metrics_port": 0, **sections.pop("observability", {})}
    return Settings(
        store={"data_dir": data_dir},  # type: ignore[arg-type]
        observability=observability,  # type: ignore[arg-type]
        **sections,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def running_bot(settings: Settings, store: Store) -> AsyncIterator[Bot]:
    channel, desk = FakeChannel(), FakeDesk()
    adapter = FakeAdapter(channel, desk)
    parts = await build_parts(settings, store, [adapter])
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(parts.brain.close)
        if parts.ops is not None:
            await parts.ops.start()
            stack.push_async_callback(parts.ops.stop)
        worker = asyncio.create_task(parts.dispatcher.run())

        async def stop_worker() -> None:
            parts.dispatcher.stop()
            await asyncio.wait_for(worker, 10)

        stack.push_async_callback(stop_worker)
        await desk.start(parts.hub.handle)
        stack.push_async_callback(desk.stop)
        await channel.start(parts.dispatcher.submit)
        stack.push_async_callback(channel.stop)
        parts.health.started(adapter)
        yield Bot(parts, channel, desk, adapter)
