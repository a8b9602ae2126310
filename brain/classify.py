"""Classification of one customer message: intent, category, confidence, out-of-scope, urgency,
sentiment, language, "wants a human", and the signals read from its wording.

The intent model is trained at start-up from the playbook's examples (about a second): TF-IDF
over word 1-2-grams plus character 2-5-grams within word boundaries (robust to typos and
inflection, and language-agnostic), feeding a logistic regression whose class probabilities are
the confidence. Below ``oos_threshold`` the message is out of scope. Only the first
``MAX_INTENT_CHARS`` characters are read, so a pasted log costs about what a question costs.
``brain.signals`` reads anger, requests for a person, urgency, sensitive matters and "support
failed before", each with its reason; anger (a cue, or sentiment at or below
``FRONTDESK_ESCALATION__SENTIMENT_THRESHOLD``) raises the urgency to at least high.
``bench/brain_speed.py`` and ``frontdesk eval intents`` measure the model, ``frontdesk eval
escalation`` the signals; ``docs/PERFORMANCE.md`` has the figures.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from threadpoolctl import threadpool_limits

from brain.calibration import Calibration, calibrate
from brain.embeddings import CachedEmbedder, EmbeddingError
from brain.intent_scoring import OneTextScorer, softmax
from brain.playbook import OUT_OF_SCOPE, Intent, Playbook, Tier, Urgency
from brain.signals import LanguageDetector, SignalReader, Signals

DEFAULT_OOS_THRESHOLD = 0.3
DEFAULT_SENTIMENT_THRESHOLD = -0.6
# What a message is about shows in its first lines; reading a pasted 4,000-character log
# character n-gram by n-gram would cost ten normal messages (issue 9: bounded work per message).
MAX_INTENT_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Classification:
    intent: str | None  # None when out of scope
    category: str
    confidence: float
    out_of_scope: bool
    urgency: Urgency
    sentiment: float
    language: str
    wants_human: bool
    tier: Tier = Tier.SIMPLE
    sensitive: bool = False
    escalate_always: bool = False
    top_intent: str | None = None  # best guess even when out of scope
    signals: Signals | None = None  # what the wording says, with the reason of each signal


logger = logging.getLogger(__name__)
EMBEDDING_WEIGHT = 0.5  # share of the embedding head in the blended probabilities


class IntentModel:
    """A text classifier with calibrated-enough probabilities for an out-of-scope cut-off.

    With an embedder, a second logistic regression reads the sentence embeddings and the two
    models' probabilities are averaged (``EMBEDDING_WEIGHT``); if the embedder fails, the
    TF-IDF model answers alone."""

    def __init__(
        self, c: float = 20.0, solver: str = "newton-cg", embedder: CachedEmbedder | None = None
    ) -> None:
        self.embedder = embedder
        self._c, self._solver = c, solver
        self._head: LogisticRegression | None = None
        features = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1,
                                          lowercase=True, strip_accents="unicode")),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5),
                                          sublinear_tf=True, min_df=1, lowercase=True,
                                          max_features=300_000)),
            ]
        )  # fmt: skip
        self._pipeline = Pipeline(
            [
                ("features", features),
                ("model", LogisticRegression(C=c, max_iter=2000, solver=solver)),
            ]
        )
        self.labels: tuple[str, ...] = ()
        self._scorer: OneTextScorer | None = None
        self._head_coef = np.zeros((0, 0))
        self._head_intercept = np.zeros(0)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> IntentModel:
        """Train both models. With an embedder, the examples are embedded (or read from the
        vector cache) in a worker thread while the TF-IDF model trains: onnxruntime releases the
        GIL, so the two share the cores instead of taking turns."""
        if len(set(labels)) < 2:
            raise ValueError("at least two intents are needed to train a classifier")
        texts, labels = list(texts), list(labels)
        # One BLAS thread: OpenBLAS's spare threads spin while they wait for work, and on a
        # busy 2-core machine the embedding head's fit cost 14 s of CPU with two of them
        # against 0.8 s with one (bench/intent_training.py, docs/PERFORMANCE.md).
        with ThreadPoolExecutor(1) as pool, threadpool_limits(1, "blas"):
            pending = pool.submit(self._vectors, texts) if self.embedder is not None else None
            self._fit_tfidf(texts, labels)
            vectors = pending.result() if pending is not None else None
            self._head = None
            if vectors is not None:
                head = LogisticRegression(C=10.0, max_iter=2000).fit(vectors, labels)
                assert tuple(str(x) for x in head.classes_) == self.labels
                self._head = head
                # predict_one's own arithmetic: predict_proba validates its input for ~0.3 ms
                self._head_coef = np.asarray(head.coef_, dtype=np.float64)
                self._head_intercept = np.asarray(head.intercept_, dtype=np.float64)
        return self

    def _fit_tfidf(self, texts: list[str], labels: list[str]) -> None:
        self._pipeline.fit(texts, labels)
        self.labels = tuple(str(label) for label in self._pipeline.classes_)
        features: FeatureUnion = self._pipeline.named_steps["features"]
        (_, words), (_, chars) = features.transformer_list
        model: LogisticRegression = self._pipeline.named_steps["model"]
        self._scorer = OneTextScorer(words, chars, model.coef_, model.intercept_)

    def _vectors(self, texts: list[str]) -> np.ndarray | None:
        """The examples' vectors, through the disk cache (a retrain of unchanged examples embeds
        nothing); None when the engine fails (logged: the TF-IDF model answers alone)."""
        assert self.embedder is not None
        try:
            vectors = self.embedder.embed(texts)
            self.embedder.save()
        except EmbeddingError as err:
            logger.warning("intent head off, TF-IDF only: %s", err)
            return None
        return vectors

    def calibrate(
        self, texts: Sequence[str], labels: Sequence[str], oos_texts: Sequence[str] = ()
    ) -> Calibration:
        """Confidence and the out-of-scope threshold on held-out examples (``brain.calibration``
        has the rule): models of the same kind, trained without the examples they score.
        ``labels`` may include the playbook's out-of-scope class; ``oos_texts`` are
        out-of-scope examples kept out of training."""

        def train(
            part: Sequence[str], part_labels: Sequence[str]
        ) -> Callable[[Sequence[str]], list[tuple[str, float]]]:
            model = IntentModel(self._c, self._solver, self.embedder).fit(part, part_labels)
            return functools.partial(model.predict, cached=True)

        return calibrate(train, texts, labels, OUT_OF_SCOPE, oos_texts)

    def predict(self, texts: Sequence[str], *, cached: bool = False) -> list[tuple[str, float]]:
        """Best label and its probability for each text (batch path, through scikit-learn).
        ``cached``: the texts' vectors may be read from and kept in the embedder's cache
        (training examples); otherwise they are embedded afresh and not kept (messages)."""
        probabilities = self._pipeline.predict_proba(list(texts))
        if self._head is not None and self.embedder is not None:
            try:
                embed = self.embedder.embed if cached else self.embedder.inner.embed
                head = self._head.predict_proba(embed(list(texts)))
                probabilities = (1 - EMBEDDING_WEIGHT) * probabilities + EMBEDDING_WEIGHT * head
            except EmbeddingError as err:
                logger.warning("intent head failed, TF-IDF only: %s", err)
        best = np.argmax(probabilities, axis=1)
        return [(self.labels[i], float(p[i])) for i, p in zip(best, probabilities, strict=True)]

    def probabilities_one(self, text: str) -> np.ndarray:
        """The same probabilities as ``predict_proba`` for one text, about 20x faster.

        scikit-learn's per-call input validation costs ~2 ms; a live bot classifies one message
        at a time, so ``brain.intent_scoring`` recomputes the fitted TF-IDF weights and the
        softmax directly.
        """
        if self._scorer is None:
            raise ValueError("the intent model is not fitted")
        return self._scorer.probabilities(text)

    def predict_one(self, text: str) -> tuple[str, float]:
        probabilities = self.probabilities_one(text)
        if self._head is not None and self.embedder is not None:
            try:
                vector = self.embedder.embed_query(text)
            except EmbeddingError as err:
                logger.warning("intent head failed, TF-IDF only: %s", err)
            else:
                # einsum: a product this size would go to OpenBLAS's threads (see semantic.py)
                scores = np.einsum("ij,j->i", self._head_coef, vector.astype(np.float64))
                head = softmax(scores + self._head_intercept)
                probabilities = (1 - EMBEDDING_WEIGHT) * probabilities + EMBEDDING_WEIGHT * head
        best = int(probabilities.argmax())  # (the method: np.argmax's Python wrapper costs more)
        return self.labels[best], float(probabilities[best])


class Classifier:
    def __init__(
        self,
        playbook: Playbook,
        languages: Sequence[str] = ("en",),
        oos_threshold: float = DEFAULT_OOS_THRESHOLD,
        sentiment_threshold: float = DEFAULT_SENTIMENT_THRESHOLD,
        embedder: CachedEmbedder | None = None,
    ) -> None:
        self.playbook = playbook
        self.oos_threshold = oos_threshold
        self.sentiment_threshold = sentiment_threshold
        self.language = LanguageDetector(languages)
        self.signals = SignalReader(sentiment_threshold)
        self.model = IntentModel(embedder=embedder).fit(*playbook.training_data)
        self._intents: dict[str, Intent] = {i.name: i for i in playbook.intents}

    def classify(self, text: str) -> Classification:
        label, confidence = self.model.predict_one(text[:MAX_INTENT_CHARS])
        intent = self._intents.get(label)
        out_of_scope = intent is None or confidence < self.oos_threshold
        language = self.language.detect(text)
        signals = self.signals.read(text, language)
        cue, mood = signals.urgency, signals.sentiment
        default = Urgency.NORMAL if out_of_scope or intent is None else intent.urgency
        urgency = default if cue is None else max(cue, default)
        angry = signals.angry is not None or mood <= self.sentiment_threshold
        if angry and urgency < Urgency.HIGH:
            urgency = Urgency.HIGH  # an angry customer should not wait in the normal queue
        known = None if out_of_scope else intent
        return Classification(
            intent=None if known is None else label,
            category="general" if known is None else known.category,
            confidence=round(confidence, 4),
            out_of_scope=out_of_scope,
            urgency=urgency,
            sentiment=mood,
            language=language,
            wants_human=signals.human_request is not None,
            tier=Tier.COMPLEX if known is None else known.tier,
            sensitive=known is not None and known.sensitive,
            escalate_always=known is not None and known.escalate_always,
            top_intent=label,
            signals=signals,
        )
