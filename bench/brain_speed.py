"""Brain benchmarks: classification throughput, training time, KB retrieval latency, idle RSS.

Everything is generated from the sample playbook and synthetic text, so no external data is
needed. When the Bitext customer-support CSV is available (``--bitext``), intent accuracy on a
fixed 80/20 stratified split is reported too, and with only 10 training examples per intent.
Run: ``python bench/brain_speed.py [--messages N] [--bitext PATH]``. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench._common import json_line, peak_rss_mb
from brain.classify import Classifier, IntentModel
from brain.entries import KnowledgeEntry
from brain.knowledge import KnowledgeBase
from brain.playbook import CATEGORIES, Playbook
from brain.store.base import StoreLimits
from config.settings import PACKAGED_PLAYBOOK, load_settings

BITEXT = Path(
    "/work/shared/data/bitext-support/Bitext_Sample_Customer_Support_Training_Dataset.csv"
)
FILLERS = ["hi", "hello", "please", "thanks", "urgent", "quick question", "sorry", "ok so"]


def perturb(text: str, rng: random.Random) -> str:
    """A light variation of ``text``: word dropout/duplication, typos, case, filler words."""
    words: list[str] = []
    for word in text.split():
        roll = rng.random()
        if roll < 0.08:
            continue  # dropped
        if roll < 0.14:
            words.append(word)  # duplicated
        words.append(typo(word, rng) if rng.random() < 0.08 and len(word) > 3 else word)
    if not words:
        words = text.split()[:1] or ["hi"]
    if rng.random() < 0.15:
        words.insert(0, rng.choice(FILLERS))
    out = " ".join(words)
    case = rng.random()
    if case < 0.25:
        return out.lower()
    if case < 0.32:
        return out.upper()
    if case < 0.45:
        return out.capitalize()
    return out


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word) - 1)
    kind = rng.randrange(4)
    letter = rng.choice(string.ascii_lowercase)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swap
    if kind == 1:
        return word[:i] + word[i + 1 :]  # delete
    if kind == 2:
        return word[:i] + letter + word[i:]  # insert
    return word[:i] + letter + word[i + 1 :]  # replace


def messages(playbook: Playbook, count: int, rng: random.Random) -> list[str]:
    """Perturbed playbook examples, plus one in five made of words from unrelated examples."""
    texts, _ = playbook.training_data
    vocabulary = [w for t in texts for w in t.split()]
    out = []
    for _ in range(count):
        if rng.random() < 0.2:
            out.append(" ".join(rng.choices(vocabulary, k=rng.randint(2, 14))))
        else:
            out.append(perturb(rng.choice(texts), rng))
    return out


def bench_classify(playbook: Playbook, count: int) -> float:
    classifier = Classifier(playbook, load_settings(env_file=None).classifier.languages)
    texts = messages(playbook, count, random.Random(1))
    for text in texts[:50]:
        classifier.classify(text)  # warm-up
    started = time.perf_counter()
    for text in texts:
        classifier.classify(text)
    return count / (time.perf_counter() - started)


def bench_train(playbook: Playbook, count: int) -> float:
    rng = random.Random(2)
    texts, labels = playbook.training_data
    picks = [rng.randrange(len(texts)) for _ in range(count)]
    started = time.perf_counter()
    IntentModel().fit([perturb(texts[i], rng) for i in picks], [labels[i] for i in picks])
    return time.perf_counter() - started


def pseudo_words(count: int, rng: random.Random) -> list[str]:
    onsets = ["b", "br", "c", "ch", "d", "f", "fl", "g", "gr", "h", "k", "l", "m", "n", "p",
              "pl", "r", "s", "sh", "st", "t", "tr", "v", "w", "z"]  # fmt: skip
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "oo", "ou"]
    codas = ["", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck"]
    words: set[str] = set()
    while len(words) < count:
        syllables = rng.choice((1, 2, 2, 3, 3, 4))
        words.add("".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
                          for _ in range(syllables)))  # fmt: skip
    return sorted(words)


def synthetic_kb(count: int, rng: random.Random) -> tuple[list[KnowledgeEntry], list[str]]:
    """``count`` entries over a Zipf-distributed vocabulary, and one question per entry."""
    vocabulary = pseudo_words(8000, rng)
    rng.shuffle(vocabulary)
    weights = [1.0 / rank for rank in range(1, len(vocabulary) + 1)]

    def phrase(low: int, high: int) -> str:
        return " ".join(rng.choices(vocabulary, weights, k=rng.randint(low, high)))

    entries, questions = [], []
    for i in range(count):
        asked = [phrase(4, 10) for _ in range(rng.randint(2, 4))]
        entries.append(
            KnowledgeEntry(
                id=f"entry-{i}",
                title=phrase(3, 7),
                answer=phrase(40, 120),
                questions=tuple(asked),
                category=rng.choice(sorted(CATEGORIES)),
                tags=tuple(rng.sample(vocabulary[:300], 2)),
            )
        )
        questions.append(perturb(rng.choice(asked), rng))
    return entries, questions


def bench_kb(count: int, queries: int) -> tuple[float, float, float]:
    rng = random.Random(3)
    entries, questions = synthetic_kb(count, rng)
    started = time.perf_counter()
    knowledge = KnowledgeBase(entries)
    build = time.perf_counter() - started
    latencies = []
    for question in rng.sample(questions, queries):
        started = time.perf_counter()
        knowledge.search(question, k=5)
        latencies.append((time.perf_counter() - started) * 1000)
    p50, p99 = (float(p) for p in np.percentile(latencies, [50, 99]))
    return p50, p99, build


async def _idle_brain(data_dir: Path) -> None:
    """Child process: build the bot's brain like ``App.run`` does, then report RSS."""
    from bot.wiring import build_brain
    from brain.store.sqlite import SqliteStore

    settings = load_settings(env_file=None)
    store = SqliteStore(data_dir / "frontdesk.db", limits=StoreLimits())
    await store.open()
    brain, _ = build_brain(settings, store, KnowledgeBase.load(settings.knowledge.path))
    brain.classifier.classify("warm-up: where is my order?")
    print(json.dumps(_rss_mb()))
    await store.close()


