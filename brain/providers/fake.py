"""A scripted LLM client for tests and benchmarks: no network, replies and failures on cue."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from brain.providers.llm import ChatRequest, Completion, Price


@dataclass(frozen=True, slots=True)
class Delay:
    """Sleep this long, then behave like the next step (or the default reply)."""

    seconds: float


Step = str | Exception | Delay


def json_answer(text: str, confidence: float = 0.9, sources: Iterable[str] = ()) -> str:
    return json.dumps(
        {"answer": text, "confidence": confidence, "needs_human": False, "sources": list(sources)}
    )


class ScriptedClient:
    def __init__(
        self,
        name: str,
        steps: Iterable[Step] = (),
        default: str | None = None,
        price: Price | None = None,
        latency_s: float = 0.0,
    ) -> None:
        self.name = name
        self.price = price or Price()
        self.latency_s = latency_s
        self.default = default if default is not None else json_answer(f"answer from {name}")
        self.steps: deque[Step] = deque(steps)
        self.requests: list[ChatRequest] = []
        self.cancelled = 0

    async def complete(self, request: ChatRequest) -> Completion:
        self.requests.append(request)
        started = time.perf_counter()
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            step = self.steps.popleft() if self.steps else self.default
            while isinstance(step, Delay):
                await asyncio.sleep(step.seconds)
                step = self.steps.popleft() if self.steps else self.default
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if isinstance(step, Exception):
            raise step
        prompt = len(request.system) + sum(len(m.content) for m in request.messages)
        tokens_in, tokens_out = prompt // 4, len(step) // 4
        return Completion(
            text=step,
            provider=self.name,
            model=self.name,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=self.price.cost(tokens_in, tokens_out),
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def close(self) -> None:
        return None
