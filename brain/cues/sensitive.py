"""Sensitive matters that always go to a person, whatever the playbook says: fraud or an
unauthorised charge, chargebacks, legal threats, privacy and personal-data requests, billing
disputes and formal complaints; and ``IN_PROGRESS``, fraud happening now (urgent as well)."""

from __future__ import annotations

from brain.cues.base import Cue, cue

SENSITIVE: tuple[Cue, ...] = (
    cue(
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
        \b(?:hacked|hijacked)\b | \b(?:been|was|got|being)\ scammed\b |
        \bwithout\ (?:my|our|the\ account\ holder'?s)\ (?:permission|consent|authori[sz]ation|
        knowledge)\b | \b(?:someone|somebody)\ (?:else\ )?(?:has\ )?(?:withdrew|withdrawn|
        took|taken|spent|transferred|changed|reset)\b | \b(?:asked|asking|wants?)\ (?:me\ )?
        (?:for|to\ (?:confirm|give|share|read\ out))\ my\ (?:pin|password|passcode|one[-\ ]time|
        otp|security|card\ (?:number|details)|verification|code)\b | \b(?:is\ (?:this|that|it)|
        are\ (?:these|they))\ (?:text|email|e-mail|call|message|sms)?\s?(?:real|genuine|legit|
        legitimate|from\ you)\b[^.!]{0,40}\b(?:pin|password|code|details|payment|bank)\b |
        \b(?:payment|charge|transaction|debit|purchase|withdrawal)s?\ (?:i|we)\ (?:didn'?t|
        did\ not|never)\ (?:make|do|authori[sz]e|order|request)\b |
        \b(?:company|merchant|shop)\ I'?ve\ never\ heard\ of\b |
        \b(?:someone|somebody|a\ stranger)\ (?:else\ )?(?:has\ | had\ )?(?:used|hacked|
        accessed|took\ over|bought|ordered|booked|logged\ into)\ (?:my|things|stuff|with)\b |
        \bphishing\b |
        \b(?:logins?|log-?ins?|sign[\s-]?ins?|access)\ (?:to|on|into)\ my\ account\ from\b |
        \b(?:never|didn'?t|did\ not)\ authori[sz]e\w*\b | \bnever\ signed\ up\ for\b |
        \bbetrug\b | \bnicht\ autorisiert\w* | \bfraude\b | \bnon\ autoris[ée]e?s?\b |
        \bno\ autorizad[oa]s?\b | \bsuplantaci[óo]n\b
        """,
    ),
    cue(
        "a chargeback or payment dispute",
        r"""
        \bcharge\ ?backs?\b | \bdisput(?:e|ed|ing)\ (?:the|this|a|my|it|that)\b |
        \b(?:reverse|cancel)\ the\ (?:charge|payment|transaction)\b |
        \bpaypal\ (?:claim|dispute|case)\b | \brückbuchung\b | \brücklastschrift\b |
        \bcontestation\b | \brejet\ de\ pr[ée]l[èe]vement\b | \bcontracargo\b |
        \bretrocesi[óo]n\b
        """,
    ),
    cue(
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
    cue(
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
    cue(
        "a billing dispute",
        r"""
        \b(?:still|keep|keeps|kept|been)\ (?:being\ )?(?:charg|bill|debit|tak)\w*\b
        [^.!?]{0,40}\b(?:cancel\w*|closed|froze|frozen|ended|left)\b |
        \b(?:charg|bill)\w*\ (?:me\ )?(?:every\ month\ )?(?:since|after|even\ though|although)
        \ (?:i|we)\ (?:cancel\w*|closed|froze|left|returned)\b |
        \b(?:charg|bill)\w*\ (?:me\ )?for\ (?:something|things|items?|an?\ \w+|a\ \w+\ \w+)
        \ (?:i|we)\ (?:never|didn'?t|did\ not|have\ not|haven'?t|cancel\w*|closed|returned)
        (?:\ \w+)?\b | \bquoted\ \S+\ (?:and|but|then)\ (?:charged|billed|invoiced)\b |
        \b(?:bill|invoice|direct\ debit|premium)s?\ (?:has\ |have\ )?(?:doubled|tripled)\b |
        \btrying\ to\ charge\ me\b | \bcharg\w*\ (?:me\ )?(?:for|over)\ (?:a\ )?(?:scratch|
        damage|dent)\w*\ (?:that|which)\ (?:was|were)\ already\b
        """,
    ),
    cue(
        "a formal complaint",
        r"""
        \b(?:make|file|lodge|raise|submit|register|open)\ (?:a\ )?(?:formal\ |official\ )?
        complaint\b | \bformal\ complaint\b | \bescalate\ (?:this|it|my\ \w+|the\ \w+)\b |
        \bBeschwerde\ einreichen\b | \bporter\ plainte\b | \bplainte\ formelle\b |
        \bqueja\ formal\b | \bhoja\ de\ reclamaciones\b
        """,
    ),
)
# Fraud happening now: someone else holds the account or the card, or is being talked into it.
IN_PROGRESS = cue(
    "fraud in progress: an account or card in someone else's hands",
    r"""
    \b(?:hacked|hijacked|taken\ over)\b | \b(?:card|wallet|phone|purse)\ (?:was\ |has\ been\ |
    got\ )?stolen\b | \bstolen\ (?:card|phone|wallet)\b | \b(?:someone|somebody)\ (?:else\ )?
    (?:has\ )?(?:withdrew|withdrawn|took|taken|spent|transferred|changed\ (?:my|the)\ (?:email|
    password|number)|logged\ into|is\ using)\b | \b(?:asked|asking)\ (?:me\ )?(?:for|to\ confirm)
    \ (?:my\ )?(?:pin|password|code|a\ payment)\b | \bconfirm\ a\ payment\ (?:i|we)\ (?:didn'?t|
    did\ not|never)\b
    """,
)
