"""Escalation policy: a pure function from what the brain knows to the reasons to hand over.

No I/O here: the handler gathers the facts (classification with its signals, answer
confidence, the conversation since the bot last took over, who the customer is) and this module
says which reasons apply, and why (``explain``). Every reason is carried on the ticket and shown
to agents with its why. The reasons that do not depend on an answer (a request for a person,
anger, urgency that cannot wait, a sensitive matter, support that failed before, a paused
channel, a playbook rule, a VIP) fire before any answer is drafted.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from brain.classify import Classification
from channels.base import Author


class Reason(enum.StrEnum):
    HUMAN_REQUESTED = "human_requested"
    NEGATIVE_SENTIMENT = "negative_sentiment"
    LOW_CONFIDENCE = "low_confidence"
    OUT_OF_SCOPE = "out_of_scope"
    TOO_MANY_TURNS = "too_many_turns"
    REPEATED_QUESTION = "repeated_question"
    SENSITIVE = "sensitive"
    URGENT = "urgent"
    SUPPORT_FAILED = "support_failed"
    PLAYBOOK = "playbook"
    VIP = "vip"
    NO_ANSWER = "no_answer"
    CHANNEL_PAUSED = "channel_paused"
    OVERSIZE = "oversize"
    INTERNAL_ERROR = "internal_error"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Reason.HUMAN_REQUESTED: "the customer asked for a person",
    Reason.NEGATIVE_SENTIMENT: "the customer is upset",
    Reason.LOW_CONFIDENCE: "the bot is not confident in an answer",
    Reason.OUT_OF_SCOPE: "the question is outside what the bot handles",
    Reason.TOO_MANY_TURNS: "many messages without a resolution",
    Reason.REPEATED_QUESTION: "the customer repeated a question the bot already answered",
    Reason.SENSITIVE: "a sensitive topic (legal, chargeback, account closure, ...)",
    Reason.URGENT: "a situation that cannot wait (stranded, outage, money, safety, deadline)",
    Reason.SUPPORT_FAILED: "the customer says support already failed them",
    Reason.PLAYBOOK: "the playbook always hands this kind of request to a person",
    Reason.VIP: "a VIP customer",
    Reason.NO_ANSWER: "no answer could be produced (all providers failed)",
    Reason.INTERNAL_ERROR: "an internal error while answering",
    Reason.CHANNEL_PAUSED: "an admin paused the bot on this channel: humans answer",
    Reason.OVERSIZE: "the message was larger than the bot reads: a person reads all of it",
}


@dataclass(frozen=True, slots=True)
class Policy:
    answer_threshold: float = 0.45
    oos_answer_threshold: float = 0.6
    sentiment_threshold: float = -0.6
    max_turns: int = 8
    sensitive_keywords: tuple[str, ...] = ()
    vip_user_ids: tuple[str, ...] = ()
    vip_email_domains: tuple[str, ...] = ()
    vip_always_human: bool = True
    repeat_similarity: float = 85.0


@dataclass(frozen=True, slots=True)
class Facts:
    """What the handler knows about one message, limited to turns since the bot took over."""

    text: str
    classification: Classification
    answer_confidence: float | None  # None: nothing could produce an answer
    customer: Author
    customer_turns: int  # customer messages since the bot (re)took the conversation, incl. this
    previous_answered: Sequence[str] = ()  # earlier customer messages the bot answered
    channel_paused: bool = False
    oversize: bool = False  # the channel could not hand over the whole message
    # What the answering LLM read in the message (``Answer.frustrated`` ...): no extra call.
    llm_frustrated: bool = False
    llm_urgent: bool = False
    llm_wants_human: bool = False


def is_vip(policy: Policy, customer: Author) -> bool:
    if customer.id in policy.vip_user_ids:
        return True
    if not customer.email or not policy.vip_email_domains:
        return False
    domain = customer.email.rsplit("@", 1)[-1].lower()
    return domain in {d.lower() for d in policy.vip_email_domains}


def reasons(policy: Policy, facts: Facts) -> tuple[Reason, ...]:
    """Every reason to hand this message to a human, in a stable order (empty: the bot answers)."""
    # Reasons the channel itself gives: paused by an admin, a message too large to read.
    given = ((Reason.CHANNEL_PAUSED, facts.channel_paused), (Reason.OVERSIZE, facts.oversize))
    found: list[Reason] = [reason for reason, applies in given if applies]
    c = facts.classification
    s = c.signals
    if c.wants_human or facts.llm_wants_human:
        found.append(Reason.HUMAN_REQUESTED)
    angry = c.sentiment <= policy.sentiment_threshold or (s is not None and s.angry is not None)
    if angry or facts.llm_frustrated:
        found.append(Reason.NEGATIVE_SENTIMENT)
    if c.sensitive or _mentions(policy.sensitive_keywords, facts.text) or (s and s.sensitive):
        found.append(Reason.SENSITIVE)
    if (s is not None and s.urgent is not None) or facts.llm_urgent:
        found.append(Reason.URGENT)
    if s is not None and s.failed_before is not None:
        found.append(Reason.SUPPORT_FAILED)
    if c.escalate_always and not found:
        found.append(Reason.PLAYBOOK)
    if policy.vip_always_human and is_vip(policy, facts.customer):
        found.append(Reason.VIP)
    confidence = facts.answer_confidence
    # An unrecognised intent is fine when the knowledge base clearly has the answer (typos,
    # unusual phrasing); only a strong match may overrule the classifier, though.
    if c.out_of_scope and (confidence is None or confidence < policy.oos_answer_threshold):
        found.append(Reason.OUT_OF_SCOPE)
    if confidence is None:
        found.append(Reason.NO_ANSWER)
    elif confidence < policy.answer_threshold and Reason.OUT_OF_SCOPE not in found:
        found.append(Reason.LOW_CONFIDENCE)
    if facts.customer_turns > policy.max_turns:
        found.append(Reason.TOO_MANY_TURNS)
    if _repeated(policy, facts.text, facts.previous_answered):
        found.append(Reason.REPEATED_QUESTION)
    return tuple(found)


def explain(policy: Policy, facts: Facts, found: Sequence[Reason]) -> dict[str, str]:
    """A short why for each reason in ``found``, as the escalation card shows it."""
    c = facts.classification
    s = c.signals
    whys: dict[str, str] = {}
    for reason in found:
        why = _why(policy, facts, reason)
        if why is None and reason is Reason.SENSITIVE and s is not None:
            why = s.sensitive
        if why is None and reason is Reason.PLAYBOOK:
            why = f"intent {c.intent}"
        if why:
            whys[reason.value] = why
    return whys


def _why(policy: Policy, facts: Facts, reason: Reason) -> str | None:
    c, s = facts.classification, facts.classification.signals
    if reason is Reason.SENSITIVE:
        keyword = next((k for k in policy.sensitive_keywords if _mentions((k,), facts.text)), None)
        if keyword is not None:
            return f"mentions {keyword!r}"
        return f"intent {c.intent}" if c.sensitive else None
    by_llm = {
        Reason.HUMAN_REQUESTED: facts.llm_wants_human,
        Reason.NEGATIVE_SENTIMENT: facts.llm_frustrated,
        Reason.URGENT: facts.llm_urgent,
    }
    cue = None
    if s is not None:
        cue = {
            Reason.HUMAN_REQUESTED: s.human_request,
            Reason.NEGATIVE_SENTIMENT: s.angry,
            Reason.URGENT: s.urgent,
            Reason.SUPPORT_FAILED: s.failed_before,
        }.get(reason)
    if cue is None and by_llm.get(reason):
        return "read so by the answering model"
    if cue is None and reason is Reason.NEGATIVE_SENTIMENT:
        return f"sentiment {c.sentiment:+.2f}"
    return cue


def _mentions(keywords: Sequence[str], text: str) -> bool:
    lowered = text.lower()
    # A match of the word regex contains the keyword itself: the substring test first answers
    # the same and skips the regex for every keyword not there at all.
    for word, pattern in _word_patterns(tuple(keywords)):
        if word in lowered and pattern.search(lowered):
            return True
    return False


@functools.lru_cache(maxsize=64)
def _word_patterns(keywords: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each keyword lowered, with its whole-word regex: made once per policy (its keywords
    never change), not lowered and looked up in ``re``'s cache on every message."""
    lowered = [k.lower() for k in keywords if k]
    return tuple((word, re.compile(rf"\b{re.escape(word)}\b")) for word in lowered)


def _repeated(policy: Policy, text: str, previous: Sequence[str]) -> bool:
    if not previous:  # the first question of a conversation: no call into rapidfuzz at all
        return False
    current = text.lower().strip()
    if len(current) < 12:  # "ok", "thanks", "hello?" repeat naturally
        return False
    return _close_to_one(current, tuple(previous), policy.repeat_similarity)


# The handler asks twice per message (before and after the answer) with the same text and
# earlier messages: the second time is a look-up. A pure function of its arguments, so the
# cache changes no answer; bounded, so long conversations cannot grow it.
@functools.lru_cache(maxsize=256)
def _close_to_one(current: str, previous: tuple[str, ...], cutoff: float) -> bool:
    # One call into rapidfuzz for all of them, not one per message from Python.
    close = process.extractOne(current, previous, scorer=fuzz.token_set_ratio,
                               processor=str.lower, score_cutoff=cutoff)  # fmt: skip
    return close is not None
