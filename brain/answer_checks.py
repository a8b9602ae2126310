"""Checks on a model's answer before a customer sees it: no commitment only a person may make,
no piece of the instructions.

**Commitments** (refunds, compensation, exceptions, legal advice) are found per sentence, in
the languages the bot answers in (English, German, French, Spanish), on text that is case-folded,
stripped of accents, zero-width characters and typographic apostrophes. Two layers, whose words
live in ``brain/commitment_words.py``:

* **phrases**: a *decision* ("your refund has been approved", "Ihre Erstattung wurde
  veranlasst", "I have refunded you"), a *promise* ("we will refund you the full amount", "Wir
  erstatten Ihnen den vollen Betrag", "vous serez remboursé", "le reembolsaremos"),
  *compensation or an exception* ("as a goodwill gesture", "als Entschädigung", "geste
  commercial", "just this once") and *legal advice* ("you should sue", "Sie sollten klagen");
* **words**, for the paraphrases the phrases miss: money going to the customer ("your money",
  "€59 ... back", "procederemos al reembolso") said as done, or with the bot or the customer in
  the money's own clause, or something free given "for the trouble"; legal words next to advice.

What excuses a sentence: a condition or a habit ("once it reaches us, we refund you", "sobald
..., erstatten wir", "refunds usually take 3-5 days") makes it a description of the policy,
unless the bot speaks for itself ("I will refund you") or promises it for now ("today",
"sofort"); a clause that negates before the match ("I can't promise a refund": exactly what the
system prompt asks the model to say); handing the matter to a person ("a teammate will check
whether..."). Every answer of the packaged knowledge base passes (the tests run each one).

**Leaks**: the answer may not contain a run of the instructions' words in their order, even with
a few other words slipped in between (the trick that defeats a plain n-gram search).

Both are heuristics on wording, not understanding: see ``docs/security.md`` for their limits.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from brain import commitment_words as w

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"), None)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"[ \t\u00a0\u202f]+")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_CLAUSE_END = re.compile(r"[,:;()\u2013\u2014]|\s-\s|\b(?:but|aber|mais|pero|however|jedoch)\b")


def _by_words(sentence: str, policy: bool) -> str | None:
    text = w.POLICY_NOUNS.sub(" ", sentence)
    if w.TO_A_PERSON.search(text) is None:
        what = _money_words(text, policy)
        if what is not None:
            return what
    if w.LEGAL_WORDS.search(text) and w.ADVICE.search(text) and not _negated(text, 0, len(text)):
        return "it gives legal advice"
    return None


def _money_words(text: str, policy: bool) -> str | None:
    def first(pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = (m for m in pattern.finditer(text) if not _negated(text, m.start(), m.end()))
        return next(found, None)

    gift, money = first(w.GIFT), first(w.MONEY)
    if gift is not None and (
        w.FOR_THE_TROUBLE.search(text) or (gift[0].startswith("waiv") and not policy)
    ):
        return "it offers compensation or an exception"
    if money is None:
        return None
    if w.FOR_THE_TROUBLE.search(text):
        return "it offers compensation or an exception"
    if policy:
        return None
    if w.DONE.search(text):
        return "it states a refund decision"
    # who gives the money must be in the money's own clause: in "we apologise for the delay,
    # refunds take 3-5 days" nobody promises anything
    clause = _clause_of(text, money.start(), money.end())
    if w.BOT_OR_YOU.search(clause) or w.WILL_REACH_YOU.search(clause):
        return "it promises a refund or payment"
    return None


def _clause_of(text: str, start: int, end: int) -> str:
    before = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    after = next((m.start() for m in _CLAUSE_END.finditer(text, end)), len(text))
    return text[before:after]


@dataclass(frozen=True, slots=True)
class _Kind:
    what: str  # said to the model when it is asked to repair its answer
    pattern: re.Pattern[str]  # one alternation: a single pass over each sentence
    conditional_ok: bool


def _any(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


_KINDS = (
    _Kind("it states a refund decision", _any(w.DECISIONS), True),
    _Kind("it promises a refund or payment", _any(w.PROMISES), True),
    _Kind("it offers compensation or an exception", _any(w.COMPENSATION), False),
    _Kind("it gives legal advice", _any(w.LEGAL), False),
)


def normalize(text: str) -> str:
    """Case-folded, without accents, invisible characters or typographic apostrophes."""
    folded = unicodedata.normalize("NFKD", text.translate(_INVISIBLE).casefold())
    plain = _COMBINING.sub("", folded)
    return _SPACES.sub(" ", plain.translate(_APOSTROPHES))


def commitment(answer: str) -> str | None:
    """Why the answer makes a commitment only a person may make, or None if it makes none."""
    for sentence in _SENTENCE_END.split(normalize(answer)):
        if not _triggered(sentence):
            continue
        # a condition makes it policy, unless the bot speaks for itself or promises it for now
        policy = w.CONDITION.search(sentence) is not None and not w.PERSONAL_OR_NOW.search(sentence)
        for kind in _KINDS:
            if policy and kind.conditional_ok:
                continue
            for match in kind.pattern.finditer(sentence):
                if not _negated(sentence, match.start(), match.end()):
                    return f'{kind.what}: "{sentence[:120]}"'
        what = _by_words(sentence, policy)
        if what is not None:
            return f'{what}: "{sentence[:120]}"'
    return None


def _triggered(sentence: str) -> bool:
    if any(sign in sentence for sign in w.TRIGGER_SIGNS):
        return True
    return any(word.startswith(w.TRIGGER_STEMS) for word in _WORD.findall(sentence))


def _negated(sentence: str, start: int, end: int) -> bool:
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(sentence, 0, start)), default=0)
    return w.NEGATION.search(sentence, clause_start, end) is not None


# Words too common to tell a copy from an ordinary sentence: they neither count towards a run
# nor break one (so sprinkling them in between hides nothing).
_FILLER = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "do",
        "does",
        "for",
        "from",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "s",
        "t",
        "that",
        "the",
        "their",
        "them",
        "these",
        "they",
        "this",
        "those",
        "to",
        "ll",
        "re",
        "ve",
        "you",
        "your",
        "with",
    }
)


def leaks(answer: str, instructions: str, run: int = 6, slack: int = 3) -> bool:
    """True if ``run`` telling words of ``instructions`` appear in the answer in their order,
    with at most ``slack`` other telling words between two of them and at most one of the
    instructions' words skipped: inserting a word every few words, or dropping one, does not
    hide a copied passage. Common words (``_FILLER``) are ignored on both sides."""
    where = _positions(instructions)
    said = [word for word in re.findall(r"\w+", normalize(answer)) if word not in _FILLER]
    # chain[(i, j)]: the longest run ending with instruction word i matched to answer word j
    chain: dict[tuple[int, int], int] = {}
    for j, word in enumerate(said):
        for i in where.get(word, ()):
            best = 0
            for dj in range(1, slack + 2):
                for di in (1, 2):
                    best = max(best, chain.get((i - di, j - dj), 0))
            chain[i, j] = best + 1
            if best + 1 >= run:
                return True
    return False


@functools.lru_cache(maxsize=64)
def _positions(instructions: str) -> dict[str, tuple[int, ...]]:
    """Where each telling word of the instructions stands (the same few prompts come back for
    every answer: one per language and channel limit)."""
    source = [w for w in re.findall(r"\w+", normalize(instructions)) if w not in _FILLER]
    where: defaultdict[str, list[int]] = defaultdict(list)
    for position, word in enumerate(source):
        where[word].append(position)
    return {word: tuple(positions) for word, positions in where.items()}


def instructions_of(system: str, marker: str) -> str:
    """The part of a system prompt that must stay private (what comes before ``marker``)."""
    return system.split(marker, maxsplit=1)[0]


def first_match(patterns: Sequence[str], answer: str) -> str | None:
    """The first operator-configured phrase (a regular expression) the answer contains."""
    for pattern in patterns:
        if re.search(pattern, answer, flags=re.IGNORECASE):
            return pattern
    return None
