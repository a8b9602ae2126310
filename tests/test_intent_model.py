"""``IntentModel.probabilities_one`` (the live path's own arithmetic) gives what
scikit-learn's ``predict_proba`` gives for the same text."""

from __future__ import annotations

import numpy as np

from brain.classify import IntentModel
from brain.playbook import Playbook
from config.settings import PACKAGED_PLAYBOOK


def test_one_text_scores_as_scikit_learn_scores_it() -> None:
    playbook = Playbook.load(PACKAGED_PLAYBOOK)
    texts, labels = playbook.training_data
    model = IntentModel().fit(texts, labels)
    probes = [
        *texts[::7],
        "",
        "zzzz qqqq xxxx",  # nothing the vocabulary knows
        "WHERE IS MY ORDER??? order order order",  # repeated words: sublinear tf
        "Grüße aus München, wo ist meine Bestellung? ¿Dónde está mi pedido?",
        "refund " * 300,  # long, one word
    ]
    expected = model._pipeline.predict_proba(probes)
    for probe, want in zip(probes, expected, strict=True):
        got = model.probabilities_one(probe)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=probe)
        assert model.predict_one(probe)[0] == model.labels[int(np.argmax(want))]
