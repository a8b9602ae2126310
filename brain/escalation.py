"""Escalation policy: a pure function from what the brain knows to the reasons to hand over.

No I/O here: the handler gathers the facts (classification, answer confidence, the conversation
since the bot last took over, who the customer is) and this module says which reasons apply.
Every reason is carried on the ticket and shown to agents.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

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
    PLAYBOOK = "playbook"
    VIP = "vip"
    NO_ANSWER = "no_answer"
    CHANNEL_PAUSED = "channel_paused"
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
    Reason.PLAYBOOK: "the playbook always hands this kind of request to a person",
    Reason.VIP: "a VIP customer",
    Reason.NO_ANSWER: "no answer could be produced (all providers failed)",
    Reason.INTERNAL_ERROR: "an internal error while answering",
    Reason.CHANNEL_PAUSED: "an admin paused the bot on this channel: humans answer",
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


def is_vip(policy: Policy, customer: Author) -> bool:
    if customer.id in policy.vip_user_ids:
        return True
    domain = customer.email.rsplit("@", 1)[-1].lower() if customer.email else None
    return domain is not None and domain in {d.lower() for d in policy.vip_email_domains}


def reasons(policy: Policy, facts: Facts) -> tuple[Reason, ...]:
    """Every reason to hand this message to a human, in a stable order (empty: the bot answers)."""
    found: list[Reason] = [Reason.CHANNEL_PAUSED] if facts.channel_paused else []
    c = facts.classification
    if c.wants_human:
        found.append(Reason.HUMAN_REQUESTED)
    if c.sentiment <= policy.sentiment_threshold:
        found.append(Reason.NEGATIVE_SENTIMENT)
    if c.sensitive or _mentions(policy.sensitive_keywords, facts.text):
        found.append(Reason.SENSITIVE)
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


def _mentions(keywords: Sequence[str], text: str) -> bool:
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(k.lower())}\b", lowered) for k in keywords if k)


def _repeated(policy: Policy, text: str, previous: Sequence[str]) -> bool:
    current = text.lower().strip()
    if len(current) < 12:  # "ok", "thanks", "hello?" repeat naturally
        return False
    return any(
        fuzz.token_set_ratio(current, p.lower()) >= policy.repeat_similarity for p in previous
    )
