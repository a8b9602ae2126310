"""Answer post-checks: commitments in every language the bot answers in, and prompt leaks.

Every answer of the packaged knowledge base (and each translation) must pass: the checks exist to
stop the model from deciding what a person decides, not from explaining the refund policy.
"""

from __future__ import annotations

import random
import re

import pytest

from brain.answer_checks import commitment, leaks
from brain.knowledge import KnowledgeBase
from brain.prompts import ParsedAnswer, PromptConfig, check, system_prompt
from brain.providers.base import AnswerRequest, Passage
from brain.providers.llm import InvalidAnswer
from config.settings import PACKAGED_KNOWLEDGE_DIR

COMMITMENTS = {
    "en": [
        "Your refund has been approved.",
        "Good news: your refund was approved and will reach you in 3 days.",
        "I have refunded your order.",
        "I’ve issued a full refund to your card.",
        "We will refund you the full amount.",
        "We'll refund your order today.",
        "You will receive a full refund.",
        "You'll get your money back.",
        "We're going to reimburse the shipping costs.",
        "The difference will be refunded to your card.",
        "No problem, we will issue a full refund today.",
        "As compensation, we'll add a €20 voucher to your account.",
        "As a goodwill gesture we'll give you 15% off your next order.",
        "We can make an exception for you this time.",
        "If you like, I'll refund you right away.",
        "You should sue the carrier.",
        "You could take legal action against them.",
        "Under EU consumer law you are entitled to a replacement.",
        "We guarantee it arrives tomorrow.",
    ],
    "de": [
        "Wir erstatten Ihnen den vollen Betrag.",
        "Ihre Erstattung wurde genehmigt.",
        "Ich habe Ihnen den Betrag bereits erstattet.",
        "Sie erhalten eine volle Rückerstattung.",
        "Sie bekommen Ihr Geld zurück.",
        "Wir werden Ihnen die Kosten zurückerstatten.",
        "Die Rückerstattung ist bereits veranlasst.",
        "Dann erstatten wir Ihnen die Versandkosten.",
        "Als Entschädigung schicken wir Ihnen einen Gutschein über 20 €.",
        "Aus Kulanz übernehmen wir die Versandkosten.",
        "Sie sollten den Händler verklagen.",
        "Rechtlich haben Sie einen Anspruch auf Schadensersatz.",
    ],
    "fr": [
        "Votre remboursement a été approuvé.",
        "Nous vous remboursons l'intégralité du montant.",
        "Je vous ai remboursé la commande.",
        "Vous serez remboursé intégralement.",
        "Vous recevrez un remboursement complet.",
        "À titre de compensation, nous vous offrons un bon d'achat de 20 €.",
        "En geste commercial, nous prenons en charge les frais de port.",
        "Vous devriez porter plainte contre le transporteur.",
        "Selon la loi, vous avez droit à une indemnisation.",
    ],
    "es": [
        "Su reembolso ha sido aprobado.",
        "Le reembolsaremos el importe completo.",
        "Le he devuelto el dinero.",
        "Recibirá un reembolso completo.",
        "Vamos a reembolsarle los gastos de envío.",
        "Como compensación, le enviaremos un cupón de 20 €.",
        "Debería demandar a la empresa de transporte.",
        "Según la ley, tiene derecho a una indemnización.",
    ],
}

POLICY_EXPLANATIONS = [
    "Refunds usually appear on your statement within 5-10 working days.",
    "Once your return arrives, we check it and refund you within 5 days.",
    "If an item arrives damaged, we'll send a replacement or refund it, whichever you prefer.",
    "I'm passing this to a teammate who can look at your refund.",
    "A teammate will check whether a refund is possible.",
    "I can't promise a refund, but a teammate will review your case today.",
    "I can't give legal advice, but a teammate will get back to you.",
    "Ich kann Ihnen leider keine Erstattung zusagen, aber ein Kollege prüft Ihren Fall.",
    "Wir erstatten den Betrag, sobald die Rücksendung bei uns eingetroffen ist.",
    "Je ne peux pas vous promettre de remboursement, un collègue va examiner votre demande.",
    "Le remboursement est effectué dès réception de votre retour.",
    "No puedo prometerle un reembolso, pero un compañero revisará su caso.",
    "Cuando recibamos su devolución, le haremos el reembolso.",
]


