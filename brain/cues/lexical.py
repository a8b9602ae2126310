"""Anger cues that consult a sentiment lexicon (VADER's, passed in) instead of listing words:

- a hashtag that is a negative word or ends in one (``#horrific``, ``#EpicFail``,
  ``#alwayswasting``): customers tag the brand with what they think of it. Topic tags are
  negative words too (``#horror`` on a film, ``#fear`` on a quote), so ``brain.signals``
  counts the hashtag only with a complaint behind it;
- thanks, a shout-out or congratulations *for* a harm (``thanks for losing my bag``,
  ``shout out to X for ruining my order``, ``cheers for the stress``): praise aimed at a
  failure is sarcasm.

The lexicon decides which words are negative, so neither cue is a list of phrases; what they
add is where the word stands (in a hashtag, after "thanks ... for").
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from brain.cues import gate

_HASHTAG = gate.registered(re.compile(r"(?<![\w&])#([^\W\d_][^\W_]*(?:_[^\W_]+)*)"))
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
# A hashtag's word counts as cursing at or below this lexicon value (VADER: -4 .. +4).
_NEGATIVE = -1.5
# Titles of shows, films and games are hashtags of three words or more ("#TheWalkingDead"):
# their words say nothing about the customer's mood.
_MAX_PARTS = 2
_AFFIX_MIN = 5  # "#alwaysfail" splits, "#shell" must not read as "hell"
# Negative words of sadness, fear and grim topics: "#sad" on a broken toy, "#horror" on a film,
# "#fear" on a quote. They are negative, but they do not say the customer is angry.
_SAD_OR_TOPIC = (
    "sad", "depress", "fear", "afraid", "scar", "panic", "worr", "horror", "terror", "cry",
    "death", "dead", "die", "grie", "lonel", "miss", "pain", "anxi", "traged", "cancer", "war",
    "crime", "kill", "murder", "disease", "victim", "hurt", "sorr", "heartbr", "tear", "ill",
    "sick", "melanchol", "lost", "blue",
)  # fmt: skip


def negative_hashtag(text: str, lexicon: Mapping[str, float]) -> str | None:
    """The first hashtag of ``text`` that ends in a negative word (as written), or None.
    Only the last word counts: in English compounds it carries the meaning ("#EpicFail",
    "#alwayswasting"), while "#ProblemSolving" or "#killingit" are not complaints."""
    for match in gate.finditer(_HASHTAG, text):
        tag = match.group(1)
        parts = [p.lower() for chunk in tag.split("_") for p in _CAMEL.findall(chunk) or [chunk]]
        if not parts or len(parts) > _MAX_PARTS:
            continue
        whole = tag.lower().replace("_", "")
        words = {whole, parts[-1]}
        if len(parts) == 1:
            # One run of lower-case letters may still be two words: "#alwayswasting".
            # The first word has three letters or more ("#terror" is not "t" + "error").
            words |= {whole[n:] for n in range(3, len(whole) - _AFFIX_MIN + 1)}
        if any(lexicon.get(w, 0.0) <= _NEGATIVE and not w.startswith(_SAD_OR_TOPIC) for w in words):
            return f"#{tag}"
    return None


_THANKS_FOR = re.compile(
    r"""
    \b(?:thanks?(?:\ you)?|thx|ty|cheers|shout[\s-]?outs?|kudos|props|big\ up|congrat\w*|
    well\ done|nice\ one|good\ job|great\ job|bravo|hats\ off)\b
    [^.!?]{0,40}?\bfor\ (?:(?:the|a|an|my|our|your|yet|another|once|again|always|constantly|
    totally|completely|just|so|such|all|\d+(?:\ ?\w+)?|(?:making|leaving|keeping|letting)
    \ (?:me|us|my\ \w+|our\ \w+))\ )*([^\W\d_]+)(?:\ ([^\W\d_]+))?(\s*(?:[.!?…]|$))?
    """,
    re.IGNORECASE | re.VERBOSE,
)
gate.register(_THANKS_FOR)  # ``gate.finditer`` skips it when it cannot match
# Harms the lexicon does not know as words: phrasal or slang verbs.
_HARMS = frozenset(
    ("ripping", "screwing", "messing", "overcharging", "scamming", "robbing", "conning",
     "fleecing", "stranding", "dumping", "abandoning", "binning", "bricking")
)  # fmt: skip


def thanks_for_harm(text: str, lexicon: Mapping[str, float]) -> str | None:
    """The harm thanked for (``losing``, ``the stress``), or None. A verb must be a harm in
    the lexicon (``losing``, ``wasting``, ``ruining``) or its stem must be (``ruin``); a noun
    counts only when it closes the sentence ("thanks for the delay."), since "thanks for the
    problem being fixed" is real thanks."""
    for match in gate.finditer(_THANKS_FOR, text):
        word, after, closes = (match.group(1).lower(), match.group(2), match.group(3))
        if word.endswith("ing"):
            stem = word[:-3]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                stem = stem[:-1]  # "cutting" -> "cut", "robbing" -> "rob"
            values = (lexicon.get(word, 0.0), lexicon.get(stem, 0.0), lexicon.get(stem + "e", 0.0))
            if word in _HARMS or min(values) <= -1.0:
                return word if after is None else f"{word} {after.lower()}"
        elif (closes is not None or after is None) and lexicon.get(word, 0.0) <= _NEGATIVE:
            return word
    return None


