"""The whole bot with the web channel, for the web tests: real dispatcher, brain and store,
the web app under the aiohttp test client (or listening on a real port for the browser)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.wiring import Parts, build_parts, build_store
from brain.store.base import Store
from channels.web import WebAdapter
from channels.web.connection import build_app
from channels.web.openapi import document
from config.settings import Settings, load_settings
from tests.fakes.loopback import LoopbackServer

CHAT_KEY = "chat-key-0123456789abcdef"
ADMIN_KEY = "admin-key-0123456789abcdef"
SPEC = document()


def web_settings(data_dir: Path, monkeypatch: Any, **extra: str) -> Settings:
    values = {"WEB__ENABLED": "true", "WEB__PORT": "0", "STORE__DATA_DIR": str(data_dir),
              "WEB__API_KEYS": f"chat:{CHAT_KEY},admin:{ADMIN_KEY}", **extra}  # fmt: skip
    for key, value in values.items():
        monkeypatch.setenv(f"FRONTDESK_{key}", value)
    return load_settings(env_file=None)


@dataclass
class WebBot:
    parts: Parts
    adapter: WebAdapter
    client: TestClient[web.Request, web.Application]

    async def call(self, method: str, path: str, key: str | None = None, *,
                   expect: int | None = None, json_body: Any = None, data: Any = None,
                   headers: Mapping[str, str] | None = None) -> tuple[int, Any, Any]:  # fmt: skip
        """One API call, its response checked against the OpenAPI document."""
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        resp = await self.client.request(method, path, json=json_body, data=data, headers=sent)
        body = json.loads(await resp.text())
        validate(method, path, resp.status, resp.content_type, body)
        if expect is not None:
            assert resp.status == expect, (resp.status, body)
        return resp.status, body, resp.headers

    async def conversation(self, key: str | None = None, **fields: Any) -> tuple[str, str]:
        _, body, _ = await self.call("POST", "/api/v1/conversations", key, json_body=fields,
                                     expect=201)  # fmt: skip
        return body["id"], body["token"]


def validate(method: str, path: str, status: int, content_type: str, body: Any) -> None:
    template = _template(path.split("?", maxsplit=1)[0])
    operation = SPEC["paths"][template][method.lower()]
    response = operation["responses"][str(status)]
    schema = response["content"][content_type]["schema"]
    full = {**schema, "components": SPEC["components"]}
    jsonschema.Draft202012Validator.check_schema(full)
    jsonschema.Draft202012Validator(full).validate(body)


def _template(path: str) -> str:
    parts = path.removeprefix("/api/v1").split("/")
    if len(parts) > 2 and parts[1] == "conversations":
        parts[2] = "{id}"
    return "/".join(parts)


@asynccontextmanager
async def running_bot(settings: Settings, store: Store | None = None) -> AsyncIterator[WebBot]:
    """``store``: a store of its own (a replica sharing another's backend); default: the
    store the settings name."""
    store = store if store is not None else build_store(settings)
    await store.open()
    parts = await build_parts(settings, store)
    adapter = next(a for a in parts.adapters if isinstance(a, WebAdapter))
    worker = asyncio.create_task(parts.dispatcher.run())
    for channel in parts.channels:
        await channel.start(parts.dispatcher.submit)
    ctx = adapter.server.ctx
    await ctx.open()
    await ctx.channel.follow()
    await adapter.server.webhooks.start()
    client = TestClient(TestServer(build_app(ctx)))
    await client.start_server()
    try:
        yield WebBot(parts, adapter, client)
    finally:
        await client.close()
        await adapter.server.webhooks.stop()
        parts.dispatcher.stop()
        await asyncio.wait_for(worker, 30)
        await ctx.channel.unfollow()
        await parts.brain.close()
        await store.close()


class HookReceiver:
    """A webhook subscriber on 127.0.0.1: records every request; ``fail`` answers the next
    requests with 500."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail = 0
        self.changed = asyncio.Event()
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/hook"

    async def __aenter__(self) -> HookReceiver:
        await self.server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.stop()

    async def _hook(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        self.changed.set()
        if self.fail > 0:
            self.fail -= 1
            return web.Response(status=500)
        return web.Response(status=204)

    async def until(self, check: Any, within: float = 15.0) -> None:
        async def wait() -> None:
            while not check():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), within)
