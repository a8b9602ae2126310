"""The email channel against a real Dovecot (IMAP IDLE, started here on loopback) and aiosmtpd,
with the real dispatcher, store, brain and desk hub.

A delivered message -> IDLE push -> threaded reply; replies to the reply (also without
In-Reply-To, by our subject tag) stay in the conversation; a crash between queueing and
``\\Seen`` loses nothing and answers once; handled mail is not re-imported; robots, bounces and
spam are not answered; an SMTP outage delays the reply until the server is back, then sends it
once; polling, reconnects, IMAPS, UIDVALIDITY changes, the mailbox lease and the hand-off to a
desk and back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.desk_hub import DeskHub
from bot.dispatch import DispatchConfig, Dispatcher
from bot.wiring import build_hub
from brain.store.base import StoreLimits
from brain.store.redis import RedisStore
from brain.store.sqlite import SqliteStore
from channels.base import Author, DeskAction, DeskEvent, InboundMessage, Role
from channels.email import build
from channels.email.adapter import EmailAdapter
from channels.email.threads import subject_code
from channels.fake import FakeDesk
from config.errors import StoreError
from config.settings import EmailSettings, Settings
from tests.conftest import BrainFactory
from tests.fakes.dovecot import PASSWORD, USER, Dovecot, new_folder, start_dovecot
from tests.fakes.mailbox import Mailbox
from tests.fakes.smtp_sink import SmtpServer
from tests.servers import RedisServer

SUPPORT = "support@larkspur.example"
CUSTOMER = "robin@customer.example"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    try:
        server = start_dovecot()
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def settings_for(dovecot: Dovecot, smtp: SmtpServer, folder: str, **email: Any) -> Settings:
    values: dict[str, Any] = {
        "enabled": True, "imap_host": "127.0.0.1", "imap_port": dovecot.port,
        "imap_tls": False, "imap_username": USER, "imap_password": PASSWORD,
        "imap_folder": folder, "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
        "smtp_security": "none", "from_address": SUPPORT, "from_name": "Larkspur Support",
        "reconnect_max_seconds": 0.3, "imap_timeout_seconds": 5,
    }  # fmt: skip
    values.update(email)
    return Settings(email=EmailSettings(**values))


def customer_mail(
    text: str,
    subject: str = "Where is my order?",
    sender: str = CUSTOMER,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    **headers: str,
) -> tuple[bytes, str]:
    mail = EmailMessage()
    mail["From"] = f"Robin <{sender}>"
    mail["To"] = SUPPORT
    mail["Subject"] = subject
    message_id = make_msgid(domain="customer.example")
    mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = " ".join(references)
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(text)
    return bytes(mail), message_id


@dataclass
class Rig:
    store: SqliteStore
    dispatcher: Dispatcher
    hub: DeskHub
    desk: FakeDesk
    mailbox: Mailbox
    smtp: SmtpServer
    settings: Settings
    adapter: EmailAdapter | None = None

    async def start_adapter(self, **email: Any) -> EmailAdapter:
        settings = self.settings
        if email:
            settings = Settings(email=settings.email.model_copy(update=email))
        adapter = build(settings, store=self.store)
        await adapter.channel.start(self.dispatcher.submit)
        self._stack = contextlib.AsyncExitStack()
        await self._stack.enter_async_context(adapter.connection())
        await asyncio.wait_for(adapter.watcher.connected.wait(), 10)
        self.adapter = adapter
        self.dispatcher.channels["email"] = adapter.channel
        return adapter

    async def stop_adapter(self) -> None:
        if self.adapter is not None:
            await self._stack.aclose()
            await self.adapter.channel.stop()
            self.adapter = None

    async def replies(self, count: int, within: float = 10.0) -> list[EmailMessage]:
        return await self.smtp.sink.wait_for(count, within)


@pytest.fixture
async def rig(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path, make_brain: BrainFactory
) -> AsyncIterator[Rig]:
    folder = new_folder()
    settings = settings_for(dovecot, smtp, folder)
    store = SqliteStore(tmp_path / "state.db", limits=StoreLimits(lock_ttl_s=2.0))
    await store.open()
    desk = FakeDesk()
    hub = build_hub(settings, store, [desk])
    config = DispatchConfig(consumer="test", reclaim_idle_s=0.5)
    dispatcher = Dispatcher(store, make_brain(store), {}, config, hub)
    await desk.start(hub.handle)
    worker = asyncio.create_task(dispatcher.run())
    async with Mailbox(dovecot, folder) as mailbox:
        rig = Rig(store, dispatcher, hub, desk, mailbox, smtp, settings)
        try:
            yield rig
        finally:
            await rig.stop_adapter()
            dispatcher.stop()
            await asyncio.wait_for(worker, 10)
            await store.close()


async def test_idle_push_gives_a_threaded_reply_and_replies_stay_in_the_conversation(
    rig: Rig,
) -> None:
    await rig.start_adapter()
    assert rig.adapter is not None and rig.adapter.watcher.mode == "idle"
    raw, first_id = customer_mail("Hello, how do I return an item?")
    started = time.monotonic()
    await rig.mailbox.deliver(raw)
    (reply,) = await rig.replies(1)
    assert time.monotonic() - started < 5
    assert reply["To"] == CUSTOMER
    assert reply["In-Reply-To"] == first_id
    assert first_id in reply["References"]
    code = subject_code(reply["Subject"])
    assert code is not None and reply["Subject"].startswith("Re: Where is my order?")
    assert reply["Message-ID"].startswith(f"<fd.{code}.")
    assert reply["Message-ID"].endswith("@larkspur.example>")
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["X-Auto-Response-Suppress"] == "All"
    assert reply.get_body(("plain",)) is not None and reply.get_body(("html",)) is not None
    assert "return" in reply.get_body(("plain",)).get_content().lower()  # type: ignore[union-attr]

    # A reply to our reply: References and In-Reply-To point at us.
    raw, second_id = customer_mail(
        "Thanks! And how long does the refund take?", subject=str(reply["Subject"]),
        in_reply_to=reply["Message-ID"], references=[first_id, reply["Message-ID"]],
    )  # fmt: skip
    await rig.mailbox.deliver(raw)
    second = (await rig.replies(2))[1]
    assert second["In-Reply-To"] == second_id
    assert subject_code(second["Subject"]) == code

    # A client that dropped In-Reply-To and References but kept our subject tag.
    raw, third_id = customer_mail("One more: do you ship to Norway?", subject=reply["Subject"])
    await rig.mailbox.deliver(raw)
    third = (await rig.replies(3))[2]
    assert third["In-Reply-To"] == third_id
    assert subject_code(third["Subject"]) == code
    conversation = await rig.store.get_conversation(f"email:-:{code}")
    assert conversation is not None
    customer_turns = [t for t in conversation.turns if t.role == "customer"]
    assert len(customer_turns) == 3
    assert await rig.mailbox.unseen_uids() == set()


async def test_a_crash_between_queueing_and_seen_loses_nothing_and_answers_once(
    rig: Rig,
) -> None:
    calls = 0

    async def crash_after_queueing(message: Any) -> bool:
        nonlocal calls
        calls += 1
        queued = await rig.dispatcher.submit(message)
        if calls == 1:
            raise RuntimeError("process killed before \\Seen")
        return queued

    adapter = await rig.start_adapter(reconnect_max_seconds=60)
    await adapter.channel.start(crash_after_queueing)
    raw, _ = customer_mail("My parcel is damaged, what now?")
    await rig.mailbox.deliver(raw)
    await rig.replies(1)
    assert calls == 1
    assert len(await rig.mailbox.unseen_uids()) == 1  # queued, but never flagged
    await rig.stop_adapter()

    adapter = await rig.start_adapter()  # the restart: same store, same mailbox
    await adapter.channel.start(crash_after_queueing)
    for _ in range(100):
        if not await rig.mailbox.unseen_uids():
            break
        await asyncio.sleep(0.05)
    assert await rig.mailbox.unseen_uids() == set()
    assert calls == 2
    await asyncio.sleep(1.0)
    assert len(rig.smtp.sink.messages) == 1
    assert (await rig.store.counters()).get("duplicates_dropped") == 1


async def test_handled_mail_marked_unseen_again_is_not_reimported(rig: Rig) -> None:
    await rig.start_adapter()
    raw, _ = customer_mail("How do I reset my password?")
    await rig.mailbox.deliver(raw)
    await rig.replies(1)
    (uid,) = await rig.mailbox.seen_uids()
    await rig.stop_adapter()
    await rig.mailbox.mark_unseen(uid)
    # The queue's duplicate memory is not what protects us here: the mailbox position is.
    await rig.store.kv_set("unrelated", "x")
    await rig.start_adapter()
    raw, new_id = customer_mail("And how do I change my email address?", subject="Account")
    await rig.mailbox.deliver(raw)
    replies = await rig.replies(2)
    await asyncio.sleep(0.5)
    assert len(replies) == 2 and replies[1]["In-Reply-To"] == new_id
    assert await rig.mailbox.unseen_uids() == {uid}  # left as the person set it


async def test_robots_bounces_and_spam_are_not_answered(rig: Rig) -> None:
    adapter = await rig.start_adapter()
    noise = [
        customer_mail("I am out of the office.", subject="Automatic reply: Re: order",
                      Auto_Submitted="auto-replied")[0],
        customer_mail("Ich bin nicht im Büro.", subject="Abwesend", X_Autoreply="yes")[0],
        customer_mail("Delivery failed.", subject="Undelivered Mail",
                      sender="MAILER-DAEMON@mx.customer.example")[0],
        customer_mail("Cheap watches", subject="Offer", X_Spam_Flag="YES")[0],
        customer_mail("Our own mail", sender=SUPPORT)[0],
    ]  # fmt: skip
    for raw in noise:
        await rig.mailbox.deliver(raw)
    raw, real_id = customer_mail("Is express delivery available?", subject="Express")
    await rig.mailbox.deliver(raw)
    replies = await rig.replies(1)
    await asyncio.sleep(1.0)
    assert [r["In-Reply-To"] for r in replies] == [real_id]
    assert dict(adapter.channel.suppressed) == {
        "auto_submitted": 1, "autoreply_header": 1, "bounce": 1, "spam": 1, "own_address": 1,
    }  # fmt: skip
    counters = await rig.store.counters()
    assert counters["email_suppressed_spam"] == 1 and counters["email_suppressed_bounce"] == 1
    assert await rig.mailbox.unseen_uids() == set()


async def test_an_smtp_outage_delays_the_reply_and_sends_it_once(rig: Rig) -> None:
    rig.smtp.stop()
    await rig.start_adapter()
    raw, message_id = customer_mail("Can I pay with PayPal?", subject="Payment")
    await rig.mailbox.deliver(raw)
    await asyncio.sleep(2.5)  # several attempts fail meanwhile
    assert rig.smtp.sink.messages == []
    assert await rig.mailbox.unseen_uids() == set()  # queued durably: no need to keep it
    rig.smtp.start()
    (reply,) = await rig.replies(1, within=15)
    await asyncio.sleep(2.0)
    assert len(rig.smtp.sink.messages) == 1
    assert reply["In-Reply-To"] == message_id


async def test_a_send_that_succeeded_but_looked_failed_is_the_same_mail(rig: Rig) -> None:
    rig.smtp.sink.fail_data = "451 4.3.0 try again"
    rig.smtp.sink.record_failed = True  # the server kept the mail, the client saw an error
    await rig.start_adapter()
    raw, _ = customer_mail("Where is my refund?", subject="Refund")
    await rig.mailbox.deliver(raw)
    await rig.replies(2, within=10)
    rig.smtp.sink.fail_data = None
    await asyncio.sleep(1.5)
    ids = {str(m["Message-ID"]) for m in rig.smtp.sink.messages}
    assert len(ids) == 1  # every attempt carried the same Message-ID: clients show one mail


async def test_polling_when_idle_is_off(rig: Rig) -> None:
    adapter = await rig.start_adapter(imap_idle=False, poll_seconds=0.3)
    assert adapter.watcher.mode == "poll"
    raw, message_id = customer_mail("Do you have gift cards?", subject="Gift")
    await rig.mailbox.deliver(raw)
    (reply,) = await rig.replies(1)
    assert reply["In-Reply-To"] == message_id


async def test_idle_is_reissued_and_mail_still_arrives(rig: Rig) -> None:
    adapter = await rig.start_adapter(idle_reissue_seconds=0.3)
    await asyncio.sleep(1.2)
    assert adapter.watcher.sessions == 1 and adapter.watcher.idles >= 3
    raw, message_id = customer_mail("Do you ship to Canada?", subject="Canada")
    await rig.mailbox.deliver(raw)
    (reply,) = await rig.replies(1)
    assert reply["In-Reply-To"] == message_id


class DroppingProxy:
    """A TCP proxy in front of Dovecot that can cut every open connection."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def drop_all(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def stop(self) -> None:
        self.drop_all()
        if self._server is not None:
            self._server.close()


