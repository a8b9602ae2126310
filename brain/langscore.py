"""py3langid's ``LanguageIdentifier.classify`` for a ``str``, with less interpreter work per call.

``classify`` is a few lines of Python around numpy: it encodes the text, walks the byte-level
DFA (``visit_counts``), counts the features in a ``Counter``, scores them with numpy and
normalises the scores. On a short support message the wrappers cost more than the arithmetic:
``Counter``'s constructor (an ABC ``isinstance`` test, then ``update``), the Python wrappers of
``ndarray.max`` and ``ndarray.sum``, the bytes/str dispatch of ``_encode``. This calls the same
operations directly, in the same order, on the identifier's own tables:

- the counts come from ``collections._count_elements`` (what ``Counter.update`` calls) into a
  plain dict: the same counts in the same first-seen order, so the same feature order reaches
  numpy;
- ``np.maximum.reduce`` and ``np.add.reduce`` are what ``ndarray.max`` and ``ndarray.sum``
  call (``numpy/_core/_methods.py``);
- every array operation (``log1p``, the gather, ``@``, ``+``, ``*=``, ``exp``, ``/=``) is the
  library's, on the same arrays and dtypes, so every float is the same to the last bit.

``tests/test_signals_equivalence.py`` checks ``(language, probability)`` against ``classify`` on
every fixture text and variants of them; ``fits`` says whether an identifier has the tables
this reads (py3langid 0.4's layout), and ``brain.signals`` calls ``classify`` itself otherwise.
"""

from __future__ import annotations

import math
import unicodedata
from collections import _count_elements  # type: ignore[attr-defined]  # Counter's C helper

import numpy as np
from py3langid import langid
from py3langid.langid import LanguageIdentifier

_MAXIMUM = np.maximum.reduce
_ADD = np.add.reduce


def fits(identifier: LanguageIdentifier) -> bool:
    """Whether ``identifier`` is laid out as this scorer reads it (py3langid 0.4)."""
    return (
        hasattr(langid, "visit_counts")
        and isinstance(getattr(identifier, "_rowbase", None), list)
        and isinstance(getattr(identifier, "tk_output", None), list)
        and bool(getattr(identifier, "_norm_probs", False))
        and getattr(identifier, "min_confidence", None) is None
    )


class Scorer:
    """``classify(text) == identifier.classify(text)`` for a ``str`` (probabilities normed)."""

    def __init__(self, identifier: LanguageIdentifier) -> None:
        if not fits(identifier):
            raise ValueError("the scorer follows py3langid 0.4's classify with norm_probs=True")
        self._identifier = identifier

    def classify(self, text: str) -> tuple[str, float]:
        identifier = self._identifier
        # _encode, for a str
        if text.isupper():
            text = text.lower()
        data = unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")
        # visit_counts: the DFA walk, then the features counted in first-seen order
        nextmove, rowbase = identifier.tk_nextmove, identifier._rowbase
        output = identifier.tk_output
        state = 0
        indexes: list[int] = []
        append = indexes.append
        for letter in data:
            state = nextmove[rowbase[state] + letter]
            feature = output[state]
            if feature >= 0:
                append(feature)
        if indexes:
            visits: dict[int, int] = {}
            _count_elements(visits, indexes)
            idx = np.fromiter(visits.keys(), dtype=np.intp, count=len(visits))
            counts = np.fromiter(visits.values(), dtype=np.float32, count=len(visits))
            scores = np.log1p(counts) @ identifier.nb_ptc[idx] + identifier.nb_pc
        else:
            scores = np.full(len(identifier.nb_classes), 0.0, dtype=np.float32)
        # _decide with norm_probs
        scores *= 1.0 / math.sqrt(len(data) or 1)
        np.exp(scores - _MAXIMUM(scores), out=scores)
        scores /= _ADD(scores)
        for i, j in identifier._alias_pairs:
            scores[i] += scores[j]
            scores[j] = 0.0
        best = int(scores.argmax())
        return identifier.nb_classes[best], float(scores[best])
