"""The web API end to end through the aiohttp test client, on the whole bot (real dispatcher,
brain, store): every response is checked against the served OpenAPI document."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from bot.cli import main
from config.errors import ConfigError
from config.settings import load_settings
from tests.web_bot import ADMIN_KEY, CHAT_KEY, WebBot, running_bot, web_settings

RETURN_QUESTION = "How do I return an item?"


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WebBot]:
    settings = web_settings(tmp_path / "data", monkeypatch,
                            WEB__CORS_ORIGINS="https://shop.example")  # fmt: skip
    async with running_bot(settings) as running:
        yield running


async def test_chat_with_wait_history_and_one_reply_per_idempotency_key(bot: WebBot) -> None:
    conv, token = await bot.conversation(
        CHAT_KEY,
        customer_id="c-42",
        display_name="Robin",
        email="robin@example.com",
        metadata={"plan": "pro"},
    )
    path = f"/api/v1/conversations/{conv}/messages"
    headers = {"Idempotency-Key": "order-1"}
    _, first, _ = await bot.call("POST", f"{path}?wait=10", token, json_body={
        "text": RETURN_QUESTION}, headers=headers, expect=200)  # fmt: skip
    assert "30 days" in first["reply"]["text"] and first["reply"]["role"] == "bot"
    # The client retries (its connection dropped): same key, same message, still one reply.
    _, again, _ = await bot.call("POST", f"{path}?wait=2", token, json_body={
        "text": RETURN_QUESTION}, headers=headers, expect=200)  # fmt: skip
    assert again["message_id"] == first["message_id"]
    assert again["reply"]["id"] == first["reply"]["id"]
    await bot.parts.dispatcher.drain()
    _, history, _ = await bot.call("GET", path, token, expect=200)
    roles = [m["role"] for m in history["messages"]]
    assert roles == ["customer", "bot"]
    _, later, _ = await bot.call("GET", f"{path}?after={first['reply']['id']}", token, expect=200)
    assert later["messages"] == []
    counters = await bot.parts.dispatcher.store.counters()
    assert counters.get("duplicates_dropped") == 1 and counters.get("messages_sent") == 1


async def test_an_idempotency_key_reused_for_another_text_is_refused(bot: WebBot) -> None:
    conv, token = await bot.conversation()
    path = f"/api/v1/conversations/{conv}/messages"
    headers = {"Idempotency-Key": "k-1"}
    _, first, _ = await bot.call("POST", path, token, json_body={"text": RETURN_QUESTION},
                                 headers=headers, expect=202)  # fmt: skip
    _, problem, resp_headers = await bot.call(
        "POST", f"{path}?wait=1", token, json_body={"text": "Where is my order?"},
        headers=headers, expect=409)  # fmt: skip
    assert resp_headers["Content-Type"].startswith("application/problem+json")
    assert problem["title"] == "Idempotency-Key already used for another message"
    # The same body under the same key is still a plain retry.
    _, again, _ = await bot.call("POST", path, token, json_body={"text": RETURN_QUESTION},
                                 headers=headers)  # fmt: skip
    assert again["message_id"] == first["message_id"]
    await bot.parts.dispatcher.drain()
    _, history, _ = await bot.call("GET", path, token, expect=200)
    assert [m["text"] for m in history["messages"] if m["role"] == "customer"] == [RETURN_QUESTION]
    assert [m["role"] for m in history["messages"]] == ["customer", "bot"]


async def test_without_wait_the_message_is_accepted_and_the_reply_lands_in_history(
    bot: WebBot,
) -> None:
    conv, token = await bot.conversation()
    path = f"/api/v1/conversations/{conv}/messages"
    _, accepted, _ = await bot.call("POST", path, token, json_body={"text": RETURN_QUESTION},
                                    expect=202)  # fmt: skip
    await bot.parts.dispatcher.drain()
    _, history, _ = await bot.call("GET", f"{path}?after={accepted['id']}", token, expect=200)
    assert [m["in_reply_to"] for m in history["messages"]] == [accepted["message_id"]]


async def test_escalate_then_admin_sees_ticket_and_transcript(bot: WebBot) -> None:
    conv, token = await bot.conversation(display_name="Robin")
    await bot.call("POST", f"/api/v1/conversations/{conv}/messages?wait=10", token,
                   json_body={"text": "My parcel never arrived"}, expect=200)  # fmt: skip
    _, made, _ = await bot.call("POST", f"/api/v1/conversations/{conv}/escalate", token,
                                json_body={"reason": "wants a person"}, expect=201)  # fmt: skip
    ticket = made["ticket"]
    assert ticket["status"] == "escalated" and ticket["conversation"]["id"] == conv
    _, listed, _ = await bot.call("GET", "/api/v1/tickets?status=escalated", ADMIN_KEY,
                                  expect=200)  # fmt: skip
    assert [t["id"] for t in listed["tickets"]] == [ticket["id"]]
    await bot.call("GET", "/api/v1/tickets", CHAT_KEY, expect=403)
    await bot.call("GET", "/api/v1/tickets?status=lost", ADMIN_KEY, expect=422)
    _, transcript, _ = await bot.call("GET", f"/api/v1/conversations/{conv}/transcript",
                                      ADMIN_KEY, expect=200)  # fmt: skip
    assert transcript["turns"][0] == {**transcript["turns"][0], "role": "customer",
                                      "text": "My parcel never arrived"}  # fmt: skip
    await bot.call("GET", f"/api/v1/conversations/{conv}/transcript", token, expect=403)
    _, stats, _ = await bot.call("GET", "/api/v1/stats?days=3", ADMIN_KEY, expect=200)
    assert len(stats["daily"]) == 3 and stats["totals"]["escalations_manual_request"] == 1


async def test_faq_search_with_scores(bot: WebBot) -> None:
    _, found, _ = await bot.call("GET", "/api/v1/faq?query=reset%20my%20password&limit=3",
                                 CHAT_KEY, expect=200)  # fmt: skip
    results = found["results"]
    assert results[0]["id"] == "reset-password" and 0 < results[0]["score"] <= 1
    assert len(results) <= 3 and results == sorted(results, key=lambda r: -r["score"])
    await bot.call("GET", "/api/v1/faq?query=", CHAT_KEY, expect=422)


async def test_credentials_scopes_and_other_conversations(bot: WebBot) -> None:
    await bot.call("GET", "/api/v1/faq?query=refund", expect=401)
    await bot.call("GET", "/api/v1/faq?query=refund", "not-a-key", expect=401)
    conv, token = await bot.conversation()
    other, _ = await bot.conversation()
    # A customer token opens its own conversation and nothing else, not even the FAQ.
    await bot.call("GET", f"/api/v1/conversations/{other}/messages", token, expect=404)
    await bot.call("POST", f"/api/v1/conversations/{other}/escalate", token, expect=404)
    await bot.call("GET", "/api/v1/faq?query=refund", token, expect=403)
    await bot.call("GET", f"/api/v1/conversations/{conv}/messages", token, expect=200)
    await bot.call("GET", f"/api/v1/conversations/{conv}/messages", CHAT_KEY, expect=200)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    await bot.call("GET", f"/api/v1/conversations/{conv}/messages", forged, expect=401)
    expired, _ = bot.adapter.server.ctx.tokens.issue(conv, now=0)
    _, body, _ = await bot.call("GET", f"/api/v1/conversations/{conv}/messages", expired,
                                expect=401)  # fmt: skip
    assert body["title"] == "Invalid or expired token"
    # A browser cannot claim to be a known customer (VIP rules key on id and email).
    await bot.call("POST", "/api/v1/conversations", json_body={"email": "ceo@big.example"},
                   expect=403)  # fmt: skip


async def test_bad_bodies_are_problems_and_nothing_leaks(bot: WebBot) -> None:
    conv, token = await bot.conversation()
    path = f"/api/v1/conversations/{conv}/messages"
    status, body, headers = await bot.call(
        "POST", path, token, data=b"x" * 20_000, headers={"Content-Type": "application/json"}
    )
    assert status == 413 and body["title"] == "Request body too large"
    assert headers["Content-Type"].startswith("application/problem+json")
    _, body, _ = await bot.call(
        "POST",
        path,
        token,
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        expect=400,
    )
    assert "Traceback" not in str(body)
    await bot.call("POST", path, token, json_body={"text": "x" * 4001}, expect=422)
    await bot.call("POST", path, token, json_body={"text": "  "}, expect=422)
    await bot.call("POST", f"{path}?wait=31", token, json_body={"text": "hi"}, expect=422)


async def test_security_headers_and_cors(bot: WebBot) -> None:
    resp = await bot.client.get("/widget.js")
    assert resp.status == 200 and resp.content_type == "text/javascript"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    resp = await bot.client.options("/api/v1/conversations", headers=preflight)
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    evil = {**preflight, "Origin": "https://evil.example"}
    resp = await bot.client.options("/api/v1/conversations", headers=evil)
    assert resp.status == 403 and "Access-Control-Allow-Origin" not in resp.headers
    resp = await bot.client.get("/api/v1/ws?token=x", headers={"Origin": "https://evil.example"})
    assert resp.status == 403


async def test_rate_limit_answers_429_with_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = web_settings(tmp_path / "data", monkeypatch, WEB__RATE_LIMIT_PER_MINUTE="3")
    async with running_bot(settings) as bot:
        for _ in range(3):
            await bot.call("GET", "/api/v1/faq?query=refund", CHAT_KEY, expect=200)
        _, body, headers = await bot.call("GET", "/api/v1/faq?query=refund", CHAT_KEY,
                                          expect=429)  # fmt: skip
        assert int(headers["Retry-After"]) >= 1 and body["title"] == "Too many requests"


async def test_api_key_created_on_the_command_line_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = web_settings(tmp_path / "data", monkeypatch, WEB__API_KEYS="")

    async def cli(*args: str) -> str:
        # The CLI runs its own event loop (and store connection), like another process.
        out = io.StringIO()
        with redirect_stdout(out):
            assert await asyncio.to_thread(main, list(args)) == 0
        return out.getvalue()

    key = (await cli("api-key", "create", "--scope", "admin", "--label", "crm")).strip()
    assert key.startswith("fd_admin_")
    for file in (tmp_path / "data").iterdir():
        assert key not in file.read_bytes().decode("latin-1"), file
    async with running_bot(settings) as bot:
        await bot.call("GET", "/api/v1/stats?days=1", key, expect=200)
        await bot.call("GET", "/api/v1/stats?days=1", key[:-1], expect=401)
        listed = (await cli("api-key", "list")).split()
        assert listed[1:2] == ["admin"] and "crm" in listed
        await cli("api-key", "revoke", listed[0])
        await bot.call("GET", "/api/v1/stats?days=1", key, expect=401)  # at once


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("API_KEYS", "root:0123456789abcdef0", "FRONTDESK_WEB__API_KEYS: each entry must be"),
        ("API_KEYS", "chat:short", "FRONTDESK_WEB__API_KEYS: a chat key is shorter"),
        ("WEBHOOKS", "ftp://x secret", "FRONTDESK_WEB__WEBHOOKS: each entry must be"),
        ("CORS_ORIGINS", "shop.example", "FRONTDESK_WEB__CORS_ORIGINS: 'shop.example' is not"),
        ("WEBHOOK_EVENTS", "ticket.lost", "FRONTDESK_WEB__WEBHOOK_EVENTS: unknown event"),
    ],
)
def test_invalid_web_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"FRONTDESK_WEB__{name}", value)
    with pytest.raises(ConfigError) as err:
        load_settings(env_file=None)
    assert str(err.value).startswith(message)
    assert "0123456789abcdef0" not in str(err.value)


async def test_typing_is_reported_while_the_brain_works(bot: WebBot) -> None:
    conv, token = await bot.conversation()
    path = f"/api/v1/conversations/{conv}/messages"
    await bot.call("POST", path, token, json_body={"text": RETURN_QUESTION}, expect=202)
    _, history, _ = await bot.call("GET", path, token, expect=200)
    replied = any(m["role"] == "bot" for m in history["messages"])
    assert history["typing"] is not replied
    await bot.parts.dispatcher.drain()
    await asyncio.sleep(0)
    _, history, _ = await bot.call("GET", path, token, expect=200)
    assert history["typing"] is False


def test_check_builds_the_web_channel_without_touching_disk(tmp_path: Path) -> None:
    from bot.wiring import describe

    settings = load_settings(env_file=None)
    settings = settings.model_copy(
        update={"web": settings.web.model_copy(update={"enabled": True}),
                "store": settings.store.model_copy(update={"data_dir": tmp_path / "d"})}
    )  # fmt: skip
    parts = {(p.kind, p.name): p for p in describe(settings)}
    assert parts["channel", "web"].enabled and "127.0.0.1:8080" in parts["channel", "web"].why
    assert not (tmp_path / "d").exists()


async def test_frame_ancestors_allow_list() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from channels.web.http import Guard
    from config.settings import WebSettings

    guard = Guard(WebSettings(frame_ancestors=["https://shop.example"]))

    async def page(request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application(middlewares=[guard.middleware])
    app.router.add_get("/", page)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/")
        csp = resp.headers["Content-Security-Policy"]
        assert csp == "default-src 'none'; frame-ancestors https://shop.example"
        assert "X-Frame-Options" not in resp.headers
