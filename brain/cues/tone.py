"""Tone: the word classes that make a message sound sour or ironic without being anger on
their own: praise and problem words (together, sarcasm), courtesy and plain problem words
(removed before sentiment), emphasis (capitals, "??", "!!!", ironic quotes, long waits,
recurring failures, sighs), each counted by ``brain.signals`` only with a complaint behind it."""

from __future__ import annotations

from brain.cues.base import pattern

PRAISE = pattern(
    r"""
    \b(?:great|brilliant|amazing|awesome|fantastic|lovely|wonderful|cool|perfect|superb|
    well\ done|bravo|impressive|cheers\ for\ that|thanks\ a\ lot|good\ job|nice\ one|
    love\ (?:paying|how|that|it\ when|being|getting|waiting)|loving\ (?:the|how|that)|
    genius|class\ act|classy|stellar|top\ notch|world\ class|five\ stars?|5\ stars?|
    nice\ touch|love\ that|what\ a\ (?:great|fantastic|brilliant|lovely)|
    (?:shocked|surprised),?\ (?:truly|really|just)\ (?:shocked|surprised)|
    colou?r\ me\ surprised|who\ knew|as\ expected|10/10|10\ out\ of\ 10)\b | 👏 | 🙃 | 🙄
    """
)
# Wanting to come back is no complaint: "great service, can I order again?", "we'd love to
# stay again". Taken out of the text before the anger cues read it; a negation keeps it in
# ("would never order again" is a threat to leave).
COMING_BACK = pattern(
    r"""
    \b(?:can|could|may|will|i'?ll|we'?ll|would|i'?d|we'?d|wanna|want\ to|love\ to|like\ to|
    happy\ to|definitely|surely|gladly)\ (?:i\ |we\ )?(?:(?!never\b|not\b|no\b)\w+\ )?
    (?:(?:order|buy|shopp?|book|fly|stay|visit|travell?|rent|eat)(?:ing)?|
    (?:us|com|din|purchas|choos)(?:e|ing)(?:\ back)?)\ (?:\w+\ ){0,3}?again\b
    """
)
PROBLEM = pattern(
    r"""
    \b(?:again|still|never|nothing|nobody|late|delayed|cancel\w*|lost|broke\w*|crash\w*|
    charged|waiting|doesn'?t|isn'?t|didn'?t|won'?t|hours|days|weeks|toilet|bins|price\ up|
    made\ me|making\ me|another|day\ \d+|hours?|hrs?|voucher|raise\ the\ price|doubled|
    tripled|gone\ up|went\ up|price\ (?:rise|hike|increase)s?|
    increase\w*|stood|stuck|queue|on\ hold|soaked|rain|ruined|missed|wrong|damaged|
    no\ (?:announcement|info|information|update|reply|answer|one|show)|yet\ again|ignor\w*|
    billed|lost|left)\b |
    \bno\ (?:\w+\ ){1,2}?(?:all\ (?:day|night|week|weekend|morning|evening)|for\ (?:\d+|two|three|
    four|five|a|an|over|nearly|almost)|since)\b
    """
)
FACTS = pattern(
    r"""
    \b(?:damaged?|broken|broke|crushed|cracked|scratch\w*|dented|wrong|mistake|accident\w*|
    missing|lost|late|delay\w*|cancel\w*|error|problem|issue|fault\w*|defective|stolen|
    emergency|pending|declined|refused|fail\w*|stuck|leak\w*|fraud\w*|scam\w*|cut\ off|
    unprotected|lock(?:ed)?|block(?:ed)?)\b
    """
)
# "?!" is indignation; "!!!" alone is emphasis
RANT_PUNCTUATION = pattern(
    r"""
    \?! | !\?
    """
)
EXCLAMATIONS = pattern(
    r"""
    (?:[!?]\s*){3,}
    """
)
NEGATIVE_WORDS = pattern(
    r"""
    \b(?:not|no|never|nothing|still|again|nobody|wrong|broken|late|lost|missing|cancel\w*|
    delay\w*|fail\w*|wait\w*|charged|refund|where|why|help|money\ back|my\ money)\b
    """
)
COURTESY = pattern(
    r"""
    \b(?:please|pls|plz|thank\ you(?:\ (?:so|very)\ much)?|thanks?|thx|ty|kindly|cheers|hi|
    hello|hey|dear|regards|best|appreciate(?:d)?|grateful|bitte|danke|merci|
    s'il\ vous\ pla[îi]t|svp|por\ favor|gracias|
    lol|lmao|rofl|ha(?:ha)+)\b
    """
)
# Two question marks or more: "hello??", "is anyone there??" (with a complaint, exasperation).
QUESTIONS = pattern(
    r"""
    \?\s*\?
    """
)
# -- emphasis and situations that count as anger only with a complaint behind them ---------
# A short phrase in double quotes, used ironically: the "next day" delivery, your "support".
SCARE_QUOTES = pattern(
    r"""
    (?:^|[\s(])["“](?:[^"“”\s]+\ ?){1,4}["”](?=[\s.,!?)]|$)
    """
)
LONG_WAIT = pattern(
    r"""
    \b(?:waiting|waited|wait)\ (?:for\ )?(?:over\ |nearly\ |almost\ |more\ than\ )?(?:\d+|two|
    three|four|five|six|seven|eight|nine|ten|several|many)\ (?:hours|hrs|days|weeks|months)\b |
    \bwaiting\ since\b | \bsince\ \d{1,2}\ ?(?:am|pm)\b | \b(?:\d+|two|three|four|five)
    \ (?:hours?|hrs?|days|weeks|months)\ (?:to|just\ to)\ (?:get\ through|unblock|answer|reply|
    respond|fix|refund|deliver|sort|process)\b | \bseit\ (?:\d+|zwei|drei|vier|f[üu]nf)
    \ (?:stunden|tagen|wochen|monaten)\b | \bdepuis\ (?:\d+|deux|trois|quatre|cinq)\ (?:heures|
    jours|semaines|mois)\b | \bllevo\ (?:\d+|dos|tres|cuatro|cinco)\ (?:horas|d[íi]as|semanas|
    meses)\b | \bwithout\ (?:any\ )?(?:internet|wi-?fi|broadband|power|electricity|heating|
    hot\ water|water|gas|a\ phone|phone|signal|service|tv|a\ car|my\ car|my\ money|money)
    \ (?:for\ )?(?:over\ |nearly\ |almost\ |more\ than\ )?(?:\d+|two|three|four|five|six|seven|
    eight|nine|ten|several|many)\ (?:days|weeks|months)\b
    """
)
RECURRING = pattern(
    r"""
    \b(?:\d+|two|three|four|five|six)\ (?:weeks|days|months|times|years)\ (?:running|
    in\ a\ row)\b | \bevery\ (?:day|week|month|morning|time)\ this\ (?:week|month|year)\b |
    \b(?:a\ )?(?:hundred|thousand|million)\ times\b | \bkeeps?\ happening\b |
    \bhappened\ again\b | \bevery\ (?:single\ )?(?:\d+\ )?(?:minutes?|hours?)\b |
    \byet\ again\b | \bagain\ and\ again\b | \bover\ and\ over\b | \bthis\ is\ the\ (?:\d+(?:st|
    nd|rd|th)|second|third|fourth|fifth)\ (?:month|week|day)\b |
    \bevery\ single\ (?:month|order|bill|delivery|journey|flight|visit)\b |
    \byou\ (?:keep|kept)\ (?:on\ )?(?:telling|saying|promising|sending|charging|cancell?ing|
    changing|moving|delaying|ignoring|fobbing|giving\ me)\b
    """
)
# A bare word of praise closing a complaint: "... and no announcement. class act", "... great"
CLOSING_PRAISE = pattern(
    r"""
    (?:^|[\s.,!?])(?:great|brilliant|genius|lovely|fantastic|perfect|wonderful|amazing|nice|
    super|awesome|superb|marvellous|marvelous|splendid|class\ act|classic|typical|bravo|
    well\ done|good\ job|nice\ one|love\ it|love\ that|of\ course|(?:really|very|so|super)
    \ helpful|thanks\ a\ (?:lot|bunch|million)|cheers\ for\ that|(?:great|top|amazing|stellar)
    \ service|good\ stuff|lovely\ stuff|impressive|outstanding|nice\ work)[.!]*\s*
    (?:[\U0001F300-\U0001FAFF]\s*)*$
    """
)
# Weary or exasperated: angry only with a complaint behind it ("smh", a facepalm, a sigh).
EXASPERATED = pattern(
    r"""
    [🤦😑😩😫💩😞😔] | \bsmh\b | \bsmdh\b | \bugh+\b | \bsigh\b | \*sigh\* | \bseufz\b |
    \bgr{3,}\b | \bar+g+h+\b |
    \bpff+\b
    """
)
# Praise opening a message as an interjection, then a report: "wonderful, the app logged me out",
# "oh good, my train is cancelled", "best airline ever, lost my bag". Sarcasm when the report
# is a failure (``brain.signals`` checks the rest of the message).
OPENING_PRAISE = pattern(
    r"""
    ^\W*(?:@\w+\s+)*(?:oh\ |well\ |just\ )?(?:great|wonderful|perfect(?:\ timing)?|brilliant|
    fantastic|lovely|awesome|amazing|superb|marvell?ous|splendid|excellent|nice|good|cool|
    love\ it|just\ what\ i\ needed(?:\ today)?|best\ \w+\ ever|fab(?:ulous)?)\s*[,.!…:;-]+
    """
)
# A report that something was put right: praise before it is real ("great, it works now").
RESOLVED = pattern(
    r"""
    \b(?:fixed|sorted|resolved|solved|works|working\ (?:again|now)|back\ (?:up|on|online)|
    thanks?|thank\ you|arrived|found|refunded|all\ good)\b
    """
)
# A service that is not working right now: a failure for the sarcasm cues ("brilliant, app down
# on payday"), though not a problem word for sentiment.
OUTAGE = pattern(
    r"""
    \b(?:down|offline|not\ working|(?:is|are)n'?t\ working|stopped\ working|won'?t\ (?:load|work|
    open|connect|let\ me)|can'?t\ (?:log\ ?in|get\ in|connect|pay|access))\b
    """
)
# A word (or emoji-free token) said three times in a row, or a failure word said twice across a
# full stop: "cancel cancel cancel", "nothing. nothing." (emphasis, with a complaint behind it).
REPEATED = pattern(
    r"""
    \b([^\W\d_]{3,})\b[\s.,!]+\1\b[\s.,!]+\1\b |
    \b(never|nothing|nobody|again|still|nope|none|no\ one|zero)[.!]+\s+\2\b
    """
)
# After a failed contact, an exclamation or a question that is not a request ("which one is
# true?", "why is this so hard?", "niemand antwortet!") presses the point: frustration.
PRESSING = pattern(
    r"""
    [!?]
    """
)
# A polite request: "could you check?", "can you confirm?", "please look at it".
REQUEST = pattern(
    r"""
    \b(?:can|could|would|will|may)\ (?:you|u|someone|somebody|i|we)\b | \bplease\b | \bpls\b |
    \bkindly\b | \bbitte\b | \bs'il\ vous\ pla[îi]t\b | \bpor\ favor\b
    """
)
# Nobody there, or nobody who knows: with a complaint behind it, frustration ("still no reply
# after 5 days, is anyone there", "nobody can tell me why").
NOBODY_THERE = pattern(
    r"""
    \b(?:is\ |are\ )?(?:any\ ?(?:one|body)|some\ ?(?:one|body)|you\ guys)\ (?:actually\ |even\ |
    still\ )?(?:there|home|reading\ (?:this|these)|listening|awake|alive)\b |
    \b(?:no\ ?(?:one|body)|no-one)\ (?:\w+\ )?(?:knows|can\ (?:tell|explain|help|give)|
    seems\ to\ (?:know|care)|has\ a\ clue|cares|gives\ a|answers|replies|responds|
    picks\ up)\b
    """
)
# The customer blames themselves: emphasis is then not anger at the company.
SELF_BLAME = pattern(
    r"""
    \bsilly\ me\b | \bmy\ (?:bad|fault|mistake)\b |
    \bi\ (?:forgot|forget|messed\ up|locked\ myself)\b |
    \bmyself\ out\b | \bi'?m\ (?:an\ idiot|so\ stupid|useless\ with)\b
    """
)
# Something put right, said outright: the praise beside it is real ("great, that fixed it").
FIXED = pattern(
    r"""
    \b(?:fixed|sorted\ (?:it|out|now)|resolved|solved|works\ (?:now|again|fine|perfectly)|
    working\ (?:again|now|fine)|back\ (?:up|online)|refunded|all\ good)\b
    """
)
