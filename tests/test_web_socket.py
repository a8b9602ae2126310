"""The widget's WebSocket through the aiohttp test client: history on connect, live replies
and typing, resume after a reconnect from the last seen id, a re-sent frame answered once,
and a token that never opens another conversation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSServerHandshakeError

from tests.web_bot import WebBot, running_bot, web_settings


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WebBot]:
    async with running_bot(web_settings(tmp_path / "data", monkeypatch)) as running:
        yield running


async def frames_until(ws: ClientWebSocketResponse, kind: str, role: str | None = None
                       ) -> list[dict[str, Any]]:  # fmt: skip
    seen = []
    while True:
        frame = json.loads((await ws.receive(timeout=15)).data)
        seen.append(frame)
        if frame["type"] == kind and (role is None or frame["message"]["role"] == role):
            return seen


async def test_live_reply_resume_and_one_answer_per_client_id(bot: WebBot) -> None:
    conv, token = await bot.conversation()
    ws = await bot.client.ws_connect(f"/api/v1/ws?token={token}")
    hello = json.loads((await ws.receive(timeout=5)).data)
    assert hello == {"type": "hello", "conversation": conv, "typing": False}
    frame = {"type": "message", "text": "How do I return an item?", "client_id": "c-1"}
    await ws.send_str(json.dumps(frame))
    seen = await frames_until(ws, "message", "bot")
    # The sender gets two frames: the ack (with its stored message, the bot typing) and the
    # reply; no echo of its own message, no separate typing frame.
    assert [f["type"] for f in seen] == ["ack", "message"]
    assert seen[0]["message"]["text"] == frame["text"] and seen[0]["typing"] is True
    answer = seen[-1]["message"]
    assert "30 days" in answer["text"]
    await ws.close()

    # The widget reconnects, resumes after the last id it saw and re-sends the frame whose
    # ack it never got: nothing is shown twice, nothing answered twice.
    ws = await bot.client.ws_connect(f"/api/v1/ws?token={token}&after={answer['id']}")
    assert json.loads((await ws.receive(timeout=5)).data)["type"] == "hello"
    await ws.send_str(json.dumps(frame))
    ack = json.loads((await ws.receive(timeout=5)).data)
    assert ack["type"] == "ack" and ack["message"]["id"] == answer["id"] - 1
    assert ack["typing"] is False
    # The same client id with another text is refused, not taken for the first message.
    await ws.send_str(json.dumps({**frame, "text": "Where is my order?"}))
    refused = json.loads((await ws.receive(timeout=5)).data)
    assert refused == {"type": "error", "client_id": "c-1",
                       "title": "'client_id' already used for another message"}  # fmt: skip
    await bot.parts.dispatcher.drain()
    await ws.send_str(json.dumps({"type": "ping"}))
    assert json.loads((await ws.receive(timeout=5)).data) == {"type": "pong"}
    await ws.close()
    roles = [m["role"] for m in await bot.adapter.server.ctx.store.messages(conv)]
    assert roles == ["customer", "bot"]

    # A fresh page load (after=0) gets the whole history.
    ws = await bot.client.ws_connect(f"/api/v1/ws?token={token}")
    seen = [json.loads((await ws.receive(timeout=5)).data) for _ in range(3)]
    assert [f["message"]["role"] for f in seen[1:]] == ["customer", "bot"]
    await ws.close()


async def test_a_second_tab_sees_the_message_and_the_typing(bot: WebBot) -> None:
    _, token = await bot.conversation()
    sender = await bot.client.ws_connect(f"/api/v1/ws?token={token}")
    other = await bot.client.ws_connect(f"/api/v1/ws?token={token}")
    for ws in (sender, other):
        await ws.receive(timeout=5)  # hello
    frame = {"type": "message", "text": "How do I return an item?", "client_id": "c-2"}
    await sender.send_str(json.dumps(frame))
    seen = await frames_until(other, "message", "bot")
    assert [f["type"] for f in seen] == ["message", "typing", "message"]
    assert seen[0]["message"]["role"] == "customer" and seen[1]["on"] is True
    await sender.close()
    await other.close()


async def test_bad_frames_get_errors_and_the_session_stays(bot: WebBot) -> None:
    _, token = await bot.conversation()
    ws = await bot.client.ws_connect(f"/api/v1/ws?token={token}")
    await ws.receive(timeout=5)
    for raw, title in (("nope", "Frame is not JSON"), ("[1]", "Frame must be a JSON object"),
                       ('{"type": "message", "text": "hi"}', "'client_id' is required"),
                       ('{"type": "message", "text": " ", "client_id": "x"}', "'text' is empty"),
                       ('{"type": "dance"}', "Unknown frame type")):  # fmt: skip
        await ws.send_str(raw)
        assert json.loads((await ws.receive(timeout=5)).data)["title"] == title
    await ws.close()


async def test_tokens_do_not_cross_conversations(bot: WebBot) -> None:
    for token in ("", "v1.wc_x.99999999999.forged", "not-a-token"):
        with pytest.raises(WSServerHandshakeError) as err:
            await bot.client.ws_connect(f"/api/v1/ws?token={token}")
        assert err.value.status == 401
