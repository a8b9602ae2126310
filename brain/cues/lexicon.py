"""A small sentiment lexicon for German, French and Spanish (VADER's lexicon is English):
strong and mild negative words, a few positive ones, and negation that flips them."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import ahocorasick

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def _words(text: str) -> list[str]:
    return text.split()


_LEXICON: dict[str, float] = {
    **dict.fromkeys(
        _words(
            """schrecklich unverschämt betrug katastrophe furchtbar lächerlich furieux
            inadmissible arnaque honteux scandaleux lamentable nul pésimo estafa vergonzoso
            horrible fatal inaceptable"""
        ),
        -3.0,
    ),
    **dict.fromkeys(
        _words(
            """ärgerlich enttäuscht kaputt falsch verspätet beschädigt sauer unzufrieden
            déçu déçue énervé cassé retard abîmé mécontent mécontente decepcionado
            decepcionada enfadado enfadada roto tarde dañado molesto molesta harto"""
        ),
        -1.5,
    ),
    **dict.fromkeys(_words("gut toll super prima bien génial bueno genial perfecto"), 1.5),
    **dict.fromkeys(_words("ausgezeichnet wunderbar excellent parfait excelente"), 2.5),
}
_NEGATIONS = frozenset(_words("nicht kein keine pas jamais no nunca ni"))


# Every word of the lexicon, for one pass over the lower-cased text. A word the loop below
# scores is a word of the text whose lower case is in the lexicon; lower-casing a whole text
# spells each of that word's letters as alone (only "İ" and a final "Σ" lower differently, and
# no lexicon word holds what they become), so the lexicon word is then also in the lower-cased
# text. A text holding none of them scores 0 without being split into words.
def _automaton(words: Iterable[str]) -> Any:
    automaton = ahocorasick.Automaton()
    for word in words:
        automaton.add_word(word, word)
    automaton.make_automaton()
    return automaton


_ANY_WORD = _automaton(_LEXICON)


def score(text: str) -> float:
    if next(_ANY_WORD.iter(text.lower()), None) is None:
        return 0.0  # what the sum below gives for no word of the lexicon: 0 / sqrt(12)
    words = [w.lower() for w in _WORD.findall(text)]
    total = 0.0
    for index, word in enumerate(words):
        value = _LEXICON.get(word)
        if value is None:
            continue
        if any(w in _NEGATIONS for w in words[max(0, index - 3) : index]):
            value = -value * 0.6  # "nicht gut" is mildly negative
        total += value
    return round(total / math.sqrt(total * total + 12.0), 3)
