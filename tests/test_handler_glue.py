"""The brain's own glue around its models: the playbook's intents looked up by name (the same
intent ``Playbook.get`` returns, and a reloaded playbook's from then on)."""

from __future__ import annotations

import copy
from dataclasses import replace

from brain.classify import Classifier
from brain.decision import DecisionKind
from brain.knowledge import KnowledgeBase
from brain.store.base import Store
from channels.base import Author, ConversationRef, InboundMessage
from tests.conftest import BrainFactory


def test_intents_by_name_are_what_the_playbook_gives(
    store: Store, make_brain: BrainFactory, classifier: Classifier
) -> None:
    brain = make_brain(store)
    playbook = classifier.playbook
    names = [i.name for i in playbook.intents] + ["", "no-such-intent", "__out_of_scope__"]
    for name in names:
        assert brain._intent(name) is playbook.get(name)


async def test_a_reloaded_playbook_is_the_one_asked(
    store: Store, make_brain: BrainFactory, classifier: Classifier, knowledge: KnowledgeBase
) -> None:
    brain = make_brain(store)

    def hello(number: int) -> InboundMessage:
        return InboundMessage(ConversationRef("fake", f"c{number}"), f"m{number}",
                              Author("cust-1"), "hello there!")  # fmt: skip

    first = await brain.handle(hello(1))
    assert first.kind is DecisionKind.REPLY and first.text is not None
    assert first.text.startswith("Hi!")
    # The same classifier (same intent for the greeting), under a playbook whose replies differ.
    reloaded = copy.copy(classifier)
    reloaded.playbook = replace(
        classifier.playbook,
        intents=tuple(
            replace(i, reply=f"Reloaded: {i.reply}") if i.reply else i
            for i in classifier.playbook.intents
        ),
    )
    brain.reload(knowledge, reloaded)
    second = await brain.handle(hello(2))
    assert second.text is not None and second.text.startswith("Reloaded: Hi!")
    assert brain._intent(classifier.playbook.intents[0].name) is reloaded.playbook.intents[0]