# The company, its staff or its product as the subject, then a verdict: "your staff are
# clueless", "you're so rude", "this app is pathetic". The verdict is a negative word of the
# lexicon; plain failure words ("your app is broken", "the parcel was wrong") are reports, not
# verdicts, and are left out.
_VERDICT = re.compile(
    r"""
    \b(?:you(?:\ (?:lot|guys|people|all))?|y'?all|u|ur\ \w+|your\ (?:\w+\ ){0,2}?\w+|
    this\ (?:company|shop|store|airline|bank|app|service|network|firm|outfit|website|site))
    (?:\ (?:are|is|were|was|r|have\ been|has\ been)|['’](?:re|s))\ (?:(?:so|really|absolutely|just|
    such|totally|completely|utterly|beyond|truly|honestly|genuinely|very|extremely|the|a|an|
    most|being|getting|actually|literally|officially)\ )*([^\W\d_]+)
    """,
    re.IGNORECASE | re.VERBOSE,
)
gate.register(_VERDICT)  # ``gate.finditer`` skips it when it cannot match
# Reports rather than verdicts, though the lexicon scores them negative.
_REPORTS = frozenset(
    ("broken", "wrong", "failed", "failing", "fail", "missing", "delayed", "delay", "lost",
     "late", "stuck", "sorry", "ill", "sick", "dead", "down", "closed", "cancelled", "afraid",
     "unable", "stolen", "hacked", "blocked", "locked", "damaged", "charged", "poor")
)  # fmt: skip
# Verdicts the lexicon does not score: support slang for a bad company.
_SLANG = frozenset(
    ("garbage", "rubbish", "trash", "clowns", "amateurs", "idiots", "unhelpful", "unreliable",
     "filthy", "shambolic", "cowboys", "crooks", "thieves", "scammers", "robbers")
)  # fmt: skip


def verdict_on_company(text: str, lexicon: Mapping[str, float]) -> str | None:
    """The negative word said of the company, its staff or product ("clueless"), or None."""
    for match in gate.finditer(_VERDICT, text):
        word = match.group(1).lower()
        if word in _REPORTS:
            continue
        if word.startswith(_SAD_OR_TOPIC):
            continue  # "you're scared", "your worries": feelings, not a verdict
        if word in _SLANG or lexicon.get(word, 0.0) <= _NEGATIVE:
            return word
    return None


# The company did a harm to the customer: "you've ruined my holiday", "your app wasted my
# whole evening". The verb is a negative word of the lexicon (a report such as "lost" is not).
_HARM_DONE = re.compile(
    r"""
    \b(?:you|you'?ve|you\ have|your\ (?:\w+\ ){0,2}?\w+(?:\ (?:has|have))?)\ (?:just\ |completely\ |
    totally\ |now\ |absolutely\ |actually\ |literally\ )?([^\W\d_]+ed)\ (?:my|our|me|us)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
gate.register(_HARM_DONE)  # ``gate.finditer`` skips it when it cannot match


def harm_by_company(text: str, lexicon: Mapping[str, float]) -> str | None:
    """The harm the company did to the customer ("ruined"), or None."""
    for match in gate.finditer(_HARM_DONE, text):
        word = match.group(1).lower()
        if word in _REPORTS or word.startswith(_SAD_OR_TOPIC):
            continue
        stem = word[:-1] if word.endswith("ed") and lexicon.get(word[:-1]) else word[:-2]
        if min(lexicon.get(word, 0.0), lexicon.get(stem, 0.0)) <= _NEGATIVE:
            return word
    return None


_AF = gate.registered(re.compile(r"\b([^\W\d_]+)\ af\b", re.IGNORECASE))
# Slow, late, dear: what a service is when it fails, though the lexicon does not score them.
_FAILINGS = frozenset(("slow", "late", "expensive", "overpriced", "unreliable", "laggy", "buggy"))


def negative_af(text: str, lexicon: Mapping[str, float]) -> str | None:
    """A negative word intensified with "af" ("slow af", "annoying af"): swearing, abbreviated.
    The word is negative in the lexicon, or a failing of a service the lexicon does not score."""
    if " af" not in text.lower():
        return None  # the cheap test first: almost no message has it
    for match in gate.finditer(_AF, text):
        word = match.group(1).lower()
        if word in _FAILINGS or lexicon.get(word, 0.0) <= _NEGATIVE:
            return f"{word} af"
    return None
