"""The words the commitment check looks for, in English, German, French and Spanish.

Every pattern runs on text that ``brain.answer_checks.normalize`` prepared: case-folded, without
accents (so "rückerstattung" is written "ruckerstattung" here), invisible characters or
typographic apostrophes. Two layers:

* **Phrases** (``DECISIONS``, ``PROMISES``, ``COMPENSATION``, ``LEGAL``): precise wordings of a
  decision, a promise, an offer of compensation or an exception, and legal advice.
* **Words** (``MONEY``, ``GIFT``, ``DONE``, ``BOT_OR_YOU``, ...): paraphrases the phrases miss
  ("your money is on its way back", "procederemos al reembolso") are caught by what they name
  (money going to the customer) and how (done, or said by the bot, or to the customer).

``CONDITION``, ``NEGATION`` and ``TO_A_PERSON`` are what excuses a sentence: the policy
described under a condition, a negated clause, a matter handed to a person.
"""

from __future__ import annotations

import re

_MODAL = (
    r"(?:'ll|'d| will| shall| would| can| could"
    r"| are going to| am going to|'re going to|'m going to)?"
)
_ADVERB = (
    r"(?: also| then| gladly| happily| certainly| definitely| immediately| already| now| just)?"
)
_AMOUNT = r"(?:a |an |your |the |you |some )?(?:full |partial |complete |100% |\d+% )?"
_GOODS = (
    r"(?:refund|reimbursement|compensation|credit|money back|voucher|coupon|discount|gift card)"
)

