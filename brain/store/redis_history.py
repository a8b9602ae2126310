"""The conversation histories a Redis store worked on lately, kept parsed, so that a message's
step need not bring its conversation's whole history over again (``lock_conversation``,
``begin_turn``): the list crossed the socket, was turned into Lua values and back, and every
stored turn was looked up again, for every message.

A conversation's turns only ever grow at the end (``append`` in ``brain.store.redis_scripts``):
its meta hash counts every append (``seq``), the last turn of the list is number ``seq``, and
a trimmed or expired turn never comes back. So what the store held when the last turn was
number ``n`` (with id ``i``) is still its history's start when turn ``i`` is still number
``n`` (the ids' zset says so: an id is appended once, and a conversation that expired and
began again numbers its turns from 1 with other ids); the script then sends only the turns
after ``n``. Another replica's appends, an agent's relayed turns, a Redis that lost data
(restart, failover): each gives either more turns after ``n`` or a whole history.

The memory is bounded by the number of turns kept (``HELD_TURNS``), the conversations worked
on longest ago dropped first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from brain.store.records import Turn
from channels.base import ConversationRef

HELD_TURNS = 16384
"""Turns kept for all conversations together (a few MB at most)."""


@dataclass(frozen=True, slots=True)
class History:
    """A conversation's stored turns as they were when the last was number ``seq``, and the
    stored ref last read for it (its JSON and the ref it reads as)."""

    seq: int
    turns: tuple[Turn, ...]
    ref_raw: bytes | str
    ref: ConversationRef

    @property
    def mark(self) -> tuple[str, str]:
        """What the scripts are told of it: the last turn's number and id."""
        return str(self.seq), self.turns[-1].turn_id


NOTHING = ("", "")
"""The mark of a conversation not held: the script sends the whole history."""


class Histories:
    def __init__(self, limit: int = HELD_TURNS) -> None:
        self.limit = limit
        self._held: dict[str, History] = {}
        self._turns = 0

    def get(self, key: str) -> History | None:
        return self._held.get(key)

    def __len__(self) -> int:
        return len(self._held)

    @property
    def turns(self) -> int:
        return self._turns

    def keep(self, key: str, history: History) -> None:
        """``history`` for ``key``, in place of what was held (it is the newer: every call
        comes from a reply of the store), the oldest dropped while over the limit."""
        held = self._held
        old = held.pop(key, None)
        if old is not None:
            self._turns -= len(old.turns)
        if not history.turns:
            return
        held[key] = history
        self._turns += len(history.turns)
        while self._turns > self.limit:
            oldest = next(iter(held))
            self._turns -= len(held.pop(oldest).turns)

    def drop(self, key: str) -> None:
        old = self._held.pop(key, None)
        if old is not None:
            self._turns -= len(old.turns)


def extended(
    held: History, seq: int, length: int, after: tuple[Turn, ...]
) -> tuple[Turn, ...] | None:
    """The history of ``length`` turns whose last is number ``seq``, from ``held`` and the
    turns ``after`` its last (all of them, up to number ``seq``); None if ``held`` lacks
    turns it needs (never, while the store's turns only grow at the end)."""
    kept = length - len(after)
    if kept < 0 or kept > len(held.turns) or seq - held.seq != len(after):
        return None
    if kept == len(held.turns):
        return held.turns + after
    return held.turns[len(held.turns) - kept :] + after


def as_stored(turn: Turn) -> bool:
    """True if ``Turn.from_json(turn.to_json())`` is ``turn`` field for field, types and
    time zone included (what the store's clock and plain strings make): a turn this process
    just wrote then stands for the one a read would parse."""
    at = turn.at
    return (
        type(at) is datetime
        and at.tzinfo is UTC
        and not at.fold
        and type(turn.text) is str
        and type(turn.turn_id) is str
        and type(turn.role) is str
    )