def bench_kb_hybrid(count: int, queries: int) -> tuple[float, float, float]:
    """The same synthetic KB with the local embedding model (``scripts/offline-model``): p50,
    p99 of a hybrid search (query embedding included) and the index build (embedding)."""
    from brain.embeddings import CachedEmbedder, OnnxEmbedder
    from config.settings import DEFAULT_MODEL_DIR

    rng = random.Random(7)
    entries, questions = synthetic_kb(count, rng)
    with tempfile.TemporaryDirectory() as tmp:
        embedder = CachedEmbedder(OnnxEmbedder(DEFAULT_MODEL_DIR), Path(tmp))
        started = time.perf_counter()
        knowledge = KnowledgeBase(entries, embedder)
        build = time.perf_counter() - started
    assert knowledge.semantic
    latencies = []
    for question in questions[:queries]:
        started = time.perf_counter()
        knowledge.search(question, k=5)
        latencies.append((time.perf_counter() - started) * 1000)
    p50, p99 = (float(p) for p in np.percentile(latencies, [50, 99]))
    return p50, p99, build


def bench_handle(count: int) -> tuple[float, float]:
    """p50/p99 of ``Brain.handle`` end to end (SQLite store, offline answerer), one message at a
    time over the escalation dev set's texts: classification, signals, retrieval, policy."""
    from bot.wiring import build_brain
    from brain.store.sqlite import SqliteStore
    from channels.base import Author, ConversationRef, InboundMessage

    dev = Path(__file__).resolve().parent.parent / "tests/fixtures/escalation/dev.csv"
    with dev.open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]

    async def run(data_dir: Path) -> list[float]:
        settings = load_settings(env_file=None)
        store = SqliteStore(data_dir / "frontdesk.db", limits=StoreLimits())
        await store.open()
        brain, _ = build_brain(settings, store, KnowledgeBase.load(settings.knowledge.path))
        latencies = []
        for number in range(count):
            message = InboundMessage(
                ref=ConversationRef(channel="bench", conversation_id=f"c{number}"),
                message_id=f"m{number}", author=Author(id="u"), text=texts[number % len(texts)],
            )  # fmt: skip
            started = time.perf_counter()
            await brain.handle(message)
            latencies.append((time.perf_counter() - started) * 1000)
        await store.close()
        return latencies

    with tempfile.TemporaryDirectory() as tmp:
        latencies = asyncio.run(run(Path(tmp)))
    p50, p99 = (float(p) for p in np.percentile(latencies, [50, 99]))
    return p50, p99


def _rss_mb() -> dict[str, float]:
    """Peak RSS (``ru_maxrss``), and the kernel's VmHWM / VmRSS of this process, in MB.

    Linux carries the parent's peak into ``ru_maxrss`` across fork + exec, so the parent runs
    this child before it grows; VmHWM (peak of this image only) is the cross-check."""
    status = Path("/proc/self/status").read_text().splitlines()
    kib = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith("Vm")}
    return {
        "peak_mb": peak_rss_mb(),
        "hwm_mb": kib["VmHWM"] / 1024,
        "current_mb": kib["VmRSS"] / 1024,
    }


def bench_idle_rss() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("FRONTDESK_")}
        result = subprocess.run(
            [sys.executable, __file__, "--idle-child", tmp],
            env=env, cwd=tmp, capture_output=True, text=True, check=True, timeout=300,
        )  # fmt: skip
    figures: dict[str, float] = json.loads(result.stdout.splitlines()[-1])
    return figures


