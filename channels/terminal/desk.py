"""The terminal desk: ``frontdesk desk list|show|claim|reply|note|resolve|handback``.

Each command becomes a ``DeskEvent`` from the desk named ``terminal`` and goes through the same
desk path as a Slack or Discord click (``DeskBackend``, built by the bot on the store the running
bot uses): the access check, the ownership rules, the durable queue for what the customer must
see, and a redraw of the ticket's card on every live desk, done by the running bot. Whoever can
run this command can read the bot's store, so the operator acts with the admin role.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime

from channels.base import Author, DeskAction, DeskBackend, DeskEvent, EscalationCard, Role
from channels.terminal.customers import login_name
from channels.text import printable

EXIT_OK, EXIT_REFUSED = 0, 1
DESK = "terminal"

_ACTIONS = {
    "claim": DeskAction.CLAIM,
    "resolve": DeskAction.RESOLVE,
    "handback": DeskAction.HAND_BACK,
    "reply": DeskAction.REPLY,
    "note": DeskAction.NOTE,
}
_HELP = {
    "claim": "take a ticket; only its claimant's replies reach the customer",
    "reply": "send TEXT to the customer (claimant only; 'note:' keeps it internal)",
    "note": "add an internal note the customer never sees",
    "resolve": "close the ticket; the customer gets a closing message; the bot takes over",
    "handback": "give the conversation back to the bot without resolving",
}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    desk = commands.add_parser("desk", help="work escalations from the terminal")
    actions = desk.add_subparsers(dest="desk_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="open tickets, oldest first")
    show = actions.add_parser("show", help="a ticket and its conversation")
    show.add_argument("ticket")
    for name, action in _ACTIONS.items():
        parser = actions.add_parser(name, help=_HELP[name])
        parser.add_argument("ticket")
        if action in (DeskAction.REPLY, DeskAction.NOTE):
            parser.add_argument("text", nargs="+")
        parser.add_argument("--as", dest="agent", default=None, help="agent name (default: login)")
    desk.set_defaults(desk_command_run=run)


async def run(args: argparse.Namespace, backend: DeskBackend) -> int:
    if args.desk_command == "list":
        return _list(await backend.open_cards())
    ticket_id = str(args.ticket).upper()
    card = await backend.ticket_card(ticket_id)
    if args.desk_command == "show":
        if card is None:
            print(f"No ticket {ticket_id}.")
            return EXIT_REFUSED
        _show(card)
        return EXIT_OK
    event = to_event(args, ticket_id, card)
    feedback = await backend.handle(event)
    print(feedback.text)
    return EXIT_OK if feedback.ok and not feedback.withheld else EXIT_REFUSED


def to_event(args: argparse.Namespace, ticket_id: str, card: EscalationCard | None) -> DeskEvent:
    """The desk event a ``frontdesk desk ACTION`` command stands for."""
    action = _ACTIONS[args.desk_command]
    name = (args.agent if args.agent is not None else _default_agent(card)).strip()
    text = " ".join(getattr(args, "text", None) or ())
    return DeskEvent(
        action=action,
        agent=Author(id=name, display_name=name),
        desk=DESK,
        ticket_id=ticket_id,
        text=text,
        event_id=uuid.uuid4().hex,
        role=Role.ADMIN,
    )


def _default_agent(card: EscalationCard | None) -> str:
    """Without --as, the terminal's operator acts as the ticket's claimant (or the login)."""
    if card is not None and card.status == "claimed" and card.claimant:
        return card.claimant
    return login_name("agent")


def _list(cards: list[EscalationCard]) -> int:
    if not cards:
        print("No open tickets.")
        return EXIT_OK
    for card in cards:
        owner = printable(card.claimant or "unclaimed")
        print(
            f"{card.ticket_id:<8} {_words(card.status):<12} {owner:<12} {_age(card):>6}  "
            f"{card.origin.channel:<8} {','.join(card.reasons):<28} {printable(card.summary[:60])}"
        )
    return EXIT_OK


def _show(card: EscalationCard) -> None:
    agent = printable(card.agent or "-")
    print(f"{card.ticket_id}  {_words(card.status)}  agent: {agent}  age: {_age(card)}")
    customer = printable(card.customer.display_name or card.customer.id)
    print(f"customer: {customer} on {card.origin.channel}")
    print(f"reasons:  {', '.join(card.reasons)}")
    for key, value in (
        ("category", card.category),
        ("urgency", card.urgency),
        ("sentiment", card.sentiment),
    ):
        if value is not None:
            print(f"{key + ':':<9} {value}")
    print("--- conversation")
    for line in card.transcript:
        print(printable(line))


def _words(status: str) -> str:
    return status.replace("_", " ")


def _age(card: EscalationCard) -> str:
    if card.created_at is None:
        return "-"
    minutes = int((datetime.now(UTC) - card.created_at).total_seconds() // 60)
    return f"{minutes}m" if minutes < 120 else f"{minutes // 60}h"
