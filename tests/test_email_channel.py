"""The email channel without servers: conversation finding, rate limit, sent-mail ledger,
backoff (the IMAP and SMTP paths themselves run against real servers in test_email_imap)."""

from __future__ import annotations

import random
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from channels.base import InboundMessage, OutboundMessage
from channels.email.connection import backoff
from channels.email.customers import EmailChannel
from channels.email.state import MemoryState
from channels.email.threads import code_for
from config.errors import ChannelError
from config.settings import EmailSettings


class Recorder:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.fail = 0

    async def send(self, mail: EmailMessage) -> None:
        if self.fail:
            self.fail -= 1
            raise ChannelError("smtp down")
        self.sent.append(mail)


def raw_mail(sender: str, subject: str, text: str = "Where is my order?", **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@larkspur.example"
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain="customer.example")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(text)
    return bytes(mail)


@pytest.fixture
async def channel() -> tuple[EmailChannel, list[InboundMessage], Recorder]:
    settings = EmailSettings(from_address="support@larkspur.example", thread_window_days=1,
                             max_messages_per_sender_per_hour=3)  # fmt: skip
    sender = Recorder()
    channel = EmailChannel(settings, sender, MemoryState(), ("en",))
    inbox: list[InboundMessage] = []

    async def handler(message: InboundMessage) -> bool:
        inbox.append(message)
        return True

    await channel.start(handler)
    return channel, inbox, sender


async def test_same_sender_and_subject_within_the_window_is_one_conversation(
    channel: tuple[EmailChannel, list[InboundMessage], Recorder],
) -> None:
    email, inbox, _ = channel
    await email.accept(raw_mail("a@customer.example", "Broken lamp"), "uid:1:1")
    await email.accept(raw_mail("a@customer.example", "RE: broken  lamp"), "uid:1:2")
    await email.accept(raw_mail("b@customer.example", "Broken lamp"), "uid:1:3")
    first, second, other = (m.ref.conversation_id for m in inbox)
    assert first == second and other != first


async def test_a_copied_subject_tag_does_not_join_someone_elses_conversation(
    channel: tuple[EmailChannel, list[InboundMessage], Recorder],
) -> None:
    email, inbox, _ = channel
    await email.accept(raw_mail("a@customer.example", "Refund"), "uid:1:1")
    code = inbox[0].ref.conversation_id
    await email.accept(raw_mail("a@customer.example", f"Re: Refund [#FD-{code}]", "again"),
                       "uid:1:2")  # fmt: skip
    await email.accept(raw_mail("mallory@evil.example", f"Re: x [#FD-{code}]"), "uid:1:3")
    assert inbox[1].ref.conversation_id == code
    assert inbox[2].ref.conversation_id != code


async def test_a_sender_over_the_rate_limit_is_not_answered(
    channel: tuple[EmailChannel, list[InboundMessage], Recorder],
) -> None:
    email, inbox, _ = channel
    for number in range(5):
        assert await email.accept(raw_mail("a@customer.example", f"q{number}"), f"uid:1:{number}")
    assert len(inbox) == 3
    assert email.suppressed["rate_limited"] == 2


async def test_mail_without_message_id_gets_the_uid_key(
    channel: tuple[EmailChannel, list[InboundMessage], Recorder],
) -> None:
    email, inbox, _ = channel
    raw = b"From: a@customer.example\r\nSubject: hi\r\n\r\nDo you ship to Norway?\r\n"
    await email.accept(raw, "uid:77:5")
    assert inbox[0].message_id == "uid:77:5"
    assert inbox[0].ref.conversation_id == code_for("uid:77:5")
    assert inbox[0].text == "Do you ship to Norway?"


async def test_a_send_already_accepted_is_not_sent_again(
    channel: tuple[EmailChannel, list[InboundMessage], Recorder],
) -> None:
    email, inbox, sender = channel
    await email.accept(raw_mail("a@customer.example", "Order"), "uid:1:1")
    reply = OutboundMessage(ref=inbox[0].ref, text="It ships today.", in_reply_to="x")
    sender.fail = 1
    with pytest.raises(ChannelError):
        await email.send(reply)
    await email.send(reply)
    await email.send(reply)  # e.g. the outbox mark was lost after the send
    assert len(sender.sent) == 1


async def test_not_started_raises_so_the_mail_stays_unseen() -> None:
    email = EmailChannel(EmailSettings(from_address="s@x.example"), Recorder(), MemoryState())
    with pytest.raises(ChannelError):
        await email.accept(raw_mail("a@customer.example", "x"), "uid:1:1")


def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(7)
    delays = [backoff(attempt, 30.0, rng) for attempt in range(10)]
    assert all(0.5 <= d <= 30.0 for d in delays)
    assert delays[0] <= 1.0 and max(delays[-3:]) > 15.0
    assert len({round(d, 6) for d in delays}) == len(delays)  # jitter: no two alike


async def test_a_parser_failure_still_reaches_a_person(
    channel: tuple[EmailChannel, list[InboundMessage], Recorder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    email, inbox, _ = channel

    def broken(*args: object, **kwargs: object) -> None:
        raise RecursionError("a parser bug")

    monkeypatch.setattr("channels.email.customers.parse_mail", broken)
    assert await email.accept(raw_mail("a@customer.example", "Help", "My order?"), "uid:1:9")
    assert inbox[0].author.email == "a@customer.example"
    assert "My order?" in inbox[0].text and inbox[0].message_id == "uid:1:9"


async def test_a_mail_that_cannot_be_composed_is_refused_not_retried(
    channel: tuple[EmailChannel, list[InboundMessage], Recorder],
) -> None:
    from dataclasses import replace

    from channels.base import ReplyHints
    from config.errors import DeliveryRefused

    email, inbox, sender = channel
    await email.accept(raw_mail("a@customer.example", "Order"), "uid:1:1")
    ref = replace(inbox[0].ref, hints=ReplyHints(address="bad\naddress@x.example", subject="x"))
    with pytest.raises(DeliveryRefused):
        await email.send(OutboundMessage(ref=ref, text="hello"))
    assert sender.sent == []


async def test_a_mail_over_the_size_cap_asks_for_a_person(
    channel: tuple[EmailChannel, list[InboundMessage], Recorder],
) -> None:
    email, inbox, _ = channel
    await email.accept(raw_mail("a@customer.example", "Logs", "see below " * 50), "uid:1:4",
                       truncated=True)  # fmt: skip
    assert inbox[0].oversize
    assert "too large" in " ".join(a.name for a in inbox[0].attachments)
    await email.accept(raw_mail("a@customer.example", "Short", "hello"), "uid:1:5")
    assert not inbox[1].oversize
