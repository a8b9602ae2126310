"""Admin commands: who may run them, and what each one changes."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from bot.admin import Admin, AdminContext, admin_entries
from bot.reload import Reloader
from bot.wiring import build_brain
from brain.decision import DecisionKind
from brain.knowledge import KnowledgeBase
from brain.providers.fake import ScriptedClient
from brain.providers.offline import OfflineAnswerer
from brain.router import Router
from brain.store.base import Store
from channels.base import (
    Author,
    ConversationRef,
    DeskAction,
    DeskEvent,
    InboundMessage,
    Role,
)
from config.settings import PACKAGED_KNOWLEDGE_DIR, load_settings

ADMIN = Author(id="U_ADMIN", display_name="Ada")
AGENT = Author(id="U_AGENT", display_name="Sam")


def command(text: str, admin: bool = True) -> DeskEvent:
    role = Role.ADMIN if admin else Role.AGENT
    return DeskEvent(DeskAction.COMMAND, ADMIN if admin else AGENT, text=text, role=role)


def customer(text: str, message_id: str, channel: str = "slack") -> InboundMessage:
    ref = ConversationRef(channel=channel, conversation_id=f"conv-{message_id}")
    return InboundMessage(ref=ref, message_id=message_id, author=Author(id="c"), text=text)


@pytest.fixture
def kb_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(PACKAGED_KNOWLEDGE_DIR, target)
    monkeypatch.setenv("FRONTDESK_KNOWLEDGE__DIR", str(target))
    return target


async def test_non_admin_cannot_mutate_and_is_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    admin = Admin(AdminContext(store, ("slack",)))
    for text in ('faq add "q?" "a."', "faq remove x", "pause slack", "provider disable x"):
        feedback = await admin.run(command(text, admin=False))
        assert not feedback.ok and "Only Frontdesk admins" in feedback.text
    refused = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(refused) == 4 and "U_AGENT" in refused[0].getMessage()
    assert await store.kv_scan("") == {}
    assert (await admin.run(command("status", admin=False))).ok, "reading is for everyone"


async def test_faq_add_is_answered_at_once_and_can_be_removed(store: Store, kb_dir: Path) -> None:
    settings = load_settings(env_file=None)
    brain, _ = build_brain(settings, store, KnowledgeBase.load(kb_dir))
    reloader = Reloader(brain, settings, store)
    admin = Admin(AdminContext(store, ("slack",), reload_knowledge=reloader.reload))
    question = "Do you sell handmade ceramic garden gnomes?"
    before = await brain.handle(customer(question, "m1"))
    assert before.kind is DecisionKind.ESCALATE

    added = await admin.run(command(f'faq add "{question}" "Yes, in three sizes, from 19 EUR."'))
    assert added.ok, added.text
    after = await brain.handle(customer(question, "m2"))
    assert after.kind is DecisionKind.REPLY and after.text == "Yes, in three sizes, from 19 EUR."
    listing = await admin.run(command("faq list"))
    entry_id = listing.text.split(":")[0]
    assert question in listing.text and [e.id for e in await admin_entries(store)] == [entry_id]

    assert (await admin.run(command(f"faq remove {entry_id}"))).ok
    assert not (await admin.run(command(f"faq remove {entry_id}"))).ok
    assert brain.knowledge.get(entry_id) is None
    assert not (await admin.run(command('faq add "only a question"'))).ok


async def test_pause_sends_everything_to_humans(store: Store, kb_dir: Path) -> None:
    brain, _ = build_brain(load_settings(env_file=None), store, KnowledgeBase.load(kb_dir))
    admin = Admin(AdminContext(store, ("slack", "terminal")))
    assert (await admin.run(command("pause slack"))).ok
    paused = await brain.handle(customer("How do I return an item?", "p1"))
    assert paused.kind is DecisionKind.ESCALATE and "channel_paused" in paused.reasons
    other = await brain.handle(customer("How do I return an item?", "p2", channel="terminal"))
    assert other.kind is DecisionKind.REPLY
    assert "slack (paused)" in (await admin.run(command("status"))).text
    assert (await admin.run(command("resume slack"))).ok
    resumed = await brain.handle(customer("How do I return an item?", "p3"))
    assert resumed.kind is DecisionKind.REPLY
    assert not (await admin.run(command("pause discord"))).ok


async def test_provider_disable_and_enable(store: Store) -> None:
    from brain.prompts import PromptConfig
    from brain.providers.answerer import LLMAnswerer

    clients = [ScriptedClient("openai:gpt-4o-mini"), ScriptedClient("anthropic:claude")]
    answerers = [LLMAnswerer(c, PromptConfig()) for c in clients]
    router = Router({"fast": answerers}, OfflineAnswerer(), store)
    admin = Admin(AdminContext(store, ("slack",), router))
    assert (await admin.run(command("provider disable openai:gpt-4o-mini"))).ok
    assert router.disabled == {"openai:gpt-4o-mini"}
    status = (await admin.run(command("status"))).text
    assert "openai:gpt-4o-mini: disabled by an admin" in status
    assert "anthropic:claude: circuit closed" in status
    assert (await admin.run(command("provider enable openai:gpt-4o-mini"))).ok
    assert router.disabled == set()
    assert not (await admin.run(command("provider disable nonsense"))).ok


async def test_reading_commands(store: Store) -> None:
    posted: list[str] = []

    async def post(text: str) -> None:
        posted.append(text)

    admin = Admin(AdminContext(store, ("slack",), post_digest=post))
    await store.incr("decisions_reply", 3)
    await store.incr("decisions_escalate", 1)
    ticket, _ = await store.open_ticket(ConversationRef("slack", "c9"), Author(id="c"),
                                        ["human_requested"], "wants a person")  # fmt: skip
    stats = await admin.run(command("stats today"))
    assert "messages handled: 4" in stats.text and "answered by the bot: 3 (75%)" in stats.text
    assert (await admin.run(command("stats 7d"))).ok
    assert not (await admin.run(command("stats forever"))).ok
    escalations = await admin.run(command("escalations"))
    assert ticket.id in escalations.text and "UNCLAIMED" in escalations.text
    assert (await admin.run(command("digest"))).text == "Digest posted."
    assert "Frontdesk digest" in posted[0] and "open tickets: 1 (1 unclaimed)" in posted[0]
    assert "faq add" in (await admin.run(command("help"))).text
    unknown = await admin.run(command("dance"))
    assert not unknown.ok and "Unknown command" in unknown.text
    assert not (await admin.run(command('faq add "unbalanced'))).ok
