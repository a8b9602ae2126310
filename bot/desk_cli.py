"""The terminal desk: ``frontdesk desk ...`` in a second terminal, acting on the bot's store.

Claims, resolves and hand-backs are compare-and-set transitions done right here; anything the
customer must see (an agent's reply, the closing note) is queued in the store, and the running
bot delivers it on the customer's channel, in order with the conversation's other messages.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import uuid

from brain.conversation import Desk, DeskResult, age_s
from brain.store.base import OPEN_STATUSES, Store, Ticket, TicketStatus
from config.settings import Settings

EXIT_OK, EXIT_REFUSED = 0, 1


def add_desk_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    desk = commands.add_parser("desk", help="work escalations from the terminal")
    actions = desk.add_subparsers(dest="desk_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="open tickets, oldest first")
    show = actions.add_parser("show", help="a ticket and its conversation")
    show.add_argument("ticket")
    for name, text in (("claim", False), ("resolve", False), ("handback", False),
                       ("reply", True), ("note", True)):  # fmt: skip
        action = actions.add_parser(name, help=_HELP[name])
        action.add_argument("ticket")
        if text:
            action.add_argument("text", nargs="+")
        action.add_argument("--as", dest="agent", default=None, help="agent name (default: login)")


_HELP = {
    "claim": "take a ticket; only its claimant's replies reach the customer",
    "reply": "send TEXT to the customer (claimant only; 'note:' keeps it internal)",
    "note": "add an internal note the customer never sees",
    "resolve": "close the ticket; the customer gets a closing message; the bot takes over",
    "handback": "give the conversation back to the bot without resolving",
}


def run_desk(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.wiring import build_store  # noqa: PLC0415  (keeps `frontdesk --help` instant)

    store = build_store(settings)
    await store.open()
    try:
        if args.desk_command == "list":
            return await _list(store)
        if args.desk_command == "show":
            return await _show(store, args.ticket)
        return await _act(store, settings, args)
    finally:
        await store.close()


async def _list(store: Store) -> int:
    tickets = await store.list_tickets(OPEN_STATUSES)
    if not tickets:
        print("No open tickets.")
        return EXIT_OK
    for ticket in tickets:
        owner = ticket.agent or "unclaimed"
        print(
            f"{ticket.id:<8} {ticket.status.value:<10} {owner:<12} {_age(ticket):>6}  "
            f"{ticket.ref.channel:<8} {','.join(ticket.reasons):<28} {ticket.summary[:60]}"
        )
    return EXIT_OK


async def _show(store: Store, ticket_id: str) -> int:
    ticket = await store.get_ticket(ticket_id.upper())
    if ticket is None:
        print(f"No ticket {ticket_id}.")
        return EXIT_REFUSED
    print(f"{ticket.id}  {ticket.status.value}  agent: {ticket.agent or '-'}  age: {_age(ticket)}")
    print(f"customer: {ticket.customer.display_name or ticket.customer.id} on {ticket.ref.channel}")
    print(f"reasons:  {', '.join(ticket.reasons)}")
    for key in ("intent", "category", "urgency", "sentiment", "language"):
        if ticket.details.get(key) is not None:
            print(f"{key + ':':<9} {ticket.details[key]}")
    conversation = await store.get_conversation(ticket.ref.key)
    print("--- conversation")
    for turn in conversation.turns if conversation else ():
        print(f"[{turn.at:%H:%M}] {turn.role:>8}: {turn.text}")
    return EXIT_OK


async def _act(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    desk = Desk(store, settings.desk.internal_prefix)
    ticket_id = args.ticket.upper()
    agent = await _acting_agent(store, ticket_id, args.agent)
    event_id = uuid.uuid4().hex
    result: DeskResult
    if args.desk_command == "claim":
        result = await desk.claim(ticket_id, agent)
    elif args.desk_command == "resolve":
        result = await desk.resolve(ticket_id, agent)
    elif args.desk_command == "handback":
        result = await desk.hand_back(ticket_id, agent)
    elif args.desk_command == "note":
        result = await desk.note(ticket_id, agent, " ".join(args.text), event_id)
    else:
        result = await desk.reply(ticket_id, agent, " ".join(args.text), event_id)
    for message in result.outbound:
        await store.enqueue(message)
    print(result.feedback)
    return EXIT_OK if result.ok else EXIT_REFUSED


async def _acting_agent(store: Store, ticket_id: str, named: str | None) -> str:
    """Without --as, the terminal's operator acts as the ticket's claimant (or the login)."""
    if named is not None:
        return named
    ticket = await store.get_ticket(ticket_id)
    if ticket is not None and ticket.status is TicketStatus.CLAIMED and ticket.agent:
        return ticket.agent
    return _login()


def _age(ticket: Ticket) -> str:
    minutes = int(age_s(ticket) // 60)
    return f"{minutes}m" if minutes < 120 else f"{minutes // 60}h"


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "agent"
