"""Checks on a model's answer before a customer sees it: no commitment only a person may make,
no piece of the instructions.

**Commitments** (refunds, compensation, exceptions, legal advice) are found per sentence, in
the languages the bot answers in (English, German, French, Spanish), on text that is case-folded,
stripped of accents, zero-width characters and typographic apostrophes. Three kinds of sentence:

* a *decision* ("your refund has been approved", "Ihre Erstattung wurde veranlasst", "I have
  refunded you") or a *promise* to this customer ("we will refund you the full amount", "Wir
  erstatten Ihnen den vollen Betrag", "vous serez remboursé", "le reembolsaremos"). A sentence
  that states a condition ("once it reaches us, we refund you", "sobald ..., erstatten wir")
  explains the policy and passes, unless the bot speaks for itself ("I will refund you") or
  promises it for now ("today", "sofort");
* *compensation and exceptions* ("as a goodwill gesture", "als Entschädigung", "geste
  commercial", "como compensación");
* *legal advice* ("you should sue", "under EU law you are entitled to", "Sie sollten klagen").

A clause that negates before the match ("I can't promise a refund") passes: that is exactly what
the system prompt asks the model to say. The knowledge base's own answers explain the refund
policy with such conditions, so they pass (``tests/test_answer_checks.py`` runs every one).

**Leaks**: the answer may not contain a run of the instructions' words in their order, even with
a few other words slipped in between (the trick that defeats a plain n-gram search).

Both are heuristics on wording, not understanding: see ``docs/security.md`` for their limits.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"), None)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_CLAUSE_END = re.compile(r"[,:;()\u2013\u2014]|\s-\s|\b(?:but|aber|mais|pero|however|jedoch)\b")

_MODAL = (
    r"(?:'ll|'d| will| shall| would| can| could"
    r"| are going to| am going to|'re going to|'m going to)?"
)
_ADVERB = (
    r"(?: also| then| gladly| happily| certainly| definitely| immediately| already| now| just)?"
)
_MONEY = r"(?:a |an |your |the |you |some )?(?:full |partial |complete |100% |\d+% )?"
_GOODS = (
    r"(?:refund|reimbursement|compensation|credit|money back|voucher|coupon|discount|gift card)"
)

_DECISIONS = (
    # English
    r"\b(?:refund|reimbursement|compensation|credit note|chargeback)(?: request)?"
    r" (?:has|have|'s|is|was|were)(?: now| already| just)?(?: been)?"
    r" (?:approved|issued|processed|granted|authori[sz]ed|initiated|sent|confirmed|arranged"
    r"|accepted)",
    r"\b(?:i|we)(?:'ve| have)(?: now| just| already)?"
    r" (?:refunded|reimbursed|credited|compensated)\b",
    r"\b(?:i|we)(?:'ve| have)(?: now| just| already)? (?:approved|issued|processed|arranged|granted"
    r"|authori[sz]ed|sent)(?: you)? " + _MONEY + _GOODS,
    r"\b(?:money|amount|payment|order|purchase|item|difference|costs?|fees?|charge)(?: \w+)?"
    r" (?:will be|'ll be|has been|have been|was|were|is being)(?: fully| immediately| already)?"
    r" (?:refunded|reimbursed|credited|paid back)",
    # German
    r"\b(?:erstattung|ruckerstattung|gutschrift|entschadigung|ruckzahlung)\b[^.!?]{0,40}?"
    r"\b(?:wurde|ist|wurden|sind)\b[^.!?]{0,30}?\b(?:genehmigt|veranlasst|bewilligt|angewiesen"
    r"|ausgezahlt|bestatigt|freigegeben|eingeleitet|gebucht|erteilt|uberwiesen)\b",
    r"\b(?:ich|wir) (?:habe|haben)\b[^.!?]{0,40}?\b(?:erstattet|zuruckerstattet|gutgeschrieben"
    r"|uberwiesen|genehmigt|ausgezahlt|entschadigt)\b",
    r"\b(?:habe ich|haben wir)\b[^.!?]{0,40}?\b(?:erstattet|zuruckerstattet|gutgeschrieben"
    r"|uberwiesen|genehmigt|ausgezahlt|entschadigt)\b",
    # French
    r"\b(?:remboursement|dedommagement|avoir|indemnisation)\b[^.!?]{0,40}?"
    r"\b(?:a ete|est|vient d'etre)(?: bien| deja)? (?:approuve|valide|accepte|effectue|accorde"
    r"|confirme|declenche|emis|envoye|traite|vire)e?s?\b",
    r"\b(?:je vous ai|nous vous avons|j'ai|nous avons)\b[^.!?]{0,30}?\b(?:rembourse|approuve"
    r"|credite|accorde|dedommage|indemnise)e?s?\b",
    # Spanish
    r"\b(?:reembolso|devolucion del dinero|compensacion|indemnizacion|abono)\b[^.!?]{0,40}?"
    r"\b(?:ha sido|fue|esta|queda|se ha)(?: \w+)? (?:aprobad|procesad|autorizad|emitid|confirmad"
    r"|realizad|concedid|tramitad|aceptad)[oa]s?\b",
    r"\b(?:he|hemos)(?: \w+)? (?:reembolsado|aprobado|devuelto|abonado|acreditado|compensado)\b",
)

_PROMISES = (
    # English
    r"\b(?:i|we)" + _MODAL + _ADVERB + r" (?:refund|reimburse|compensate|credit)\b",
    r"\b(?:i|we)" + _MODAL + _ADVERB + r" (?:issue|process|give|send|offer|arrange|approve|grant"
    r"|authori[sz]e|initiate|pay)(?: you)?(?: back)? " + _MONEY + _GOODS,
    r"\byou" + _MODAL + r" (?:get|receive|be given|be sent|be issued)(?: back)? " + _MONEY + _GOODS,
    r"\byou(?:'ll| will| are going to) be (?:fully )?(?:refunded|reimbursed|compensated|credited)",
    r"\byou(?:'ll| will) get (?:all )?(?:of )?your money back",
    r"\b(?:i|we)(?: can)? guarantee\b",
    # German
    r"\b(?:ich|wir)\b(?: \w+)?(?: werde| werden)?(?: \w+){0,4}? (?:erstatten|zuruckerstatten"
    r"|ruckerstatten|erstatte|entschadigen|gutschreiben|zuruckzahlen|zuruckuberweisen)\b",
    r"\b(?:erstatten|erstatte|zuruckerstatten|entschadigen|ersetzen) (?:wir|ich)\b",
    r"\b(?:sie (?:erhalten|bekommen)|(?:erhalten|bekommen) sie)\b[^.!?]{0,30}?\b(?:erstattung"
    r"|ruckerstattung|ihr geld|betrag|gutschein|entschadigung|gutschrift)",
    r"\bsie werden\b[^.!?]{0,30}?\b(?:erstattet|entschadigt)\b",
    r"\b(?:ich|wir) garantieren?\b",
    # French
    r"\b(?:nous|je)(?: vous)?(?: (?:allons|vais|pouvons|pourrons|devons))?(?: vous)?"
    r" (?:rembourser|remboursons|rembourserons|rembourse|rembourserai|dedommager|dedommagerons"
    r"|dedommageons|indemniser|indemniserons|indemnisons|crediter|crediterons|creditons)\b",
    r"\bvous (?:serez|allez etre|etes|sera) (?:integralement |entierement |totalement )?"
    r"(?:rembourse|dedommage|indemnise|credite)e?s?\b",
    r"\bvous (?:recevrez|obtiendrez|allez recevoir|aurez)\b[^.!?]{0,30}?\b(?:remboursement|avoir"
    r"|bon d'achat|dedommagement|indemnisation|compensation)",
    r"\b(?:nous|je) (?:vous )?garanti(?:ssons|s)\b",
    # Spanish
    r"\b(?:le|te|les) (?:reembolsaremos|reembolsamos|reembolsare|devolveremos|devolvemos"
    r"|devolvere|compensaremos|compensamos|abonaremos|abonamos|indemnizaremos"
    r"|haremos (?:el|un) reembolso)",
    r"\b(?:vamos a|voy a) (?:reembolsar|devolver|compensar|abonar|indemnizar)",
    r"\b(?:reembolsaremos|devolveremos|compensaremos|abonaremos|indemnizaremos)\b",
    r"\b(?:recibira|obtendra|recibiras|tendra)\b[^.!?]{0,30}?\b(?:reembolso|devolucion"
    r"|compensacion|indemnizacion|cupon|vale)\b",
    r"\b(?:se le|le sera|le seran) (?:\w+ )?(?:reembolsad|devuelt|abonad)[oa]s?\b",
    r"\b(?:le )?garantiz(?:amos|o)\b",
)

_COMPENSATION = (
    r"\bas (?:a |an )?(?:compensation|goodwill|gesture|apology|exception|token)\b",
    r"\bgoodwill\b",
    r"\bmak(?:e|ing) an exception\b",
    r"\b(?:i|we)" + _MODAL + _ADVERB + r" (?:offer|give|send|add|pay|owe)(?: you)?"
    r" (?:a |an |some |your )?(?:[$€£] ?\d+ |\d+ ?(?:%|€|eur|euros?) (?:off )?)?"
    r"(?:compensation|voucher|discount|coupon|credit|gift card|store credit|off)\b",
    r"\b(?:als|zur) (?:entschadigung|wiedergutmachung|kulanz\w*|ausnahme|entschuldigung)\b",
    r"\b(?:aus )?kulanz\w*",
    r"\bausnahmsweise\b",
    r"\b(?:ich|wir)\b[^.!?]{0,20}?\b(?:schenken|schicken|senden|geben|schreiben)\b[^.!?]{0,30}?"
    r"\b(?:gutschein|rabatt|gutschrift|entschadigung)",
    r"\b(?:a titre de|en|comme|pour) (?:compensation|dedommagement|geste commercial|geste de bonne"
    r" volonte)",
    r"\bgeste commercial\b",
    r"\bexceptionnellement\b",
    r"\b(?:nous|je)\b[^.!?]{0,20}?\b(?:offr\w*|envoy\w*|accord\w*|donn\w*)\b[^.!?]{0,30}?"
    r"\b(?:bon d'achat|code promo|reduction|remise|avoir|compensation|dedommagement)",
    r"\b(?:como|a modo de|en) (?:compensacion|gesto de buena voluntad|cortesia|disculpa"
    r"|excepcion)\b",
    r"\b(?:excepcionalmente|de forma excepcional)\b",
    r"\b(?:le|te) (?:\w+ )?(?:enviaremos|daremos|ofrecemos|regalaremos|ofreceremos|regalamos)\b"
    r"[^.!?]{0,30}?\b(?:cupon|vale|descuento|codigo|compensacion)",
)

_LEGAL = (
    r"\blegal advice\b",
    r"\byou (?:should|could|can|may|might|must)(?: want to| consider| definitely| also)?"
    r" (?:sue|suing|take (?:legal action|them to court|us to court|\w+ to court)|go to court"
    r"|file a (?:lawsuit|claim|complaint)|contact a (?:lawyer|solicitor|attorney)|get a lawyer)",
    r"\b(?:under|according to) (?:the )?(?:\w+ ){0,2}(?:law|directive|regulation|rights act)\b",
    r"\byou(?: are|'re) (?:legally )?entitled to\b",
    r"\b(?:is|was|that's|it's) (?:illegal|unlawful)\b",
    r"\bwe(?: are|'re) (?:legally )?liable\b",
    r"\brechtsberatung\b",
    r"\bverklagen\b",
    r"\brechtliche schritte\b",
    r"\bsie (?:sollten|konnen|mussen)\b[^.!?]{0,30}?\b(?:klagen|vor gericht|anwalt)",
    r"\b(?:sie haben|haben sie)\b[^.!?]{0,20}?\b(?:rechtlich|gesetzlich)\w*\b[^.!?]{0,20}?anspruch",
    r"\b(?:rechtlich|gesetzlich) (?:haben|steht|stehen|sind) (?:sie|ihnen)\b",
    r"\b(?:conseil|avis) juridique\b",
    r"\bvous (?:devriez|pouvez|pourriez|devez)\b[^.!?]{0,30}?\b(?:porter plainte|poursuivre"
    r"|saisir (?:le tribunal|la justice)|engager (?:des|une) (?:poursuites|action)|un avocat)",
    r"\bselon la loi\b",
    r"\bvous avez (?:legalement )?droit a\b",
    r"\b(?:asesoramiento|consejo|asesoria) (?:legal|juridic[oa])\b",
    r"\b(?:deberia|puede|podria|debe) (?:\w+ )?(?:demandar|denunciar|emprender acciones legales"
    r"|acudir a los tribunales|contratar a un abogado|consultar a un abogado)",
    r"\bsegun la ley\b",
    r"\btiene (?:el )?derecho (?:legal )?a\b",
)

# A condition turns a promise into the description of a policy ("once it arrives, we refund").
_CONDITION = re.compile(
    r"\b(?:if|once|when|whenever|as soon as|after|provided|unless|as long as|whichever|in case"
    r"|depending|wenn|sobald|falls|nachdem|sofern|soweit|je nachdem|wahlweise|vorausgesetzt"
    r"|si|s'il|s'ils|des que|des reception|une fois|lorsque|quand|apres|a condition|sauf si"
    r"|cuando|una vez|en cuanto|tras|siempre que|segun|en caso de|despues de)\b"
)
_PERSONAL_OR_NOW = re.compile(
    r"\b(?:i|i'll|i've|ich|je|j'ai|voy a|reembolsare|devolvere|today|right away|right now"
    r"|immediately|straight away|heute|sofort|gleich|umgehend|aujourd'hui|immediatement"
    r"|tout de suite|hoy|ahora mismo|inmediatamente|enseguida)\b"
)
_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|can't|won't|don't|unable|nicht|kein\w*|nie|niemals|ne|n'\w+|pas"
    r"|jamais|aucun\w*|nunca|ningun\w*)\b|n't\b"
)


@dataclass(frozen=True, slots=True)
class _Kind:
    what: str  # said to the model when it is asked to repair its answer
    pattern: re.Pattern[str]  # one alternation: a single pass over each sentence
    conditional_ok: bool


def _any(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


_KINDS = (
    _Kind("it states a refund decision", _any(_DECISIONS), True),
    _Kind("it promises a refund or payment", _any(_PROMISES), True),
    _Kind("it offers compensation or an exception", _any(_COMPENSATION), False),
    _Kind("it gives legal advice", _any(_LEGAL), False),
)


def normalize(text: str) -> str:
    """Case-folded, without accents, invisible characters or typographic apostrophes."""
    folded = unicodedata.normalize("NFKD", text.translate(_INVISIBLE).casefold())
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    return re.sub(r"[ \t\u00a0\u202f]+", " ", plain.translate(_APOSTROPHES))


def commitment(answer: str) -> str | None:
    """Why the answer makes a commitment only a person may make, or None if it makes none."""
    for sentence in _SENTENCE_END.split(normalize(answer)):
        # a condition makes it policy, unless the bot speaks for itself or promises it for now
        policy = _CONDITION.search(sentence) is not None and not _PERSONAL_OR_NOW.search(sentence)
        for kind in _KINDS:
            if policy and kind.conditional_ok:
                continue
            for match in kind.pattern.finditer(sentence):
                if not _negated(sentence, match.start(), match.end()):
                    return f'{kind.what}: "{sentence[:120]}"'
    return None


def _negated(sentence: str, start: int, end: int) -> bool:
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(sentence, 0, start)), default=0)
    return _NEGATION.search(sentence, clause_start, end) is not None


def leaks(answer: str, instructions: str, run: int = 8, slack: int = 3) -> bool:
    """True if ``run`` words of ``instructions`` appear in the answer in their order, with at
    most ``slack`` foreign words between two of them (and at most one instruction word skipped):
    inserting a word every few words, or dropping one, does not hide a copied passage."""
    source = re.findall(r"\w+", normalize(instructions))
    said = re.findall(r"\w+", normalize(answer))
    where: defaultdict[str, list[int]] = defaultdict(list)
    for position, word in enumerate(source):
        where[word].append(position)
    # chain[(i, j)]: the longest run ending with source word i matched to answer word j
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


def instructions_of(system: str, marker: str) -> str:
    """The part of a system prompt that must stay private (what comes before ``marker``)."""
    return system.split(marker, maxsplit=1)[0]


def first_match(patterns: Sequence[str], answer: str) -> str | None:
    """The first operator-configured phrase (a regular expression) the answer contains."""
    for pattern in patterns:
        if re.search(pattern, answer, flags=re.IGNORECASE):
            return pattern
    return None
