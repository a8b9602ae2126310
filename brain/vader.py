"""VADER's compound score (``SentimentIntensityAnalyzer.polarity_scores(text)["compound"]``)
with the work whose result cannot change it left out. Only the compound is read
(``brain.signals``), and most support messages hold no word of VADER's lexicon at all.

What ``polarity_scores`` does, and what is skipped here:

- It copies the text character by character in Python, replacing each emoji with its
  description. A text holding no emoji of the table comes out unchanged: one set test in C
  (``isdisjoint``) says so, and only a text with an emoji takes the library's whole path.
- It scores each word: a word whose lower case is not in the lexicon, or that is a booster, or
  "kind" before "of", scores 0 without further rules (``sentiment_valence`` reads the rules only
  for a lexicon word). When no word is in the lexicon every score is 0, and the compound of
  scores that are all 0 (or of none) is 0.0: no rule, "but" included, changes a 0.
- Otherwise the library's own ``sentiment_valence`` and ``_but_check`` run on the same words, in
  the same order, and the compound is summed, emphasised and normalised as ``score_valence``
  does it (its ``pos``/``neg``/``neu`` shares, not read, are left out): the float arithmetic is
  the same to the last bit.

``tests/test_signals_equivalence.py`` checks the answer against ``polarity_scores`` on every
fixture text and variants of them.
"""

from __future__ import annotations

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    SentimentIntensityAnalyzer,
    SentiText,
    normalize,
)

_STRIP = SentiText._strip_punc_if_word


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
        lowered = [word.lower() for word in map(_STRIP, text.split())]
        if lexicon.keys().isdisjoint(lowered):
            return 0.0
        sentitext = SentiText(text)
        words = sentitext.words_and_emoticons
        last = len(words) - 1
        sentiments: list[float] = []
        for i, item in enumerate(words):
            low = lowered[i]
            if (
                low not in lexicon
                or low in BOOSTER_DICT
                or (low == "kind" and i < last and lowered[i + 1] == "of")
            ):
                sentiments.append(0)  # what polarity_scores appends for such a word
                continue
            sentiments = analyzer.sentiment_valence(0, sentitext, item, i, sentiments)
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
