"""Signals on the ways real customers write (issue 14, item 4): masked swearing, insults,
ultimatums, irony, emphasis with a complaint behind it, people asked for in roundabout ways,
urgency told as a situation, contested billing; and the in-scope questions that stay calm."""

from __future__ import annotations

import re

import pytest

from brain.cues import Cue, anger, failed, grievance, person, sensitive, tone, urgency
from brain.cues.normalize import masked_swearing
from brain.signals import SignalReader

READER = SignalReader()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("what the f**k is this", "profanity"),
        ("sh!t service as always", "profanity"),
        ("$hit app", "profanity"),
        ("f***ing useless", "profanity"),
        ("you lot are absolute clowns", "insults the company or its staff"),
        ("fix this or I'll cancel my contract", "gives an ultimatum"),
        ("hello?? anyone there??", "asks whether anyone is there at all"),
        ('so my "next day" delivery is on day 5', "ironic quotes"),
        ("the parcel is SOAKED THROUGH and ruined", "shouts words in capitals"),
        ("why has my bill gone up??", "repeated punctuation"),
        ("stop sending me automated replies", "fed up with automated replies"),
        ("I'm going to my MP about this", "threatens to take it further"),
        ("the 8:15 was late every day this week, yet again", "a failure that keeps happening"),
        (
            "do you employ people who can read addresses??",
            "questions whether the company can do its job",
        ),
        ("the driver just laughed at me", "says staff were dismissive"),
        ("absolutely gutted, lost all my photos", "says they are upset or let down"),
        ("I'm not paying it", "refuses to pay"),
    ],
)
def test_anger_as_real_customers_write_it(text: str, why: str) -> None:
    assert READER.read(text).angry == why


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("could somebody from the accounts side drop me an email",
         "asks to be contacted or messaged"),
        ("put me in touch with whoever handles refunds",
         "asks to be handed to whoever deals with it"),
    ],
)  # fmt: skip
def test_a_person_asked_for_in_roundabout_ways(text: str, why: str) -> None:
    assert READER.read(text).human_request == why


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("water is pouring through the ceiling",
         "a home emergency: flooding or water near electrics"),
        ("my son has a nut allergy and the cookies had peanuts in them",
         "safety: a food allergy or contamination"),
        ("my 90-year-old dad has no heating since yesterday",
         "a vulnerable person left without something they need"),
        ("the host cancelled and we're stood outside with our bags", "travel disrupted right now"),
        ("you're holding my payout and I can't pay for groceries", "money held or out of reach"),
        ("got a letter from debt collectors about a bill I paid",
         "threatened with debt collection, eviction or a cut-off"),
        ("the sale ends at midnight and the checkout won't load", "a deadline within hours"),
        ("the fitters left exposed wires in the kitchen", "safety: a hazard or an intruder"),
        ("I'm going to miss my flight because of this", "something they will lose if it waits"),
        ("someone changed my email and password, I can't get in",
         "fraud in progress: an account or card in someone else's hands"),
    ],
)  # fmt: skip
def test_urgency_told_as_a_situation(text: str, why: str) -> None:
    signals = READER.read(text)
    assert signals.urgent == why
    assert signals.urgency is not None and signals.urgency.label == "urgent"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("you're still charging me after I cancelled", "a billing dispute"),
        ("they quoted 200 and charged 650", "a billing dispute"),
        ("I want to make a formal complaint", "a formal complaint"),
        ("someone changed my email and password", "fraud or an unauthorised charge"),
    ],
)
def test_contested_billing_and_formal_complaints_are_sensitive(text: str, why: str) -> None:
    assert READER.read(text).sensitive == why


CALM = [
    # The sample playbook answers these itself (double_charge, wrong_amount_charged, ...).
    "charged twice, please refund one",
    "I get an error 500 when I try to pay",
    "still no refund after 2 weeks",
    # Asking to be told, or how to reach support, is not asking for a person now.
    "text me when the repair is ready",
    "what's the best way to contact you?",
    "I was told a manager would email me",
    # Problem words, quotes, excitement and dollar signs alone are not anger.
    'what does "processing" mean on my order?',
    "is the sale on tonight!!!",
    "my parcel is late, arrived broken and I want a refund please",
    "it only costs $5?",
    "email me the receipt at sam@home.example",
    "can I take a power bank on the plane?",
    "I'm not happy with the colour, can I exchange it?",
]


