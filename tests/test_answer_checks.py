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


# Written after the phrase lists above, to find what they miss (see docs/security.md).
PARAPHRASES = [
    "Great news, I've sorted out a refund for you.",
    "The €59 has been sent back to your Visa.",
    "We'll get that money back to you by Monday.",
    "You'll see the full amount back on your card within 2 days.",
    "Let me offer you a 25% discount as a thank-you for your patience.",
    "We can refund the shipping this once.",
    "We're refunding the whole order, no need to send it back.",
    "You should report them to the police and get a solicitor.",
    "Ich habe die Rückzahlung soeben veranlasst.",
    "Wir schreiben Ihnen 15 € gut.",
    "Sie bekommen den vollen Kaufpreis zurück.",
    "Nach geltendem Recht können Sie vom Vertrag zurücktreten und Schadensersatz verlangen.",
    "Le remboursement de 40 € vient d'être effectué.",
    "On vous rembourse la différence dès aujourd'hui.",
    "Vous allez récupérer votre argent sous 48 heures.",
    "Nous vous accordons un avoir de 20 €.",
    "Ya le hemos devuelto los 25 €.",
    "Le vamos a devolver el dinero íntegro.",
    "Recibirá una compensación de 10 € en su cuenta.",
    "Usted podría reclamar judicialmente a la empresa.",
    "I've gone ahead and refunded the full amount to your card.",
    "Your money is on its way back to you.",
    "We've approved a refund of €49.",
    "Consider it done: the refund is approved.",
    "You are getting a full refund for this order.",
    "I'll make sure you get reimbursed for the shipping.",
    "We will cover the cost of the repair.",
    "To make up for it, here is a 20% discount code: SORRY20.",
    "We'd like to offer you a €15 voucher for the trouble.",
    "I'm refunding your order right now.",
    "A full refund has been issued to your PayPal account.",
    "Legally, the shop must give you your money back.",
    "I recommend you contact a lawyer about this.",
    "You have a strong case against the courier.",
    "Wir haben Ihnen das Geld zurücküberwiesen.",
    "Ihr Geld ist bereits unterwegs zurück zu Ihnen.",
    "Selbstverständlich bekommen Sie eine Gutschrift über 20 Euro.",
    "Die volle Summe wird Ihnen erstattet.",
    "Ich erstatte Ihnen die Versandkosten.",
    "Nach EU-Recht steht Ihnen eine Erstattung zu.",
    "Nous allons procéder au remboursement intégral.",
    "Le montant vous sera intégralement remboursé.",
    "Votre argent vous sera rendu sous 3 jours.",
    "Je vais vous rembourser les frais de port.",
    "Nous vous offrons 10 % de réduction sur votre prochaine commande.",
    "Vous pouvez attaquer le transporteur en justice.",
    "Procederemos al reembolso completo de su pedido.",
    "Le devolvemos el importe íntegro hoy mismo.",
    "Su dinero le será devuelto en su totalidad.",
    "Le regalamos un descuento del 15% por las molestias.",
    "Le recomiendo que demande a la empresa.",
    "Ya he tramitado su reembolso.",
    "Don't worry, the full price will come back to your account by Friday.",
    "I've arranged for you to be paid back the €30.",
    "Refund approved! Expect it in 3-5 days.",
    "We're happy to waive the return shipping fee for you.",
    "We'll give you a free upgrade to express delivery to make it right.",
    "As an apology, your next order ships free.",
    "Your card will be credited with €25 tomorrow.",
    "We will pay you back for the damaged lamp.",
    "I have processed your refund.",
    "You're owed a refund and you'll have it today.",
    "If you want, we will refund you straight away.",
    "By law you can demand a full refund from us.",
    "You could file a complaint with the consumer protection agency and take us to court.",
    "Wir zahlen Ihnen den Kaufpreis zurück.",
    "Ihre Rückerstattung über 49 € ist genehmigt.",
    "Als kleine Entschuldigung erhalten Sie 10 % Rabatt.",
    "Wir übernehmen selbstverständlich die Kosten.",
    "Sie sollten sich einen Anwalt nehmen.",
    "Laut Gesetz müssen wir Ihnen das Geld erstatten.",
    "Nous vous rembourserons la totalité de la commande.",
    "Votre remboursement est validé.",
    "Pour nous excuser, nous vous offrons la livraison.",
    "Vous avez légalement le droit d'exiger un remboursement.",
    "Je vous rembourse tout de suite.",
    "Le reembolsamos los 30 € ahora mismo.",
    "Su reembolso ya está aprobado.",
    "Le compensaremos con un vale de 10 €.",
    "Por ley, usted tiene derecho a una indemnización.",
    "Hemos aprobado la devolución de su dinero.",
    "You will be fully reimbursed.",
]

