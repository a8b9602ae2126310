"""The terminal desk: ``frontdesk desk ...`` acting on the store a running bot uses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.dispatch import DispatchConfig, Dispatcher
from bot.observer import CSAT_QUESTION
from bot.wiring import SQLITE_FILE
from brain.decision import Decision
from brain.store.base import StoreLimits
from brain.store.sqlite import SqliteStore
from channels.base import Author, ConversationRef, InboundMessage
from channels.fake import FakeChannel

REF = ConversationRef(channel="fake", conversation_id="c1")


class NeverCalled:
    async def handle(self, message: InboundMessage) -> Decision:
        raise AssertionError("the brain must not see desk messages")


def store_at(data_dir: Path) -> SqliteStore:
    return SqliteStore(data_dir / SQLITE_FILE, limits=StoreLimits())


async def open_ticket(data_dir: Path) -> str:
    store = store_at(data_dir)
    await store.open()
    ticket, _ = await store.open_ticket(REF, Author(id="cust", display_name="Robin"),
                                        ["human_requested"], "wants a person")  # fmt: skip
    await store.close()
    return ticket.id


async def deliver_queued(data_dir: Path) -> list[tuple[str | None, str]]:
    """Run the bot's dispatcher until the desk's queued messages are delivered."""
    store = store_at(data_dir)
    await store.open()
    channel = FakeChannel("fake")
    dispatcher = Dispatcher(store, NeverCalled(), {"fake": channel}, DispatchConfig(consumer="bot"))
    worker = asyncio.create_task(dispatcher.run())
    await dispatcher.drain()
    dispatcher.stop()
    await worker
    await store.close()
    return [(m.sender_name, m.text) for m in channel.sent]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FRONTDESK_STORE__DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_claim_reply_resolve_reach_the_customer_in_order(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = asyncio.run(open_ticket(data_dir))
    assert main(["desk", "list"]) == 0
    assert ticket in capsys.readouterr().out

    assert main(["desk", "claim", ticket, "--as", "alice"]) == 0
    assert main(["desk", "claim", ticket.lower(), "--as", "bob"]) == 1
    assert "already claimed by alice" in capsys.readouterr().out

    assert main(["desk", "reply", ticket, "Hi", "Robin,", "Alice", "here."]) == 0
    assert main(["desk", "reply", ticket, "note: check the order first"]) == 0
    assert main(["desk", "reply", ticket, "--as", "bob", "I can help"]) == 1
    assert "stayed internal" in capsys.readouterr().out
    assert main(["desk", "note", ticket, "customer", "is", "polite"]) == 0
    assert main(["desk", "resolve", ticket]) == 0

    assert main(["desk", "show", ticket]) == 0
    shown = capsys.readouterr().out
    assert "resolved" in shown and "alice: check the order first" in shown
    assert "note: check" not in shown, "the internal prefix is not stored twice"
    assert "bob: I can help" in shown

    delivered = asyncio.run(deliver_queued(data_dir))
    assert [sender for sender, _ in delivered] == [None, "alice", None, None]
    assert "alice from our team has joined" in delivered[0][1]
    assert delivered[1][1] == "Hi Robin, Alice here."
    assert "resolved" in delivered[2][1]
    assert delivered[3][1] == CSAT_QUESTION  # asked once, after the closing note


def test_unknown_ticket_and_closed_ticket(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = asyncio.run(open_ticket(data_dir))
    assert main(["desk", "claim", "T-999", "--as", "alice"]) == 1
    assert "No ticket T-999" in capsys.readouterr().out
    assert main(["desk", "handback", ticket, "--as", "alice"]) == 0
    assert main(["desk", "reply", ticket, "--as", "alice", "too late"]) == 1
    assert "handed back" in capsys.readouterr().out
    assert main(["desk", "list"]) == 0
    assert "No open tickets." in capsys.readouterr().out


def test_terminal_session_refuses_replies_for_an_ended_session() -> None:
    from channels.base import OutboundMessage
    from channels.terminal.customers import TerminalChannel
    from config.errors import DeliveryRefused

    channel = TerminalChannel()
    stale = OutboundMessage(ref=REF, text="hello?")
    with pytest.raises(DeliveryRefused):
        asyncio.run(channel.send(stale))


def test_blank_agents_empty_notes_and_huge_numbers_are_refused(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = asyncio.run(open_ticket(data_dir))
    assert main(["desk", "claim", ticket, "--as", ""]) == 1
    assert "needs a name" in capsys.readouterr().out
    assert main(["desk", "note", ticket, "  "]) == 1
    assert main(["desk", "note", ticket, "note:"]) == 1
    assert "empty note" in capsys.readouterr().out
    assert main(["desk", "claim", "T-" + "9" * 40, "--as", "alice"]) == 1
    assert "No ticket" in capsys.readouterr().out
    assert main(["desk", "show", "T-" + "9" * 40]) == 1


async def _open_hostile(data_dir: Path) -> str:
    store = store_at(data_dir)
    await store.open()
    hostile = "\x1b]0;pwned\x07\x1b[31mred\x1b[0m \u202eevil"
    ticket, _ = await store.open_ticket(REF, Author(id="cust", display_name="Eve\x1b[2J"),
                                        ["human_requested"], hostile)  # fmt: skip
    from brain.store.base import Turn

    await store.append_turn(REF, Turn("t1", "customer", hostile))
    await store.close()
    return ticket.id


def test_customer_text_cannot_drive_the_agents_terminal(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = asyncio.run(_open_hostile(data_dir))
    assert main(["desk", "list"]) == 0
    assert main(["desk", "show", ticket]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "red" in out and "evil" in out