@pytest.mark.parametrize("text", CALM)
def test_in_scope_questions_stay_calm(text: str) -> None:
    signals = READER.read(text)
    fired = (signals.angry, signals.human_request, signals.urgent, signals.sensitive,
             signals.failed_before)  # fmt: skip
    assert fired == (None,) * 5, (text, signals)


@pytest.mark.parametrize(
    ("token", "found"),
    [("f*ck", True), ("a**hole", True), ("b@stards", True), ("p!ss", True), ("sh*t!", True),
     ("hell0", False), ("c0ntact", False), ("gr8", False), ("ok!!", False), ("100%", False)],
)  # fmt: skip
def test_masked_swearing(token: str, found: bool) -> None:
    assert (masked_swearing(f"well {token} then") is not None) is found


def _tables() -> list[Cue]:
    return [*anger.ANGER, *grievance.GRIEVANCE, *person.HUMAN, *urgency.URGENT, urgency.SOON,
            *sensitive.SENSITIVE, sensitive.IN_PROGRESS, *failed.FAILED]  # fmt: skip


def test_every_cue_is_well_formed() -> None:
    """A backslash at the end of a verbose pattern's line escapes the newline, which then has
    to match literally: the alternative silently never fires."""
    for cue in _tables():
        assert cue.why
        for pattern in (cue.pattern, *cue.also):
            assert not re.search(r"(?<!\\)\\\n", pattern.pattern), (cue.why, pattern.pattern)
    for name in (
        "PRAISE",
        "PROBLEM",
        "SCARE_QUOTES",
        "LONG_WAIT",
        "RECURRING",
        "CLOSING_PRAISE",
        "EXASPERATED",
        "FACTS",
        "COURTESY",
        "NEGATIVE_WORDS",
        "OUTAGE",
        "REPEATED",
        "PRESSING",
        "REQUEST",
        "NOBODY_THERE",
        "SELF_BLAME",
        "FIXED",
    ):
        assert not re.search(r"(?<!\\)\\\n", getattr(tone, name).pattern), name


# -- anger read with the lexicon, and how customers curse a brand without cue words (branch
# anger): every sentence below is written for these tests.
@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("@PlanetPost parcel 3 days late #dreadful", "a hashtag cursing the brand (#dreadful)"),
        ("still no refund from @SunTours #NotHappy", "a hashtag cursing the brand"),
        ("delayed at the gate #alwayswasting", "a hashtag cursing the brand (#alwayswasting)"),
        ("shout out to @Bytecell for losing my number port", "sarcasm that praises a failure"),
        ("cheers @Rollo for ruining our anniversary dinner", "sarcasm that praises a failure"),
        ("thanks for the stress.", "sarcasm that praises a failure"),
        ("thank you for ripping me off twice this year", "sarcasm that praises a failure"),
        ("they didn't even bother to reply to my letter", "says the company cannot be bothered"),
        ("zero communication from the depot all week", "says the company cannot be bothered"),
        ("charged me a fee and not a word of explanation", "says the company cannot be bothered"),
        ("this is my last ever booking with you", "says the company cannot be bothered"),
        ("why does the scanner app never work on a sunday", "asks why it never works"),
        ("can't believe the prices went up again", "cannot believe what happened"),
        ("parcel stuck in the depot for a month, beggars belief", "cannot believe what happened"),
        ("took a day off for the fitter and nobody turned up", "waited in and nobody came"),
        ("what happened to customer service at this place", "says the company cannot be bothered"),
        ("zero #help from your #support team", "says the company cannot be bothered"),
        ("superb, the kiosk kept my card and now it is blocked", "sarcasm that praises a failure"),
        ("oh great. the heating dies on the coldest night", "sarcasm that praises a failure"),
        ("two stars, would not recommend the upgrade", "threatens to leave"),
        ("genuinely woeful communication from the removals firm", "calls the service poor"),
    ],
)  # fmt: skip
def test_anger_the_lexicon_and_context_read(text: str, why: str) -> None:
    assert READER.read(text).angry == why


