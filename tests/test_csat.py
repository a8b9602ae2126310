"""CSAT: asked once after a resolve (by an agent, or by the bot when the customer says it
helped), the rating and comment recorded on the conversation, never asked twice, never taken
while a person owns the conversation, and off when configured so."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.csat import CSAT_QUESTION, CSAT_THANKS, parse_rating
from brain.store.base import OPEN_STATUSES, Store, TicketStatus
from brain.store.facts import Facts
from channels.base import DeskAction
from tests.ops_bot import Bot, running_bot, settings_for


async def escalate_and_resolve(bot: Bot, store: Store, conversation: str = "c1") -> None:
    await bot.customer("I want to talk to a human please", conversation)
    ticket = (await store.list_tickets([TicketStatus.ESCALATED]))[0]
    await bot.agent(DeskAction.CLAIM, ticket_id=ticket.id)
    text, ref = "Your parcel left the warehouse today.", bot.desk.cards[ticket.id]
    await bot.agent(DeskAction.REPLY, desk_ref=ref, text=text, event_id=f"r-{ticket.id}")
    await bot.agent(DeskAction.RESOLVE, ticket_id=ticket.id)


async def test_asked_once_after_a_resolve_and_recorded(store: Store, tmp_path: Path) -> None:
    async with running_bot(settings_for(str(tmp_path)), store) as bot:
        await escalate_and_resolve(bot, store)
        sent = bot.channel.sent_to("c1")
        assert sent[-1] == CSAT_QUESTION and "marked this conversation as resolved" in sent[-2]
        assert await bot.customer("4 - quick, thanks Alice") == [CSAT_THANKS]
        facts = await Facts(store, 86400).get("fake:-:c1")
        assert (facts.csat_rating, facts.csat_comment) == (4, "quick, thanks Alice")
        (rated,) = [e for e in bot.adapter.events if e.kind == "csat.received"]
        assert rated.data["csat"] == {"rating": 4, "comment": "quick, thanks Alice"}
        assert facts.resolved_by == "agent" and facts.reopened is None  # a rating is no reopen
        # A second hand-off in the same conversation, resolved again: no second question.
        await escalate_and_resolve(bot, store)
        assert bot.channel.sent_to("c1").count(CSAT_QUESTION) == 1
        # The next "5" is an ordinary message for the bot, and the rating stays 4.
        assert await bot.customer("5") != [CSAT_THANKS]
        assert (await Facts(store, 86400).get("fake:-:c1")).csat_rating == 4
        stats = await bot.agent(DeskAction.COMMAND, text="stats 7d")
        assert "CSAT: 100% satisfied, average 4.0/5 (1 of 1 asked)" in stats.text
        assert "escalation rate: 100% (1)" in stats.text


async def test_never_taken_while_a_person_owns_the_conversation(
    store: Store, tmp_path: Path
) -> None:
    async with running_bot(settings_for(str(tmp_path)), store) as bot:
        await escalate_and_resolve(bot, store)
        # The customer does not rate but asks for a person again: the question is closed.
        await bot.customer("actually I need a human again")
        assert len(await store.list_tickets(OPEN_STATUSES)) == 1
        replies = await bot.customer("5")  # while the ticket is open: relayed, not a rating
        assert CSAT_THANKS not in replies
        assert (await Facts(store, 86400).get("fake:-:c1")).csat_rating is None


async def test_the_bot_asks_when_the_customer_says_it_helped(store: Store, tmp_path: Path) -> None:
    async with running_bot(settings_for(str(tmp_path)), store) as bot:
        first = await bot.customer("thanks!", "c2")  # nothing was answered yet: no question
        assert CSAT_QUESTION not in first[0]
        await bot.customer("How do I track my order?", "c2")
        helped = await bot.customer("thanks, that solved it", "c2")
        assert helped[0].endswith(CSAT_QUESTION)
        assert await bot.customer("5/5", "c2") == [CSAT_THANKS]
        again = await bot.customer("cheers, bye", "c2")
        assert CSAT_QUESTION not in again[0]
        facts = await Facts(store, 86400).get("fake:-:c2")
    assert (facts.resolved_by, facts.csat_rating, facts.csat_comment) == ("bot", 5, None)


async def test_off_when_configured(store: Store, tmp_path: Path) -> None:
    settings = settings_for(str(tmp_path), observability={"csat_enabled": False})
    async with running_bot(settings, store) as bot:
        await escalate_and_resolve(bot, store)
        assert CSAT_QUESTION not in bot.channel.sent_to("c1")
        assert await bot.customer("5") != [CSAT_THANKS]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("4", (4, "")), ("5/5 great", (5, "great")), ("3 - slow but ok", (3, "slow but ok")),
     ("5 stars!", (5, "")), ("10", None), ("4.5", None), ("1st of May", None), ("six", None),
     ("0", None)],
)  # fmt: skip
def test_ratings_are_read_strictly(text: str, parsed: tuple[int, str] | None) -> None:
    assert parse_rating(text) == parsed
