"""The router's response cache: first questions of a conversation, answered once per wording.

Bounded twice: at most ``entries`` answers (least recently used go first), and none older than
``ttl_s`` (expired answers are dropped as new ones arrive, not only when asked for again, so a
quiet day frees the memory). A hit is returned as free: no tokens, no cost, provider "cache".
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from brain.providers.base import Answer, AnswerRequest


class AnswerCache:
    def __init__(
        self, entries: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.entries = entries
        self.ttl_s = ttl_s
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, Answer]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> Answer | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        stored_at, answer = entry
        if self._clock() - stored_at > self.ttl_s:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return replace(answer, cost_usd=0.0, input_tokens=0, output_tokens=0, provider="cache")

    def put(self, key: str, answer: Answer) -> None:
        now = self._clock()
        self._items[key] = (now, answer)
        self._items.move_to_end(key)
        while self._items:  # oldest first (a hit moves an entry to the end, so this is rough)
            stored_at, _ = next(iter(self._items.values()))
            if now - stored_at <= self.ttl_s and len(self._items) <= self.entries:
                break
            self._items.popitem(last=False)


def cache_key(request: AnswerRequest) -> str:
    normalized = " ".join(request.question.lower().split())
    basis = f"{normalized}\0{request.language}\0{request.kb_version}\0{request.tier}"
    return hashlib.sha256(basis.encode()).hexdigest()