LEXICON_CALM = [
    # A negative hashtag needs a complaint behind it; titles and topics are not verdicts.
    "is #TheWalkingDead on the basic plan?",
    "do you sell tickets for the #horror film night?",
    "are #ProblemSolving workshops free for members?",
    "any #BlackFriday deals on headphones?",
    # Real thanks: for a fix, for help, for something good happening to a problem.
    "thanks for fixing the broken link so quickly",
    "thank you for finding my lost bag!",
    "thanks for the problem being sorted, all good now",
    "thanks for not charging me for the late return",
    # Questions with "why", "believe" or "bother" that are not complaints.
    "why is the gym always busy at 6pm, is there a quieter time?",
    "why does the app keep logging me out?",
    "I can't believe how fast that arrived, great stuff",
    "do I need to bother printing the ticket or is the app enough?",
    "the delivery slot is 2-4pm, will the driver call when he's near?",
    # Praise opening a message about something put right, or a plain question.
    "brilliant, the replacement arrived this morning",
    "perfect, that fixed the login error",
    "lovely! can I add a gift note too?",
    "would you recommend the large or the medium for a 5 year old?",
]


@pytest.mark.parametrize("text", LEXICON_CALM)
def test_lexicon_cues_leave_calm_questions_alone(text: str) -> None:
    assert READER.read(text).angry is None, (text, READER.read(text))


# -- fourth round (branch anger5): how customers walk out, scold, demand, mock and swear;
# every sentence below is written for these tests.
@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("@NetCo leaving you the day my contract ends", "threatens to leave or warns others off"),
        ("@NetCo I'm moving to a rival network, bye", "threatens to leave or warns others off"),
        ("@NetCo four days without internet and I'm done.",
         "threatens to leave or warns others off"),
        ("@Bakery stay away from this place, mouldy bread twice",
         "threatens to leave or warns others off"),
        ("@NetCo you've just lost a customer of 8 years", "threatens to leave"),
        ("@Bank what is wrong with you people", "scolds the company"),
        ("@Courier do your job and deliver the parcel", "scolds the company"),
        ("@Hotel zero stars if I could", "scolds the company"),
        ("@Energy stop fobbing me off with the same excuses", "scolds the company"),
        ("@Insure greedy lot, claim refused on a technicality", "scolds the company"),
        ("@Shop I want my money back today", "demands the money back"),
        ("@Gym my patience has run out with your billing", "says they are fed up or not satisfied"),
        ("@Rail total waste of money, 2 hours late", "says they are fed up or not satisfied"),
        ("@Telco are you having a laugh? another price rise", "cannot believe what happened"),
        ("@Courier where's my parcel you clowns", "insults the company or its staff"),
        ("@Shop the lies continue, still no refund", "accuses the company of lying or scamming"),
        ("@Gym you're robbing people with these fees", "accuses the company of lying or scamming"),
        ("@Bank your call centre staff are clueless", "insults the company or its staff"),
        ("@Gym the new app is useless", "says they are angry or fed up"),
        ("@Airline you've ruined our honeymoon", "blames the company for a harm (ruined)"),
        ("@Gym your trainers are so lazy", "calls the company or its staff lazy"),
        ("@App the app is down on payday. brilliant", "sarcasm that praises a failure"),
        ("@Rail late again 👏", "sarcasm that praises a failure"),
        ("@Courier cheers for the 3 hour wait", "sarcasm that praises a failure"),
        ("@App slow af, nothing loads", "profanity"),
        ("@Bank the effing app logged me out again", "profanity"),
        ("@Telco you keep telling me it's fixed, it isn't", "a failure that keeps happening"),
        ("@Telco nothing. nothing works.", "repeats words for emphasis"),
        ("@Telco second time asking: which engineer is coming?",
         "presses the point after support already failed"),
        ("@Telco still no reply after a week, is anyone there",
         "nobody there or nobody who knows"),
        ("@Telco refund me by friday or I'm cancelling", "gives an ultimatum"),
        ("@Telco you have 48 hours to refund me", "gives an ultimatum"),
        ("@Shop I\u2019m done with you", "says they are angry or fed up"),
        ("@Cafe grrr cold coffee again", "exasperated (a sigh, a facepalm, smh)"),
        # A negation keeps "order again" a threat to leave, and praise beside it sarcasm.
        ("@Deli great service, i would never order from you again",
         "sarcasm that praises a failure"),
        ("@Deli great job, lost my order again", "sarcasm that praises a failure"),
    ],
)  # fmt: skip
def test_anger_fourth_round(text: str, why: str) -> None:
    assert READER.read(text).angry == why


