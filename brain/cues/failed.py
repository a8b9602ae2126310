"""Support failed before: contacted several times, nobody answered, still waiting, passed
around, promised a callback."""

from __future__ import annotations

from brain.cues.base import cue

FAILED_BEFORE = cue(
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
FAILED_MORE = cue(
    FAILED_BEFORE.why,
    r"""
    \bhung\ up\ on\ (?:me|us)\b | \b(?:got|get|was|been|keep\ getting|kept\ getting)\ cut\ off\b |
    \btransferred\ (?:me|us)\ (?:to\ the\ wrong|around|again|\d+\ times|from)\b |
    \b(?:\d+|two|three|four|an?)\ (?:hours?|hrs)\ to\ get\ through\b |
    \b(?:hours?|\d+\ (?:mins?|minutes))\ (?:in|on)\ (?:the\ )?(?:queue|phone|chat)\b |
    \bwaiting\ (?:in|on)\ (?:the\ )?(?:chat\ )?(?:queue|line|phone)\ for\b |
    \bclosed\ my\ (?:ticket|case|complaint)\b | \b(?:this|it)\ is\ the\ (?:\d+(?:st|nd|rd|th)|
    second|third|fourth|fifth)\ (?:month|week|day|engineer|visit|attempt)\b |
    \bevery\ time\ (?:i|we)\ (?:ask|call|chase|contact|write|phone|ring|complain)\b |
    \bstill\ no\ (?:fix|reply|resolution|engineer|answer|response|callback|solution)\b |
    \bnot\ (?:a\ )?single\ (?:reply|response|word|answer|call)\b |
    \b(?:\d+(?:st|nd|rd|th)|second|third|fourth|fifth)\ (?:engineer|technician)?\ ?visit\b |
    \bzum\ (?:zweiten|dritten|vierten|f[üu]nften|\d+\.)\ mal\b |
    \bniemand\ (?:antwortet|meldet\ sich|hilft|ruft)\b |
    \bla\ (?:deuxi[eè]me|troisi[eè]me|quatri[eè]me)\ fois\b | \b(?:segunda|tercera|cuarta)\ vez\b
    """,
)
FAILED = (FAILED_BEFORE, FAILED_MORE)
