"""The FAQ path per question: knowledge-base retrieval (lexical, and hybrid with the local model)
and the intent model's read of the same message, over synthetic knowledge bases of 1k-100k
entries.

The entries are generated here from word lists of our own (support topics, actions, contexts,
product names), so they read like a help centre and tokenise like English, not like random
strings. Each entry is embedded once; the vectors are kept in ``--cache`` (default
``~/.cache/frontdesk/bench-faq``), so a second run only times the queries. Queries are fresh
paraphrases (reordered, typos, filler words), each distinct, so the query-vector cache never
answers for the model. ``--random-vectors`` skips the model for the KB side of the largest
sizes (the search cost does not depend on what the vectors say; the query is still embedded by
the model). Figures: p50/p99 of ``KnowledgeBase.search`` alone, and of the FAQ path (the intent
model's ``predict_one`` then ``search``, the query embedded once for both). Run:
``python bench/faq.py [--sizes 1000,10000] [--queries 500] [--float32]`` (``--float32``: the
model as it is, not its int8 copy, which is the default as in the bot). The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The repository root, for the bench's imports of the project.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from brain.classify import IntentModel
from brain.embeddings import CachedEmbedder, OnnxEmbedder
from brain.entries import KnowledgeEntry
from brain.knowledge import KnowledgeBase
from brain.playbook import Playbook
from config.settings import DEFAULT_MODEL_DIR, PACKAGED_PLAYBOOK

ACTIONS = ("cancel", "change", "update", "renew", "pause", "resume", "transfer", "activate",
           "deactivate", "dispute", "download", "share", "merge", "split", "restore", "reset",
           "verify", "upgrade", "downgrade", "export", "import", "schedule", "reschedule",
           "track", "return", "exchange", "refund", "redeem", "link", "unlink", "rename",
           "delete", "archive", "print", "sync", "lock", "unlock", "report", "replace", "add",
           "remove", "edit", "combine", "extend", "shorten", "convert", "claim", "approve",
           "reject", "recover")  # fmt: skip
SUBJECTS = ("gift card", "loyalty points", "invoice", "subscription plan", "delivery slot",
            "shipping address", "billing address", "payment method", "credit card", "bank transfer",
            "order", "pre-order", "parcel", "return label", "warranty", "repair booking",
            "account password", "two-factor code", "email address", "phone number", "username",
            "profile photo", "wishlist", "shopping basket", "discount code", "voucher",
            "store credit", "receipt", "tax certificate", "business account", "family plan",
            "student discount", "data allowance", "SIM card", "roaming pass", "router",
            "booking", "seat reservation", "luggage allowance", "boarding pass", "hotel room",
            "rental car", "insurance policy", "claim form", "direct debit", "standing order",
            "savings pot", "overdraft", "statement", "monthly report", "API key", "webhook",
            "team member", "admin role", "notification settings", "privacy settings",
            "cookie consent", "newsletter", "gift wrapping", "click and collect order",
            "installation appointment", "trade-in", "price match", "backorder", "bulk order",
            "sample pack", "membership card", "streaming profile", "download limit",
            "device list")  # fmt: skip
CONTEXTS = ("from the mobile app", "on the website", "after checkout", "before it ships",
            "while travelling abroad", "on a business account", "for a family member",
            "without logging in", "after the deadline", "during a sale", "on a shared device",
            "with an expired card", "after moving house", "before my trial ends",
            "from another country", "on behalf of a colleague", "in a different currency",
            "after a failed payment", "without the original receipt", "at a physical store",
            "over the phone", "by email", "in bulk", "for next month", "for a past order",
            "after the account was closed", "on a tablet", "with a gift balance",
            "after an address change", "before the renewal date")  # fmt: skip
BRANDS = ("Nimbus", "Orbit", "Lumen", "Cobalt", "Harbor", "Juniper", "Quartz", "Sparrow",
          "Tidal", "Vertex", "Willow", "Zephyr", "Maple", "Ember", "Atlas", "Beacon", "Cedar",
          "Delta", "Falcon", "Garnet")  # fmt: skip
STEPS = ("open Settings", "choose Account", "select the item", "tap Manage", "confirm by email",
         "enter the code we send", "pick a new date", "upload a photo", "check the summary",
         "save the changes")  # fmt: skip
FILLERS = ("hi", "hello", "please", "quick question", "sorry", "thanks", "hey there", "ok so")


def synthetic_kb(count: int, seed: int) -> list[KnowledgeEntry]:
    """``count`` distinct entries: (action, subject, context, brand) combinations, each with a
    title, two question phrasings and a three-sentence answer."""
    rng = random.Random(seed)
    seen: set[tuple[int, int, int, int]] = set()
    entries = []
    while len(entries) < count:
        key = (rng.randrange(len(ACTIONS)), rng.randrange(len(SUBJECTS)),
               rng.randrange(len(CONTEXTS)), rng.randrange(len(BRANDS)))  # fmt: skip
        if key in seen:
            continue
        seen.add(key)
        action, subject, context, brand = (ACTIONS[key[0]], SUBJECTS[key[1]],
                                           CONTEXTS[key[2]], BRANDS[key[3]])  # fmt: skip
        steps = rng.sample(STEPS, 3)
        answer = (f"To {action} your {subject} {context}, {steps[0]}, then {steps[1]}. "
                  f"{brand} customers can also {steps[2]}; it takes effect within "
                  f"{rng.randint(1, 48)} hours. If the option is greyed out, your {subject} "
                  f"may be locked by a pending change: contact us and quote {brand}.")  # fmt: skip
        entries.append(KnowledgeEntry(
            id=f"kb-{len(entries)}", title=f"How do I {action} my {subject} {context}?",
            answer=answer,
            questions=(f"can I {action} a {subject} {context} with {brand}",
                       f"{brand}: {action} {subject} {context}"),
            category="general", tags=(brand.lower(), subject),
        ))  # fmt: skip
    return entries


def paraphrase(entry: KnowledgeEntry, rng: random.Random, number: int) -> str:
    """A customer's wording of an entry's question: reordered, misspelt, with filler words."""
    words = rng.choice([entry.title, *entry.questions]).rstrip("?").split()
    if rng.random() < 0.5:
        cut = rng.randrange(1, len(words))
        words = words[cut:] + words[:cut]
    for i, word in enumerate(words):
        if len(word) > 4 and rng.random() < 0.1:
            j = rng.randrange(1, len(word) - 1)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    lead = rng.choice(FILLERS)
    return f"{lead} {' '.join(words)} (ref {number})"  # the number keeps every query distinct


class RandomVectors:
    """The KB side without the model (``--random-vectors``): normalised random rows. Queries go
    to the real model."""

    def __init__(self, model: OnnxEmbedder) -> None:
        self.model, self.name, self._rng = model, model.name + "+random", np.random.default_rng(5)

    def embed(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            return self.model.embed(texts)
        rows = self._rng.standard_normal((len(texts), 384)).astype(np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def timed(call: Callable[[str], Any], queries: list[str]) -> tuple[float, float, float]:
    """p50 and p99 wall-clock ms, and the p99 of CPU ms (this thread's CPU time): on a shared
    machine the wall clock also counts the time spent waiting for a core."""
    latencies, cpu = [], []
    for query in queries:
        started, started_cpu = time.perf_counter(), time.thread_time()
        call(query)
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    p50, p99 = np.percentile(latencies, [50, 99])
    return float(p50), float(p99), float(np.percentile(cpu, 99))


def run_size(size: int, args: argparse.Namespace, model: OnnxEmbedder) -> dict[str, Any]:
    entries = synthetic_kb(size, seed=size)
    rng = random.Random(11)
    picks = [rng.randrange(size) for _ in range(args.queries)]
    queries = [paraphrase(entries[i], rng, n) for n, i in enumerate(picks)]
    warm = [paraphrase(entries[i], rng, -n) for n, i in enumerate(picks[:20])]
    started = time.perf_counter()
    lexical = KnowledgeBase(entries)
    lexical_build = time.perf_counter() - started
    for query in warm:
        lexical.search(query, 3)
    lex = timed(lambda q: lexical.search(q, 3), queries)
    lexical_top1 = sum(
        bool(h) and h[0].entry.id == entries[i].id
        for h, i in ((lexical.search(q, 3), i) for q, i in zip(queries[:200], picks, strict=False))
    )  # fmt: skip
    random_kb = args.random_vectors and size >= args.random_vectors
    inner: Any = RandomVectors(model) if random_kb else model
    embedder = CachedEmbedder(inner, args.cache)
    started = time.perf_counter()
    hybrid = KnowledgeBase(entries, embedder)
    hybrid_build = time.perf_counter() - started
    assert hybrid.semantic, "the semantic index did not build"
    for query in warm:
        hybrid.search(query, 3)
    hyb = timed(lambda q: hybrid.search(q, 3), queries)
    hybrid_top1 = sum(
        bool(h) and h[0].entry.id == entries[i].id
        for h, i in ((hybrid.search(q, 3), i) for q, i in zip(queries[:200], picks, strict=False))
    )  # fmt: skip
    intents = IntentModel(embedder=embedder).fit(*Playbook.load(PACKAGED_PLAYBOOK).training_data)
    fresh = [q.replace("(ref", "(case") for q in queries]  # not in the query cache yet

    def faq(query: str) -> None:
        intents.predict_one(query)
        hybrid.search(query, 3)

    faq_hybrid = timed(faq, fresh)
    plain = IntentModel().fit(*Playbook.load(PACKAGED_PLAYBOOK).training_data)

    def faq_lexical(query: str) -> None:
        plain.predict_one(query)
        lexical.search(query, 3)

    faq_lex = timed(faq_lexical, queries)
    # Where the hybrid search's time goes, on the same queries (third words: uncached again).
    third = [q.replace("(ref", "(ticket") for q in queries]
    query_only = timed(lambda q: model.embed([q]), third)
    scan = hybrid._vectors  # the benchmark looks inside
    assert scan is not None
    scan.similarity(queries[0])  # the query's vector is cached from here on: the scan alone
    matvec = timed(lambda _q: scan.similarity(queries[0]), queries[:200])
    result = {
        "entries": size, "vectors": int(scan._vectors.shape[0]),
        "kb_vectors": "random" if random_kb else "model",
        "lexical_build_s": round(lexical_build, 2), "hybrid_build_s": round(hybrid_build, 2),
        "lexical_p50_ms": round(lex[0], 3), "lexical_p99_ms": round(lex[1], 3),
        "lexical_cpu_p99_ms": round(lex[2], 3), "hybrid_cpu_p99_ms": round(hyb[2], 3),
        "faq_lexical_cpu_p99_ms": round(faq_lex[2], 3),
        "faq_hybrid_cpu_p99_ms": round(faq_hybrid[2], 3),
        "query_embedding_cpu_p99_ms": round(query_only[2], 3),
        "matvec_cpu_p99_ms": round(matvec[2], 3),
        "hybrid_p50_ms": round(hyb[0], 3), "hybrid_p99_ms": round(hyb[1], 3),
        "faq_lexical_p50_ms": round(faq_lex[0], 3), "faq_lexical_p99_ms": round(faq_lex[1], 3),
        "faq_hybrid_p50_ms": round(faq_hybrid[0], 3), "faq_hybrid_p99_ms": round(faq_hybrid[1], 3),
        "query_embedding_p50_ms": round(query_only[0], 3),
        "query_embedding_p99_ms": round(query_only[1], 3),
        "matvec_p50_ms": round(matvec[0], 3), "matvec_p99_ms": round(matvec[1], 3),
        "lexical_top1": round(lexical_top1 / min(200, len(queries)), 3),
        "hybrid_top1": round(hybrid_top1 / min(200, len(queries)), 3),
    }  # fmt: skip
    embedder.save()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated entry counts")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/frontdesk/bench-faq")
    parser.add_argument("--random-vectors", type=int, default=0, metavar="N",
                        help="sizes >= N get random KB vectors instead of the model's")  # fmt: skip
    parser.add_argument("--float32", action="store_true",
                        help="run model.onnx as it is, not its int8 copy")  # fmt: skip
    args = parser.parse_args()
    if not (DEFAULT_MODEL_DIR / "model.onnx").is_file():
        sys.exit(f"no local model in {DEFAULT_MODEL_DIR}: run scripts/offline-model")
    model = OnnxEmbedder(DEFAULT_MODEL_DIR, int8_cache=None if args.float32 else args.cache)
    print(f"model {model.name}")
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        figures = run_size(size, args, model)
        results.append(figures)
        print(
            f"{size:>7,} entries ({figures['vectors']:,} vectors, {figures['kb_vectors']}): "
            f"build lexical {figures['lexical_build_s']} s, hybrid {figures['hybrid_build_s']} s"
        )
        for name in ("lexical", "hybrid", "faq_lexical", "faq_hybrid", "query_embedding", "matvec"):
            print(
                f"  {name:<16} p50 {figures[name + '_p50_ms']:>8.2f} ms  "
                f"p99 {figures[name + '_p99_ms']:>8.2f} ms  "
                f"CPU p99 {figures[name + '_cpu_p99_ms']:>8.2f} ms"
            )
        print(f"  top-1 of 200 paraphrases: lexical {figures['lexical_top1']}, "
              f"hybrid {figures['hybrid_top1']}")  # fmt: skip
    print(json.dumps({"load_average": round(os.getloadavg()[0], 2), "sizes": results}))


if __name__ == "__main__":
    main()
