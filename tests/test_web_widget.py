"""The chat widget in a real headless Chromium (Debian ``chromium`` and ``chromium-driver``,
driven by selenium) on a shop page of another origin, against the whole running bot.

A customer asks a knowledge-base question and sees the answer, asks for a person; an agent
claims and replies through the terminal desk path (``build_hub(..., live=False)``, as
``frontdesk desk`` does); the reply appears signed with the agent's name; markup typed by
anyone renders as text and runs nothing; a reload keeps the history; phone width works. And
when the server goes away, the widget reconnects, resumes after the last id it saw and sends
what was typed meanwhile exactly once."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import App
from bot.wiring import build_hub, build_store
from brain.store.base import TicketStatus
from channels.base import Author, DeskAction, DeskEvent, Role
from config.settings import load_settings
from tests.fakes.loopback import LoopbackServer
from tests.servers import free_port, wait_for_port

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PAGE = Path(__file__).parent / "fixtures" / "web" / "shop.html"
XSS = '<img src=x onerror="window.__pwned = 1">'
WAIT_S = 20.0


def browser(profile: Path) -> Any:
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if shutil.which(binary) is None:
            pytest.fail(f"{binary} is missing: run `sudo apt-get install -y {package}` "
                        "(scripts/test does this for you)", pytrace=False)  # fmt: skip
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The closed network here refuses Chromium's background connections: turn them all off.
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 "--window-size=1280,860"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    chrome = browser(tmp_path / "profile")
    chrome.set_page_load_timeout(WAIT_S)
    yield chrome
    chrome.quit()


@pytest.fixture
async def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The running bot with the web channel, and a shop page embedding its widget."""
    port = free_port()
    page = web.Application()
    html = PAGE.read_text().replace("{server}", f"http://127.0.0.1:{port}")

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    page.router.add_get("/", index)
    async with LoopbackServer(page) as site:
        origin = f"http://127.0.0.1:{site.port}"
        for key, value in {"WEB__ENABLED": "true", "WEB__PORT": str(port),
                           "WEB__CORS_ORIGINS": origin,
                           "STORE__DATA_DIR": str(tmp_path / "data")}.items():  # fmt: skip
            monkeypatch.setenv(f"FRONTDESK_{key}", value)
        app = App(load_settings(env_file=None))
        task = asyncio.create_task(app.run())
        await asyncio.to_thread(wait_for_port, port, 60.0)
        yield origin + "/"
        app.request_stop()
        await asyncio.wait_for(task, 30)