DECISIONS = (
    # English
    r"\b(?:refund|reimbursement|compensation|credit note|chargeback)(?: request)?"
    r" (?:has|have|'s|is|was|were)(?: now| already| just)?(?: been)?"
    r" (?:approved|issued|processed|granted|authori[sz]ed|initiated|sent|confirmed|arranged"
    r"|accepted)",
    r"\b(?:i|we)(?:'ve| have)(?: now| just| already)?"
    r" (?:refunded|reimbursed|credited|compensated)\b",
    r"\b(?:refund|reimbursement|erstattung|ruckerstattung|remboursement|reembolso)"
    r" (?:approved|issued|processed|confirmed|granted|genehmigt|bewilligt|approuve|valide"
    r"|aprobado)\b",
    r"\b(?:i|we)(?:'ve| have)(?: now| just| already)? (?:approved|issued|processed|arranged|granted"
    r"|authori[sz]ed|sent)(?: you)? " + _AMOUNT + _GOODS,
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

PROMISES = (
    # English
    r"\b(?:i|we)" + _MODAL + _ADVERB + r" (?:refund|reimburse|compensate|credit)\b",
    r"\b(?:i|we)" + _MODAL + _ADVERB + r" (?:issue|process|give|send|offer|arrange|approve|grant"
    r"|authori[sz]e|initiate|pay)(?: you)?(?: back)? " + _AMOUNT + _GOODS,
    r"\byou(?:'ll| will| shall| are going to|'re going to) (?:get|receive|be given|be sent"
    r"|be issued)(?: back)? " + _AMOUNT + _GOODS,
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

COMPENSATION = (
    r"\bas (?:a |an )?(?:compensation|goodwill|gesture|apology|exception|token)\b",
    r"\bgoodwill\b",
    r"\bmak(?:e|ing) an exception\b",
    r"\b(?:just |only )?this once\b|\bexceptionally\b|\bas a one-off\b",
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

LEGAL = (
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
CONDITION = re.compile(
    r"(?<!this )(?<!just )\b(?:if|once|when|whenever|as soon as|after|provided|unless"
    r"|as long as|whichever|in case"
    r"|depending|wenn|sobald|falls|nachdem|sofern|soweit|je nachdem|wahlweise|vorausgesetzt"
    r"|si|s'il|s'ils|des que|des reception|une fois|lorsque|quand|apres|a condition|sauf si"
    r"|cuando|una vez|en cuanto|tras|siempre que|segun|en caso de|despues de"
    # habits are policy too: "refunds usually take 3-5 days"
    r"|usually|normally|typically|generally|in most cases|in der regel|normalerweise"
    r"|ublicherweise|meistens|generalement|habituellement|normalement|en general|normalmente"
    r"|habitualmente|por lo general)\b"
)
PERSONAL_OR_NOW = re.compile(
    r"\b(?:i|i'll|i've|ich|je|j'ai|voy a|reembolsare|devolvere|today|right away|right now"
    r"|immediately|straight away|heute|sofort|gleich|umgehend|aujourd'hui|immediatement"
    r"|tout de suite|hoy|ahora mismo|inmediatamente|enseguida)\b"
)
NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|can't|won't|don't|unable|nicht|kein\w*|nie|niemals|ne|n'\w+|pas"
    r"|jamais|aucun\w*|nunca|ningun\w*)\b|n't\b"
)


# -- the second layer: words, not phrases ----------------------------------------------------
# The phrases above miss paraphrases ("your money is on its way back", "procederemos al
# reembolso"). So a sentence is also a commitment when it names money going to the customer and
# either states it as done or has the bot (or the customer as recipient) in it, unless it is
# conditional, negated, or hands the matter to a person.
POLICY_NOUNS = re.compile(
    r"\b(?:refund|return) (?:policy|process|request|form|status|method|window|period|rules"
    r"|terms|options?|label)s?\b|\b(?:politica|solicitud|proceso|plazo|estado) de reembolso\b"
    r"|\b(?:politique|demande|procedure|delai|suivi) de remboursement\b|\berstattungs\w+"
    r"|\bcredit card\b|\bcarte de credit\b|\btarjeta de credito\b"
)
MONEY = re.compile(
    # an amount going back: "the full amount back on your card", "€59 ... sent back"
    r"\b(?:amount|price|summe|betrag|montant|importe|dinero|argent)\b[^.!?]{0,40}\b(?:back"
    r"|zuruck|rendu|devuelt\w*)\b|(?:[$€£] ?[0-9]+|\b[0-9]+(?:[.,][0-9]+)? ?(?:€|eur\b|euros?\b))"
    r"[^.!?]{0,40}\b(?:back|zuruck|rendu|devuelt\w*|gut|rembours\w*|reembols\w*)\b"
    r"|\bschreib\w* [^.!?]{0,30}\bgut\b"
    r"|\b(?:refund\w*|reimburs\w*|repa(?:y|id)|money back|your money|compensat\w*|voucher"
    r"|coupon|discount|store credit|\d+ ?% off|cover the costs?|credit(?:ed|ing)?|erstatt\w*"
    r"|ruckerstatt\w*|ruckzahl\w*|zuruckuberw\w*|zuruckzahl\w*|zuruckgezahlt|gutschrift\w*"
    r"|gutschein\w*|entschadig\w*|rabatt\w*|ihr geld|das geld|die (?:volle |gesamte )?summe"
    r"|rembours\w*|dedommag\w*|indemnis\w*|bon d'achat|reduction|votre argent|geste commercial"
    r"|reembols\w*|compensacion|indemniz\w*|su dinero|el dinero|el importe|cupon|descuento"
    r"|pa(?:y|id) (?:you )?back|full price|purchase price|back to your (?:card|account|bank)"
    r"|kaufpreis|zahl\w* [^.!?]{0,30}zuruck|ubernehm\w* (?:\w+ ){0,3}(?:die |alle )?kosten"
    r"|prend\w* en charge (?:les|la|le) (?:frais|cout\w*)|hacemos cargo de los gastos"
    r"|nos haremos cargo|cubriremos)\b"
)
# Free things and waived fees are compensation when offered to make up for something.
GIFT = re.compile(
    r"\b(?:free (?:upgrade|shipping|delivery|returns?|of charge)|on us|waiv\w*|kostenlos\w*"
    r"|gratis|gratuit\w*|offert\w*|offr\w*|livraison|regal\w*)\b"
)
# Money that will move to the customer, said without a condition, is a promise whoever says it.
WILL_REACH_YOU = re.compile(
    r"\b(?:will|'ll) (?:come back|go back|be sent back|be paid back|be credited|be refunded"
    r"|be returned to you)\b|\byour (?:card|account|bank account|paypal(?: account)?)"
    r" (?:will|'ll)\b"
)
DONE = re.compile(
    r"\b(?:has been|have been|had been|is approved|was approved|is on its way|on its way back"
    r"|already|unterwegs|bereits|schon|wurde|a ete|deja|ha sido|ya)\b"
)
BOT_OR_YOU = re.compile(
    r"\b(?:i|i'm|i'll|i've|i'd|we|we're|we'll|we've|we'd|let me|let us|here is|here's|ich|wir"
    r"|hier ist|on vous|on va"
    r"|je|j'\w+|nous|voici|he|hemos|voy|vamos|aqui tiene)\b|\b\w+(?:aremos|eremos|iremos)\b"
    r"|\byou(?:'ll| will| are going to|'re going to| are getting|'re getting| get| receive"
    r"| will be| are being)\b|\b(?:sie erhalten|sie bekommen|erhalten sie|bekommen sie"
    r"|steht ihnen|stehen ihnen|wird ihnen|werden ihnen)\b|\bvous (?:sera|seront|serez"
    r"|recevrez|aurez|obtiendrez|allez)\b|\b(?:le sera|le seran|recibira|obtendra)\b"
)
TO_A_PERSON = re.compile(
    r"\b(?:pass\w*|forward\w*|handed|hand (?:it|this)|escalat\w*|teammate|colleague|the team"
    r"|our team|a person|specialist|weitergeleitet|weitergegeben|kolleg\w*|team|transmis"
    r"|transmets|collegue|equipe|conseiller|companer[oa]|equipo|trasladad\w*|whether|ob)\b"
)
# Something given *for* the trouble (a plain "sorry for the delay" is not).
FOR_THE_TROUBLE = re.compile(
    r"\b(?:to make up for|make it right|for the (?:trouble|inconvenience)|as an apology"
    r"|by way of apology|fur die unannehmlichkeit\w*|als (?:kleine )?entschuldigung"
    r"|wiedergutmach\w*|pour la gene|pour nous excuser|en guise d'excuses?"
    r"|por las molestias|como disculpa|a modo de disculpa)\b"
)
LEGAL_WORDS = re.compile(
    r"\b(?:lawyer|attorney|solicitor|sue|suing|lawsuit|court|legal(?:ly)?|law|statutory|police"
    r"|geltende\w* recht|schadenser?satz|gerichtlich\w*|judicial\w*|judiciaire\w*|en justice"
    r"|entitled|liable|a (?:strong |good )?case|anwalt\w*|klage\w*|verklag\w*|gericht\w*"
    r"|[a-z]+-?recht|rechtlich\w*|gesetz\w*|anspruch|avocat|justice|tribunal\w*|loi"
    r"|juridique\w*|legalement|abogad\w*|demandar\w*|que demande|ley|derecho|juridic\w*)\b"
)
ADVICE = re.compile(
    r"\b(?:you should|you could|you can|you may|you must|you might|you have|i recommend"
    r"|i suggest|i advise|we recommend|legally|sie sollten|sie konnen|sie mussen|sie haben"
    r"|sollten sie|konnen sie|mussen sie|podria|podra"
    r"|steht ihnen|ich empfehle|ich rate|vous devriez|vous pouvez|vous devez|vous avez"
    r"|je vous conseille|je recommande|je vous recommande|deberia|puede|debe|tiene"
    r"|le recomiendo|le aconsejo|recomiendo)\b"
)

# A sentence with no word starting with one of these stems (and no currency or percent sign)
# cannot match anything above: most sentences of an answer are skipped after one cheap test.
_STEMS = (
    "refund reimburs repai repay pay paid money compens voucher coupon discount promo credit "
    "cover price amount free waiv gift goodwill gesture apolog token exception once one guarant "
    "approved make trouble inconvenien lawyer attorney solicitor sue suing court legal illegal "
    "unlawful law statut entitl liable case police erstatt ruckerstatt ruckzahl zuruck zahl "
    "gutschrift gutschein gut entschad entschuld rabatt geld summe betrag kosten kaufpreis "
    "kulanz ausnahm garantier genehmig bewillig veranlass unannehmlich wiedergutmach anwalt "
    "klag verklag gericht recht gesetz anspruch schaden rembours dedommag indemn argent montant "
    "avoir bon reduction remise geste exceptionnel offr gratuit livraison excuse gene prend "
    "valide approuv avocat justice tribunal loi juridi droit plainte poursui reembols devol "
    "devuel dinero importe cupon vale descuento abon acredit cortesia gesto excepcion regal "
    "molestia disculp gastos cargo cubri aprobad tramit garantiz abogad demand ley derecho "
    "judicial reclam denunci"
)
TRIGGER_STEMS = tuple(_STEMS.split())
TRIGGER_SIGNS = "$€£%"
