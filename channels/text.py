"""Text helpers every channel shares: splitting long replies within a platform's limit, and
making customer text safe to show agents.

``split_text`` cuts at the best boundary available (paragraph, line, sentence, word), never
inside a fenced code block when it can be avoided (and closes and reopens the fence when a
block is itself too long), and never inside a link or URL unless a single word is longer than
the limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from channels.base import EscalationCard, OutboundMessage

FENCE = "```"
# Preferred cut points, best first; the first ones only if the part keeps at least half the limit.
_BREAKS = (("\n\n", True), ("\n", True), (". ", True), ("! ", True), ("? ", True), (" ", False))
_LINK = re.compile(r"\[[^\]\n]*\]\([^)\s]*\)|<[^>\s]+>|https?://\S+")
# C0/C1 controls except tab and newline, DEL, bidirectional overrides and isolates, and ANSI
# escape sequences: what a customer could use to retitle, recolour or reorder an agent's screen.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most ``limit`` characters, cut at the best boundary available."""
    if limit < 16:
        raise ValueError("a message limit under 16 characters cannot hold a code fence")
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut, reopen = _cut(rest, limit)
        part = rest[:cut].rstrip()
        rest = rest[cut:].lstrip()
        if reopen:
            part, rest = f"{part}\n{FENCE}", f"{FENCE}\n{rest}"
        parts.append(part)
    if rest:
        parts.append(rest)
    return parts


def _cut(text: str, limit: int) -> tuple[int, bool]:
    """Where to cut, and whether the cut falls inside a code block (close and reopen it)."""
    cut = _boundary(text, limit)
    fences = [m.start() for m in re.finditer(re.escape(FENCE), text[:cut])]
    if len(fences) % 2 == 1:  # inside a code block
        opening = fences[-1]
        if opening > 0:
            return opening, False
        # The block alone is longer than the limit: cut at a line inside it, room for fences.
        room = limit - len(FENCE) * 2 - 2
        line = text.rfind("\n", len(FENCE), room)
        return (line if line > len(FENCE) else room), True
    return _outside_links(text, cut), False


def _boundary(text: str, limit: int) -> int:
    for separator, needs_half in _BREAKS:
        position = text.rfind(separator, 0, limit)
        if position > (limit // 2 if needs_half else 0):
            return position + len(separator)
    return limit


def _outside_links(text: str, cut: int) -> int:
    for match in _LINK.finditer(text):
        if match.start() < cut < match.end() and match.start() > 0:
            return match.start()
    return cut


def printable(text: str) -> str:
    """``text`` with control characters, ANSI escapes and bidi overrides made harmless (shown
    as a visible placeholder), so what a customer wrote cannot change how an agent's terminal
    or desk shows anything else."""
    text = _ANSI.sub("\N{REPLACEMENT CHARACTER}", text)
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)


def split_outbound(
    message: OutboundMessage,
    limit: int,
    prefix: str = "",
    splitter: Callable[[str, int], list[str]] = split_text,
) -> list[OutboundMessage]:
    """``message`` as the parts a platform with a ``limit`` posts, one ``send`` each (the
    ``SplitsMessages`` capability). The first part keeps the sender's name (shown as
    ``prefix``, which counts against its room) and what it replies to; later parts get their
    own message ids, so each is delivered and recorded once; the last carries the rating
    buttons, if any."""
    texts = splitter(message.text, limit - len(prefix))
    if len(texts) <= 1:
        return [message]
    parts = [replace(message, text=texts[0], rating=None)]
    for number, text in enumerate(texts[1:], start=1):
        part_id = f"{message.message_id}#{number}" if message.message_id else None
        parts.append(replace(message, text=text, sender_name=None, in_reply_to=None,
                             message_id=part_id, rating=None))  # fmt: skip
    # Rating buttons go under the end of the text, where the question is.
    parts[-1] = replace(parts[-1], rating=message.rating)
    return parts


# -- how every desk words a card ------------------------------------------------------------
def card_status(card: EscalationCard, who: Callable[[str | None], str]) -> str | None:
    """ "Claimed by ...", "Resolved by ... in 12 min", "Handed back ..."; None while open.
    ``who`` renders the agent the platform's way (a mention where it can)."""
    name = who(card.agent)
    if card.status == "claimed":
        return f"Claimed by {name}"
    if card.status == "resolved":
        took = f" in {duration(card.handle_time_s)}" if card.handle_time_s is not None else ""
        return f"Resolved by {name}{took}"
    if card.status == "handed_back":
        return f"Handed back to the bot by {name}"
    return None


def readable_reason(reason: str) -> str:
    text = reason.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if seconds < 60:
        return f"{round(seconds)} s"
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
