"""Wants a person: asks to be called, messaged or contacted, or put through to a person or a
kind of staff; and the ways of declining one, removed before the search."""

from __future__ import annotations

from brain.cues.base import Cue, cue, pattern, together

HUMAN: tuple[Cue, ...] = (
    cue(
        "asks to be called",
        r"""
        \b(?:call|ring|phone)\ (?:me|us)\b | \bgive\ (?:me|us)\ a\ (?:call|ring)\b |
        \bcall\ ?back\b | \bnumber\ (?:i|we)\ can\ call\b | \byour\ (?:tele)?phone\ number\b |
        \b(?:tele)?phone\ number\ (?:for|of)\ (?:support|customer\ service|you)\b |
        \b(?:can|could|will)\ (?:someone|somebody|anyone|you)\ (?:please\ )?call\b |
        \brufen\ sie\ mich\b | \bruft\ mich\b | \br[üu]ckruf\w* | \banrufen\b |
        \b(?:r?appelez|r?appelle[zr]?)[\s-]moi\b | \bme\ (?:r?appeler)\b |
        \bll[áa]m(?:en|ad)me\b | \bme\ (?:puede|pueden|podéis|podeis|podr[íi]an?)\ llamar\b |
        \bdevolver\ la\ llamada\b | \bgive\ (?:me|us)\ a\ bell\b | \bdrop\ (?:me|us)\ a\ call\b |
        \b(?:get|have|arrange|request|book|prefer|like|want|need)\ (?:a\ )?(?:phone\ )?
        call(?:\ ?back)?\ (?:from|with|instead)\b | \bphone\ call\ instead\b |
        \bcall\ (?:from|with)\ (?:a|an|the|your)\ (?:manager|supervisor|person|human|agent)\b
        """,
    ),
    cue(
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
    cue(
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
        \b(?:dm'?d|pm'?d|messaged|dmed)\ (?:you|u)\b(?!\ (?:\d+|two|three|four|five|six|
        several|many|multiple|a\ few|so\ many|numerous|countless)\ times) | \bzur[üu]ckrufen\b |
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
    together(
        "asks to be contacted or messaged",
        r"""
        \b(?:some\ ?one|some\ ?body|any\ ?one|any\ ?body|one\ of\ (?:your|the|you)\ \w+|
        a\ (?:manager|supervisor|person|human|member\ of\ staff|rep|representative)|
        your\ (?:staff|team|manager|office))\b
        """,
        r"""
        \b(?:call|ring|phone|email|e-mail|text|message|dm|pm|contact|write\ to|get\ back\ to|
        reach\ out\ to|get\ in\ touch\ with|reply\ to)\ (?:me|us)\b | \b(?:drop|send|shoot)
        \ (?:me|us)\ (?:a|an)\ (?:line|email|e-mail|message|note|dm|pm|text)\b |
        \bgive\ (?:me|us)\ a\ (?:call|ring|bell)\b
        """,
    ),
    cue(
        "asks to be handed to whoever deals with it",
        r"""
        \bput\ (?:me|us)\ in\ touch\ with\b | \bwhoever\ (?:handles|deals\ with|is\ in\ charge|
        is\ responsible|looks\ after|can\ (?:help|sort|fix))\b | \b(?:pass|hand|send|forward)
        \ (?:it|this|me|my\ \w+)\ (?:on\ |over\ |up\ )?to\ (?:someone|somebody|a\ person|your
        \ \w+|the\ right)\b | \bsomeone\ (?:senior|higher\ up|in\ charge|with\ authority)\b |
        \bhigher\ up\b | \bthe\ right\ (?:person|department|team)\b |
        \bconnect\ (?:me|us)\b(?!\ (?:to|with)\ (?:the\ |my\ |your\ )?(?:wi-?fi|internet|network|
        tv|printer|bluetooth|app|account))
        """,
    ),
)

NO_HUMAN = pattern(
    r"""
    \b(?:driver|courier|delivery\ (?:guy|person|driver))\ (?:to\ )?call\ me\b |
    \b(?:said|promised)\ (?:he|she|they|you|someone)(?:'d|\ would)\ call\ (?:me\ )?back\b |
    \bno\ need\ (?:for|of|to\ (?:talk|speak|call|contact))\ (?:to\ | with\ )?(?:an?\ )?(?:human|
    agent|person|call|me)? | \b(?:don'?t|do\ not|never)\ (?:need|want)\ (?:an?\ | to\ (?:talk|
    speak)\ (?:to|with)\ (?:an?\ )?)(?:human|agent|person|call) |
    \b(?:please\ )?(?:don'?t|do\ not)\ (?:call|contact|email|message|ring)\ me\b |
    \bwithout\ (?:an?\ )?(?:human|agent)\b |
    \b(?:said|told|promised|supposed|was\ told|were\ told)\b[^.!?]{0,40}?\b(?:would|will|'d|'ll|
    to)\ (?:call|ring|phone|email|e-mail|contact|get\ back\ to|message|reply\ to|text)(?:\ me|
    \ us)?(?:\ back)?\b | \b(?:promised|was\ promised|were\ promised|offered)\ (?:me\ |us\ )?
    an?\ (?:call\ ?back|call|email|reply)\b |
    \b(?:text|email|e-mail|message|notify)\ (?:me|us)\ (?:when|once|as\ soon\ as|if)\b
    """
)
