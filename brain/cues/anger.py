"""Anger and frustration: profanity, angry emoji, hashtags cursing the brand, accusations,
sarcasm that praises a failure, threats to leave, indignation and emphasis; plus the word
classes the sentiment correction uses (courtesy and plain problem words)."""

from __future__ import annotations

from brain.cues.base import Cue, cue, together

ANGER: tuple[Cue, ...] = (
    cue(
        "profanity",
        r"""
        \bf+u+c+k+\w* | \bf[\*\#@]+c?k\w* | \bf[\*\#@]{2,}\b | \bwtf+\b | \bffs\b | \bstfu\b |
        \bsh[i1\*]t+(?:ty|s)?\b | \bbullsh[i\*]t\b | \bcrap(?:py)?\b | \bdamn(?:ed|it)?\b |
        \bgoddamn\w* | \bpiss(?:ed|ing)?\b | \bbs\b | \basshole\w* | \bdickheads?\b |
        \bbastards?\b | \bbloody\b | \bsucks?\b | \bsh[i\*]thole\b | \bscheiß\w* |
        \bscheiss\w* | \bverdammt\w* | \bmerde\b | \bputain\b | \bbordel\b | \bfait\ chier\b |
        \bmierda\b | \bjoder\b | \bhostia\b | \bputa\w* | \bcoño\b | \bcabrones?\b | \bomfg\b |
        \bjfc\b | \bfml\b | \bkacke\b | \bscheisse\b | \bputains?\b | \bjoder\b
        """,
    ),
    cue(
        "angry emoji",
        r"""
        [😠😡🤬👿💢🖕😤😒🙄🤮🤢👎]
        """,
    ),
    cue(
        "a hashtag cursing the brand",
        r"""
        \#\w*(?:fail|sucks?|worst|never\w*|boycott|shame|scam|fraud|joke|disgrace|ripoff|
        rip_?off|useless|awful|terrible|hate|angry|furious|unacceptable|liars?|thieves|done|
        bye\w*|nomore|notagain|ridiculous|pathetic|disappointed|rant|poor|bad|not_?happy|annoy|
        fum|livid|disgust|worse|rubbish|crap|garbage|trash|clown|cowboy|incompeten|greed|
        robbery|theft|liar|avoid|stayaway|donotbuy|dontbuy|wtf|ffs|smh|sortitout|fixit|letdown|
        shocking|outrage|appalling|nightmare|disaster|boiling|seething|raging|frechheit|honte|verg[üu]enza)\w*
        """,
    ),
    cue(
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
    cue(
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
        \bwhy\ don'?t\ you\s*[.!?]*\s*$ | \boh\ look\b | \b(?:sure|right),?\ (?:because|cause|
        like)\b |
        \bwho\ could\ have\ guessed\b | \bmerci\ pour\ rien\b | \bdanke\ f[üu]r\ nichts\b |
        \bgracias\ por\ nada\b
        """,
    ),
    cue(
        "says they are angry or fed up",
        r"""
        \b(?:furious|livid|fuming|outraged|enraged|seething|irate|infuriat\w*|pissed|angry|
        mad\ (?:at|about|as)|raging|fed\ up|sick\ (?:and\ tired\ )?of|had\ enough|
        done\ with\ (?:you|this)|beyond\ frustrat\w*|so\ frustrat\w*|extremely\ frustrat\w*|
        really\ frustrat\w*|frustrated|frustrating|annoyed|disgusted|appalled|unacceptable|
        disgraceful|disgrace|pathetic|ridiculous|absurd|joke\ of\ a|useless|incompeten\w*|
        worst|horrible|horrendous|atrocious|abysmal|appalling|shocking\ (?:service|support|
        company)|terrible|awful|never\ (?:again|buying|ordering|flying|using)|shame\ on\ you|
        how\ (?:dare|hard\ is\ it|difficult\ is\ it|is\ this\ (?:ok|okay|acceptable|legal))|
        what\ the\ hell|are\ you\ (?:kidding|serious|joking)|you\ people\ are|w[üu]tend|
        sauer\ (?:auf|über)|unversch[äa]mt\w*|frech\w*|inakzeptabel|entt[äa]uscht|genervt|
        schrecklich|furieu(?:x|se)|énervée?|enervee?|inadmissible|scandaleu(?:x|se)|honteu(?:x|
        se)|lamentable|nul(?:le)?\b|furios[oa]|enfadad[oa]|harto|harta|indignad[oa]|
        vergonzos[oa]|inaceptable|p[ée]sim[oa]|una\ verg[üu]enza|frechheit|zumutung|sauerei|
        lachhaft|stinksauer|mir\ reicht'?s|es\ reicht|ras\ le\ bol|j'en\ ai\ marre|marre\ de|
        c'est\ une\ honte|quelle\ honte|indignante|penos[oa]|hasta\ las\ narices|cutre)
        """,
    ),
    cue(
        "threatens to leave",
        r"""
        \bnever\ (?:again|buying|ordering|flying|using|shopping|staying|booking|coming\ back|
        recommend\w*)\b | \b(?:would|will|could|do|does)\ ?(?:not|n'?t)\ recommend\b |
        \bavoid\ (?:at\ all\ costs|like\ the\ plague)\b |
        \b(?:won'?t|will\ not|not)\ (?:be\ )?(?:flying|ordering|buying|using|
        shopping|staying|booking|coming\ back|renewing)\b[^.!?]{0,30}\b(?:again|anymore|
        ever)\b | \bcancell?ing\ (?:today|now|my|the|everything|it\ all)\b |
        \bclosing\ my\ account\b | \b(?:lose|losing|lost)\ a\ (?:loyal\ )?customer\b |
        \btaking\ my\ (?:business|money)\ elsewhere\b |
        \bswitching\ to\ (?:a\ )?(?:competitor|another|someone)\b | \bnie\ wieder\b |
        \bplus\ jamais\b | \bnunca\ m[áa]s\b
        """,
    ),
    cue(
        "insults the company or its staff",
        r"""
        \b(?:you(?:\ lot|\ guys|\ people|\ all)?|y'?all|u|ur\ (?:staff|company|team)|
        your\ (?:\w+\ ){0,2}?(?:staff|company|team|drivers?|agents?|people|service|support|app|
        website)|this\ (?:company|shop|airline|bank|app))\ ?(?:are|r|is|'re|’re)
        \ (?:\w+\ ){0,3}?(?:clowns?|
        jokers?|cowboys|muppets|amateurs?|idiots?|morons?|thieves|crooks|criminals|
        a\ joke|a\ disgrace|hopeless|clueless|incompetent|pathetic|rubbish|garbage|trash|
        a\ shambles|a\ nightmare|the\ worst|a\ scam|scammers|robbers|useless|shocking|
        embarrassing|beyond\ help)\b |
        \b(?:absolute|total|complete|utter|bunch\ of|pack\ of)\ (?:clowns|jokers|cowboys|
        muppets|amateurs|idiots|morons|joke|shambles|disgrace|farce|shower|mess|nightmare|
        incompetence|chaos)\b | \bclown\ (?:show|company|car)\b | \bcircus\b | 🤡
        """,
    ),
    cue(
        "gives an ultimatum",
        r"""
        \b(?:fix|sort|refund|resolve|solve|sort\ out|deal\ with)\ (?:this|it|me|my\ \w+)\b
        [^.!?]{0,25}?
        \bor\ (?:else|i'?ll|i\ will|i'?m\ (?:going|gonna)|i\ am\ going|we'?ll|we\ will)\b |
        \bor\ i'?(?:ll|m\ going\ to|\ will)\ (?:go\ to|take|report|cancel|leave|dispute|contact|
        call|tell|post|complain|switch|never)\b |
        \b(?:last|final)\ (?:chance|warning)\b | \benough\ is\ enough\b |
        \b(?:give|refund)\ me\ (?:my\ money|a\ (?:full\ )?refund|it)\ (?:back\ )?(?:now|
        immediately|today)\b | \bi\ want\ (?:all\ of\ it|it\ all|every\ penny|
        every\ cent)\ back\b
        """,
    ),
    cue(
        "asks whether anyone is there at all",
        r"""
        \b(?:is\ )?(?:any\ ?(?:one|body)|some\ ?(?:one|body))\ (?:actually\ |even\ |still\ )?
        (?:there|home|working|reading|listening|awake|alive|answering)\ ?\?{2,} |
        \b(?:is\ )?any\ ?(?:one|body)\ (?:actually|even)\ (?:there|working|reading|listening|
        answering)\b | \bhello\ ?\?{2,} | \banyone\ ?\?{2,} |
        \bdo\ (?:you|u)\ (?:guys\ |lot\ |people\ |even\ )?(?:ever|even|actually)\ (?:answer|
        reply|read|respond|listen|care|check)\b | \bdoes\ anyone\ (?:there\ )?(?:ever|even|
        actually)\ (?:answer|reply|read|respond|care)\b |
        \bwhat\ (?:am\ i|are\ we)\ (?:supposed|meant|expected)\ to\ do\b |
        \bhow\ (?:is|was)\ (?:this|that|it)\ (?:ok|okay|acceptable|fair|allowed|possible)\b |
        \bwhy\ (?:do|does|did|is|are|can'?t|won'?t)\ (?:it|this|you|nobody|no\ one)\b
        [^.!?]{0,50}\?{2,}
        """,
    ),
    cue(
        "fed up with automated replies",
        r"""
        \b(?:not|stop|enough\ of|sick\ of|tired\ of|fed\ up\ with|no\ more)\b[^.!?]{0,30}
        \b(?:bots?|chat\ ?bots?|robots?|automated|auto[-\ ]?repl\w*|scripts?|machines?|ai)\b |
        \b(?:another|stupid|useless|this|your|a)\ (?:bot|chat\ ?bot|robot)\b[^.!?]{0,20}
        \b(?:loops?|useless|again|not|doesn'?t|can'?t|won'?t) | \bbot\ that\ (?:loops|doesn'?t|
        can'?t|won'?t|keeps)\b
        """,
    ),
    cue(
        "threatens to take it further",
        r"""
        \b(?:taking|take)\ (?:this|it|you)\ (?:to|further)\b | \b(?:report(?:ed|ing)?|
        complain(?:ed|ing)?)\ (?:you\ |this\ |it\ )?to\ (?:the\ )?(?:ico|ombudsman|regulator|
        press|media|papers|police|bbb|ftc|fca|ofcom|ofgem|trading\ standards|watchdog)\b |
        \bgoing\ to\ (?:my|the)\ (?:mp|press|papers|media|ombudsman|regulator|bank|lawyer)\b |
        \b(?:speaking|talking|writing)\ to\ (?:the|my)\ (?:\w+\ )?(?:ombudsman|regulator|mp|
        press|lawyer|solicitor)\b | \bsmall\ claims\b | \bsee\ you\ in\ court\b
        """,
    ),
    cue(
        "says they are upset or let down",
        r"""
        \b(?:upset|gutted|devastated|heartbroken|let\ down|distraught|horrified|terrified|
        terrifying|traumati[sz]\w*|in\ tears|crying|regret(?:ting|ted)?\ (?:it|this|ever|
        choosing|buying|booking|switching|joining)|not\ (?:a\ )?happy\ (?:at\ all|customer|
        bunny)|very\ unhappy|so\ unhappy|beyond\ (?:upset|angry|annoyed|frustrated)|
        entsetzt|traurig|d[ée]go[uû]t[ée]e?|d[ée]vast[ée]e?|triste|dolid[oa]|decepcionad[oa])\b
        """,
    ),
    cue(
        "questions whether the company can do its job",
        r"""
        \bdo\ (?:you|your\ \w+)\ (?:guys\ )?(?:even\ |actually\ )?(?:employ|hire|train|have)
        \ (?:people|anyone|staff|humans|drivers|anybody)\ (?:who|that)\b |
        \b(?:can|does)\ (?:nobody|no\ one|anyone)\ (?:there\ |at\ \w+\ )?(?:even\ |actually\ )?
        (?:read|count|know|do\ their\ job|care)\b |
        \bdo\ (?:your|you)\ (?:staff|people|drivers|agents|guys)\ (?:even\ |
        actually\ |ever\ )(?:read|check|care|know|listen|look)\b
        """,
    ),
    cue(
        "says staff were dismissive",
        r"""
        \b(?:staff|agents?|managers?|
        drivers?|receptionists?|they|he|she)\ (?:just\ )?(?:laughed|shrugged|walked\ (?:off|
        away)|rolled\ (?:their|his|her)\ eyes)\b
        """,
    ),
    cue(
        "refuses to pay",
        r"""
        \b(?:not|never|refuse\ to|won'?t\ be)
        \ paying\ (?:it|this|that|for\ (?:this|that|it))\b
        """,
    ),
    cue(
        "says the company cannot be bothered",
        r"""
        \b(?:didn'?t|did\ not|couldn'?t|could\ not|can'?t|cannot|won'?t|wouldn'?t|doesn'?t|
        never)\ (?:even\ )?(?:be\ )?bother(?:ed)?\b | \bzero\ (?:help|communication|updates?|
        info\w*|response|replies|accountability|empathy|care|effort|support|service|
        compensation|apology|explanation|results?)\b | \bnot\ (?:even\ )?(?:a|one)\ (?:word|
        apology|sorry)\b | \bnot\ even\ an?\ (?:apology|sorry|reply|explanation)\b |
        \byou\ get\ what\ you\ pay\ for\b | \bmy\ (?:last|final)\ ever\b | \b(?:the|my)\ last
        \ time\ i\ (?:ever\ )?(?:use|order|fly|book|buy|shop|stay|trust)\b |
        \b(?:can'?t|cannot|couldn'?t)\ (?:even\ )?get\ (?:a|the|anything|one)\ (?:\w+\ )?right\b |
        \bwhat\ (?:ever\ )?(?:has\ )?happened\ to\ (?:good\ |decent\ |basic\ )?(?:customer
        \ ?service|service|quality|standards|support|common\ sense|decency|manners)\b
        """,
    ),
    cue(
        "calls the service poor",
        r"""
        \b(?:poor|bad|terrible|awful|lousy|shoddy|sloppy|dreadful|crappy|appalling|abysmal|
        woeful)\ (?:customer\ )?(?:service|support|communication|experience|standards?)\b
        """,
    ),
    together(
        "asks why it never works",
        r"""
        \bwhy\b[^.!?]{0,50}\b(?:never|always|constantly|every\ (?:single\ )?time)\b
        """,
        r"""
        \b(?:work|works|working|load|loads|arrive|arrives|turn\ up|shows?\ up|answer|reply|
        respond|deliver|on\ time|late|delayed|down|broken|break|breaks|crash\w*|wrong|error\w*|
        fail\w*|cancel\w*|lost|losing|lose|freez\w*|buggy|glitch\w*|drop\w*|out\ of\ stock)\b
        """,
    ),
    cue(
        "cannot believe what happened",
        r"""
        \b(?:can'?t|cannot|could\ not|couldn'?t)\ (?:actually\ |even\ |quite\ )?believe\b
        [^.!?]{0,80}?\b(?:not|no|never|nothing|nobody|still|again|another|late|delayed|cancel\w*|
        lost|broke\w*|charg\w*|wrong|damaged|missing|ignor\w*|prices?\ (?:went|gone|go)\ up|
        fees?|waiting|refus\w*|rude|treat\w*|(?:do|does|did|is|are|was|were|has|have|had|ca|wo|
        could|would|should)n'?t)\b |
        \b(?:beggars\ belief|hard\ to\ believe|how\ is\ (?:this|that|it)\ even\ possible)\b
        """,
    ),
    together(
        "waited in and nobody came",
        r"""
        \b(?:nobody|no\ ?one|no-one|never|didn'?t|did\ not)\ (?:even\ )?(?:showed|show|turned|
        turn|came|come|arrived|arrive)(?:\ up)?\b | \bno[-\ ]show(?:ed)?\b
        """,
        r"""
        \b(?:waited|waiting|stayed\ (?:in|home)|took\ (?:the|a)\ day\ off|all\ day)\b
        """,
    ),
    cue(
        "indignant wording",
        r"""
        \b(?:laughable|disgusting|what\ a\ mess|i\ give\ up|how\ hard\ can\ it\ be|
        n'importe\ quoi|(?:qu[ée]|una)\ verg[üu]enza|template\ (?:reply|answer|response)|
        this\ is\ the\ last\ time|shambles|shameful|shameless|sneaky|unbelievable|unreal|
        a\ joke|nightmare|disaster|unimpress\w*|criminal|
        not\ (?:impressed|ok|okay|good\ enough|acceptable)|
        false\ advertising|(?:fix|sort)\ it(?:\ out|\ now)?\b|explain\ (?:that|this|yourselves)|
        one\ job|gone\ downhill|how\ you\ treat|
        what\ is\ the\ point|what's\ the\ point\ (?:of\ (?:having|paying|even|calling|booking|
        asking|your|you)|in\ |if\b|when\b)|
        why\ is\ it\ so\ (?:hard|difficult)|capable\ of|what\ exactly|seriously\b[?!]|
        disappoint\w*|unhappy|embarrass\w*|arse|rubbish|garbage|excuse\ for\ a|
        beyond\ (?:a\ )?joke|at\ all\.|every\ single\ time|every\ time\ i\ (?:order|call|fly|
        book|contact)|cool\ cool|good\ to\ know|why\ am\ i\ not\ surprised|of\ course\ (?:the|
        it|my|you)|funny\ how|never\ seen\ anything\ like|lmao|
        without\ (?:any\ )?(?:warning|notice|asking|
        explanation|telling\ (?:me|us|anyone)|informing\ (?:me|us))|nobody\ (?:asked|told|
        warned|informed)\ (?:me|us)|what\ (?:the\ hell\ |on\ earth\ )?is\ going\ on|
        you\ need\ to\ do\ something|should\ i\ (?:just\ )?give\ up|(?:very|how|so)\ generous|
        shocking|tomadura\ de\ pelo|(?:echt|total|richtig|so)\ sauer|c'est\ une\ blague|
        se\ moquent?\ de|una\ broma|for\ no\ (?:apparent\ )?reason|rude|arrogant|condescending|
        patroni[sz]ing|unprofessional|dismissive|disrespectful)
        """,
    ),
    cue(
        "emphasis: shouted words or full stops",
        r"""
        (?-i:\b(?:AGAIN|NEVER|STILL|NOTHING|NOBODY|YOUR|YOU|EVER|EVERY|NOT|WHY|STOP|THREE|FOUR|
        FIVE|TWICE|SERIOUSLY|WORST|HOURS|DAYS|WEEKS|MONTHS)\b) | \b\w+\.\ \w+\.\ \w+\. |
        [.!]\s*(?:again|twice|three\ times|every\ (?:single\ )?time)[.!?]+\s*$ |
        \b(?:two|three|four|five|six|\d+)\.\ (?:hours|days|weeks)\.
        """,
    ),
)
