"""CSAT: asked once after a resolve (by an agent, or by the bot when the customer says it
helped), the rating and comment recorded on the conversation, never asked twice, never taken
while a person owns the conversation, and off when configured so. The question carries rating
buttons for the channels that have them; a press is recorded like a typed rating, and one
out of turn (second, late, before any question, while a person has the conversation) gets a
polite word and never reaches the brain."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import bot.csat as bot_csat
from bot.csat import (
    CSAT_ALREADY,
    CSAT_CLOSED,
    CSAT_COMMENT_THANKS,
    CSAT_NOT_NOW,
    CSAT_PRESSED,
    CSAT_THANKS,
    parse_rating,
)
from bot.observer import CSAT_QUESTION
from brain.store.base import OPEN_STATUSES, Store, TicketStatus
from brain.store.facts import Facts
from channels.base import (
    Author,
    ConversationRef,
    DeskAction,
    InboundMessage,
    OutboundMessage,
    RatingRequest,
    decode_queue_item,
)
from channels.text import split_outbound
from tests.ops_bot import Bot, running_bot, settings_for
from tests.test_ops_wiring import scrape


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


async def press(bot: Bot, rating: int, conversation: str = "c1") -> list[str]:
    """A rating button pressed, as Slack and Discord hand it over (``InboundMessage.rating``)."""
    before = len(bot.channel.sent_to(conversation))
    message = bot.channel.message(str(rating), conversation=conversation)
    await bot.channel.inject(replace(message, rating=rating))
    await bot.parts.dispatcher.drain()
    return bot.channel.sent_to(conversation)[before:]


async def test_a_press_is_recorded_like_a_typed_rating(store: Store, tmp_path: Path) -> None:
    async with running_bot(settings_for(str(tmp_path)), store) as bot:
        await escalate_and_resolve(bot, store)
        asked = bot.channel.sent[-1]
        assert asked.text == CSAT_QUESTION and asked.rating == RatingRequest("customer-1")
        assert await press(bot, 5) == [CSAT_PRESSED]
        (rated,) = [e for e in bot.adapter.events if e.kind == "csat.received"]
        assert rated.data["csat"] == {"rating": 5, "comment": None}
        _, metrics = await scrape(bot.base_url)
        assert 'frontdesk_csat_ratings_total{rating="5"} 1.0' in metrics
        assert await press(bot, 2) == [CSAT_ALREADY]  # a second press changes nothing
        # The next message is the comment; the one after it is a question again.
        assert await bot.customer("Alice was great, card 4111 1111 1111 1111") == [
            CSAT_COMMENT_THANKS
        ]
        assert CSAT_COMMENT_THANKS not in await bot.customer("How do I track my order?")
        facts = await Facts(store, 86400).get("fake:-:c1")
    assert facts.csat_rating == 5 and "4111" not in (facts.csat_comment or "")
    assert (facts.csat_comment or "").startswith("Alice was great")
    assert facts.reopened is not None  # the question after the comment is a new request
    assert facts.csat_rated is not None and facts.reopened > facts.csat_rated


async def test_presses_out_of_turn_are_answered_and_change_nothing(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(settings_for(str(tmp_path)), store) as bot:
        assert await press(bot, 4, "c0") == [CSAT_CLOSED]  # never asked: not for the brain
        assert await store.list_tickets(OPEN_STATUSES) == []
        await escalate_and_resolve(bot, store, "c1")  # answered in words: the question closes
        await bot.customer("Where is my parcel, order 55555?", "c1")
        assert await press(bot, 3, "c1") == [CSAT_CLOSED]
        monkeypatch.setattr(bot_csat, "PRESS_EXPIRES_S", -1.0)  # the buttons are old now
        await escalate_and_resolve(bot, store, "c3")
        assert await press(bot, 3, "c3") == [CSAT_CLOSED]
        monkeypatch.setattr(bot_csat, "PRESS_EXPIRES_S", 86400.0)
        monkeypatch.setattr(bot_csat, "COMMENT_WINDOW_S", -1.0)  # too late for a comment
        await escalate_and_resolve(bot, store, "c4")
        assert await press(bot, 1, "c4") == [CSAT_PRESSED]
        assert CSAT_COMMENT_THANKS not in await bot.customer("How do I track my order", "c4")
        monkeypatch.setattr(bot_csat, "COMMENT_WINDOW_S", 1800.0)
        await escalate_and_resolve(bot, store, "c5")
        assert await press(bot, 2, "c5") == [CSAT_PRESSED]
        assert CSAT_COMMENT_THANKS not in await bot.customer("How do I track my order?", "c5")
        await escalate_and_resolve(bot, store, "c2")  # a person has it again (the web API)
        await store.open_ticket(ConversationRef("fake", "c2"), Author("customer-1"),
                                ["human_requested"], "call me back")  # fmt: skip
        assert await press(bot, 3, "c2") == [CSAT_NOT_NOW]
        ratings = [(await Facts(store, 86400).get(f"fake:-:c{n}")).csat_rating for n in range(6)]
        comment = (await Facts(store, 86400).get("fake:-:c5")).csat_comment
    assert ratings == [None, None, None, None, 1, 2] and comment is None


async def test_a_press_when_csat_is_off(store: Store, tmp_path: Path) -> None:
    settings = settings_for(str(tmp_path), observability={"csat_enabled": False})
    async with running_bot(settings, store) as bot:
        assert await press(bot, 5) == [CSAT_CLOSED]
        assert (await Facts(store, 86400).get("fake:-:c1")).csat_rating is None


def test_ratings_cross_the_queue_and_go_under_the_last_part() -> None:
    ref = ConversationRef("slack", "D1")
    pressed = InboundMessage(ref=ref, message_id="rating:D1:1.2", author=Author("U1"),
                             text="4", rating=4)  # fmt: skip
    assert decode_queue_item(pressed.to_json()) == pressed
    asking = OutboundMessage(ref=ref, text="a " * 30 + CSAT_QUESTION, message_id="T-1:csat",
                             rating=RatingRequest("U1"))  # fmt: skip
    assert decode_queue_item(asking.to_json()) == asking
    parts = split_outbound(asking, 80)
    assert len(parts) > 1 and [p.rating for p in parts] == [None] * (len(parts) - 1) + [
        RatingRequest("U1")
    ]
