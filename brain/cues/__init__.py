"""The cue tables behind ``brain.signals``: what customers write when they are angry, want a
person, are in a hurry, raise a sensitive matter or say support already failed them.

One module per signal: ``anger``, ``person``, ``urgency``, ``sensitive``, ``failed``; ``tone``
holds the word classes that count only together (praise + a problem is sarcasm, capitals or
"??" need a complaint behind them), ``lexicon`` a small de/fr/es sentiment lexicon,
``lexical`` the cues that ask VADER's lexicon which words are negative (a hashtag ending in
one, thanks for a harm, a verdict on the company, a harm it did), ``lexical_anger`` the order
in which ``brain.signals`` asks them (and praise for a failure), ``grievance`` more anger cues
behind a cheap substring gate (leaving, scolding, demands, fed up), and ``normalize`` undoes
the ways customers mask or stretch words (``f*ck``, ``sh!t``, ``fuuuck``). ``base`` defines
a ``Cue``: a regular expression (plus, for ``together``, others that must match too) and the
short reason shown on the escalation card.

The cues are written for support conversations in general (any shop, airline, bank or
software product), in English, German, French and Spanish, and describe *kinds* of wording, not
phrases from any one data set. Order matters only for which reason is shown when several
match.
"""

from __future__ import annotations

from brain.cues.base import Cue, cue, first, pattern, together

__all__ = ["Cue", "cue", "first", "pattern", "together"]