def bench_bitext(path: Path, embedder: Any = None) -> tuple[float, float]:
    from sklearn.model_selection import train_test_split

    with path.open(newline="", encoding="utf-8") as handle:
        rows = [(r["instruction"], r["intent"]) for r in csv.DictReader(handle)]
    texts, labels = [t for t, _ in rows], [label for _, label in rows]
    x_train, x_test, y_train, y_test = train_test_split(
        texts, labels, test_size=0.2, stratify=labels, random_state=42
    )
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, label in zip(x_train, y_train, strict=True):
        by_intent[label].append(text)
    rng = random.Random(4)
    few = [(t, label) for label in sorted(by_intent) for t in rng.sample(by_intent[label], 10)]

    def accuracy(train_texts: list[str], train_labels: list[str]) -> float:
        model = IntentModel(embedder=embedder).fit(train_texts, train_labels)
        right = sum(model.predict_one(t)[0] == y for t, y in zip(x_test, y_test, strict=True))
        return float(right) / len(y_test)

    if embedder is not None:  # embed the test set in one batch, as the head reads it
        for text in x_test:
            embedder.embed_query(text)
    full = accuracy(x_train, y_train)
    return full, accuracy([t for t, _ in few], [label for _, label in few])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--train-examples", type=int, default=15_000)
    parser.add_argument("--kb-entries", type=int, default=10_000)
    parser.add_argument("--kb-queries", type=int, default=2000)
    parser.add_argument("--handle-messages", type=int, default=1000)
    parser.add_argument(
        "--embeddings", action="store_true", help="also the hybrid KB with the local model"
    )
    parser.add_argument(
        "--bitext", default=str(BITEXT) if BITEXT.is_file() else "", help="'' to skip"
    )
    parser.add_argument("--idle-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.idle_child is not None:
        asyncio.run(_idle_brain(args.idle_child))
        return
    rss = bench_idle_rss()  # first: the child would inherit a larger parent's peak
    playbook = Playbook.load(PACKAGED_PLAYBOOK)
    rate = bench_classify(playbook, args.messages)
    print(f"classify (full Classifier, one at a time) {rate:>9.0f} messages/s  target >= 1,000")
    train = bench_train(playbook, args.train_examples)
    print(f"train on {args.train_examples:,} examples {train:>19.1f} s           target < 30")
    p50, p99, build = bench_kb(args.kb_entries, args.kb_queries)
    print(f"KB search over {args.kb_entries:,} entries p50 {p50:>9.2f} ms")
    print(f"KB search over {args.kb_entries:,} entries p99 {p99:>9.2f} ms          target < 20")
    print(f"KB index build {build:>30.1f} s")
    hybrid: tuple[float, float, float] | None = None
    if args.embeddings:
        hybrid = bench_kb_hybrid(args.kb_entries, args.kb_queries)
        print(f"hybrid KB search over {args.kb_entries:,} entries p50 {hybrid[0]:>6.2f} ms")
        print(f"hybrid KB search over {args.kb_entries:,} entries p99 {hybrid[1]:>6.2f} ms  "
              "target < 20")  # fmt: skip
        print(f"hybrid KB index build (embedding) {hybrid[2]:>11.1f} s")
    handle_p50, handle_p99 = bench_handle(args.handle_messages)
    print(f"Brain.handle per message p50 {handle_p50:>16.2f} ms (no embeddings)")
    print(f"Brain.handle per message p99 {handle_p99:>16.2f} ms (no embeddings)")
    print(f"idle bot peak RSS {rss['peak_mb']:>27.0f} MB          target < 300")
    print(f"idle bot VmHWM {rss['hwm_mb']:>30.0f} MB")
    print(f"idle bot RSS after start {rss['current_mb']:>20.0f} MB")
    bitext = bitext_few = None
    if args.bitext:
        bitext, bitext_few = bench_bitext(Path(args.bitext))
        print(f"bitext accuracy (80/20 stratified) {bitext:>10.4f}")
        print(f"bitext accuracy, 10 per intent {bitext_few:>14.4f}")
        if args.embeddings:
            from brain.embeddings import CachedEmbedder, OnnxEmbedder
            from config.settings import DEFAULT_MODEL_DIR

            with tempfile.TemporaryDirectory() as tmp:
                embedder = CachedEmbedder(OnnxEmbedder(DEFAULT_MODEL_DIR), Path(tmp))
                started = time.perf_counter()
                bitext_emb, bitext_few_emb = bench_bitext(Path(args.bitext), embedder)
                took = time.perf_counter() - started
            print(f"bitext accuracy, TF-IDF + embeddings {bitext_emb:>8.4f} ({took:.0f} s)")
            print(f"bitext 10 per intent, TF-IDF + embeddings {bitext_few_emb:>4.4f}")
    json_line({
        "classify_messages_per_second": round(rate, 1),
        "train_15k_seconds": round(train, 2),
        "kb_p50_ms": round(p50, 3),
        "kb_p99_ms": round(p99, 3),
        "kb_build_seconds": round(build, 2),
        "handle_p50_ms": round(handle_p50, 3),
        "handle_p99_ms": round(handle_p99, 3),
        "hybrid_kb_p50_ms": None if hybrid is None else round(hybrid[0], 3),
        "hybrid_kb_p99_ms": None if hybrid is None else round(hybrid[1], 3),
        "hybrid_kb_build_seconds": None if hybrid is None else round(hybrid[2], 1),
        "idle_rss_mb": round(rss["peak_mb"], 1),
        "bitext_accuracy": None if bitext is None else round(bitext, 4),
        "bitext_10_per_intent_accuracy": None if bitext_few is None else round(bitext_few, 4),
    })  # fmt: skip


if __name__ == "__main__":
    main()
