"""The sample playbook and knowledge base cover the four languages they claim (issue 10):
common questions in English, German, French and Spanish are answered in that language."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from brain.decision import DecisionKind
from brain.knowledge import KnowledgeBase
from brain.store.base import Store, StoreLimits
from brain.store.sqlite import SqliteStore
from channels.base import Author, ConversationRef, InboundMessage
from tests.conftest import BrainFactory

_ids = itertools.count(1)
# A word that only the answer in that language contains.
MARKER = {"en": "warehouse", "de": "Lager", "fr": "entrepôt", "es": "almacén"}
PAYMENT_MARKER = {"en": "We accept", "de": "Wir akzeptieren", "fr": "Nous acceptons",
                  "es": "Aceptamos"}  # fmt: skip

CASES = [
    ("en", "Hi, where is my order 5512?", "track-an-order"),
    ("en", "where's my order", "track-an-order"),
    ("en", "How do I send something back?", "return-an-item"),
    ("en", "Do you accept PayPal?", "payment-methods"),
    ("de", "Hallo, wo ist meine Bestellung 5512?", "track-an-order"),
    ("de", "Wo ist meine Bestellung?", "track-an-order"),
    ("de", "Wie lange dauert die Rückerstattung?", "refund-timing"),
    ("de", "Welche Zahlungsmethoden akzeptiert ihr?", "payment-methods"),
    ("fr", "Bonjour, où en est ma commande 5512 ?", "track-an-order"),
    ("fr", "Où est ma commande ?", "track-an-order"),
    ("fr", "Combien de jours ai-je pour retourner un article ?", "return-an-item"),
    ("fr", "Acceptez-vous PayPal ?", "payment-methods"),
    ("es", "Hola, ¿dónde está mi pedido 5512?", "track-an-order"),
    ("es", "donde esta mi pedido", "track-an-order"),  # typed without accents
    ("es", "¿Cuándo recibo el reembolso?", "refund-timing"),
    ("es", "¿Puedo pagar con PayPal?", "payment-methods"),
]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """SQLite only: this is about the brain's answers, not the store."""
    instance = SqliteStore(tmp_path / "state.db", limits=StoreLimits())
    await instance.open()
    yield instance
    await instance.close()


def customer_says(text: str) -> InboundMessage:
    return InboundMessage(
        ref=ConversationRef(channel="fake", conversation_id=f"c{next(_ids)}"),
        message_id=f"m{next(_ids)}",
        author=Author(id="cust-1"),
        text=text,
    )


@pytest.mark.parametrize(("language", "text", "expected"), CASES)
async def test_common_questions_are_answered_in_every_sample_language(
    store: Store, make_brain: BrainFactory, language: str, text: str, expected: str
) -> None:
    decision = await make_brain(store).handle(customer_says(text))
    assert decision.kind is DecisionKind.REPLY, (text, decision.reasons)
    assert decision.sources == (expected,), text
    assert decision.text is not None
    if expected == "track-an-order":
        assert MARKER[language] in decision.text
    if expected == "payment-methods":
        assert PAYMENT_MARKER[language] in decision.text


@pytest.mark.parametrize("language", ["de", "fr", "es"])
def test_every_sample_entry_has_the_language(knowledge: KnowledgeBase, language: str) -> None:
    missing = [e.id for e in knowledge.entries if language not in e.translations]
    assert missing == [], f"entries without a {language!r} answer: {missing}"
