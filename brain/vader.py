"""VADER's compound score (``SentimentIntensityAnalyzer.polarity_scores(text)["compound"]``)
with the work whose result cannot change it left out. Only the compound is read
(``brain.signals``), and most support messages hold no word of VADER's lexicon at all.

What ``polarity_scores`` does, and what is done here instead:

- It copies the text character by character in Python, replacing each emoji with its
  description. A text holding no emoji of the table comes out unchanged: one set test in C
  (``isdisjoint``) says so, and only a text with an emoji takes the library's whole path.
- It scores each word: a word whose lower case is not in the lexicon, or that is a booster, or
  "kind" before "of", scores 0 without further rules (``sentiment_valence`` reads the rules only
  for a lexicon word). When no word is in the lexicon every score is 0, and the compound of
  scores that are all 0 (or of none) is 0.0: no rule, "but" included, changes a 0.
- For a lexicon word, ``_valence`` applies ``sentiment_valence``'s rules (negation, boosters,
  capitals, idioms, "least") as the library writes them, on the words lower-cased once: the
  library lower-cases the whole message again in each of its helpers (three times per word
  for the negation check alone) and walks its negation list in Python. The same float
  operations run on the same values in the same order, so the score is the same to the last bit;
  ``_but_check`` is the library's own, and the compound is summed, emphasised and normalised
  as ``score_valence`` does it (its ``pos``/``neg``/``neu`` shares, not read, are left out).

``tests/test_signals_equivalence.py`` checks the answer against ``polarity_scores`` on every
fixture text and variants of them, and on random texts made of the words the rules read.
"""

from __future__ import annotations

import string

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    normalize,
)

_PUNCTUATION = string.punctuation  # what SentiText strips from the ends of a word
_NEGATE = frozenset(NEGATE)  # ``negated``'s list, as a set: the same answer for one word


def _negated(word: str) -> bool:
    """``negated([word])``: the library lower-cases the word once more, so does this."""
    word = word.lower()
    return word in _NEGATE or "n't" in word


def _stripped(text: str) -> list[str]:
    """``SentiText(text).words_and_emoticons``: punctuation stripped from the ends of each
    word unless that leaves two characters or fewer (an emoticon, ":)")."""
    return [s if len(s := w.strip(_PUNCTUATION)) > 2 else w for w in text.split()]


class Compound:
    """``compound(text) == analyzer.polarity_scores(text)["compound"]``, for every text."""

    def __init__(self, analyzer: SentimentIntensityAnalyzer) -> None:
        self.analyzer = analyzer
        self._lexicon: dict[str, float] = analyzer.lexicon
        self._emojis: dict[str, str] = analyzer.emojis

    def __call__(self, text: str) -> float:
        analyzer = self.analyzer
        if not self._emojis.keys().isdisjoint(text):
            return float(analyzer.polarity_scores(text)["compound"])
        text = text.strip()  # what polarity_scores scores once the (absent) emoji are replaced
        lexicon = self._lexicon
        # The words as SentiText splits them, lower-cased as sentiment_valence looks them up.
        words = _stripped(text)
        lowered = [word.lower() for word in words]
        if lexicon.keys().isdisjoint(lowered):
            return 0.0
        last = len(words) - 1
        # SentiText.is_cap_diff (allcap_differential): some words in capitals, not all.
        capitals = sum(map(str.isupper, words))
        cap_diff = 0 < len(words) - capitals < len(words)
        sentiments: list[float] = []
        for i, low in enumerate(lowered):
            if (
                low not in lexicon
                or low in BOOSTER_DICT
                or (low == "kind" and i < last and lowered[i + 1] == "of")
            ):
                sentiments.append(0)  # what polarity_scores appends for such a word
                continue
            sentiments.append(self._valence(words, lowered, i, cap_diff))
        if "but" in lowered:
            sentiments = analyzer._but_check(words, sentiments)
        # score_valence's compound, without its pos/neg/neu shares and their three round()s
        # (not read): the same operations on the same values.
        sum_s = float(sum(sentiments))
        emphasis = analyzer._punctuation_emphasis(text)
        if sum_s > 0:
            sum_s += emphasis
        elif sum_s < 0:
            sum_s -= emphasis
        return float(round(normalize(sum_s), 4))

    def _valence(self, words: list[str], lowered: list[str], i: int, cap_diff: bool) -> float:
        """``sentiment_valence`` for the lexicon word ``words[i]``, line by line."""
        lexicon = self._lexicon
        item, low = words[i], lowered[i]
        valence = lexicon[low]
        if low == "no" and i != len(words) - 1 and lowered[i + 1] in lexicon:
            valence = 0.0  # "no" negates the next lexicon word instead
        if (
            (i > 0 and lowered[i - 1] == "no")
            or (i > 1 and lowered[i - 2] == "no")
            or (i > 2 and lowered[i - 3] == "no" and lowered[i - 1] in ["or", "nor"])
        ):
            valence = lexicon[low] * N_SCALAR
        if item.isupper() and cap_diff:
            if valence > 0:
                valence += C_INCR
            else:
                valence -= C_INCR
        for start_i in range(0, 3):
            j = i - (start_i + 1)
            if i > start_i and lowered[j] not in lexicon:
                s = _scalar_inc_dec(words[j], lowered[j], valence, cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, lowered, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, lowered, i)
        return _least_check(valence, lowered, i, lexicon)


