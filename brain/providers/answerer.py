"""An LLM client turned into an answerer: redact, prompt, parse strictly, repair once, check.

One ``LLMAnswerer`` per provider + model; the router chains them. Personal data is replaced by
placeholders before anything leaves (``brain/redact.py``) and put back into the answer. Every
completion is recorded in the request's ledger the moment it arrives, so its cost is counted
even when the answer is rejected, the repair fails or the attempt is cancelled.

A reply whose content is unusable (not our JSON, or failing a check) raises ``InvalidAnswer``,
and a model that declines raises ``Refusal``: the router does not hold those against the
provider's health.
"""

from __future__ import annotations

from dataclasses import replace

from brain.prompts import PromptConfig, build_chat, check, parse, repair_chat
from brain.providers.base import Answer, AnswerRequest, Spend
from brain.providers.llm import ChatRequest, Completion, InvalidAnswer, LLMClient
from brain.redact import Redaction, Redactor

_SEPARATOR = "\n\u241e\n"  # joins texts for one redaction pass, so placeholders never collide


class LLMAnswerer:
    def __init__(
        self, client: LLMClient, prompts: PromptConfig, redactor: Redactor | None = None
    ) -> None:
        self.client = client
        self.name = client.name
        self.prompts = prompts
        self.redactor = redactor

    async def close(self) -> None:
        await self.client.close()

    async def answer(self, request: AnswerRequest) -> Answer:
        safe, redaction = self._redact(request)
        chat = build_chat(safe, self.prompts, request.timeout_s)
        ids = [p.id for p in request.passages]
        completions = [await self._complete(chat, request)]
        try:
            parsed = parse(completions[0].text, ids)
            text = check(parsed, chat.system, self.prompts, request.max_chars)
        except InvalidAnswer as err:
            repair = repair_chat(chat, completions[0].text, str(err))
            completions.append(await self._complete(repair, request))
            parsed = parse(completions[1].text, ids)  # still invalid: the router moves on
            text = check(parsed, chat.system, self.prompts, request.max_chars)
        last = completions[-1]
        return Answer(
            text=redaction.restore(text) if redaction else text,
            confidence=parsed.confidence,
            sources=parsed.sources,
            needs_human=parsed.needs_human,
            frustrated=parsed.frustrated,
            urgent=parsed.urgent,
            wants_human=parsed.wants_human,
            provider=self.name,
            model=last.model,
            input_tokens=sum(c.input_tokens for c in completions),
            output_tokens=sum(c.output_tokens for c in completions),
            cost_usd=sum(c.cost_usd for c in completions),
            latency_ms=sum(c.latency_ms for c in completions),
            # Without redaction we cannot know what personal data the answer carries.
            cacheable=redaction is not None and not redaction.mapping,
        )

    async def _complete(self, chat: ChatRequest, request: AnswerRequest) -> Completion:
        completion = await self.client.complete(chat)
        if request.ledger is not None:
            spend = Spend(
                self.name,
                completion.input_tokens,
                completion.output_tokens,
                completion.cost_usd,
                completion.model,
                completion.latency_ms,
            )
            request.ledger.record(spend)
        return completion

    def _redact(self, request: AnswerRequest) -> tuple[AnswerRequest, Redaction | None]:
        if self.redactor is None:
            return request, None
        texts = [request.question, *(t.text for t in request.history)]
        redaction = self.redactor.redact(_SEPARATOR.join(texts))
        question, *history = redaction.text.split(_SEPARATOR)
        if len(history) != len(request.history):  # a pattern ate a separator: be safe
            alone = self.redactor.redact(request.question)
            return replace(request, question=alone.text, history=()), alone
        turns = tuple(replace(t, text=h) for t, h in zip(request.history, history, strict=True))
        return replace(request, question=question, history=turns), redaction