async def until(check: Callable[[], Any], what: str) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while loop.time() < deadline:
        if asyncio.iscoroutinefunction(check):
            found = await check()
        else:
            found = await asyncio.to_thread(check)
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def texts(driver: Any, selector: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def type_message(driver: Any, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = driver.find_element(By.CSS_SELECTOR, ".fd-input")
    field.send_keys(text)
    field.send_keys(Keys.ENTER)


async def agent(action: DeskAction, ticket_id: str, text: str = "") -> None:
    """Alice acts from the terminal desk: a separate desk path on the bot's store."""
    settings = load_settings(env_file=None)
    store = build_store(settings)
    await store.open()
    try:
        hub = build_hub(settings, store, live=False)
        alice = Author(id="alice", display_name="Alice")
        feedback = await hub.handle(DeskEvent(action, alice, desk="terminal", ticket_id=ticket_id,
                                              text=text, event_id=uuid.uuid4().hex,
                                              role=Role.ADMIN))  # fmt: skip
        assert feedback.ok, feedback.text
    finally:
        await store.close()


async def open_ticket() -> str:
    settings = load_settings(env_file=None)
    store = build_store(settings)
    await store.open()
    try:
        tickets = await store.list_tickets([TicketStatus.ESCALATED])
        return tickets[0].id if tickets else ""
    finally:
        await store.close()


async def test_widget_answer_hand_off_agent_reply_reload_and_markup_as_text(
    shop: str, driver: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    await asyncio.to_thread(driver.get, shop)
    launcher = await until(lambda: driver.find_elements(By.CSS_SELECTOR, ".fd-launcher"),
                           "the launcher")  # fmt: skip
    assert launcher[0].get_attribute("aria-expanded") == "false"
    await asyncio.to_thread(launcher[0].click)
    log = driver.find_element(By.CSS_SELECTOR, ".fd-log")
    assert (log.get_attribute("role"), log.get_attribute("aria-live")) == ("log", "polite")
    assert driver.switch_to.active_element.get_attribute("id") == "fd-input"

    await asyncio.to_thread(type_message, driver, "How do I return an item?")
    await until(lambda: any("30 days" in t for t in texts(driver, ".fd-bot")), "the KB answer")
    await asyncio.to_thread(type_message, driver, "I want to talk to a person")
    await until(lambda: len(texts(driver, ".fd-bot")) >= 2, "the hand-off reply")
    ticket_id = await until(open_ticket, "the ticket")

    await agent(DeskAction.CLAIM, ticket_id)
    await until(lambda: "Alice from support joined" in texts(driver, ".fd-notice"),
                "the hand-off notice")  # fmt: skip
    reply = "Hi, I'm Alice. <b>Not bold</b>, see https://larkspur.example/returns"
    await agent(DeskAction.REPLY, ticket_id, reply)
    signed = await until(lambda: [t for t in texts(driver, ".fd-agent") if "Alice" in t
                                  and "Not bold" in t], "Alice's reply")  # fmt: skip
    assert signed[0].startswith("Alice\n")
    assert "<b>Not bold</b>" in signed[0]
    assert driver.find_elements(By.CSS_SELECTOR, ".fd-agent b") == []
    link = driver.find_element(By.CSS_SELECTOR, ".fd-agent a")
    assert link.get_attribute("href") == "https://larkspur.example/returns"
    assert link.get_attribute("rel") == "noopener noreferrer nofollow"

    await asyncio.to_thread(type_message, driver, XSS)
    await until(lambda: XSS in texts(driver, ".fd-customer .fd-text"), "the markup as text")
    await until(lambda: not driver.find_elements(By.CSS_SELECTOR, ".fd-pending"), "the ack")
    assert driver.find_elements(By.CSS_SELECTOR, ".fd-log img") == []
    assert driver.execute_script("return window.__pwned === undefined") is True
    await asyncio.to_thread(driver.save_screenshot, str(tmp_path / "widget.png"))
    before = texts(driver, ".fd-log > li")

    await asyncio.to_thread(driver.refresh)
    await until(lambda: texts(driver, ".fd-log > li") == before, "the history after a reload")
    assert driver.find_elements(By.CSS_SELECTOR, ".fd-log img") == []

    await asyncio.to_thread(driver.set_window_size, 390, 844)  # a phone
    width = driver.execute_script(
        "return document.querySelector('.fd-panel').getBoundingClientRect().width"
    )
    assert 300 <= width <= 390
    await asyncio.to_thread(driver.save_screenshot, str(tmp_path / "widget-phone.png"))
    driver.find_element(By.CSS_SELECTOR, ".fd-input").send_keys("\ue00c")  # Escape
    assert driver.find_element(By.CSS_SELECTOR, ".fd-panel").is_displayed() is False
    assert "fd-launcher" in driver.switch_to.active_element.get_attribute("class")


async def test_widget_reconnects_resumes_and_sends_what_was_typed_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver: Any
) -> None:
    from aiohttp.test_utils import TestServer
    from selenium.webdriver.common.by import By

    from channels.web.connection import build_app
    from tests.web_bot import running_bot, web_settings

    bot_url: list[str] = []

    async def index(request: web.Request) -> web.Response:
        html = PAGE.read_text().replace("{server}", bot_url[0])
        return web.Response(text=html, content_type="text/html")

    page = web.Application()
    page.router.add_get("/", index)
    async with LoopbackServer(page) as site:
        origin = f"http://127.0.0.1:{site.port}"
        settings = web_settings(tmp_path / "data", monkeypatch, WEB__CORS_ORIGINS=origin)
        async with running_bot(settings) as bot:
            ctx = bot.adapter.server.ctx
            first = TestServer(build_app(ctx), host="127.0.0.1")
            await first.start_server(shutdown_timeout=0.2)
            port = first.port
            bot_url.append(f"http://127.0.0.1:{port}")
            await asyncio.to_thread(driver.get, origin + "/")
            launcher = await until(lambda: driver.find_elements(By.CSS_SELECTOR, ".fd-launcher"),
                                   "the launcher")  # fmt: skip
            await asyncio.to_thread(launcher[0].click)
            await asyncio.to_thread(type_message, driver, "How do I return an item?")
            await until(lambda: any("30 days" in t for t in texts(driver, ".fd-bot")), "answer")

            await first.close()  # the server goes away: every socket drops
            await until(lambda: "Reconnecting" in texts(driver, ".fd-status"), "offline state")
            await asyncio.to_thread(type_message, driver, "How do I reset my password?")
            assert len(driver.find_elements(By.CSS_SELECTOR, ".fd-pending")) == 1

            second = TestServer(build_app(ctx), host="127.0.0.1", port=port)
            await second.start_server(shutdown_timeout=0.2)
            try:
                await until(lambda: len(texts(driver, ".fd-bot")) >= 2, "the answer after it")
                await until(lambda: not driver.find_elements(By.CSS_SELECTOR, ".fd-pending"),
                            "the offline message acknowledged")  # fmt: skip
                await bot.parts.dispatcher.drain()
                await asyncio.sleep(0.5)  # room for a wrong repeat to show up
                shown = texts(driver, ".fd-log > li")
                stored = await ctx.store.messages((await ctx.store.conversation_ids())[0])
            finally:
                await second.close()
    # Resumed after the last id seen: nothing shown twice; the offline message sent once.
    assert len(shown) == 4 and len(stored) == 4
    assert [m["role"] for m in stored] == ["customer", "bot", "customer", "bot"]
    assert "password" in stored[3]["text"].lower()