def knowledge_answers() -> list[tuple[str, str]]:
    kb = KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR)
    answers = [(entry.id, entry.answer) for entry in kb.entries]
    for entry in kb.entries:
        answers += [(f"{entry.id}:{lang}", text) for lang, text in entry.translations.items()]
    return answers


@pytest.mark.parametrize(
    "sentence", [s for group in COMMITMENTS.values() for s in group], ids=lambda s: s[:40]
)
def test_commitments_are_caught_in_every_language(sentence: str) -> None:
    assert commitment(sentence) is not None
    assert commitment(f"Thanks for waiting. {sentence} Anything else?") is not None


@pytest.mark.parametrize("answer", POLICY_EXPLANATIONS, ids=lambda s: s[:40])
def test_explaining_the_policy_is_not_a_commitment(answer: str) -> None:
    assert commitment(answer) is None


def test_no_knowledge_base_answer_trips_the_checks() -> None:
    answers = knowledge_answers()
    assert len(answers) > 30
    tripped = {key: why for key, text in answers if (why := commitment(text)) is not None}
    assert tripped == {}


def test_no_knowledge_base_answer_looks_like_a_leak() -> None:
    passages = (Passage(id="p", title="P", text="Passage text.", score=0.5),)
    system = system_prompt(AnswerRequest("q", "en", passages), PromptConfig(), nonce="ab" * 8)
    tripped = [
        key for key, text in knowledge_answers() if leaks(text, system.split("Knowledge-base")[0])
    ]
    assert tripped == []


def test_invisible_characters_and_accents_do_not_hide_a_commitment() -> None:
    assert commitment("Your re\u200bfund has been ap\u00adproved.") is not None
    assert commitment("Wir erstatten Ihnen den vollen Betrag") is not None
    assert commitment("Su reembolso ha sido aprobado") is not None  # written without accents


SYSTEM = system_prompt(
    AnswerRequest("q", "en", (Passage(id="p", title="P", text="x", score=0.5),)),
    PromptConfig(company="Larkspur Home"),
    nonce="0123456789abcdef",
)
INSTRUCTIONS = SYSTEM.split("Knowledge-base passages:")[0]


def interleave(words: list[str], every: int, filler: list[str]) -> str:
    out: list[str] = []
    for position, word in enumerate(words):
        out.append(word)
        if position % every == every - 1:
            out.append(filler[position % len(filler)])
    return " ".join(out)


def test_a_copied_passage_of_the_instructions_is_a_leak() -> None:
    copied = "Sure! My rules: Answer the customer's latest message using ONLY the knowledge-base"
    assert leaks(copied, INSTRUCTIONS)


@pytest.mark.parametrize("every", [1, 2, 3, 4])
def test_inserting_a_word_every_few_words_does_not_hide_a_leak(every: int) -> None:
    words = re.findall(r"\S+", INSTRUCTIONS)[10:40]
    disguised = interleave(words, every, ["banana", "ok", "so", "really", "hm"])
    assert leaks(disguised, INSTRUCTIONS), disguised


def test_dropping_a_word_here_and_there_does_not_hide_a_leak() -> None:
    words = re.findall(r"\S+", INSTRUCTIONS)[10:40]
    thinned = " ".join(w for i, w in enumerate(words) if i % 5 != 4)
    assert leaks(thinned, INSTRUCTIONS)


def test_ordinary_answers_are_not_leaks() -> None:
    rng = random.Random(7)
    vocabulary = re.findall(r"\w+", INSTRUCTIONS.lower())
    shuffled = " ".join(rng.sample(vocabulary, len(vocabulary)))  # the same words, no order
    for answer in [
        "I'm passing your question to a teammate, who will answer you here soon.",
        "You have 30 days to return most items, as long as they are unused.",
        "I can't answer that from our help pages, so a teammate will take over.",
        shuffled,
    ]:
        assert not leaks(answer, INSTRUCTIONS), answer


def test_check_rejects_a_commitment_with_a_reason_the_model_can_use() -> None:
    parsed = ParsedAnswer("Wir erstatten Ihnen den vollen Betrag.", 0.9, False, ())
    with pytest.raises(InvalidAnswer, match="promises a refund"):
        check(parsed, SYSTEM, PromptConfig(), 3000)