FOURTH_ROUND_CALM = [
    # The same words in plain questions, thanks and self-blame.
    "@NetCo my contract ends in june, what can you offer me?",
    "@NetCo is there a rival offer price match?",
    "@NetCo all done, thanks for the help",
    "@Bank what is wrong with my card? it says declined, can you check",
    "@Hotel five stars, lovely stay",
    "@Energy can you stop the paper bills please",
    "@Shop can I get my money back if it doesn't fit?",
    "@Gym I'm satisfied with the new classes",
    "@Telco haha love the new advert",
    "@Courier the clown costume arrived today, thanks",
    "@Bank your call centre staff were lovely",
    "@Store thanks a lot, it arrived early.",
    "@App brilliant, the update fixed the crash",
    "@Cafe grr I forgot my loyalty card again, can you add the stamp?",
    "@Telco I'm out of the country next week, will roaming work?",
    "@Shop I'm done shopping, when will it ship?",
    "@Telco what's the point of the booster, do I need it?",
    "@Party do you rent out bouncy castles?",
    # Wanting to come back is praise, not a failure told twice.
    "@Deli great service last week, can I order again?",
    "@Hotel amazing staff, we would love to stay again",
    "@Air brilliant crew, will definitely be flying with you again",
]


@pytest.mark.parametrize("text", FOURTH_ROUND_CALM)
def test_fourth_round_calm_look_alikes(text: str) -> None:
    assert READER.read(text).angry is None, (text, READER.read(text))


def test_every_grievance_gate_is_lower_case() -> None:
    """``grievance.find`` compares the gates with the lower-cased message."""
    for words, found in grievance._GATED:
        assert words and all(w == w.lower() for w in words), found.why


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("@Hire the car hire desk is closed and we've just landed", "travel disrupted right now"),
        ("@Bank I'm abroad with no money, the app rejects every payment",
         "cannot reach their money"),
        ("@Pay my wages are late and I can't buy food", "cannot reach their money"),
        ("@Bank I'm at the till and my card keeps getting declined",
         "money held or out of reach"),
        ("@SaaS production is down for every customer", "a service is down right now"),
        ("@Gas I can smell gas in the hallway", "safety: injury, fire, smoke or shock"),
        ("@Power the power's out and my dad is on a ventilator",
         "a vulnerable person left without something they need"),
        ("@Car the brakes failed on the van I just collected",
         "safety: injury, fire, smoke or shock"),
        ("@Flats someone tried to break into my flat last night",
         "safety: a hazard or an intruder"),
    ],
)  # fmt: skip
def test_urgency_fourth_round(text: str, why: str) -> None:
    assert READER.read(text).urgent == why


@pytest.mark.parametrize(
    "text",
    [
        "@Bank how do I block my card if I lose it?",
        "@Gas how do I read my gas meter?",
        "@Air what's the baggage allowance when I've just landed at a connecting airport?",
        "@Hotel is the restaurant closed on mondays?",
    ],
)
def test_urgency_fourth_round_calm(text: str) -> None:
    assert READER.read(text).urgent is None, (text, READER.read(text))
