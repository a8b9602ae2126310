"""Urgency that cannot wait: safety, travel disrupted right now, money out of reach, a service
down, a deadline within hours; and near dates that only raise the urgency."""

from __future__ import annotations

from brain.cues.base import Cue, cue

URGENT: tuple[Cue, ...] = (
    cue(
        "safety: injury, fire, smoke or shock",
        r"""
        \b(?:started\ smoking|melt(?:ed|ing)|smell(?:s|ing)?\ of\ (?:gas|burning|smoke)|
        glass\ in\ (?:my|the|our)|food\ poisoning|(?:being|been|got|was)\ (?:sick|ill|
        poisoned)|raw\ (?:chicken|meat|pork)|feeling\ unwell|fainted|can'?t\ breathe|
        caught\ fire|on\ fire|burst\ into\ flames|smoke\ (?:came|coming|pouring|from)|
        sparks?\ (?:came|coming|flying|from)|sparking|burn(?:ed|t)\ (?:me|my|him|her|us|our|
        a\ hole|the\ house)|electric(?:al)?\ shock|shocked\ me|explod(?:ed|ing)|explosion|
        overheat(?:ed|ing|s)|gas\ leak|leak(?:ing|s)?\ gas|seriously\ ill|contaminated|
        made\ (?:me|us|my\ \w+)\ (?:ill|sick)|carbon\ monoxide|injur(?:ed|y|ies)|hurt\ (?:me|
        my|him|her|us)|bleeding|choking|allergic\ reaction|unsafe|dangerous|in\ flammen|
        stromschlag|verletzt|verbrannt|incendie|br[ûu]l[ée]e?\ (?:la|le|ma|mon)|bless[ée]e?|
        dangereu(?:x|se)|se\ incendi[óo]|quemad[oa]|herid[oa]|peligros[oa])
        """,
    ),
    cue(
        "travel disrupted right now",
        r"""
        \bstranded\b | \bstuck\ (?:at|in|on)\ (?:the\ )?(?:\w+\ )?(?:airport|station|depot|
        stop|motorway|roadside|gate|terminal|border|hotel) |
        \bmiss(?:ed|ing)\ (?:my|our|the)\ (?:flight|connection|train|connecting) | \b(?:flight|
        train|connection)\ (?:is\ | was\ | got\ | has\ been\ )?(?:cancel+ed|delayed|
        overbooked)\b | \b(?:flight|train|boarding|check-?in)\ (?:is\ | leaves\ | departs\ |
        closes\ | starts\ )?(?:in|at)\ (?:\d|an?\ | one|two|a\ few) | \b(?:i'?m|we'?re|i\ am|
        we\ are|currently|sitting|waiting|stuck|standing)\ at\ the\ (?:airport|gate)\b |
        \bdenied\ boarding\b | \bno\ (?:hotel|room)\ for\ tonight\b |
        \bflug\ (?:wurde\ |ist\ )?(?:gestrichen|annulliert)\b |
        \bnowhere\ to\ (?:sleep|stay)\b | \bbloqu[ée]e?s?\ [àa]\ l'a[ée]roport\b |
        \batrapad[oa]s?\ en\ el\ aeropuerto\b | \bvuelo\ (?:ha\ sido\ |fue\ )?cancelado\b |
        \bvol\ (?:est\ |a\ [ée]t[ée]\ )?annul[ée]\b | \bvuelo\ cancelado\b
        """,
    ),
    cue(
        "cannot reach their money",
        r"""
        \b(?:can'?t|cannot|unable\ to|not\ able\ to)\ (?:access|get\ to|reach|withdraw|use|
        touch|move|get)\ (?:my|our|any)\ (?:money|funds|cash|savings|salary|wages|(?:bank|
        savings|checking|current)\ account) | \b(?:card|funds|money|wallet|(?:bank|savings|
        checking|current)\ account)(?:'s)?\ (?:is\ | are\ | has\ been\ | have\ been\ |
        got\ )?(?:frozen|locked|blocked|suspended|on\ hold|restricted)\b |
        \baccount\ (?:is\ |has\ been\ |got\ )?(?:frozen|suspended)\b |
        \b(?:no|without)\ (?:money|cash)\ (?:for|to|left)\b | \b(?:rent|mortgage|bills?|
        payroll|salary|wages)\b[^.!?]{0,40}\b(?:due|bounce|can'?t\ pay|missed|late)\b |
        \boverdrawn\b | \b(?:money|funds|savings|cash)\ (?:has\ | have\ )?(?:disappeared|
        vanished|gone|missing)\b | \b(?:payment|transfer|rent)\ (?:has\ )?bounced\b |
        \bno\ other\ way\ to\ pay\b | \b(?:kick|throw)\ (?:us|me)\ out\b | \bevict\w* |
        \bkonto\ (?:ist\ )?gesperrt\b | \bcompte\ bloqu[ée]\b | \bcuenta\ bloqueada\b
        """,
    ),
    cue(
        "a service is down right now",
        r"""
        \b(?:sites?|website|apps?|services?|systems?|servers?|internet|wi-?fi|network|
        connection|platform|portal|checkout|payments?|everything|power|phone\ line|signal|
        broadband|tv|email)\ (?:is\ | are\ | has\ been\ | keeps\ going\ | went\ |
        goes\ )?(?:down|offline)\b | \boutages?\b | \bkein(?:en)?\ (?:strom|internet|netz)\b |
        \bplus\ d'?\ ?(?:[ée]lectricit[ée]|internet|r[ée]seau)\b |
        \bsin\ (?:luz|electricidad)\b |
        \b(?:no|without)\ (?:food|heating|heat|hot\ water|running\ water|electricity|gas)\b |
        \b(?:power|internet|wi-?fi|broadband|service|signal|network)\ (?:is\ | has\ been\ |
        went\ )?out\b(?!\ of\b) | \b(?:no|lost)\ (?:internet|service|signal|power|connection|
        wifi|wi-fi|network|broadband)\b | \bdown\ (?:again|for\ (?:hours|days|\d+))\b |
        \bst[öo]rung\b | \bpanne\b | \bca[íi]da\ del\ servicio\b |
        \bsin\ (?:servicio|internet|conexi[óo]n)\b
        """,
    ),
    cue(
        "a deadline within hours",
        r"""
        \b(?:in|within|next)\ \d+\ (?:minutes?|mins?)\b | \b(?:in|within|next)\ (?:[1-9]|
        1[0-2]|an?|one|two|three|few|couple(?:\ of)?)\ (?:hours?|hrs?|minutes?|mins?)\b |
        \bby\ (?:tonight|this\ (?:evening|afternoon|morning)|end\ of\ (?:the\ )?day|eod|noon|
        midnight|\d{1,2}(?::\d\d)?\ ?(?:am|pm))\b | \bwithin\ the\ hour\b | \b(?:wedding|
        funeral|surgery|interview|exam|event|party|appointment|meeting|presentation|
        ceremony)\ (?:is\ | starts\ )?(?:on\ )?(?:today|tonight|tomorrow|(?:mon|tues|wednes|
        thurs|fri|satur|sun)day)\b | \bheute\ (?:noch|abend)\b | \bce\ soir\b | \besta\ noche\b
        """,
    ),
    cue(
        "says it is urgent",
        r"""
        \burgent(?:ly)?\b | \bemergency\b | \basap\b | \ba\.s\.a\.p\b | \bdringend\b |
        \bnotfall\b | \burgence\b | \burgente\b
        """,
    ),
)
SOON = cue(
    "a near date",
    r"""
    \b(?:today|tonight|tomorrow|deadline|as\ soon\ as\ possible|quickly|by\ (?:mon|tues|wednes|
    thurs|fri|satur|sun)day|before\ (?:mon|tues|wednes|thurs|fri|satur|sun)day|heute|morgen|
    aujourd'hui|demain|hoy|ma[ñn]ana)\b | \bimmediately\b | \bright\ (?:now|away)\b |
    \bsofort\b | \bimm[ée]diatement\b | \btout\ de\ suite\b | \binmediatamente\b |
    \bahora\ mismo\b
    """,
)