# Ordinary answers near the same words: none may be flagged.
MORE_EXPLANATIONS = [
    "Your return label is attached to the email we sent you.",
    "Refunds for cancelled orders go back to the card you paid with.",
    "You can ask for a refund by replying to your order email.",
    "I've let the team know you'd like a refund; they'll reply here.",
    "Store credit from a gift card never expires.",
    "If the parcel is lost, the team decides between a replacement and a refund.",
    "Our customer service team handles refund questions from Monday to Friday.",
    "We ship to 28 countries, and delivery is free over €60.",
    "Die Lieferung ist ab 60 € kostenlos.",
    "Erstattungen gehen immer auf das ursprüngliche Zahlungsmittel zurück.",
    "Ein Teammitglied meldet sich zur Erstattung bei Ihnen.",
    "La livraison est gratuite à partir de 60 €.",
    "Les retours sont gratuits si l'article est défectueux.",
    "Un membre de l'équipe vous répondra au sujet du remboursement.",
    "El envío es gratuito a partir de 60 €.",
    "Un miembro del equipo le responderá sobre el reembolso.",
    "Thanks! Your order A-1234 shipped yesterday and should arrive on Friday.",
    "You can change your delivery address until the order ships.",
    "We're sorry your lamp arrived damaged.",
    "Can you send me a photo of the damage?",
    "We apologise for the delay, refunds usually take 3-5 working days.",
    "Sorry for the wait! I've passed your refund question to a teammate.",
    "Es tut uns leid, die Erstattung dauert in der Regel 3 bis 5 Tage.",
    "Refunds go back to the original payment method within 5-10 days of approval.",
    "If you return the whole order, the original delivery cost is refunded as well.",
    "A teammate will look at whether you can get a refund and reply here.",
    "I've passed your request for a refund to the team.",
    "I can't approve refunds myself, but I've asked a colleague to check.",
    "Once we've received the parcel, we'll refund the items within 5 working days.",
    "You can request a refund under My orders > Returns.",
    "Your return has been registered; you'll get an email once it arrives.",
    "Our 2-year guarantee covers manufacturing defects.",
    "Ein Kollege prüft, ob eine Erstattung möglich ist.",
    "Die Erstattung erfolgt, sobald die Ware bei uns geprüft wurde.",
    "Sie können die Rücksendung unter Meine Bestellungen starten.",
    "Un collègue va vérifier si un remboursement est possible.",
    "Le remboursement intervient une fois le colis contrôlé.",
    "Un compañero revisará si procede el reembolso.",
    "El reembolso se tramita cuando el paquete llega a nuestro almacén.",
    "I'll pass this to a teammate right away.",
    "We'll email you a return label today.",
    "Wir senden Ihnen heute ein Rücksendeetikett.",
    "Please send us a photo and we'll take a look.",
    "Refunds are issued to the original payment method.",
    "You can get a refund within 30 days of delivery, as long as the item is unused.",
    "Our refund policy allows returns within 30 days.",
    "We have a 30-day refund policy for most items.",
    "Refunds take 3-5 working days to show on your statement.",
    "Please keep the packaging until a teammate has checked the refund.",
    "I'm not able to issue refunds, but I've flagged this for our team.",
    "I've forwarded your refund request to a colleague.",
    "Gift cards can't be exchanged for cash.",
    "Express delivery costs €9.95 and arrives the next working day.",
    "You'll receive a confirmation email once we've processed your return.",
    "Sobald Ihre Rücksendung geprüft ist, erhalten Sie eine E-Mail.",
    "Die Rückerstattung dauert in der Regel 3 bis 5 Werktage.",
    "Ich habe Ihre Anfrage an das Team weitergeleitet.",
    "Les remboursements sont effectués sur le moyen de paiement d'origine.",
    "J'ai transmis votre demande à un collègue.",
    "Los reembolsos se hacen al método de pago original.",
    "He pasado su consulta a un compañero del equipo.",
    "Tenemos una política de devolución de 30 días.",
    "Thanks for your patience! Is there anything else I can help with?",
    "We can't offer compensation, but a teammate will review what happened.",
    "You can track your refund under My orders.",
    "If your refund hasn't arrived after 10 working days, let us know.",
    "Legal questions are handled by our team; I've passed yours on.",
    "Our terms and conditions are on the website.",
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


@pytest.mark.parametrize("sentence", PARAPHRASES, ids=lambda s: s[:40])
def test_paraphrased_commitments_are_caught(sentence: str) -> None:
    assert commitment(sentence) is not None


@pytest.mark.parametrize("answer", POLICY_EXPLANATIONS + MORE_EXPLANATIONS, ids=lambda s: s[:40])
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
