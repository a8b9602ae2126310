"""Each escalation reason fires on a crafted message and stays quiet on a benign one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from brain.classify import Classifier
from brain.escalation import Facts, Policy, Reason, is_vip, reasons
from channels.base import Author

POLICY = Policy(
    answer_threshold=0.45,
    sentiment_threshold=-0.6,
    max_turns=8,
    sensitive_keywords=("lawyer", "chargeback"),
    vip_user_ids=("U-VIP",),
    vip_email_domains=("bigcorp.example",),
)
CUSTOMER = Author(id="U-1", display_name="Sam", email="sam@home.example")
BENIGN = "How do I return an item?"


def facts(classifier: Classifier, text: str, **overrides: object) -> Facts:
    base = Facts(
        text=text,
        classification=classifier.classify(text),
        answer_confidence=0.9,
        customer=CUSTOMER,
        customer_turns=1,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_benign_question_has_no_reason(classifier: Classifier) -> None:
    assert reasons(POLICY, facts(classifier, BENIGN)) == ()


@pytest.mark.parametrize(
    ("reason", "text", "overrides"),
    [
        (Reason.HUMAN_REQUESTED, "Can I please speak to a real person?", {}),
        (Reason.HUMAN_REQUESTED, "Ich möchte bitte mit einem Menschen sprechen", {}),
        (Reason.HUMAN_REQUESTED, "je voudrais parler à quelqu'un de votre équipe", {}),
        (Reason.NEGATIVE_SENTIMENT, "This is the worst, most useless shop ever. I'm furious!!", {}),
        (Reason.SENSITIVE, "I'm going to file a chargeback with my bank", {}),
        (Reason.SENSITIVE, "My lawyer will be in touch about the broken table", {}),
        (Reason.SENSITIVE, "I want you to delete all the personal data you hold about me", {}),
        (Reason.OUT_OF_SCOPE, "can you write me a poem about the sea", {"answer_confidence": 0.1}),
        (Reason.LOW_CONFIDENCE, BENIGN, {"answer_confidence": 0.2}),
        (Reason.NO_ANSWER, BENIGN, {"answer_confidence": None}),
        (Reason.TOO_MANY_TURNS, BENIGN, {"customer_turns": 9}),
        (Reason.REPEATED_QUESTION, BENIGN, {"previous_answered": ["how do i return an item"]}),
        (Reason.VIP, BENIGN, {"customer": Author(id="U-VIP")}),
        (Reason.VIP, BENIGN, {"customer": Author(id="U-2", email="ceo@BigCorp.example")}),
    ],
)
def test_reason_fires_on_crafted_message(
    classifier: Classifier, reason: Reason, text: str, overrides: dict[str, object]
) -> None:
    found = reasons(POLICY, facts(classifier, text, **overrides))
    assert reason in found, (text, found)
    assert reason.description


def test_playbook_escalate_always_fires_without_other_reasons(classifier: Classifier) -> None:
    base = facts(classifier, BENIGN)
    forced = replace(base, classification=replace(base.classification, escalate_always=True))
    assert reasons(POLICY, forced) == (Reason.PLAYBOOK,)


def test_strong_kb_match_overrules_an_unsure_classifier(classifier: Classifier) -> None:
    typo = facts(classifier, "how do i retrun an itme", answer_confidence=0.8)
    assert Reason.OUT_OF_SCOPE not in reasons(POLICY, typo)


def test_short_repeats_are_not_repeated_questions(classifier: Classifier) -> None:
    again = facts(classifier, "ok thanks", previous_answered=["ok thanks"])
    assert Reason.REPEATED_QUESTION not in reasons(POLICY, again)


def test_declining_a_human_is_not_asking_for_one(classifier: Classifier) -> None:
    text = "no need for a human, just tell me the return window"
    assert Reason.HUMAN_REQUESTED not in reasons(POLICY, facts(classifier, text))


def test_vip_can_be_answered_by_the_bot_when_configured(classifier: Classifier) -> None:
    policy = replace(POLICY, vip_always_human=False)
    vip = facts(classifier, BENIGN, customer=Author(id="U-VIP"))
    assert is_vip(policy, vip.customer)
    assert Reason.VIP not in reasons(policy, vip)


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("URGENT: the checkout is down and I can't pay", "urgent"),
        ("I need this delivered by friday, it's a gift", "high"),
        ("WHERE IS MY ORDER!!!", "urgent"),
        ("hi there", "low"),
        ("Do you ship to Norway?", "normal"),
    ],
)
def test_urgency_from_cues_and_intent(classifier: Classifier, text: str, urgency: str) -> None:
    assert classifier.classify(text).urgency.label == urgency


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wo ist meine Bestellung, bitte?", "de"),
        ("Je voudrais retourner un article", "fr"),
        ("¿Dónde está mi pedido?", "es"),
        ("Where is my parcel?", "en"),
        ("ok", "en"),
    ],
)
def test_language_detection(classifier: Classifier, text: str, language: str) -> None:
    assert classifier.classify(text).language == language


def test_sentiment_direction(classifier: Classifier) -> None:
    assert classifier.classify("Thank you so much, that was really helpful!").sentiment > 0.3
    assert classifier.classify("not happy at all, the lamp arrived broken").sentiment < 0
    assert classifier.classify("Do you ship to Norway?").sentiment == 0


def test_the_urgency_bump_for_anger_follows_the_sentiment_setting(classifier: Classifier) -> None:
    text = "my invoice looks bad, sad and gloomy"
    mood = classifier.classify(text).sentiment
    assert mood <= -0.6
    lenient = Classifier(classifier.playbook, ["en"], sentiment_threshold=mood - 0.05)
    strict = Classifier(classifier.playbook, ["en"], sentiment_threshold=mood + 0.05)
    assert lenient.classify(text).urgency.label == "normal"
    assert strict.classify(text).urgency.label == "high"


def test_a_repeat_is_found_among_earlier_messages_whatever_their_case(
    classifier: Classifier,
) -> None:
    earlier = ["hello there", "HOW DO I RETURN AN ITEM???", "thanks a lot"]
    again = facts(classifier, BENIGN, previous_answered=earlier)
    assert Reason.REPEATED_QUESTION in reasons(POLICY, again)
    other = facts(classifier, BENIGN, previous_answered=["where is my parcel", "hello there"])
    assert Reason.REPEATED_QUESTION not in reasons(POLICY, other)