def _least_check(valence: float, lowered: list[str], i: int, lexicon: dict[str, float]) -> float:
    """``_least_check``: "least" before the word negates it, unless "at least", "very least"."""
    if i > 1 and lowered[i - 1] not in lexicon and lowered[i - 1] == "least":
        if lowered[i - 2] != "at" and lowered[i - 2] != "very":
            valence = valence * N_SCALAR
    elif i > 0 and lowered[i - 1] not in lexicon and lowered[i - 1] == "least":
        valence = valence * N_SCALAR
    return valence


def _scalar_inc_dec(word: str, low: str, valence: float, cap_diff: bool) -> float:
    """``scalar_inc_dec``: what a booster or dampener before the word adds."""
    scalar = 0.0
    if low in BOOSTER_DICT:
        scalar = BOOSTER_DICT[low]
        if valence < 0:
            scalar *= -1
        if word.isupper() and cap_diff:
            if valence > 0:
                scalar += C_INCR
            else:
                scalar -= C_INCR
    return scalar


def _negation_check(valence: float, lowered: list[str], start_i: int, i: int) -> float:
    """``_negation_check``, on the words lower-cased once."""
    if start_i == 0 and _negated(lowered[i - 1]):
        valence = valence * N_SCALAR
    if start_i == 1:
        if lowered[i - 2] == "never" and lowered[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lowered[i - 2] == "without" and lowered[i - 1] == "doubt":
            pass
        elif _negated(lowered[i - 2]):
            valence = valence * N_SCALAR
    if start_i == 2:
        one, two, three = lowered[i - 1], lowered[i - 2], lowered[i - 3]
        if (three == "never" and two in ("so", "this")) or one in ("so", "this"):
            valence = valence * 1.25
        elif three == "without" and (two == "doubt" or one == "doubt"):
            pass
        elif _negated(three):
            valence = valence * N_SCALAR
    return valence


def _special_idioms_check(valence: float, lowered: list[str], i: int) -> float:
    """``_special_idioms_check`` (asked only for ``i`` >= 3), on the words lower-cased once."""
    onezero = f"{lowered[i - 1]} {lowered[i]}"
    twoonezero = f"{lowered[i - 2]} {lowered[i - 1]} {lowered[i]}"
    twoone = f"{lowered[i - 2]} {lowered[i - 1]}"
    threetwoone = f"{lowered[i - 3]} {lowered[i - 2]} {lowered[i - 1]}"
    threetwo = f"{lowered[i - 3]} {lowered[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    if len(lowered) - 1 > i:
        zeroone = f"{lowered[i]} {lowered[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(lowered) - 1 > i + 1:
        zeroonetwo = f"{lowered[i]} {lowered[i + 1]} {lowered[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence
