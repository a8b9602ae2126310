"""The hand-off loop through the desk hub: page, claim, relay both ways, resolve, SLA re-page."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.desk_hub import ROLE_UNKNOWN, DeskHub
from bot.dispatch import DispatchConfig, Dispatcher
from bot.home import home_view
from brain.conversation import Outcome, Ownership
from brain.store.base import OPEN_STATUSES, Store
from channels.base import Author, DeskAction, DeskEvent, DeskFeedback, EscalationCard, Role
from channels.fake import FakeChannel, FakeDesk
from config.errors import ChannelError, StoreError
from tests.conftest import BrainFactory

ALICE = Author(id="U_ALICE", display_name="Alice")
BOB = Author(id="U_BOB", display_name="Bob")


@dataclass
class Loop:
    store: Store
    channel: FakeChannel
    desk: FakeDesk
    hub: DeskHub
    dispatcher: Dispatcher

    async def customer(self, text: str) -> None:
        await self.channel.inject(self.channel.message(text, conversation="c1"))
        await self.dispatcher.drain()

    async def agent(self, action: DeskAction, who: Author = ALICE, **fields: object) -> object:
        event = DeskEvent(action=action, agent=who, **fields)  # type: ignore[arg-type]
        feedback = await self.desk.act(event)
        await self.dispatcher.drain()
        return feedback


@pytest.fixture
async def loop(store: Store, make_brain: BrainFactory) -> AsyncIterator[Loop]:
    channel, desk = FakeChannel(), FakeDesk()
    hub = DeskHub(
        store,
        [desk],
        Ownership(store, "note:"),
        {"urgent": 5, "high": 15, "normal": 60, "low": 240},
        home=functools.partial(home_view, store),
    )
    dispatcher = Dispatcher(store, make_brain(store), {channel.name: channel},
                            DispatchConfig(consumer="hub-test"), hub)  # fmt: skip
    await channel.start(dispatcher.submit)
    await desk.start(hub.handle)
    worker = asyncio.create_task(dispatcher.run())
    yield Loop(store, channel, desk, hub, dispatcher)
    dispatcher.stop()
    await worker


async def test_the_whole_hand_off_loop(loop: Loop) -> None:
    await loop.customer("I'd like to speak to a real person please")
    assert "teammate" in loop.channel.sent_to("c1")[-1]
    card, _ = loop.desk.pages[0]
    ticket_id, ref = card.ticket_id, "card-1"
    # Each reason carries the signal that fired it (brain/signals.py).
    assert card.reasons == (
        "human_requested (asks to be put through to a person or a kind of staff)",
    )

    await loop.customer("it's about order 12345")
    assert loop.desk.relays == [(ref, "it's about order 12345")]
    # Unclaimed: the follow-up reaches the desk and the customer hears it is with the team.
    assert "still with the team" in loop.channel.sent_to("c1")[-1]
    assert len(loop.channel.sent_to("c1")) == 2

    claim = await loop.agent(DeskAction.CLAIM, ticket_id=ticket_id)
    assert claim.ok  # type: ignore[attr-defined]
    assert loop.desk.updates[-1][1].status == "claimed"
    assert loop.desk.updates[-1][1].agent == "Alice"
    assert "Alice from our team has joined" in loop.channel.sent_to("c1")[-1]

    await loop.agent(DeskAction.REPLY, desk_ref=ref, text="Hi! Looking at 12345 now.",
                     event_id="e1")  # fmt: skip
    relayed = loop.channel.sent[-1]
    assert relayed.text == "Hi! Looking at 12345 now." and relayed.sender_name == "Alice"

    note = await loop.agent(DeskAction.REPLY, desk_ref=ref, text="note: refund approved",
                            event_id="e2")  # fmt: skip
    other = await loop.agent(DeskAction.REPLY, BOB, desk_ref=ref, text="I can take it",
                             event_id="e3")  # fmt: skip
    assert note.internal and other.internal  # type: ignore[attr-defined]
    assert [m.text for m in loop.channel.sent].count("note: refund approved") == 0
    assert all("I can take it" not in m.text for m in loop.channel.sent)

    await loop.agent(DeskAction.RESOLVE, ticket_id=ticket_id)
    resolved = loop.desk.updates[-1][1]
    assert resolved.status == "resolved" and resolved.handle_time_s is not None
    assert "resolved" in loop.channel.sent_to("c1")[-1]

    await loop.customer("How do I return an item?")
    assert "30 days" in loop.channel.sent_to("c1")[-1], "the bot answers again by itself"
    assert await loop.store.list_tickets(OPEN_STATUSES) == []


async def test_two_agents_claim_at_once(loop: Loop) -> None:
    await loop.customer("can I talk to a human")
    ticket_id = loop.desk.pages[0][0].ticket_id
    results = await asyncio.gather(
        loop.desk.act(DeskEvent(DeskAction.CLAIM, ALICE, ticket_id=ticket_id)),
        loop.desk.act(DeskEvent(DeskAction.CLAIM, BOB, ticket_id=ticket_id)),
    )
    assert sorted(r.ok for r in results) == [False, True]
    loser = next(r for r in results if not r.ok)
    assert "already claimed by" in loser.text


async def test_thread_reply_outside_a_ticket_is_refused(loop: Loop) -> None:
    feedback = await loop.desk.act(DeskEvent(DeskAction.REPLY, ALICE, desk_ref="nowhere",
                                             text="hello"))  # fmt: skip
    assert not feedback.ok


async def test_unclaimed_ticket_is_repaged_past_its_sla(loop: Loop) -> None:
    loop.hub.sla_minutes = dict.fromkeys(("urgent", "high", "normal", "low"), 0.01)  # 0.6 s
    await loop.customer("I want a human")
    assert await loop.hub.repage_due() == 0
    await asyncio.sleep(0.65)
    assert await loop.hub.repage_due() == 1
    card, thread_of = loop.desk.pages[-1]
    assert card.repage == 1 and thread_of == "card-1"
    ticket = await loop.store.get_ticket(card.ticket_id)
    assert ticket is not None and [r.level for r in ticket.repages] == [1]
    assert await loop.hub.repage_due() == 0, "the next step of the ladder is not due yet"
    await loop.agent(DeskAction.CLAIM, ticket_id=card.ticket_id)
    await asyncio.sleep(0.7)
    assert await loop.hub.repage_due() == 0, "claimed tickets are never re-paged"


async def test_a_failed_page_is_retried(loop: Loop) -> None:
    loop.desk.fail_pages = 1
    await loop.customer("please get me a human")
    assert loop.desk.pages == []
    await loop.hub.repage_due()
    assert len(loop.desk.pages) == 1 and loop.desk.pages[0][1] is None


async def test_alerts_reach_every_desk(loop: Loop) -> None:
    await loop.hub.alert("budget reached")
    assert loop.desk.alerts == ["budget reached"]


async def test_a_card_on_its_way_is_not_posted_twice(loop: Loop) -> None:
    release = asyncio.Event()
    posted = loop.desk.page

    async def slow_page(card: object, thread_of: str | None = None) -> str:
        await release.wait()  # the desk channel's posting pace holds this card back
        return await posted(card, thread_of)  # type: ignore[arg-type]

    loop.desk.page = slow_page  # type: ignore[method-assign]
    await loop.channel.inject(loop.channel.message("get me a human please", conversation="c1"))
    # The customer is told at once, while the card still waits for its turn.
    await loop.channel.wait_for(lambda sent: len(sent) >= 1, within=5.0)
    await loop.hub.repage_due()  # the SLA job runs while the card waits its turn
    release.set()
    await loop.dispatcher.drain()
    assert len(loop.desk.pages) == 1


# -- one desk path for every desk --------------------------------------------------------------
async def test_a_claim_from_the_terminal_desk_redraws_the_card_on_the_live_desk(
    loop: Loop,
) -> None:
    await loop.customer("I'd like to talk to a human")
    ticket_id = loop.desk.pages[0][0].ticket_id
    # `frontdesk desk claim` runs in another process: a hub without live desks on the store.
    remote = DeskHub(loop.store, [], Ownership(loop.store), {}, live=False)
    terminal = DeskEvent(DeskAction.CLAIM, ALICE, desk="terminal", ticket_id=ticket_id,
                         role=Role.ADMIN)  # fmt: skip
    assert (await remote.handle(terminal)).ok
    await loop.dispatcher.drain()  # the running bot takes the queued redraw
    assert loop.desk.updates[-1] == ("card-1", loop.desk.updates[-1][1])
    assert loop.desk.updates[-1][1].status == "claimed"
    assert "Alice from our team has joined" in loop.channel.sent_to("c1")[-1]


@pytest.mark.parametrize("action", [DeskAction.CLAIM, DeskAction.RESOLVE, DeskAction.HAND_BACK])
async def test_only_agents_act_on_tickets(loop: Loop, action: DeskAction,
                                          caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    loop.desk.roles[BOB.id] = Role.NONE
    await loop.customer("I'd like to talk to a human")
    ticket_id = loop.desk.pages[0][0].ticket_id
    feedback = await loop.agent(action, BOB, ticket_id=ticket_id)
    assert not feedback.ok and "only Frontdesk agents" in feedback.text  # type: ignore[attr-defined]
    ticket = await loop.store.get_ticket(ticket_id)
    assert ticket is not None and ticket.status.value == "escalated"
    assert f"refused {action} by {BOB.id}" in caplog.text


async def test_a_customer_cannot_relay_from_the_ticket_thread(loop: Loop) -> None:
    loop.desk.roles[BOB.id] = Role.NONE
    await loop.customer("I'd like to talk to a human")
    await loop.agent(DeskAction.CLAIM, ALICE, ticket_id=loop.desk.pages[0][0].ticket_id)
    sent = len(loop.channel.sent)
    feedback = await loop.agent(DeskAction.REPLY, BOB, desk_ref="card-1", text="hi", event_id="x")
    assert not feedback.ok  # type: ignore[attr-defined]
    assert len(loop.channel.sent) == sent


async def test_a_desk_message_taken_in_again_keeps_what_it_got_first(loop: Loop) -> None:
    """The same thread message twice (read back after a gateway failover, a platform's retry):
    relayed once, never relayed if it stayed internal the first time (also when its author
    has claimed the ticket since), and never refused or answered again."""
    await loop.customer("I'd like to talk to a human")
    ticket_id = loop.desk.pages[0][0].ticket_id

    async def says(who: Author, text: str, event_id: str) -> DeskFeedback:
        feedback = await loop.agent(DeskAction.REPLY, who, desk_ref="card-1", text=text,
                                    event_id=event_id)  # fmt: skip
        assert isinstance(feedback, DeskFeedback)
        return feedback

    early = await says(BOB, "the customer's order is 555", "b1")  # before anyone claimed
    assert early.withheld
    await loop.agent(DeskAction.CLAIM, BOB, ticket_id=ticket_id)
    relayed = await says(BOB, "Hi, I'm looking into it.", "b2")
    note = await says(BOB, "note: check the warehouse", "b3")
    sent = [m.text for m in loop.channel.sent]
    assert sent.count("Hi, I'm looking into it.") == 1 and not relayed.internal
    again = [await says(BOB, "the customer's order is 555", "b1"),
             await says(BOB, "Hi, I'm looking into it.", "b2"),
             await says(BOB, "note: check the warehouse", "b3")]  # fmt: skip
    assert [(f.ok, f.internal, f.withheld) for f in again] == [
        (True, True, False), (True, False, False), (True, True, False)]  # fmt: skip
    assert note.internal
    assert [m.text for m in loop.channel.sent] == sent, "nothing relayed twice or late"
    turns = (await loop.store.get_conversation(loop.channel.sent[0].ref.key)).turns  # type: ignore[union-attr]
    assert sum(t.turn_id.startswith("desk:") for t in turns) == 3

    loop.desk.roles[BOB.id] = Role.NONE  # no longer staff: what was relayed is not refused
    unstaffed = await says(BOB, "Hi, I'm looking into it.", "b2")
    assert unstaffed.ok and not unstaffed.internal
    loop.desk.roles.pop(BOB.id)

    await loop.agent(DeskAction.RESOLVE, BOB, ticket_id=ticket_id)
    closed = await says(BOB, "Hi, I'm looking into it.", "b2")
    assert closed.ok and not closed.internal, "taken in before the ticket closed: no refusal"
    assert [m.text for m in loop.channel.sent].count("Hi, I'm looking into it.") == 1


async def test_a_desk_message_whose_role_is_unknown_is_kept_and_stays_kept(loop: Loop) -> None:
    """The desk could not learn the author's role (Discord's member lookup failing): the
    message is not relayed, its author is asked to send it again, and it is remembered as
    kept, so the same message taken in later, its role known by then, is not relayed beside
    the resend. One relayed before keeps what it got, with no notice."""
    await loop.customer("I'd like to talk to a human")
    await loop.agent(DeskAction.CLAIM, BOB, ticket_id=loop.desk.pages[0][0].ticket_id)

    async def says(text: str, event_id: str) -> DeskFeedback:
        feedback = await loop.agent(DeskAction.REPLY, BOB, desk_ref="card-1", text=text,
                                    event_id=event_id)  # fmt: skip
        assert isinstance(feedback, DeskFeedback)
        return feedback

    assert not (await says("Hi, I'm looking into it.", "b1")).internal
    loop.desk.roles[BOB.id] = Role.UNKNOWN
    unknown = await says("Found it: a refund is on its way.", "b2")
    assert (unknown.ok, unknown.internal, unknown.text) == (False, True, ROLE_UNKNOWN)
    before = await says("Hi, I'm looking into it.", "b1")
    assert (before.ok, before.internal, before.text) == (True, False, "")
    loop.desk.roles.pop(BOB.id)
    later = await says("Found it: a refund is on its way.", "b2")
    assert (later.ok, later.internal, later.text) == (True, True, "")
    sent = [m.text for m in loop.channel.sent]
    assert sent.count("Hi, I'm looking into it.") == 1
    assert "Found it: a refund is on its way." not in sent


async def test_a_relayed_message_whose_record_is_missing_is_not_asked_for_again(
    loop: Loop,
) -> None:
    """A reply relayed, its ``desk-taken`` record never written (the holder stopped right
    after relaying it, or the write failed), then taken in again with its author's role
    unknown: the conversation's record of it decides, so its author is not asked to send
    again what the customer has, and nothing is sent twice."""
    await loop.customer("I'd like to talk to a human")
    await loop.agent(DeskAction.CLAIM, BOB, ticket_id=loop.desk.pages[0][0].ticket_id)
    first = await loop.agent(DeskAction.REPLY, BOB, desk_ref="card-1", text="Found it",
                             event_id="b1")  # fmt: skip
    assert isinstance(first, DeskFeedback) and first.ok and not first.internal
    for key in await loop.store.kv_scan("desk-taken:"):
        await loop.store.kv_delete(key)
    loop.desk.roles[BOB.id] = Role.UNKNOWN
    again = await loop.agent(DeskAction.REPLY, BOB, desk_ref="card-1", text="Found it",
                             event_id="b1")  # fmt: skip
    assert isinstance(again, DeskFeedback)
    assert again.ok and not again.internal and ROLE_UNKNOWN not in again.text
    assert [m.text for m in loop.channel.sent].count("Found it") == 1


async def test_a_role_unknown_with_no_record_to_check_decides_nothing(
    loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its author's role unknown and the store's record of what it got unreadable: the hub
    cannot tell a relayed message from a new one, so it neither asks for a resend (that could
    make a relayed one twice) nor remembers anything; the same message later is decided then."""
    await loop.customer("I'd like to talk to a human")
    await loop.agent(DeskAction.CLAIM, BOB, ticket_id=loop.desk.pages[0][0].ticket_id)
    store_read = loop.store.kv_get

    async def unreadable(key: str) -> str | None:
        if key.startswith("desk-taken:"):
            raise StoreError("the store is away")
        return await store_read(key)

    monkeypatch.setattr(loop.store, "kv_get", unreadable)
    loop.desk.roles[BOB.id] = Role.UNKNOWN
    feedback = await loop.agent(DeskAction.REPLY, BOB, desk_ref="card-1", text="Found it",
                                event_id="b1")  # fmt: skip
    assert isinstance(feedback, DeskFeedback)
    assert (feedback.ok, feedback.internal) == (False, False)
    assert ROLE_UNKNOWN not in feedback.text and "the store is away" in feedback.text
    assert "Found it" not in [m.text for m in loop.channel.sent], "nothing decided"
    monkeypatch.setattr(loop.store, "kv_get", store_read)
    remembered = await loop.store.kv_scan("desk-taken:")
    assert not [k for k in remembered if k.endswith(":b1")], "nothing remembered"
    loop.desk.roles.pop(BOB.id)
    later = await loop.agent(DeskAction.REPLY, BOB, desk_ref="card-1", text="Found it",
                             event_id="b1")  # fmt: skip
    assert isinstance(later, DeskFeedback) and later.ok and not later.internal
    assert [m.text for m in loop.channel.sent].count("Found it") == 1


async def test_one_desk_message_taken_in_twice_at_once_is_relayed_once(loop: Loop) -> None:
    """Two replicas take the same thread message in at the same moment: the conversation's
    record of it decides, and only one of them relays it or answers it."""
    await loop.customer("I'd like to talk to a human")
    await loop.agent(DeskAction.CLAIM, ALICE, ticket_id=loop.desk.pages[0][0].ticket_id)
    event = DeskEvent(DeskAction.REPLY, ALICE, desk_ref="card-1", text="On it.", event_id="a1")
    results = await asyncio.gather(loop.desk.act(event), loop.desk.act(event))
    await loop.dispatcher.drain()
    assert [m.text for m in loop.channel.sent].count("On it.") == 1
    assert [(r.ok, r.internal) for r in results] == [(True, False), (True, False)]
    assert sorted(r.text for r in results) == [
        "Sent to the customer on fake.",
        "Sent to the customer once.",  # the second found the first's record: a repeat
    ]


async def test_a_reply_recorded_before_its_ticket_closed_is_not_refused_after(
    loop: Loop,
) -> None:
    """Without the hub's note of it (its store write failed), the conversation's record of a
    relayed reply still tells a repeat after the ticket closed from a late reply."""
    await loop.customer("I'd like to talk to a human")
    ticket_id = loop.desk.pages[0][0].ticket_id
    await loop.agent(DeskAction.CLAIM, ALICE, ticket_id=ticket_id)
    own = loop.hub.ownership
    first = await own.reply(ticket_id, ALICE.id, "Done, refunded.", "a7", "Alice")
    await loop.agent(DeskAction.RESOLVE, ALICE, ticket_id=ticket_id)
    again = await own.reply(ticket_id, ALICE.id, "Done, refunded.", "a7", "Alice")
    assert (first.outcome, first.repeat) == (Outcome.OK, False)
    assert (again.outcome, again.repeat) == (Outcome.OK, True)
    assert again.outbound == first.outbound, "queued again: the queue drops the copy"
    late = await own.reply(ticket_id, ALICE.id, "One more thing", "a8", "Alice")
    assert late.outcome is Outcome.CLOSED


