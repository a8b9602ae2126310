"""Urgency that cannot wait: safety, travel disrupted right now, money out of reach, a service
down, a deadline within hours; and near dates that only raise the urgency."""

from __future__ import annotations

from brain.cues.base import Cue, cue, together

URGENT: tuple[Cue, ...] = (
    cue(
        "safety: injury, fire, smoke or shock",
        r"""
        \b(?:started\ smoking|melt(?:ed|ing)|smell(?:s|ing)?\ (?:of\ )?(?:gas|burning|smoke)|
        brakes?\ (?:failed|gone|don'?t\ work|not\ working)|steering\ (?:failed|locked)|
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
        "a home emergency: flooding or water near electrics",
        r"""
        \bflood(?:ed|ing)\b | \bwater\ (?:is\ )?(?:coming|dripping|pouring|leaking|pissing|
        gushing|running)\ (?:in\ |out\ )?(?:through|from|out\ of|into|down)\b |
        \bburst\ (?:pipe|water\ main)\b | \bleaking\ (?:pipe|boiler|ceiling|roof)\b |
        \bceiling\ (?:is\ )?(?:leaking|collaps\w*|caving)\b | \b[üu]berschwemm\w* |
        \binond[ée]\w* | \binundad[oa]\b
        """,
    ),
    together(
        "safety: a food allergy or contamination",
        r"""
        \ballerg(?:y|ies|ic)\b | \banaphyla\w* | \bcoeliac\b | \bceliac\b |
        \b(?:found|was|there'?s|there\ is|piece\ of|bits?\ of)\ (?:an?\ )?(?:glass|plastic|metal|
        wire|bone|hair|insects?|bugs?|maggots?|mould|mold|rat|mouse|cockroach)\b[^.!?]{0,25}
        \b(?:in|inside)\b
        """,
        r"""
        \b(?:food|meal|burger|pizza|sandwich|salad|chicken|drink|order|delivery|cookies?|
        biscuits?|bread|cake|chocolate|snack|box|pack|label\w*|ingredients?|peanuts?|nuts?|
        gluten|dairy|eat\w*|ate)\b
        """,
    ),
    together(
        "a vulnerable person left without something they need",
        r"""
        \b(?:elderly|disabled|disability|vulnerable|pregnant|newborn|new\ ?born|baby|infant|
        toddler|wheelchair|mobility|medical|medication|medicine|prescription|insulin|oxygen|
        dialysis|ventilator|life\ support|carer|care\ home|alarm\ pendant|diabetic|epileptic|
        asthma\w*|
        (?:\d{2}|eighty|ninety)[-\ ]year[-\ ]old|
        blind|deaf|chemo\w*|hospice)\b
        """,
        r"""
        \b(?:no\ (?:heating|heat|hot\ water|water|power|electricity|gas|food|phone|way)|
        without\ (?:heating|heat|water|power|electricity|gas|food|a\ phone|medication)|
        (?:can'?t|cannot|unable\ to)\ (?:cope|move|get|leave|eat|pay|breathe|walk|use)|
        run(?:ning)?\ out|ran\ out|cut\ off|disconnected|(?:hasn'?t|has\ not|wasn'?t|
        haven'?t|not)\ (?:been\ )?(?:delivered|arrived|come|turned\ up|showed\ up)|lost|
        didn'?t\ (?:come|arrive|turn\ up)|never\ (?:came|arrived)|(?:i'?m|we'?re)\ out|
        power'?s\ out|power\ is\ out|
        stuck|stranded|left\ (?:behind|outside|alone|in)|(?:\w+|one|two|1|2)\ (?:tablets?|
        pills?|doses?|days?)\ left|last\ (?:tablet|pill|dose)|refused|relies\ on|depends\ on|
        need\ to\ eat)\b
        """,
    ),
    together(
        "travel disrupted right now",
        r"""
        \b(?:flights?|plane|train|bus|coach|ferry|cruise|hotel|host|hostel|booking|
        reservation|room|check[-\ ]?in|boarding|gate|airport|station|platform|connection|
        taxi|car\ hire|rental|hire\ car|luggage|suitcase|bags?|airbnb|apartment|villa)\b
        """,
        r"""
        \b(?:cancel\w*|terminat\w*|offloaded|bumped|oversold|overbooked|kicked\ (?:us|me|
        everyone|everybody)\ off|no\ replacement|no\ record|doesn'?t\ exist|did\ not\ exist|
        given\ away|locked\ out|won'?t\ let\ (?:me|us)|broke(?:n)?\ down|no\ show|closed|
        no\ (?:booking|reservation)|didn'?t\ (?:turn|
        show)\ up|never\ (?:turned|showed)\ up|left\ without\ (?:us|me)|missed|lost|
        didn'?t\ arrive|not\ arrived|hasn'?t\ arrived|delayed|stuck|sat\ on\ the|
        sitting\ on\ the|tarmac|no\ (?:updates|information|info|announcements?))\b
        """,
        r"""
        \b(?:(?:i'?m|we'?re|i\ am|we\ are)\ (?:now\ |currently\ |still\ )?(?:at|in|on|outside|
        stood|standing|sitting|waiting|stuck)|stood\ outside|right\ now|tonight|(?-i:NOW)|
        just\ (?:landed|arrived)|
        for\ (?:\d+|two|three|four|five|six)\ (?:hours?|hrs)|it'?s\ \d{1,2}(?::\d\d)?\ ?(?:am|pm)?|
        with\ (?:our|my|the|two|three|\d)\ (?:bags|kids|children|luggage|family|baby|
        suitcases)|(?:leaves|leaving|departs|departing|starts|sails|closes)\ (?:in|at|today|
        tonight|tomorrow)|in\ (?:\d+|an?|one|two|three)\ (?:hours?|hrs?|minutes?|mins?))\b
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
        \bvol\ (?:est\ |a\ [ée]t[ée]\ )?annul[ée]\b | \bvuelo\ cancelado\b | \bgestrandet\b |
        \bcoinc[ée]e?s?\ (?:[àa]|au|en|dans)\b | \bvarad[oa]s?\b | \btirad[oa]s?\ en\b
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
        \boverdrawn\b | \bwith\ no\ (?:money|cash|way\ to\ pay)\b |
        \bcan'?t\ (?:buy|afford)\ (?:any\ )?(?:food|groceries|petrol|fuel|formula|nappies|diapers|
        medicine)\b | \b(?:someone|somebody)\ (?:is\ |keeps\ )?(?:taking|stealing|withdrawing|
        spending)\ (?:money|funds)\b |
        \b(?:money|funds|savings|cash)\ (?:has\ | have\ )?(?:disappeared|
        vanished|gone|missing)\b | \b(?:payment|transfer|rent)\ (?:has\ )?bounced\b |
        \bno\ other\ way\ to\ pay\b | \b(?:kick|throw)\ (?:us|me)\ out\b | \bevict\w* |
        \bkonto\ (?:ist\ )?gesperrt\b | \bcompte\ bloqu[ée]\b | \bcuenta\ bloqueada\b
        """,
    ),
    cue(
        "a service is down right now",
        r"""
        \b(?:sites?|website|apps?|services?|systems?|servers?|internet|wi-?fi|network|production|
        prod|api|database|dashboard|login|
        connection|platform|portal|checkout|payments?|everything|power|phone\ line|signal|
        broadband|tv|email)\ (?:is\ | are\ | has\ been\ | keeps\ going\ | went\ |
        goes\ )?(?:down|offline)\b | \boutages?\b | \bkein(?:en)?\ (?:strom|internet|netz)\b |
        \bplus\ d'?\ ?(?:[ée]lectricit[ée]|internet|r[ée]seau)\b |
        \bsin\ (?:luz|electricidad)\b |
        \b(?:no|without)\ (?:food|heating|heat|hot\ water|running\ water|water|electricity|gas)\b |
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
        "money held or out of reach",
        r"""
        (?<!\bi\ )(?<!\bwant\ to\ )(?<!\bhow\ to\ )\b(?:hold|holding|held|withh[eo]ld\w*|
        freez\w*|froze|frozen|lock\w*|block\w*|keeping|kept|sitting\ on)\ (?:on\ to\ )?(?:my|our)
        \ (?:funds|money|payout|payouts|salary|wages|savings|balance|pension|deposit|cash|
        account|card)\b |
        \baccount\ (?:is\ |has\ been\ |was\ )?(?:under\ review|restricted|on\ hold|limited)\b |
        \b(?:can'?t|cannot|unable\ to)\ (?:move|withdraw|transfer|send|spend|access)\ (?:any\ )?
        (?:anything|money|a\ penny|a\ cent|funds)\b | \bcard\ (?:got\ |was\ |keeps\ (?:getting\ |
        being\ )?|is\ (?:being\ )?)?(?:declined|refused|rejected)\b[^.!?]{0,40}\b(?:at|in|
        buying|paying|pay\ for|for\ (?:food|petrol|gas|groceries|shopping))\b |
        \bbalance\ (?:shows|says|is|at)\ (?:£|\$|€)?0(?:\.00)?\b |
        \b(?:at|in)\ the\ (?:till|checkout|pump|counter|register)\b[^.!?]{0,40}\bdeclin\w* |
        \b(?:need|have)\ to\ pay\ (?:for\ )?(?:petrol|gas|fuel|food|groceries|rent|bills?|
        the\ (?:taxi|hotel|rent))\b
        """,
    ),
    cue(
        "threatened with debt collection, eviction or a cut-off",
        r"""
        \bdebt\ collect\w* | \bbailiffs?\b | \brepossess\w* | \b(?:going\ to|will|threaten\w*
        (?:\ to)?)\ (?:cut\ (?:me|us|it)\ off|disconnect)\b | \b(?:cut\ off|disconnected)\ for
        \ (?:a|non-?payment|not\ paying)\b | \bfinal\ (?:demand|notice)\b | \binkasso\w* |
        \bhuissier\w* | \bcobrador\w*
        """,
    ),
    together(
        "a service is down right now",
        r"""
        \b(?:whole|entire|all\ (?:of\ )?(?:the|our|my))\ (?:street|road|village|town|city|area|
        postcode|building|estate|block|office|house|neighbou?rhood|region|country)\b |
        \b(?:every|any|all)\ (?:device|devices|show|channel|page|account|customers?)\b |
        \b(?:anyone|anybody|everyone)\ else\b | \bservers?\b |
        \b(?:\d+(?:st|nd|rd|th)|another|third|second)\ outage\b
        """,
        r"""
        \b(?:down|offline|out|not\ working|isn'?t\ working|stopped\ working|won'?t\ (?:load|work|
        connect|submit)|no\ (?:signal|service|internet|power|water|broadband|connection)|lost
        \ (?:signal|power|service|internet|broadband)|black\ screen|keeps\ (?:giving|crashing|
        failing|dropping)|can'?t\ (?:log\ ?in|connect|access|load)|outage|error)\b
        """,
    ),
    together(
        "a deadline within hours",
        r"""
        \b(?:sale|offer|deadline|match|game|kick[-\ ]?off|event|show|gig|concert|flight|train|
        wedding|funeral|surgery|operation|interview|exam|party|appointment|meeting|
        presentation|ceremony|thesis|essay|assignment|submission|application|visa|tax\ return|
        closing|completion|move|moving|court\ date|hearing|trip|holiday|cruise|birthday)\b
        """,
        r"""
        \b(?:today|tonight|this\ (?:morning|afternoon|evening)|midnight|(?:in|within)\ (?:\d+|an?|
        one|two|three|a\ few|few)\ (?:hours?|hrs?|minutes?|mins?)|(?:at|by|before)\ \d{1,2}
        (?::\d\d)?\ ?(?:am|pm)?(?:\ today|\ tonight)?|tomorrow(?:\ morning)?|
        (?:mon|tues|wednes|thurs|fri|satur|sun)day'?s)\b
        """,
        r"""
        \b(?:won'?t|can'?t|cannot|hasn'?t|haven'?t|isn'?t|didn'?t|not|never|no|still|wrong|
        missing|lost|broken|error|fail\w*|crash\w*|declin\w*|gone|deleted|cancel\w*|late|
        delayed|stuck|locked)\b
        """,
    ),
    cue(
        "safety: a hazard or an intruder",
        r"""
        \b(?:exposed|live|bare|loose|hanging)\ (?:wires?|wiring|cables?)\b | \bwires?\ (?:are\ |
        left\ )?(?:hanging|sticking|exposed)\b | \b(?:stranger|someone|somebody|a\ man|a\ woman)
        \ (?:let\ )?(?:in|into)\ (?:our|my|the)\ (?:room|house|home|flat|apartment)\b |
        \blet\ (?:a\ stranger|someone|somebody)\ in(?:to)?\b | \bbroke\ in(?:to)?\b |
        \b(?:trying|tried)\ to\ (?:get|break)\ in(?:to)?\ (?:my|our|the)\b |
        \bbreak[-\ ]in\b | \b(?:assaulted|harass(?:ed|ing)|threatened\ (?:me|us|my)|attacked)\b |
        \b(?:went\ flying|fell\ (?:off|down|over)|knocked\ (?:me|him|her)\ (?:down|over))\b
        """,
    ),
    cue(
        "something they will lose if it waits",
        r"""
        \b(?:going\ to|gonna|will|i'?ll|we'?ll|might|could|about\ to)\ (?:miss|lose)\ (?:my|
        our|the)\ (?:job|flight|train|connection|bus|ferry|wedding|funeral|interview|exam|
        appointment|surgery|operation|shift|deadline|visa|booking|house|home|place)\b |
        \b(?:i'?ll|i\ will|i\ could|i\ might|going\ to)\ (?:lose|be\ fired|get\ fired|
        get\ sacked)\b |
        \b(?:need|needs|needed)\ (?:it|this|one|the\ \w+|a\ \w+|my\ \w+)\ (?:for|by)\ (?:work|
        tonight|today|tomorrow(?:\ morning)?|first\ thing|the\ morning)\b |
        \bon\ call\ (?:tonight|today|this\ (?:week|weekend))\b | \b(?:can'?t|cannot)\ (?:work|
        get\ to\ work|do\ my\ job)\b | \b(?:losing|lose|lost)\ (?:work|customers|business|
        money|income|sales)\b[^.!?]{0,30}\b(?:every|each|per|today|day|hour)\b
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
