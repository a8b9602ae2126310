"""Discord message text: splitting at 2,000 characters, attachments described in words, names
escaped. Pure functions, no SDK import.

Discord quirks (why the code looks like this):

- A message holds at most 2,000 characters. Longer answers are cut at a paragraph, line,
  sentence or word boundary, but never inside a fenced code block, inline code or a link
  (a cut link is a dead link, a cut fence turns the rest of the answer into code). A code
  block longer than one message is closed at a line end and reopened, with its language, in
  the next part.
- Attachment URLs point at Discord's CDN and expire after about a day: what the brain and the
  transcript keep is the file's name, size and type in the text, never the link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_CHARS = 2000
_FENCE = "```"
_PROTECTED = re.compile(
    r"```(?:.*?```|.*\Z)"  # fenced code block (an unclosed one runs to the end)
    r"|`[^`\n]+`"  # inline code
    r"|\[[^\]\n]*\]\(<?[^)\s]+>?\)"  # markdown link [text](url)
    r"|<https?://[^>\s]+>"  # link without embed
    r"|https?://\S+",  # bare link
    re.DOTALL,
)
# Preferred cut points, best first; the first ones only if the part keeps half the limit.
_BREAKS = (("\n\n", True), ("\n", True), (". ", True), ("! ", True), ("? ", True), (" ", False))


def split_message(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Parts of at most ``limit`` characters, cut at the best boundary outside code and links."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        spans = [m.span() for m in _PROTECTED.finditer(rest)]
        cut = _cut(rest, limit, spans)
        if cut is not None:
            head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        else:
            head, rest = _cut_inside(rest, limit, spans)
        if head:
            parts.append(head)
    if rest:
        parts.append(rest)
    return parts


def _cut(text: str, limit: int, spans: list[tuple[int, int]]) -> int | None:
    for separator, needs_half in _BREAKS:
        floor = limit // 2 if needs_half else 0
        position = text.rfind(separator, 0, limit)
        while position > floor:
            cut = position + len(separator)
            if not any(start < cut < end or start < position < end for start, end in spans):
                return cut
            position = text.rfind(separator, 0, position)
    return None


def _cut_inside(text: str, limit: int, spans: list[tuple[int, int]]) -> tuple[str, str]:
    """No boundary outside a protected span: split the code block (or, failing that, cut)."""
    block = next(((s, e) for s, e in spans if s < limit < e and text.startswith(_FENCE, s)), None)
    if block is None:
        return text[:limit], text[limit:]
    start = block[0]
    opening = text.find("\n", start)
    language = text[start + len(_FENCE) : opening].strip() if opening != -1 else ""
    room = limit - len(_FENCE) - 1  # the closing fence on its own line
    cut = text.rfind("\n", opening + 1, room) if opening != -1 else -1
    if cut <= start:
        cut = room
    head = text[:cut].rstrip("\n") + "\n" + _FENCE
    return head, f"{_FENCE}{language}\n{text[cut:].lstrip(chr(10))}"


def describe_files(files: Iterable[tuple[str, int | None, str | None]]) -> str:
    """``(name, size, type)`` of each attachment as one line of text for the brain."""
    lines = []
    for name, size, content_type in files:
        facts = [f for f in (_size(size), content_type) if f]
        lines.append(f"[attachment: {name}" + (f" ({', '.join(facts)})" if facts else "") + "]")
    return "\n".join(lines)


def _size(size: int | None) -> str | None:
    if size is None:
        return None
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def without_mention(text: str, user_id: int | None) -> str:
    """The text with the bot's own mention (``<@id>`` or ``<@!id>``) removed."""
    if user_id is None:
        return text
    return re.sub(rf"<@!?{user_id}>", "", text)
