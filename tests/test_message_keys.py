"""``ConversationRef.key`` (formatted, not joined): the same key as joining its parts."""

from __future__ import annotations

import itertools

from channels.messages import ConversationRef


def joined(ref: ConversationRef) -> str:
    parts = [ref.channel, ref.workspace_id or "-", ref.conversation_id]
    if ref.thread_id:
        parts.append(ref.thread_id)
    return ":".join(parts)


def test_the_key_is_the_parts_joined() -> None:
    channels = ["slack", "fake", "email"]
    conversations = ["C1", "ana@example.com", "a:b", ""]
    threads = [None, "", "1700000000.000100", "t:1"]
    workspaces = [None, "", "T1", "-"]
    for values in itertools.product(channels, conversations, threads, workspaces):
        ref = ConversationRef(*values)
        assert ref.key == joined(ref), values
