"""More anger cues (issue 14, fourth round), read after the table of ``brain.cues.anger``:
switching to a competitor or walking out ("I'm done."), scolding the company ("what is wrong
with you people", "do your job", "zero stars"), demanding the money back, and negated
satisfaction ("not amused", "dissatisfied"). Each is a kind of wording, not a phrase from a
data set; the reason shown names the kind."""

from __future__ import annotations

from brain.cues import gate
from brain.cues.base import Cue, cue


def _words(alternatives: str) -> tuple[str, ...]:
    return tuple(alternatives.split("|"))


# Each cue with the lower-case words one of which any match contains: the cue's regular
# expression runs only when one is in the message (a substring test costs far less than a scan,
# and most messages have none of them).
_GATED: tuple[tuple[tuple[str, ...], Cue], ...] = (
    (
        _words("fkn|fckn|fkin|fckin|fcking|effin|frickin|frikin|freckin|piece of| pos"),
        cue(
            "profanity",
            r"""
            \bf(?:c?kn|c?kin[g']?|cking)\b | \beff(?:ing|in[g']?)\b | \bfr[ie]ck?in[g']?\b |
            \bpiece\ of\ (?:sh\w*|crap|junk|garbage|rubbish|trash)\b |
            \b(?:is|are)\ (?:a\ )?(?:total\ |complete\ )?pos\b
            """,
        ),
    ),
    (
        _words("thank you for|cheers for"),
        cue(
            "sarcasm that praises a failure",
            r"""
            \b(?:thank\ you|cheers)\ for\ (?:the|a|making|letting)\b(?:(?!refund|fix|help|quick|
            sort)[^.!?]){0,30}\b(?:wait|delay|late|cancel\w*|mess|nothing|rain|queue|miss)\w*\b
            """,
        ),
    ),
    (
        _words("or i|or we|you have"),
        cue(
            "gives an ultimatum",
            r"""
            \bor\ (?:i|we)\ (?:go\ to|take|report|cancel|leave|dispute|switch|sue|complain)\b |
            \b(?:fix|sort|refund|resolve)\b[^.!?]{0,40}\bor\ (?:i'?m|i\ am|we'?re)\ (?:cancell?ing|
            leaving|switching|reporting|going|taking|disputing|done)\b |
            \byou\ have\ (?:\d+|one|two|three|until|till|24|48)\ ?(?:hours?|days?|hrs|\w+day|
            tomorrow)?\ to\ (?:fix|sort|refund|resolve|pay|respond|reply|get\ back)\b
            """,
        ),
    ),
    (
        _words("rip|lies|rob|extort|fraudulent|swindl|fleec"),
        cue(
            "accuses the company of lying or scamming",
            r"""
            \brips?\ (?:you|people|us|me|customers|everyone)\ off\b |
            \blies\b(?:(?<=more\ lies)|(?<=your\ lies)|(?<=these\ lies)|(?<=the\ lies)|
            (?<=all\ lies)|(?<=blatant\ lies)|(?<=outright\ lies)|(?<=telling\ lies)) |
            \brob(?:bing|bed|s)\ (?:me|us|people|customers|your\ customers|everyone)\b |
            \bextort\w* | \bfraudulent(?:ly)?\b | \bswindl\w* | \bfleec(?:e|ed|ing)\b
            """,
        ),
    ),
    (
        _words(
            "competitor|rival|switch|moving|leaving|changing|done| out|lost|contract|cancel|"
            "avoid|away from|steer|don"
        ),
        cue(
            "threatens to leave or warns others off",
            r"""
            \bswitch(?:ing|ed)?\ (?:over\ )?to\ (?:your|a|another|the)\ (?:\w+\ )?(?:competitors?|
            rivals?)\b | \b(?:switching|moving|leaving\ for)\ (?:to\ )?(?:another|a\ different|
            a\ new|a\ better)\ (?:provider|bank|network|supplier|airline|company|insurer|shop)\b |
            \b(?:switching|changing)\ (?:providers|banks|networks|suppliers|insurers)\b |
            \b(?:i'?m|i\ am|we'?re|we\ are)\ (?:so\ |just\ |officially\ )?(?:done|out)\s*[.!]*\s*$ |
            \b(?:i'?m|i\ am|we'?re|we\ are)\ (?:so\ |officially\ )?done\ (?:with\ (?:\w+\ )?
            (?:\w+)|here)\b | \b(?:you'?ve|you\ have|you\ just|you'?ve\ just)\ lost\ (?:a|my|our|
            me\ as\ a)\ (?:\w+\ ){0,3}?(?:customer|business)\b |
            \bleaving\ (?:you|your\ (?:company|network|bank|service))\b |
            \b(?:going|moving|off)\ to\ (?:a|your|another)\ (?:\w+\ )?(?:competitor|rival)s?\b |
            \b(?:leaving|switching|moving|cancell?ing|gone)\b[^.!?]{0,30}\b(?:as\ soon\ as|
            the\ (?:second|minute|day)|when|once)\ (?:my|the|our)\ contract\b |
            \bcancel(?:l?ing)?\ (?:my|the|our)
            \ (?:contract|subscription|membership|account|policy|plan)\ (?:today|now|asap|
            immediately|as\ soon\ as)\b | \bcancel\ cancel\b |
            \bavoid\ (?:this|these|them|that)\ (?:\w+\ )?(?:company|shop|airline|bank|app|firm|
            place|hotel|lot)\b | \bstay\ (?:well\ )?away\ from\b | \bsteer\ clear\b |
            \bdon'?t\ (?:use|buy\ from|fly\ with|bank\ with|book\ with|order\ from)\ (?:them|this|
            these)\b
            """,
        ),
    ),
    (
        _words(
            "wrong|matter|job|star|together|yourselves|sleep|call |away with|runs this|"
            "designed this|approved this|what a |ashamed|embarrassed|life|lives|audacity|"
            "cheek|nerve|times|hate|despise|loathe|detest|hardly|expect|want me|want us|"
            "paying|stop|fob|excuse|apology|cut it|good enough|grabb|greed|profit|wriggl|"
            "weasel"
        ),
        cue(
            "scolds the company",
            r"""
            \bwhat(?:'s|\ is)\ (?:wrong|the\ matter)\ with\ (?:you|your|this\ company|
            these\ people)\b |
            \bdo\ (?:your|ur)\ (?:job|jobs)\b | \b(?:zero|0|no|minus)\ stars?\b |
            \b(?:one|1)\ star\ is\ too\ (?:much|many|generous|good)\b |
            \bget\ (?:your|ur)\ (?:act|shit|house)\ together\b | \bsort\ yourselves\ out\b |
            \bhow\ (?:do|can)\ you\ (?:people\ |guys\ )?(?:still\ )?(?:sleep|
            live\ with\ yourselves|call\ (?:this|yourselves)|get\ away\ with)\b |
            \bwho\ (?:runs|designed|approved)\ this\b |
            \bwhat\ a\ (?:shambles|farce|rip\ ?off|con|way\ to\ (?:run|treat))\b |
            \b(?:should|ought\ to)\ be\ (?:ashamed|embarrassed)\b |
            \bsort\ (?:your|ur)\ (?:life|lives)\ out\b | \bthe\ (?:audacity|cheek|nerve)\b |
            \bhow\ many\ (?:more\ )?times\ (?:do|must|
            will|should|have|am)\b | \bi\ (?:hate|despise|loathe|detest)\ (?:you|your|this|the\ new|
            how|that\ you|dealing)\b | \bhardly\ what\ (?:i|you)(?:'d|\ would)\ call\b |
            \b(?:you|u)\ call\ (?:this|that)\ (?:customer\ )?(?:service|support)\b |
            \b(?:and|yet|but)\ (?:you|u)\ (?:still\ )?(?:want|expect)\ (?:me|us)\ to\ (?:pay|wait|
            accept|believe)\b | \bwhy\ (?:am|are|should)\ (?:i|we)\ (?:even\ |still\ )?paying\b |
            \bpaying\ for\ nothing\b | \bpaying\ [^.!?]{0,30}\bfor\ (?:this|THIS)\s*[.!?]*\s*$ |
            \bstop\ (?:fobbing|ignoring|lying\ to|messing|mucking|jerking|stringing|palming|
            passing)\ (?:me|us)\b | \bfob(?:bing|bed)?\ (?:me|us)\ off\b | \b(?:usual|same|lame|
            pathetic|more)\ excuses?\b | \bapology\ (?:means|is)\ (?:nothing|worthless|meaningless|
            not\ enough)\b | \bdoesn'?t\ cut\ it\b | \bnot\ good\ enough\b |
            \bmoney[\s-]grabb\w* | \bgreed(?:y|iness)?\b | \bprofits?\ (?:over|before)\ (?:people|
            customers|passengers|safety|patients)\b | \bwriggl\w*\ out\b | \bweasel\w*\ out\b
            """,
        ),
    ),
    (
        _words("money|refund"),
        cue(
            "demands the money back",
            r"""
            \b(?:give|send|pay)\ (?:me|us)\ (?:back\ )?(?:my|our|the)
            \ (?:bloody\ |damn\ |hard[-\ ]earned\ )?money\ back\b |
            \bi\ (?:want|need|demand)\ (?:my|our)\ (?:\w+\ )?money\ back\b |
            \bwhere(?:'s|\ is)\ my\ (?:bloody\ |damn\ )?money\b | \bi\ demand\ (?:a|my)\ (?:full\ )?
            refund\b
            """,
        ),
    ),
    (
        _words(
            "satisfied|amused|pleased|happy|impressed|far from|patience|wits|will to live|"
            "cope|deal with|deserve|respect|treat|waste|scandal|filthy"
        ),
        cue(
            "says they are fed up or not satisfied",
            r"""
            \b(?:dis|un)satisfied\b | \bnot\ (?:at\ all\ |remotely\ |one\ bit\ )?(?:amused|
            pleased\ (?:at\ all|with\ (?:you|this|the\ service))|satisfied\ (?:at\ all|with\ (?:you|
            this|the\ service|your)))\b | \b(?:very|so|really|extremely|deeply)\ (?:not\ happy|
            dissatisfied)\b | \bnot\ happy\s*[.!]+\s*$ |
            \bnot\ (?:very\ |at\ all\ )?(?:happy|pleased|impressed|satisfied)\ (?:with\ (?:you|your|
            this\ (?:company|service))|at\ all)\b | \bnot\ (?:a\ )?happy\b[^.!?,]{0,25}\bat\ all\b |
            \bfar\ from\ (?:happy|impressed|pleased|satisfied|acceptable|good|ok|okay)\b |
            \bpatience\ (?:has|is)\ (?:run|running|worn|wearing)\ (?:out|thin)\b |
            \b(?:lost|losing|run\ out\ of)\ (?:all\ )?(?:my\ )?patience\b | \bwits'?\ end\b |
            \blosing\ the\ will\ to\ live\b | \bcan'?t\ (?:cope|deal)\ with\ (?:you|this|your)\b |
            \b(?:i|we)\ deserve\ better\b | \b(?:some|a\ bit\ of|basic|no)\ respect\ for
            \ (?:your\ )?customers\b | \btreat\ (?:your\ )?customers\ (?:like|with)\b |
            \b(?:total|complete|utter|such\ a|a)\ waste\ of\ (?:money|time|space)\b |
            \bwaste\ of\ (?:money|time)\s*[.!]*\s*$ | \bscandal(?:ous)?\b | \bfilthy\b
            """,
        ),
    ),
    (
        _words("laugh|joking|kidding|funny|joke|state of|what customer|what service|what support"),
        cue(
            "cannot believe what happened",
            r"""
            \b(?:are\ )?(?:you|u)\ having\ a\ laugh\b | \b(?:you\ )?must\ be\ (?:joking|kidding)\b |
            \b(?:you'?ve|you\ have)\ got\ to\ be\ (?:joking|kidding)\b | \bthink\ (?:this|it)\ is
            \ funny\b | \bis\ this\ (?:some\ (?:kind|sort)\ of\ )?a?\ ?joke\ ?\?(?!\s*(?:account|
            or\ ))| \bthe\ state\ of\ (?:this|that|these|your)\b | \b(?:customer\ )?(?:service|
            support)\ ?\?+\ what\ (?:customer\ )?(?:service|support)\b
            """,
        ),
    ),
    (
        _words(
            "muppet|clown|idiot|moron|joker|cowboy|amateur|thieves|crook|liar|scammer|numpt|"
            "donkey|fool"
        ),
        cue(
            "insults the company or its staff",
            r"""
            ^\W*(?:@\w+\s+)*(?:clowns|muppets|jokers|amateurs|cowboys|idiots|morons|thieves|
            crooks|liars|scammers)\W*$ |
            \b(?:you|ya)\ (?:absolute\ |bunch\ of\ |useless\ |incompetent\ |lot\ of\ )?(?:muppets?|
            clowns?|idiots?|morons?|jokers?|cowboys|amateurs|thieves|crooks|liars|scammers|
            numpties|donkeys|fools)\b
            """,
        ),
    ),
)
GRIEVANCE: tuple[Cue, ...] = tuple(c for _, c in _GATED)


def find(text: str) -> Cue | None:
    """The first cue of the table that matches ``text``, or None. The derived gate
    (``brain.cues.gate``) goes first: it skips most cues with one bit test each; the words
    above stay as they were so that the answer does not change."""
    scanned = gate.scan(text)
    lowered = text.lower()
    for words, found in _GATED:
        need = found.need
        if scanned & need == need and any(w in lowered for w in words) and found.searched(text):
            return found
    return None
