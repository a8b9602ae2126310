"""The cue tables behind ``brain.signals``: what customers write when they are angry, want a
person, are in a hurry, raise a sensitive matter or say support already failed them.

Each cue is a regular expression plus the short reason shown on the escalation card. They are
written for support conversations in general (any shop, airline, bank or software product), in
English, German, French and Spanish, and describe *kinds* of wording, not phrases from any one
data set. Order matters only for which reason is shown when several match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cue:
    pattern: re.Pattern[str]
    why: str


def _cue(why: str, alternatives: str) -> Cue:
    """``alternatives``: a verbose regular expression (spaces ignored, ``\\ `` is a space)."""
    return Cue(_compile(alternatives), why)


def _compile(alternatives: str) -> re.Pattern[str]:
    return re.compile(alternatives, re.IGNORECASE | re.VERBOSE)


# -- anger and frustration ------------------------------------------------------------------
ANGER: tuple[Cue, ...] = (
    _cue(
        "profanity",
        r"""
        \bf+u+c+k+\w* | \bf[\*\#@]+c?k\w* | \bf[\*\#@]{2,}\b | \bwtf+\b | \bffs\b | \bstfu\b |
        \bsh[i1\*]t+(?:ty|s)?\b | \bbullsh[i\*]t\b | \bcrap(?:py)?\b | \bdamn(?:ed|it)?\b |
        \bgoddamn\w* | \bpiss(?:ed|ing)?\b | \bbs\b | \basshole\w* | \bdickheads?\b |
        \bbastards?\b | \bbloody\b | \bsucks?\b | \bsh[i\*]thole\b | \bscheiß\w* |
        \bscheiss\w* | \bverdammt\w* | \bmerde\b | \bputain\b | \bbordel\b | \bfait\ chier\b |
        \bmierda\b | \bjoder\b | \bhostia\b | \bputa\w* | \bcoño\b | \bcabrones?\b
        """,
    ),
    _cue(
        "angry emoji",
        r"""
        [😠😡🤬👿💢🖕😤😒🙄🤮🤢👎]
        """,
    ),
    _cue(
        "a hashtag cursing the brand",
        r"""
        \#\w*(?:fail|sucks?|worst|never\w*|boycott|shame|scam|fraud|joke|disgrace|ripoff|
        rip_?off|useless|awful|terrible|hate|angry|furious|unacceptable|liars?|thieves|done|
        bye\w*|nomore|notagain|ridiculous|pathetic|disappointed|rant)\w*
        """,
    ),
    _cue(
        "accuses the company of lying or scamming",
        r"""
        \bliars?\b | \blying\b | \blied\b |
        (?<!is\ this\ a\ )(?<!is\ that\ a\ )(?<!is\ it\ a\ )\bscam\w* | \bfraudsters?\b |
        \bcrooks?\b | \bthie(?:f|ves|ving)\b | \brip(?:ped)?[\s-]?off\b | \bripoff\b |
        \bstole\b | \bstealing\b | \bcon\ artists?\b | \bdaylight\ robbery\b | \bbetr[üu]g\w* |
        \bl[üu]gner\w* | \babzocke\w* | \bescroc\w* | \barnaque\w* | \bmenteurs?\b |
        \bvoleurs?\b | \bestafa\w* | \bladrones?\b | \bmentiros\w* | \btimo\b
        """,
    ),
    _cue(
        "sarcasm that praises a failure",
        r"""
        \bthanks?\ (?:a\ lot\ )?for\ nothing\b |
        \bthanks\ for\ (?:the\ )?(?:nothing|(?:lack\ of|zero|no)\ help) | \b(?:great|fantastic|
        amazing|brilliant|awesome|excellent|stellar|wonderful|superb|top[-\ ]notch|
        fab(?:ulous)?|nice|lovely|impressive)\ (?:job|work|service|stuff|customer\ service|
        support)\b[^.!?]{0,60}\b(?:los[te]|losing|ruin|cancel|delay|late|broke|again|ignor|
        forgot|missed) | \b(?:love|loving|adore)\ (?:how|that|it\ when|
        being)\b[^.!?]{0,80}\b(?:never|not|no\b|again|still|los[te]|cancel|delay|wait|ignor|
        charg|broke|fail|miss) | \bthanks\ for\ (?:the|a|making|
        letting)\b[^.!?]{0,30}\b(?:wait|delay|late|cancel\w*|mess|nothing|rain|queue)\w*\b |
        \bso\ much\ for\b | \byeah\ right\b | \boh\ (?:great|wonderful|joy|perfect)\b |
        \bwhat\ a\ (?:joke|surprise|shocker)\b | \bwow\.?\ just\ wow\b | \b/s\b |
        \bcheers\ for\ nothing\b | \bthanks\ for\ wasting\b | \bshocker\b |
        \b(?:late|delayed|broken|wrong|useless|nothing|nobody|no\ one)\ as\ (?:usual|always)\b |
        \bwho\ could\ have\ guessed\b | \bmerci\ pour\ rien\b | \bdanke\ f[üu]r\ nichts\b |
        \bgracias\ por\ nada\b
        """,
    ),
    _cue(
        "says they are angry or fed up",
        r"""
        \b(?:furious|livid|fuming|outraged|enraged|seething|irate|infuriat\w*|pissed|angry|
        mad\ (?:at|about|as)|raging|fed\ up|sick\ (?:and\ tired\ )?of|had\ enough|
        done\ with\ (?:you|this)|beyond\ frustrat\w*|so\ frustrat\w*|extremely\ frustrat\w*|
        really\ frustrat\w*|frustrated|frustrating|annoyed|disgusted|appalled|unacceptable|
        disgraceful|disgrace|pathetic|ridiculous|absurd|joke\ of\ a|useless|incompetent\w*|
        worst|horrible|horrendous|atrocious|abysmal|appalling|shocking\ (?:service|support|
        company)|terrible|awful|never\ (?:again|buying|ordering|flying|using)|shame\ on\ you|
        how\ (?:dare|hard\ is\ it|difficult\ is\ it|is\ this\ (?:ok|okay|acceptable|legal))|
        what\ the\ hell|are\ you\ (?:kidding|serious|joking)|you\ people\ are|w[üu]tend|
        sauer\ (?:auf|über)|unversch[äa]mt\w*|frech\w*|inakzeptabel|entt[äa]uscht|genervt|
        schrecklich|furieu(?:x|se)|énervée?|enervee?|inadmissible|scandaleu(?:x|se)|honteu(?:x|
        se)|lamentable|nul(?:le)?\b|furios[oa]|enfadad[oa]|harto|harta|indignad[oa]|
        vergonzos[oa]|inaceptable|p[ée]sim[oa]|una\ verg[üu]enza)
        """,
    ),
    _cue(
        "threatens to leave",
        r"""
        \bnever\ (?:again|buying|ordering|flying|using|shopping|staying|booking|coming\ back|
        recommend\w*)\b | \b(?:won'?t|will\ not|not)\ (?:be\ )?(?:flying|ordering|buying|using|
        shopping|staying|booking|coming\ back|renewing)\b[^.!?]{0,30}\b(?:again|anymore|
        ever)\b | \bcancell?ing\ (?:today|now|my|the|everything|it\ all)\b |
        \bclosing\ my\ account\b | \b(?:lose|losing|lost)\ a\ (?:loyal\ )?customer\b |
        \btaking\ my\ (?:business|money)\ elsewhere\b |
        \bswitching\ to\ (?:a\ )?(?:competitor|another|someone)\b | \bnie\ wieder\b |
        \bplus\ jamais\b | \bnunca\ m[áa]s\b
        """,
    ),
    _cue(
        "indignant wording",
        r"""
        \b(?:laughable|disgusting|what\ a\ mess|i\ give\ up|how\ hard\ can\ it\ be|
        n'importe\ quoi|(?:qu[ée]|una)\ verg[üu]enza|template\ (?:reply|answer|response)|
        this\ is\ the\ last\ time|shambles|shameful|shameless|sneaky|unbelievable|unreal|
        a\ joke|nightmare|disaster|not\ (?:impressed|ok|okay|good\ enough|acceptable)|
        false\ advertising|(?:fix|sort)\ it\ (?:out|now)?|explain\ (?:that|this|yourselves)|
        one\ job|gone\ downhill|how\ you\ treat|what\ (?:is|'s)\ the\ point|
        why\ is\ it\ so\ (?:hard|difficult)|capable\ of|what\ exactly|seriously\b[?!]|
        disappoint\w*|unhappy|embarrass\w*|arse|rubbish|garbage|excuse\ for\ a|
        beyond\ (?:a\ )?joke|at\ all\.|every\ single\ time|every\ time\ i\ (?:order|call|fly|
        book|contact)|cool\ cool|good\ to\ know|why\ am\ i\ not\ surprised|of\ course\ (?:the|
        it|my|you)|funny\ how|never\ seen\ anything\ like|lmao)
        """,
    ),
    _cue(
        "emphasis: shouted words or full stops",
        r"""
        (?-i:\b(?:AGAIN|NEVER|STILL|NOTHING|NOBODY|YOUR|YOU|EVER|EVERY|NOT|WHY|STOP|THREE|FOUR|
        FIVE|TWICE|SERIOUSLY|WORST|HOURS|DAYS|WEEKS|MONTHS)\b) | \b\w+\.\ \w+\.\ \w+\. |
        [.!]\s*again[.!?]+\s*$ | \b(?:two|three|four|five|six|\d+)\.\ (?:hours|days|weeks)\.
        """,
    ),
)
PRAISE = _compile(
    r"""
    \b(?:great|brilliant|amazing|awesome|fantastic|lovely|wonderful|cool|perfect|superb|
    well\ done|bravo|impressive|cheers\ for\ that|thanks\ a\ lot|good\ job|nice\ one|
    love\ (?:paying|how|that|it\ when|being|getting|waiting))\b
    """
)
PROBLEM = _compile(
    r"""
    \b(?:again|still|never|nothing|nobody|late|delayed|cancel\w*|lost|broke\w*|crash\w*|
    charged|waiting|doesn'?t|isn'?t|didn'?t|won'?t|hours|days|weeks|toilet|bins|price\ up|
    made\ me|making\ me)\b
    """
)
FACTS = _compile(
    r"""
    \b(?:damaged?|broken|broke|crushed|cracked|scratch\w*|dented|wrong|mistake|accident\w*|
    missing|lost|late|delay\w*|cancel\w*|error|problem|issue|fault\w*|defective|stolen|
    emergency|pending|declined|refused|fail\w*|stuck|leak\w*|fraud\w*|scam\w*|cut\ off|
    unprotected|lock(?:ed)?|block(?:ed)?)\b
    """
)
# "?!" is indignation; "!!!" alone is emphasis
RANT_PUNCTUATION = _compile(
    r"""
    \?! | !\?
    """
)
EXCLAMATIONS = _compile(
    r"""
    (?:[!?]\s*){3,}
    """
)
NEGATIVE_WORDS = _compile(
    r"""
    \b(?:not|no|never|nothing|still|again|nobody|wrong|broken|late|lost|missing|cancel\w*|
    delay\w*|fail\w*|wait\w*|charged|refund|where|why|help)\b
    """
)
COURTESY = _compile(
    r"""
    \b(?:please|pls|plz|thank\ you(?:\ (?:so|very)\ much)?|thanks?|thx|ty|kindly|cheers|hi|
    hello|hey|dear|regards|best|appreciate(?:d)?|grateful|bitte|danke|merci|
    s'il\ vous\ pla[îi]t|svp|por\ favor|gracias)\b
    """
)


# -- wants a person -------------------------------------------------------------------------
HUMAN: tuple[Cue, ...] = (
    _cue(
        "asks to be called",
        r"""
        \b(?:call|ring|phone)\ (?:me|us)\b | \bgive\ (?:me|us)\ a\ (?:call|ring)\b |
        \bcall\ ?back\b | \bnumber\ (?:i|we)\ can\ call\b | \byour\ (?:tele)?phone\ number\b |
        \b(?:tele)?phone\ number\ (?:for|of)\ (?:support|customer\ service|you)\b |
        \b(?:can|could|will)\ (?:someone|somebody|anyone|you)\ (?:please\ )?call\b |
        \brufen\ sie\ mich\b | \bruft\ mich\b | \br[üu]ckruf\w* | \banrufen\b |
        \b(?:r?appelez|r?appelle[zr]?)[\s-]moi\b | \bme\ (?:r?appeler)\b |
        \bll[áa]m(?:en|ad)me\b | \bme\ (?:puede|pueden|podéis|podeis|podr[íi]an?)\ llamar\b |
        \bdevolver\ la\ llamada\b
        """,
    ),
    _cue(
        "asks to be contacted or messaged",
        r"""
        \b(?:contact|message|msg|dm|pm|inbox|reach\ out\ to|get\ in\ touch\ with|
        get\ back\ to)\ (?:me|us)\b | \b(?:email|e-mail|text|write\ to|reply\ to)\ (?:me|
        us)(?=\s*(?:[.!?,]|$|back\b|asap\b|please\b|pls\b|urgently\b|directly\b|personally\b|
        now\b)) | \bsend\ (?:me|us)\ a\ (?:dm|pm|message|direct\ message|private\ message)\b |
        \b(?:check|see|read)\ (?:your|ur|my)\ (?:dms?|inbox|pms?|messages?)\b |
        \bsent\ (?:you|u)\ a\ (?:dm|pm|message)\b | \bslide\ into\b |
        \bkontaktieren\ sie\ mich\b | \bmelden\ sie\ sich\b | \bschreiben\ sie\ mir\b |
        \b(?:contactez|[ée]crivez)[\s-]moi\b | \bme\ contacter\b |
        \b(?:cont[áa]ct(?:en|ad)me|escr[íi]b(?:an|id)me)\b | \bme\ contacten\b
        """,
    ),
    _cue(
        "asks to be put through to a person or a kind of staff",
        r"""
        \b(?:speak|talk|chat)\ (?:to|with)\ (?:human(?:\ being)?|(?:an?\ | some\ )?(?:real|
        actual)\ (?:person|people|human|agent)|(?:an?\ )?live\ (?:agent|person|chat|human)|
        (?:an?|the|your|some)\ (?:agent|rep|representative|operator|advisor|adviser|manager|
        supervisor|team\ ?lead(?:er)?|specialist|member\ of\ (?:staff|your\ team)|employee|
        person\ in\ charge|someone\ senior|senior\ (?:agent|staff|person)|person)\b|
        (?:customer\ )?(?:service|support|care)\ (?:agent|rep|representative|team|staff|desk)|
        someone\ (?:real|human|competent|senior|who\ (?:can|could)\ (?:actually\ )?help|
        from\ (?:your|the)\ (?:team|company|staff|office)|in\ charge)|somebody\ real|(?:a|an|
        the|your)\ (?:billing|tech(?:nical)?|claims?|complaints?|fraud|escalations?|retention|
        sales|refunds?)\ (?:team|department|dept|agent|person|specialist|desk)) | \b(?:put|
        transfer|connect|escalate|pass|forward|send|hand)\ (?:me|this|us|my\ (?:case|issue|
        complaint|call))\ (?:through\ | over\ | up\ )?(?:to|with)\ (?:human(?:\ being)?|
        (?:an?\ | some\ )?(?:real|actual)\ (?:person|people|human|agent)|
        (?:an?\ )?live\ (?:agent|person|chat|human)|(?:an?|the|your|some)\ (?:agent|rep|
        representative|operator|advisor|adviser|manager|supervisor|team\ ?lead(?:er)?|
        specialist|member\ of\ (?:staff|your\ team)|employee|person\ in\ charge|
        someone\ senior|senior\ (?:agent|staff|person)|person)\b|(?:customer\ )?(?:service|
        support|care)\ (?:agent|rep|representative|team|staff|desk)|someone\ (?:real|human|
        competent|senior|who\ (?:can|could)\ (?:actually\ )?help|from\ (?:your|the)\ (?:team|
        company|staff|office)|in\ charge)|somebody\ real|(?:a|an|the|your)\ (?:billing|
        tech(?:nical)?|claims?|complaints?|fraud|escalations?|retention|sales|
        refunds?)\ (?:team|department|dept|agent|person|specialist|desk)) | \b(?:want|need|
        get\ me|give\ me|let\ me\ have|request|demand|asking\ for|where\ is|
        is\ there)\ (?:human(?:\ being)?|(?:an?\ | some\ )?(?:real|actual)\ (?:person|people|
        human|agent)|(?:an?\ )?live\ (?:agent|person|chat|human)|(?:an?|the|your|
        some)\ (?:agent|rep|representative|operator|advisor|adviser|manager|supervisor|
        team\ ?lead(?:er)?|specialist|member\ of\ (?:staff|your\ team)|employee|
        person\ in\ charge|someone\ senior|senior\ (?:agent|staff|person)|person)\b|
        (?:customer\ )?(?:service|support|care)\ (?:agent|rep|representative|team|staff|desk)|
        someone\ (?:real|human|competent|senior|who\ (?:can|could)\ (?:actually\ )?help|
        from\ (?:your|the)\ (?:team|company|staff|office)|in\ charge)|somebody\ real|(?:a|an|
        the|your)\ (?:billing|tech(?:nical)?|claims?|complaints?|fraud|escalations?|retention|
        sales|refunds?)\ (?:team|department|dept|agent|person|specialist|desk)) |
        \b(?:human(?:\ being)?|(?:an?\ | some\ )?(?:real|actual)\ (?:person|people|human|
        agent)|(?:an?\ )?live\ (?:agent|person|chat|human)|(?:an?|the|your|some)\ (?:agent|rep|
        representative|operator|advisor|adviser|manager|supervisor|team\ ?lead(?:er)?|
        specialist|member\ of\ (?:staff|your\ team)|employee|person\ in\ charge|
        someone\ senior|senior\ (?:agent|staff|person)|person)\b|(?:customer\ )?(?:service|
        support|care)\ (?:agent|rep|representative|team|staff|desk)|someone\ (?:real|human|
        competent|senior|who\ (?:can|could)\ (?:actually\ )?help|from\ (?:your|the)\ (?:team|
        company|staff|office)|in\ charge)|somebody\ real|(?:a|an|the|your)\ (?:billing|
        tech(?:nical)?|claims?|complaints?|fraud|escalations?|retention|sales|
        refunds?)\ (?:team|department|dept|agent|person|specialist|desk))\ (?:please|pls|now|
        asap)\b | \bhuman(?:\ being)?\ please\b | \b(?:not|no\ more|
        stop\ sending\ me\ to)\ (?:a|the|your)\ (?:bot|robot|machine|automated)\b |
        \b(?:don'?t|do\ not)\ want\ (?:a|the|your|to\ talk\ to\ a)\ (?:bot|robot|machine)\b |
        \bagent\ please\b | \b(?:an?\ )?(?:real|actual|live)\ (?:human|person)\b |
        \b(?:speak|talk)\ (?:to|with)\ (?:someone|somebody|anyone)\b |
        \b(?:dm'?d|pm'?d|messaged|dmed)\ (?:you|u)\b | \bzur[üu]ckrufen\b |
        \bhablar\ con\ (?:una\ persona|alguien|un\ humano)\b |
        \b(?:prefer|rather\ have)\ a\ (?:phone\ )?call\b |
        \bwho\ (?:do|can|should)\ (?:i|we)\ (?:speak|talk)\ to\b |
        \breach\ (?:an?\ |the\ )?(?:actual\ |real\ |live\ )?(?:human|person|agent)\b |
        \b(?:manager|supervisor|someone|somebody)\ (?:get|be)\ in\ touch\b |
        \b(?:someone|somebody)\ (?:to\ )?reach\ out\b | \bmit\ (?:einem|
        einer)\ (?:mitarbeiter\w*|menschen|berater\w*|person|vorgesetzten|verantwortlichen|
        teamleiter\w*)\b | \bechten?\ (?:person|menschen)\b | \bmit\ jemandem\ sprechen\b |
        \bverbinden\ sie\ mich\b |
        \bun\ (?:humain|conseiller|responsable|agent|sup[ée]rieur)\b |
        \bune\ (?:vraie\ personne|conseill[eè]re|personne\ r[ée]elle)\b |
        \bparler\ [àa]\ quelqu'un\b | \bmettre\ en\ relation\b | \bpassez[\s-]moi\b |
        \bun\ (?:humano|agente|supervisor|responsable|encargado)\b |
        \buna\ persona\ (?:real|de\ verdad)\b | \bhablar\ con\ alguien\b |
        \bel\ (?:gerente|encargado)\b | \bp[áa]s(?:e|a|ad)me\ con\b
        """,
    ),
)
NO_HUMAN = _compile(
    r"""
    \b(?:driver|courier|delivery\ (?:guy|person|driver))\ (?:to\ )?call\ me\b |
    \b(?:said|promised)\ (?:he|she|they|you|someone)(?:'d|\ would)\ call\ (?:me\ )?back\b |
    \bno\ need\ (?:for|of|to\ (?:talk|speak|call|contact))\ (?:to\ | with\ )?(?:an?\ )?(?:human|
    agent|person|call|me)? | \b(?:don'?t|do\ not|never)\ (?:need|want)\ (?:an?\ | to\ (?:talk|
    speak)\ (?:to|with)\ (?:an?\ )?)(?:human|agent|person|call) |
    \b(?:please\ )?(?:don'?t|do\ not)\ (?:call|contact|email|message|ring)\ me\b |
    \bwithout\ (?:an?\ )?(?:human|agent)\b
    """
)


# -- urgency --------------------------------------------------------------------------------
URGENT: tuple[Cue, ...] = (
    _cue(
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
    _cue(
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
    _cue(
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
    _cue(
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
    _cue(
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
    _cue(
        "says it is urgent",
        r"""
        \burgent(?:ly)?\b | \bemergency\b | \basap\b | \ba\.s\.a\.p\b | \bdringend\b |
        \bnotfall\b | \burgence\b | \burgente\b
        """,
    ),
)
SOON = _cue(
    "a near date",
    r"""
    \b(?:today|tonight|tomorrow|deadline|as\ soon\ as\ possible|quickly|by\ (?:mon|tues|wednes|
    thurs|fri|satur|sun)day|before\ (?:mon|tues|wednes|thurs|fri|satur|sun)day|heute|morgen|
    aujourd'hui|demain|hoy|ma[ñn]ana)\b | \bimmediately\b | \bright\ (?:now|away)\b |
    \bsofort\b | \bimm[ée]diatement\b | \btout\ de\ suite\b | \binmediatamente\b |
    \bahora\ mismo\b
    """,
)


# -- sensitive: always a person, whatever the playbook says ----------------------------------
SENSITIVE: tuple[Cue, ...] = (
    _cue(
        "fraud or an unauthorised charge",
        r"""
        \bfraud\w* | \bunauthori[sz]ed\b | \bnot\ authori[sz]ed\b | \b(?:didn'?t|did\ not|
        never)\ (?:make|authori[sz]e|approve)\ (?:this|these|that|those|any|the)\ (?:charges?|
        payments?|purchases?|transactions?|debits?)\b | \b(?:charges?|payments?|transactions?|
        purchases?|orders?|debits?)\b[^.!?]{0,30}?\b(?:i|we)\ (?:don'?t|do\ not|didn'?t|
        did\ not|never)\ (?:recogni[sz]e|make|made|authori[sz]e|place|order) |
        \bstolen\ (?:card|identity|account|details)\b |
        \b(?:card|wallet|phone|identity)\ (?:was\ |has\ been\ |got\ )?stolen\b |
        \bidentity\ theft\b |
        \b(?:account|card)\ (?:was\ |has\ been\ |got\ )?(?:hacked|compromised|taken\ over)\b |
        \b(?:someone|somebody|a\ stranger)\ (?:else\ )?(?:has\ | had\ )?(?:used|hacked|
        accessed|took\ over|bought|ordered|booked|logged\ into)\ (?:my|things|stuff|with)\b |
        \bphishing\b |
        \b(?:logins?|log-?ins?|sign[\s-]?ins?|access)\ (?:to|on|into)\ my\ account\ from\b |
        \b(?:never|didn'?t|did\ not)\ authori[sz]e\w*\b | \bnever\ signed\ up\ for\b |
        \bbetrug\b | \bnicht\ autorisiert\w* | \bfraude\b | \bnon\ autoris[ée]e?s?\b |
        \bno\ autorizad[oa]s?\b | \bsuplantaci[óo]n\b
        """,
    ),
    _cue(
        "a chargeback or payment dispute",
        r"""
        \bcharge\ ?backs?\b | \bdisput(?:e|ed|ing)\ (?:the|this|a|my|it|that)\b |
        \b(?:reverse|cancel)\ the\ (?:charge|payment|transaction)\b |
        \bpaypal\ (?:claim|dispute|case)\b | \brückbuchung\b | \brücklastschrift\b |
        \bcontestation\b | \brejet\ de\ pr[ée]l[èe]vement\b | \bcontracargo\b |
        \bretrocesi[óo]n\b
        """,
    ),
    _cue(
        "a legal threat",
        r"""
        \blawyers?\b | \battorneys?\b | \bsolicitors?\b | \blegal\ action\b | \blaw\ ?suit\b |
        \bsu(?:e|ing)\ (?:you|them|your|the)\b | \bsmall\ claims\b | \bcourt\b | \bombudsman\b |
        \btrading\ standards\b | \bconsumer\ (?:protection|rights|council|agency|affairs)\b |
        \breport(?:ing|ed)?\ (?:you|this|it)\ to\ (?:the\ )?(?:bbb|ftc|fcc|cma|authorities|
        police|regulator|ofcom|ofgem)\b | \b(?:bbb|ftc|fcc|caa|ofcom)\ complaint\b |
        \bclass\ action\b | \bbreach\ of\ contract\b | \banwalt\w* | \brechtliche\ schritte\b |
        \bverbraucherzentrale\b | \bgericht\b | \bavocat\w* | \btribunal\b | \bplainte\b |
        \bmise\ en\ demeure\b | \babogad[oa]s?\b | \bdenuncia\w* | \bdemanda(?:r|ros|ré)\b |
        \breclamaci[óo]n\ formal\b | \bante\ consumo\b
        """,
    ),
    _cue(
        "a privacy or personal-data request",
        r"""
        \bgdpr\b | \bdsgvo\b | \brgpd\b | \bsubject\ access\b | \bdsar\b |
        \bdata\ protection\b | \bdata\ (?:breach|leak)\b | \bright\ to\ be\ forgotten\b |
        \b(?:my|our)\ (?:personal\ )?(?:data|information|details)\ (?:was|were|has\ been|
        have\ been|got)\ (?:leaked|exposed|shared|sold|stolen)\b | \b(?:delete|erase|
        remove)\ (?:all\ )?(?:of\ )?my\ (?:personal\ )?(?:data|information)\b | \b(?:what|
        all\ the|copy\ of\ (?:the|my|all))\ (?:personal\ )?data\ (?:you|do\ you)\ (?:hold|have|
        store|keep)\b | \bpersonal\ data\b | \b(?:information|data|
        details)\ (?:you\ )?(?:store|hold|keep|have|collect)\ (?:on|about)\ (?:me|us)\b |
        \bwho\ you\ share\ (?:it|my\ \w+)\ with\b | \b(?:stranger|someone|somebody)\ (?:get|
        got|has|have)\ my\ (?:email|phone|address|details|number|data|information)\b |
        \bdatenschutz\w* | \bmeine\ daten\b | \bdonn[ée]es\ personnelles\b |
        \bdatos\ personales\b | \bprotecci[óo]n\ de\ datos\b
        """,
    ),
)


# -- support failed before ------------------------------------------------------------------
FAILED_BEFORE = _cue(
    "support already failed before",
    r"""
    \b(?:contacted|called|emailed|e-mailed|messaged|written\ to|wrote\ to|asked|chatted\ with|
    rang|tweeted|dm'?d|reached\ out\ to|spoke\ to|spoken\ to|told)\ (?:you|u|your\ \w+|them|
    support|customer\ service)?\ ?(?:\d+|two|three|four|five|six|seven|eight|nine|ten|several|
    many|multiple|numerous|countless|a\ dozen|a\ few|so\ many)\ times\b | \b(?:second|2nd|
    third|3rd|fourth|4th|fifth|5th|\d+th|umpteenth|nth)\ time\ (?:i'?ve|i\ have|i'?m|i\ am|
    we'?ve|we\ have|that|this\ (?:has|happened|week|month)|asking|contacting|writing|calling|
    messaging|reaching|trying|chasing|something|you|my|our)\b | \b(?:second|2nd|third|3rd|
    fourth|4th|fifth|5th|\d+th|umpteenth)\ (?:email|message|call|complaint|request|attempt|
    chat|letter)\b | \bstill\ (?:not|isn'?t|hasn'?t|haven'?t|wasn'?t)\ (?:been\ )?(?:fixed|
    resolved|sorted|refunded|solved|repaired)\b |
    \b(?:\w+)\ different\ (?:agents|people|answers|advisors|advisers|departments|staff)\b |
    \b(?:hours?|\d+\ (?:mins?|minutes))\ on\ hold\b |
    \bon\ hold\ (?:for\ )?(?:another\ )?(?:an?\ |\d+\ )?(?:hours?|mins?|minutes)\b |
    \bignor(?:e|es|ed|ing)\ (?:my\ | our\ )?(?:dms?|messages?|emails?|calls?|tweets?|
    complaints?)\b | \b(?:was|were|been)\ told\ (?:it|this|that)\ would\b | \b(?:this|it|
    that)\ is\ the\ (?:second|third|fourth|fifth|\d+(?:nd|rd|th)|umpteenth)\ time\b |
    \bfor\ the\ (?:second|third|fourth|fifth|\d+(?:nd|rd|th))\b | \b(?:no\ ?(?:one|body)|
    none\ of\ you)\ (?:has\ | have\ | ever\ )?(?:replied|responded|answered|got\ back|
    gets\ back|called|contacted|helped|bothered|picks?\ up|reads?)\b | \b(?:no|zero|still\ no|
    never\ got\ a|never\ had\ a|never\ received\ a|without\ a)\ (?:reply|response|answer|
    call\ ?back|feedback)\b | \bstill\ (?:waiting|no)\ (?:for\ )?(?:a\ | an\ | any\ |
    your\ )?(?:reply|response|answer|call\ ?back)\b | \b(?:ignored|ignoring)\ (?:me|us|my)\b |
    \bbeen\ ignored\b | \b(?:passed|bounced|transferred|shuffled)\ (?:around|from\ (?:one|
    agent|department|person|pillar)|between\ (?:departments|agents|teams|people))\b |
    \bstill\ nothing\b | \b(?:sent|written|left)\ (?:you\ )?(?:\d+|two|three|four|five|several|
    many|multiple)\ (?:messages|emails|mails|letters|complaints|voicemails)\b |
    \b(?:appel[ée]|[ée]crit|contact[ée])\ (?:deux|trois|quatre|cinq|plusieurs)\ fois\b |
    \bpersonne\ ne\ (?:me\ )?(?:r[ée]pond|rappelle)\b | \b(?:said|promised)\ (?:he|she|they|
    you|someone)(?:'d|\ would)\ (?:call|ring|get\ back|email|reply)\b | \bagain\ and\ again\b |
    \bover\ and\ over\b | \byet\ again\b | \b(?:promised|said\ (?:you|they)\ would|
    supposed\ to)\ (?:me\ )?(?:a\ | to\ )?(?:call|callback|refund|reply|respond|fix|get\ back|
    email|send) | \bnever\ (?:called|got\ back|replied|responded)\b | \b(?:already|
    previously)\ (?:contacted|reported|told\ you|asked\ you|explained|called|emailed|
    complained|raised)\b | \b(?:ticket|case|complaint)\ (?:number|no\.?|\#|id)\b |
    \b(?:weeks?|months?|days)\ (?:of|and)\ (?:emails|calls|chasing|waiting|back\ and\ forth) |
    \bchas(?:ed|ing)\ (?:you|this|it|up|for|my|a|the)\b |
    \bsame\ (?:answer|reply|response|copy[\s-]?paste|script)\b |
    \bcopy[\s-]?paste(?:d)?\ (?:answer|reply|response)s?\b | \bnobody\ (?:cares|helps)\b |
    \bschon\ (?:mehrmals|wieder|zum\ \w+\ mal)\b | \bkeine\ antwort\b |
    \bd[ée]j[àa]\ (?:contact[ée]|appel[ée]|[ée]crit)\b |
    \b(?:contact[ée]|appel[ée]|[ée]crit|relanc[ée])\ plusieurs\ fois\b | \bsans\ r[ée]ponse\b |
    \baucune\ r[ée]ponse\b |
    \b(?:llamado|escrito|contactado|reclamado)\ (?:ya\ )?varias\ veces\b | \bsin\ respuesta\b |
    \bnadie\ (?:me\ )?(?:responde|contesta|ayuda)\b
    """,
)