async def test_reconnects_after_the_connection_drops(rig: Rig, dovecot: Dovecot) -> None:
    proxy = DroppingProxy(dovecot.port)
    await proxy.start()
    try:
        adapter = await rig.start_adapter(imap_port=proxy.port)
        proxy.drop_all()
        for _ in range(100):
            if adapter.watcher.sessions >= 2 and adapter.watcher.connected.is_set():
                break
            await asyncio.sleep(0.05)
        assert adapter.watcher.sessions >= 2
        raw, message_id = customer_mail("Is my order insured?", subject="Insurance")
        await rig.mailbox.deliver(raw)
        (reply,) = await rig.replies(1)
        assert reply["In-Reply-To"] == message_id
    finally:
        await rig.stop_adapter()
        await proxy.stop()


async def test_imaps_with_a_private_ca(rig: Rig, dovecot: Dovecot) -> None:
    await rig.start_adapter(imap_tls=True, imap_port=dovecot.tls_port, tls_ca_file=dovecot.cert)
    raw, message_id = customer_mail("Can I change my order?", subject="Change")
    await rig.mailbox.deliver(raw)
    (reply,) = await rig.replies(1)
    assert reply["In-Reply-To"] == message_id


async def test_first_start_and_uidvalidity_change_import_only_unseen_mail(rig: Rig) -> None:
    for number in range(3):
        await rig.mailbox.deliver(customer_mail(f"old handled mail {number}")[0], seen=True)
    raw, unseen_id = customer_mail("A new question about delivery times", subject="Times")
    await rig.mailbox.deliver(raw)
    mailbox = f"{USER}@127.0.0.1/{rig.mailbox.folder}"
    validity = await rig.mailbox.uidvalidity()
    await rig.store.kv_set(f"email:mailbox:{mailbox}:uidvalidity", str(validity + 1))
    await rig.store.kv_set(f"email:mailbox:{mailbox}:last_uid", "0")
    await rig.start_adapter()
    (reply,) = await rig.replies(1)
    await asyncio.sleep(1.0)
    assert len(rig.smtp.sink.messages) == 1 and reply["In-Reply-To"] == unseen_id
    assert await rig.store.kv_get(f"email:mailbox:{mailbox}:uidvalidity") == str(validity)


