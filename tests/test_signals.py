"""Signals on how customers really write: each fires on its kind of wording, says why, and
stays quiet on plain in-scope questions (the app must not escalate more on them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain.classify import Classifier
from brain.escalation import Facts, Policy, Reason, explain, reasons
from brain.signals import SignalReader
from brain.store.base import StoreLimits
from brain.store.sqlite import SqliteStore
from channels.base import Author, ConversationRef, InboundMessage
from tests.conftest import BrainFactory

READER = SignalReader()
STAFF = "asks to be put through to a person or a kind of staff"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("wtf is going on with your app", "profanity"),
        ("I am done with this company 😡", "angry emoji"),
        ("lost my parcel again #AcmeFail", "a hashtag cursing the brand"),
        ("you are a bunch of liars and scammers", "accuses the company of lying or scamming"),
        ("great job losing my luggage again", "sarcasm that praises a failure"),
        ("thanks for nothing", "sarcasm that praises a failure"),
        ("I'm absolutely fed up with this", "says they are angry or fed up"),
        ("THE PARCEL IS LATE AND NO ONE ANSWERS", "writes in capitals"),
        ("where is my refund?!?!", "repeated punctuation"),
        ("Das ist unverschämt, ich bin wütend", "says they are angry or fed up"),
        ("Service client lamentable, c'est inadmissible", "says they are angry or fed up"),
        ("Estoy harta, es una vergüenza", "says they are angry or fed up"),
    ],
)
def test_anger_in_its_many_forms(text: str, why: str) -> None:
    assert READER.read(text).angry == why


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("can someone call me back today?", "asks to be called"),
        ("please DM me, it's about my account", "asks to be contacted or messaged"),
        ("contact me asap", "asks to be contacted or messaged"),
        ("put me through to a supervisor", STAFF),
        ("I need to talk to your billing team", STAFF),
        ("let me speak to a real person", STAFF),
        ("Rufen Sie mich bitte an", "asks to be called"),
        ("Pouvez-vous me rappeler ?", "asks to be called"),
        ("Quiero hablar con un supervisor", STAFF),
    ],
)
def test_wants_a_person_in_its_many_phrasings(text: str, why: str) -> None:
    assert READER.read(text).human_request == why


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("stranded at the airport, my flight was cancelled", "travel disrupted right now"),
        ("my flight leaves in 3 hours and I have no boarding pass", "travel disrupted right now"),
        ("my card is blocked and I can't get my money", "cannot reach their money"),
        ("the app has been down since this morning", "a service is down right now"),
        ("the heater caught fire last night", "safety: injury, fire, smoke or shock"),
        ("I need the dress by tonight for a wedding", "a deadline within hours"),
    ],
)
def test_urgency_that_cannot_wait(text: str, why: str) -> None:
    signals = READER.read(text)
    assert signals.urgent == why
    assert signals.urgency is not None and signals.urgency.label == "urgent"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("there's a charge on my card I didn't make", "fraud or an unauthorised charge"),
        ("I will file a chargeback", "a chargeback or payment dispute"),
        ("my lawyer will contact you", "a legal threat"),
        ("send me all the personal data you hold about me", "a privacy or personal-data request"),
        ("the charger caught fire", "safety: injury, fire, smoke or shock"),
    ],
)
def test_sensitive_categories(text: str, why: str) -> None:
    assert READER.read(text).sensitive == why


@pytest.mark.parametrize(
    "text",
    [
        "I have emailed you 4 times and nobody replied",
        "this is the third time I'm asking",
        "you promised a callback and nobody called",
        "still no reply to my email from last week",
    ],
)
def test_support_failed_before(text: str) -> None:
    assert READER.read(text).failed_before == "support already failed before"


BENIGN = [
    "How do I return an item?",
    "Where is my order?",
    "Thank you so much, that was really helpful!",
    "the lamp arrived broken!",
    "my order hasn't arrived yet, it was due on friday!",
    "Can you email me the invoice please?",
    "I need this delivered by friday, it's a gift",
    "second time ordering from you, love the quality",
    "I already sent the item back, where is my refund?",
    "how long do the candles burn?",
    "I called my bank and they said the payment is fine",
    "the tracking shows no update for 5 days",
    "still waiting for my parcel, any news?",
    "Is the refund processed within 24 hours?",
    "I changed my phone number, how do I update it?",
    "no need for a human, just tell me the return window",
    "Wo ist meine Bestellung?",
    "¿Puedo pagar con PayPal?",
]


@pytest.mark.parametrize("text", BENIGN)
def test_plain_questions_raise_nothing(text: str) -> None:
    signals = READER.read(text)
    fired = (signals.angry, signals.human_request, signals.urgent, signals.sensitive,
             signals.failed_before)  # fmt: skip
    assert fired == (None,) * 5, (text, signals)


def test_courtesy_does_not_make_a_complaint_positive() -> None:
    assert (
        READER.sentiment("please help, thank you, my card was charged twice and it's wrong") < 0.3
    )
    assert READER.read("thanks for nothing, you lost it again").sentiment < 0


def test_every_fired_reason_says_why(classifier: Classifier) -> None:
    text = "wtf, stranded at the airport and nobody replied to my 3 emails, call me"
    facts = Facts(text, classifier.classify(text), 1.0, Author(id="u"), customer_turns=1)
    found = reasons(Policy(), facts)
    assert {Reason.NEGATIVE_SENTIMENT, Reason.URGENT, Reason.SUPPORT_FAILED,
            Reason.HUMAN_REQUESTED} <= set(found)  # fmt: skip
    whys = explain(Policy(), facts, found)
    assert whys["negative_sentiment"] == "profanity"
    assert whys["urgent"] == "travel disrupted right now"
    assert whys["human_requested"] == "asks to be called"


def test_complaints_escalate_by_playbook_setting(classifier: Classifier) -> None:
    complaint = classifier.playbook.get("complaint")
    assert complaint is not None and complaint.escalate_always


async def test_the_card_shows_why_each_reason_fired(
    tmp_path: Path, make_brain: BrainFactory
) -> None:
    store = SqliteStore(tmp_path / "state.db", limits=StoreLimits())
    await store.open()
    try:
        message = InboundMessage(
            ref=ConversationRef(channel="fake", conversation_id="c1"),
            message_id="m1",
            author=Author(id="u"),
            text="wtf, where is my parcel? call me",
        )
        decision = await make_brain(store).handle(message)
    finally:
        await store.close()
    assert decision.card is not None
    assert "human_requested (asks to be called)" in decision.card.reasons
    assert "negative_sentiment (profanity)" in decision.card.reasons
    assert {"human_requested", "negative_sentiment"} <= set(decision.reasons)


def test_a_long_message_is_read_at_its_opening_and_its_close() -> None:
    log = "ERROR 0x1f at module loader line 42\n" * 120  # a pasted log, 4,000+ characters
    signals = READER.read(f"wtf, your app crashed again.\n{log}\nplease call me back")
    assert signals.angry == "profanity"
    assert signals.human_request == "asks to be called"
