"""Intent training time with embeddings: ``IntentModel.fit`` on N examples (default 15,000) with
the local model and a cold vector cache (wall and CPU seconds), a retrain from the disk cache
(which must embed nothing), then the held-out calibration (``IntentModel.calibrate``) on top;
and held-out accuracy of TF-IDF alone against TF-IDF + embeddings.

Examples: the Bitext customer-support CSV (``--bitext``, development data outside the
repository: 27 intents, 4,514 rows) topped up to N with perturbed copies (word dropout and
duplication, typos, filler words; each copy a distinct string, so each is embedded), or, without
it, perturbed examples of the packaged playbook. Accuracy is on a stratified 20% of the
original rows, kept out of training (with their perturbed copies). Run:
``python bench/intent_training.py [--examples 15000] [--bitext PATH] [--no-embeddings]
[--float32]`` (``--float32``: ``model.onnx`` as it is, not its int8 copy). The last line is JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The repository root, for the bench's imports of the project.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brain.classify import IntentModel
from brain.embeddings import CachedEmbedder, OnnxEmbedder
from brain.playbook import Playbook
from config.settings import DEFAULT_MODEL_DIR, PACKAGED_PLAYBOOK

BITEXT = Path(
    "/work/shared/data/bitext-support/Bitext_Sample_Customer_Support_Training_Dataset.csv"
)
INT8_CACHE = Path.home() / ".cache/frontdesk/int8"  # where the int8 copy of the model is kept
FILLERS = ("hi", "hello", "please", "thanks", "quick question", "sorry", "ok so", "hey")


class Counting:
    """Counts the texts an engine is asked to embed (the retrain must ask for none)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.texts = inner, inner.name, 0

    def embed(self, texts: Any) -> Any:
        self.texts += len(texts)
        return self.inner.embed(texts)


def perturb(text: str, rng: random.Random, number: int) -> str:
    words: list[str] = []
    for word in text.split():
        roll = rng.random()
        if roll < 0.08:
            continue
        if roll < 0.14:
            words.append(word)
        if len(word) > 3 and rng.random() < 0.08:
            i = rng.randrange(1, len(word) - 1)
            words.append(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
        else:
            words.append(word)
    lead = rng.choice(FILLERS)
    # A short tail keeps every copy distinct (so each one is embedded) without changing intent.
    return f"{lead} {' '.join(words or text.split())} #{number}"


def examples(path: str) -> tuple[list[str], list[str], str]:
    if path and Path(path).is_file():
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows = [(r["instruction"], r["intent"]) for r in csv.DictReader(handle)]
        return [t for t, _ in rows], [label for _, label in rows], "bitext"
    texts, labels = Playbook.load(PACKAGED_PLAYBOOK).training_data
    return list(texts), list(labels), "playbook"


def with_embeddings(
    args: argparse.Namespace, train_texts: list[str], train_labels: list[str],
    test: list[tuple[str, str]], result: dict[str, Any],
) -> None:  # fmt: skip
    if not (DEFAULT_MODEL_DIR / "model.onnx").is_file():
        sys.exit(f"no local model in {DEFAULT_MODEL_DIR}: run scripts/offline-model")
    with tempfile.TemporaryDirectory() as cache:
        int8 = None if args.float32 else INT8_CACHE
        embedder = CachedEmbedder(OnnxEmbedder(DEFAULT_MODEL_DIR, int8_cache=int8), Path(cache))
        print(f"model {embedder.name}")
        started, started_cpu = time.perf_counter(), time.process_time()
        # One fit with a cold vector cache: the examples are embedded while the TF-IDF
        # model trains (IntentModel.fit), so the total is what a first start costs.
        model = IntentModel(embedder=embedder).fit(train_texts, train_labels)
        result["train_with_embedding_s"] = round(time.perf_counter() - started, 2)
        result["train_with_embedding_cpu_s"] = round(time.process_time() - started_cpu, 2)
        # A restart: a fresh cache object on the same folder; nothing may be embedded.
        counting = Counting(embedder.inner)
        again = CachedEmbedder(counting, Path(cache))
        started = time.perf_counter()
        IntentModel(embedder=again).fit(train_texts, train_labels)
        result["retrain_cached_s"] = round(time.perf_counter() - started, 2)
        result["retrain_embedded_texts"] = counting.texts
        started = time.perf_counter()
        calibration = model.calibrate(train_texts, train_labels)
        result["calibration_s"] = round(time.perf_counter() - started, 2)
        result["calibrated_threshold"] = calibration.threshold
        result["calibration_ece"] = calibration.ece
        result["hybrid_accuracy"] = round(
            sum(model.predict_one(t)[0] == y for t, y in test) / len(test), 4
        )
    print(f"training with embedding (cold vector cache) {result['train_with_embedding_s']} s "
          f"(target < 60; CPU {result['train_with_embedding_cpu_s']} s); retrain from the "
          f"disk cache {result['retrain_cached_s']} s, "
          f"{result['retrain_embedded_texts']} texts embedded")  # fmt: skip
    print(f"held-out calibration {result['calibration_s']} s: {calibration.describe()}")
    print(f"held-out accuracy TF-IDF + embeddings {result['hybrid_accuracy']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=15_000)
    parser.add_argument("--bitext", default=str(BITEXT) if BITEXT.is_file() else "")
    parser.add_argument("--no-embeddings", action="store_true")
    parser.add_argument("--float32", action="store_true",
                        help="run model.onnx as it is, not its int8 copy")  # fmt: skip
    args = parser.parse_args()
    texts, labels, source = examples(args.bitext)
    rng = random.Random(21)
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    held = {i for members in by_label.values() for i in rng.sample(members, len(members) // 5)}
    base = [i for i in range(len(texts)) if i not in held]
    train_texts = [texts[i] for i in base]
    train_labels = [labels[i] for i in base]
    number = 0
    while len(train_texts) < args.examples:
        i = base[number % len(base)]
        train_texts.append(perturb(texts[i], rng, number))
        train_labels.append(labels[i])
        number += 1
    test = [(texts[i], labels[i]) for i in sorted(held)]
    result: dict[str, Any] = {
        "source": source,
        "examples": len(train_texts),
        "intents": len(set(train_labels)),
        "test_rows": len(test),
    }
    started, started_cpu = time.perf_counter(), time.process_time()
    plain = IntentModel().fit(train_texts, train_labels)
    result["tfidf_fit_s"] = round(time.perf_counter() - started, 2)
    result["tfidf_fit_cpu_s"] = round(time.process_time() - started_cpu, 2)
    result["tfidf_accuracy"] = round(
        sum(plain.predict_one(t)[0] == y for t, y in test) / len(test), 4
    )
    print(f"{len(train_texts):,} examples ({source}, {result['intents']} intents); "
          f"TF-IDF alone: fit {result['tfidf_fit_s']} s, held-out accuracy "
          f"{result['tfidf_accuracy']}")  # fmt: skip
    if not args.no_embeddings:
        with_embeddings(args, train_texts, train_labels, test, result)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