async def test_only_one_replica_reads_the_mailbox_and_another_takes_over(rig: Rig) -> None:
    first = await rig.start_adapter()
    second = build(rig.settings, store=rig.store)
    await second.channel.start(rig.dispatcher.submit)
    async with second.connection():
        await asyncio.sleep(0.5)
        assert not second.watcher.connected.is_set()  # waiting for the lease
        assert first.watcher.connected.is_set()
        await rig.stop_adapter()  # the first replica goes away
        await asyncio.wait_for(second.watcher.connected.wait(), 10)
        rig.dispatcher.channels["email"] = second.channel
        raw, message_id = customer_mail("Who reads this now?", subject="Failover")
        await rig.mailbox.deliver(raw)
        (reply,) = await rig.replies(1)
        assert reply["In-Reply-To"] == message_id


async def test_hand_off_to_a_desk_and_the_agents_reply_threads(rig: Rig) -> None:
    await rig.start_adapter()
    raw, first_id = customer_mail("I want to talk to a real person please", subject="Help")
    await rig.mailbox.deliver(raw)
    (ack,) = await rig.replies(1)
    for _ in range(100):
        if rig.desk.pages:
            break
        await asyncio.sleep(0.05)
    card, _ = rig.desk.pages[0]
    assert card.origin.channel == "email" and card.origin.hints.reply_to == first_id.strip("<>")
    agent = Author(id="alice", display_name="Alice")
    claim = await rig.desk.act(DeskEvent(DeskAction.CLAIM, agent, desk=rig.desk.name,
                                         ticket_id=card.ticket_id, role=Role.AGENT))  # fmt: skip
    assert claim.ok, claim.text
    reply = await rig.desk.act(DeskEvent(DeskAction.REPLY, agent, desk=rig.desk.name,
                                         desk_ref="card-1", text="Hi Robin, Alice here.",
                                         event_id=uuid.uuid4().hex, role=Role.AGENT))  # fmt: skip
    assert reply.ok, reply.text
    mails = await rig.replies(3, within=10)  # the acknowledgement of the claim, then Alice
    alice = next(m for m in mails if "Alice here" in m.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert alice["In-Reply-To"] == first_id
    assert subject_code(alice["Subject"]) == subject_code(ack["Subject"])
    assert "Alice" in alice["From"]


def _app_env(dovecot: Dovecot, smtp: SmtpServer, folder: str, slack_api: str, port: int,
             data: Path) -> dict[str, str]:  # fmt: skip
    from tests.fakes.fake_slack import SECRET

    return {
        "EMAIL__ENABLED": "true", "EMAIL__IMAP_HOST": "127.0.0.1",
        "EMAIL__IMAP_PORT": str(dovecot.port), "EMAIL__IMAP_TLS": "false",
        "EMAIL__IMAP_USERNAME": USER, "EMAIL__IMAP_PASSWORD": PASSWORD,
        "EMAIL__IMAP_FOLDER": folder, "EMAIL__SMTP_HOST": "127.0.0.1",
        "EMAIL__SMTP_PORT": str(smtp.port), "EMAIL__SMTP_SECURITY": "none",
        "EMAIL__FROM_ADDRESS": SUPPORT, "EMAIL__FROM_NAME": "Larkspur Support",
        "SLACK__ENABLED": "true", "SLACK__MODE": "http", "SLACK__BOT_TOKEN": "xoxb-e2e",
        "SLACK__SIGNING_SECRET": SECRET, "SLACK__HTTP_PORT": str(port),
        "SLACK__ESCALATION_CHANNEL": "C0ESC", "SLACK__API_BASE_URL": slack_api,
        "SLACK__MAX_MESSAGES_PER_SECOND": "100", "STORE__DATA_DIR": str(data),
    }  # fmt: skip


async def _slack_claim(url: str, hook: str, ticket: str, card_ts: str) -> None:
    from tests.fakes.fake_slack import FORM, SECRET, post, sign

    click = {"type": "block_actions", "user": {"id": "U0ALICE", "username": "alice",
             "name": "alice", "team_id": "T0TEAM"}, "team": {"id": "T0TEAM"},
             "api_app_id": "A0APP", "trigger_id": "t1",
             "container": {"type": "message", "message_ts": card_ts, "channel_id": "C0ESC"},
             "channel": {"id": "C0ESC"}, "message": {"ts": card_ts, "text": "card"},
             "response_url": hook,
             "actions": [{"action_id": "frontdesk_claim", "block_id": "frontdesk",
                          "value": ticket, "type": "button", "action_ts": "1"}]}  # fmt: skip
    body = urlencode({"payload": json.dumps(click)})
    status, _ = await post(url, body, sign(body, SECRET), FORM)
    assert status == 200


async def _slack_thread_reply(url: str, card_ts: str, text: str) -> None:
    from tests.fakes.fake_slack import SECRET, post, sign

    said = {"type": "message", "channel": "C0ESC", "channel_type": "channel",
            "user": "U0ALICE", "text": text, "ts": "1800000001.000001",
            "thread_ts": card_ts}  # fmt: skip
    event = json.dumps({"type": "event_callback", "team_id": "T0TEAM", "api_app_id": "A0APP",
                        "event": said, "event_id": "EvA1", "event_time": 1})  # fmt: skip
    status, _ = await post(url, event, sign(event, SECRET))
    assert status == 200


def _mail_saying(smtp: SmtpServer, words: str) -> EmailMessage | None:
    for mail in smtp.sink.messages:
        body = mail.get_body(("plain",))
        if body is not None and words in body.get_content():
            return mail
    return None


async def test_the_whole_hand_off_through_the_app_with_the_slack_desk(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real app: an email customer, the Slack escalation desk (fake Slack Web API)."""
    from bot.app import App
    from config.settings import load_settings
    from tests.fakes.fake_slack import FakeChannel as SlackChannelInfo
    from tests.fakes.fake_slack import FakeSlack
    from tests.servers import free_port, wait_for_port

    folder = new_folder()
    async with FakeSlack() as fake, Mailbox(dovecot, folder) as mailbox:
        port = free_port()
        env = _app_env(dovecot, smtp, folder, fake.api_base_url, port, tmp_path / "data")
        for key, value in env.items():
            monkeypatch.setenv(f"FRONTDESK_{key}", value)
        fake.profiles = {"U0ALICE": "Alice"}
        # No agent setting: the members of the (private) escalation channel are the agents.
        fake.channels["C0ESC"] = SlackChannelInfo(private=True, members=("U0BOT", "U0ALICE"))
        app = App(load_settings(env_file=None))
        task = asyncio.create_task(app.run())
        try:
            await asyncio.to_thread(wait_for_port, port, 30.0)
            url = f"http://127.0.0.1:{port}/slack/events"
            raw, first_id = customer_mail("I want to talk to a real person please",
                                          subject="My sofa")  # fmt: skip
            await mailbox.deliver(raw)
            first_reply = asyncio.ensure_future(smtp.sink.wait_for(1, within=15))
            await asyncio.wait({first_reply, task}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                first_reply.cancel()
                task.result()  # the app stopped by itself: show why
            (ack,) = await first_reply
            assert ack["In-Reply-To"] == first_id
            await fake.wait_for(lambda: bool(fake.posted_ts("C0ESC")), within=15)
            card_ts = fake.posted_ts("C0ESC")[0]
            card = json.dumps(next(p for c, _, p in fake.posted if c == "C0ESC"))
            ticket = card.split('"value": "')[1].split('"')[0]
            await _slack_claim(url, fake.hook_url("actions/alice"), ticket, card_ts)
            await smtp.sink.wait_for(2, within=15)  # "Alice from our team has joined"
            await _slack_thread_reply(url, card_ts, "Hi Robin, Alice here. Which sofa is it?")
            for _ in range(300):
                if _mail_saying(smtp, "Alice here") is not None:
                    break
                await asyncio.sleep(0.05)
            alice = _mail_saying(smtp, "Alice here")
            assert alice is not None, [m["Subject"] for m in smtp.sink.messages]
            assert alice["In-Reply-To"] == first_id
            assert subject_code(alice["Subject"]) == subject_code(ack["Subject"])
            assert "Alice" in alice["From"]
        finally:
            app.request_stop()
            await asyncio.wait_for(task, 30)


async def test_a_mail_above_the_size_cap_is_read_in_part_and_still_answered(rig: Rig) -> None:
    await rig.start_adapter(max_message_bytes=4096)
    mail = EmailMessage()
    mail["From"] = f"Robin <{CUSTOMER}>"
    mail["To"] = SUPPORT
    mail["Subject"] = "Photos"
    mail["Message-ID"] = make_msgid(domain="customer.example")
    mail.set_content("How do I return an item? Photos attached.")
    mail.add_attachment(b"\x89PNG" + b"\x00" * 200_000, maintype="image", subtype="png",
                        filename="damage.png")  # fmt: skip
    await rig.mailbox.deliver(bytes(mail))
    (reply,) = await rig.replies(1)
    assert reply["In-Reply-To"] == mail["Message-ID"]
    code = subject_code(reply["Subject"])
    conversation = await rig.store.get_conversation(f"email:-:{code}")
    assert conversation is not None
    assert conversation.turns[0].text == "How do I return an item? Photos attached."


async def test_two_replicas_on_redis_read_each_mail_once_through_lease_losses(
    dovecot: Dovecot, smtp: SmtpServer, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One reader at a time: the holder that loses its lease (taken over, or cut off from the
    store) logs out; a reader holds it again within the lease TTL and each mail is read once."""
    folder, namespace = new_folder(), f"t{uuid.uuid4().hex[:10]}"
    settings = settings_for(dovecot, smtp, folder)
    stores = [RedisStore.from_url(redis_server.url, limits=StoreLimits(lock_ttl_s=1.0),
                                  namespace=namespace) for _ in range(2)]  # fmt: skip
    read: list[tuple[int, str]] = []
    adapters = [build(settings, store=store) for store in stores]
    async with contextlib.AsyncExitStack() as stack, Mailbox(dovecot, folder) as mailbox:
        for number, (store, adapter) in enumerate(zip(stores, adapters, strict=True)):
            await store.open()
            stack.push_async_callback(store.close)

            async def queued(message: InboundMessage, number: int = number) -> bool:
                read.append((number, message.message_id))
                return True

            await adapter.channel.start(queued)
            await stack.enter_async_context(adapter.connection())

        async def reader(within: float) -> int:
            started = time.monotonic()
            while True:
                readers = [i for i, a in enumerate(adapters) if a.watcher.connected.is_set()]
                if len(readers) == 1:
                    return readers[0]
                assert time.monotonic() - started < within, f"readers: {readers}"
                await asyncio.sleep(0.02)

        async def deliver(text: str) -> str:
            raw, header = customer_mail(text, subject=text)
            message_id = header.strip("<>")
            await mailbox.deliver(raw)
            await asyncio.wait_for(_until(lambda: any(m == message_id for _, m in read)), 10)
            return message_id

        first = await reader(5)
        await deliver("Mail one")
        mailbox_name = adapters[first].watcher.mailbox
        lock = stores[0]._key("lock", f"email-mailbox:{mailbox_name}")
        await stores[0].client.set(lock, "someone-else", px=1500)  # the lease is taken over
        await asyncio.wait_for(_until(lambda: not adapters[first].watcher.connected.is_set()), 2)
        second = await reader(5)
        await deliver("Mail two")

        async def unreachable(*_args: object) -> bool:
            raise StoreError("connection refused")

        for primitive in ("_renew", "_try_acquire", "_release"):  # cut off from Redis
            monkeypatch.setattr(stores[second]._locks, primitive, unreachable)
        await asyncio.wait_for(_until(lambda: not adapters[second].watcher.connected.is_set()), 2)
        assert await reader(3) == 1 - second
        await deliver("Mail three")
        await asyncio.sleep(0.5)
    ids = [m for _, m in read]
    assert len(ids) == 3 and len(set(ids)) == 3, f"each mail read exactly once: {read}"
    assert read[2][0] == 1 - second


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():  # noqa: ASYNC110 (state changed by other tasks, no event to wait on)
        await asyncio.sleep(0.02)