async def test_a_click_on_a_card_that_is_not_the_tickets_card_is_refused(loop: Loop) -> None:
    await loop.customer("I'd like to talk to a human")
    ticket_id = loop.desk.pages[0][0].ticket_id
    forged = DeskEvent(DeskAction.CLAIM, ALICE, ticket_id=ticket_id, desk_ref="card-99")
    assert not (await loop.desk.act(forged)).ok
    ticket = await loop.store.get_ticket(ticket_id)
    assert ticket is not None and ticket.agent is None


async def test_cards_carry_no_personal_data(loop: Loop) -> None:
    await loop.customer("I want a human, card 4111 1111 1111 1111, mail robin@example.com")
    card = loop.desk.pages[0][0]
    shown = " ".join((card.summary, *card.transcript))
    assert "4111" not in shown and "robin@example.com" not in shown
    assert "[CARD_1]" in shown and "[EMAIL_1]" in shown


async def test_follow_ups_shown_on_desks_carry_no_personal_data(loop: Loop) -> None:
    await loop.customer("I want a human")
    await loop.customer("my IBAN is DE89 3704 0044 0532 0130 00")
    (_, shown), *_ = loop.desk.relays
    assert "3704" not in shown and "[IBAN_1]" in shown


async def test_the_home_view_shows_tickets_to_agents_only(loop: Loop) -> None:
    loop.desk.roles["U_CUSTOMER"] = Role.NONE
    await loop.customer("I'd like to talk to a human")
    await loop.agent(DeskAction.HOME, ALICE)
    await loop.agent(DeskAction.HOME, Author(id="U_CUSTOMER"))
    (agent, agent_view), (customer, customer_view) = loop.desk.homes
    assert agent == ALICE.id and agent_view is not None and len(agent_view.open_tickets) == 1
    assert customer == "U_CUSTOMER" and customer_view is None


async def test_one_broken_card_does_not_stop_the_other_repages(loop: Loop) -> None:
    loop.hub.sla_minutes = dict.fromkeys(("urgent", "high", "normal", "low"), 0.01)
    await loop.customer("I want a human")
    await loop.channel.inject(loop.channel.message("get me a human", conversation="c2"))
    await loop.dispatcher.drain()
    await asyncio.sleep(0.65)
    real_page, calls = loop.desk.page, []

    async def page_failing_first(card: EscalationCard, thread_of: str | None = None) -> str:
        calls.append(card.ticket_id)
        if len(calls) == 1:
            raise ChannelError("the card was deleted")
        return await real_page(card, thread_of)

    loop.desk.page = page_failing_first  # type: ignore[method-assign]
    assert await loop.hub.repage_due() == 1
    assert len(calls) == 2
