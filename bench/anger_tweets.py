"""Anger on real tweets: how often the pre-answer anger signal fires on TweetEval's labels.

Run: ``python bench/anger_tweets.py [--split test] [--data DIR] [--misses N]``. Reads the
development copy of TweetEval (``../shared/data/tweeteval`` beside the checkout; never part of
the repository) and runs the same classifier and escalation policy as ``frontdesk eval
escalation``: a message counts as angry when the policy gives ``negative_sentiment``.

- ``emotion``: anger recall (anger-labelled tweets flagged), the share of joy and of optimism
  tweets flagged (false alarms), sadness flagged (sad is not angry, but often frustrated), and
  precision over all flagged tweets.
- ``sentiment``: share flagged of negative, neutral and positive tweets.

These are tweets about anything (sport, politics, TV), not support requests, so the figures are
an out-of-domain check of how the cues generalise, not a target. ``--misses N`` prints N missed
anger tweets and N false alarms (for reading only: never copy them into the repository).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import classifier_and_policy, json_line
from brain.escalation import Facts, Reason, reasons
from channels.base import Author
from config.settings import Settings

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "tweeteval"
# Tweets that name a product, a service or a wait: the part of TweetEval closest to support
# requests (most of it is sport, politics and TV).
SUPPORT = re.compile(
    r"\b(?:order\w*|deliver\w*|service|customer|app|refund\w*|flights?|queue|wait\w*|broken|"
    r"bill\w*|charg\w*|account|phone|internet|wifi|train|bus|driver|staff|support|store|shop|"
    r"package|parcel|website|cancel\w*|delay\w*|late|on\ hold|booking|ticket|engineer)\b",
    re.IGNORECASE,
)


def load(folder: Path, split: str) -> list[tuple[str, int]]:
    texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (folder / f"{split}_labels.txt").read_text(encoding="utf-8").split()
    return [(t, int(label)) for t, label in zip(texts, labels, strict=True)]


def share(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--misses", type=int, default=0)
    args = parser.parse_args()
    if not (args.data / "emotion").is_dir():
        raise SystemExit(f"no TweetEval copy at {args.data} (development data, not shipped)")
    settings = Settings()
    _, classifier, policy = classifier_and_policy(settings)

    def angry(text: str) -> bool:
        # TweetEval masks every mention as "@user"; a support request names the brand instead.
        facts = Facts(text, classifier.classify(text), 1.0, Author(id="bench"), 1)
        return Reason.NEGATIVE_SENTIMENT in reasons(policy, facts)

    emotion = load(args.data / "emotion", args.split)
    flagged = [(text, label, angry(text)) for text, label in emotion]
    by = {name: [f for _, label, f in flagged if label == n]
          for n, name in enumerate(("anger", "joy", "optimism", "sadness"))}  # fmt: skip
    support = [(label, f) for text, label, f in flagged if SUPPORT.search(text)]
    hits = sum(by["anger"])
    fired = sum(f for _, _, f in flagged)
    result: dict[str, float | int | str] = {
        "split": args.split,
        "emotion_messages": len(emotion),
        "anger_recall": share(by["anger"]),
        "anger_precision": round(hits / fired, 4) if fired else 0.0,
        "joy_flagged": share(by["joy"]),
        "optimism_flagged": share(by["optimism"]),
        "sadness_flagged": share(by["sadness"]),
        "support_like": len(support),
        "support_anger_recall": share([f for label, f in support if label == 0]),
        "support_joy_optimism_flagged": share([f for label, f in support if label in (1, 2)]),
    }
    split = "val" if args.split == "train" else args.split  # sentiment has no train file here
    sentiment = [(t, label, angry(t)) for t, label in load(args.data / "sentiment", split)]
    for n, name in enumerate(("negative", "neutral", "positive")):
        result[f"sentiment_{name}_flagged"] = share([f for _, lab, f in sentiment if lab == n])
    print(f"TweetEval emotion/{args.split}: {len(emotion)} tweets")
    print(f"anger recall {result['anger_recall']}, precision {result['anger_precision']}")
    print(f"flagged: joy {result['joy_flagged']}, optimism {result['optimism_flagged']}, "
          f"sadness {result['sadness_flagged']}")  # fmt: skip
    print(f"support-like tweets ({len(support)}): anger recall {result['support_anger_recall']}, "
          f"joy/optimism flagged {result['support_joy_optimism_flagged']}")  # fmt: skip
    print(f"TweetEval sentiment/{split}: flagged negative {result['sentiment_negative_flagged']}, "
          f"neutral {result['sentiment_neutral_flagged']}, "
          f"positive {result['sentiment_positive_flagged']}")  # fmt: skip
    if args.misses:
        rng = random.Random(7)
        missed = [t for t, label, f in flagged if label == 0 and not f]
        alarms = [t for t, label, f in flagged if label in (1, 2) and f]
        for title, rows in (("missed anger", missed), ("false alarms", alarms)):
            print(f"-- {title} ({len(rows)})")
            for text in rng.sample(rows, min(args.misses, len(rows))):
                print("  ", text)
    json_line(result)


if __name__ == "__main__":
    main()
