"""Email channel benchmark: IDLE arrival -> reply accepted by SMTP, and parser throughput.

Part 1 runs the real path against a real Dovecot (started here on loopback, as the tests do),
aiosmtpd and the fake LLM server through the real OpenAI SDK: a mail is appended to the
watched folder, Dovecot pushes it over IDLE, the channel parses and queues it, the dispatcher
answers (the LLM tier is forced: no direct FAQ answers) and the reply is accepted by SMTP.
Messages go one at a time, each from a new customer, so every figure is one full round trip.

Part 2 parses every file under ``../shared/data/email/`` (development data, read here only,
never copied) with ``parse_mail`` beside the bare stdlib parse of the same bytes
(``BytesParser(policy=default).parsebytes``), and counts exceptions (there must be none).

Run: ``python bench/email_channel.py [--messages N] [--rounds N] [--data DIR]``; needs root and
``dovecot-imapd`` for part 1. The last line is JSON.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root, for the test fakes this bench runs against.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import email.policy  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from email.message import EmailMessage  # noqa: E402
from email.parser import BytesParser  # noqa: E402
from email.utils import make_msgid  # noqa: E402

from bot.dispatch import DispatchConfig, Dispatcher  # noqa: E402
from bot.wiring import build_brain  # noqa: E402
from brain.knowledge import KnowledgeBase  # noqa: E402
from brain.providers.fake import json_answer  # noqa: E402
from brain.store.base import StoreLimits  # noqa: E402
from brain.store.sqlite import SqliteStore  # noqa: E402
from channels.email import build  # noqa: E402
from channels.email.parse import parse_mail  # noqa: E402
from config.settings import EmailSettings, ProviderSettings, Settings  # noqa: E402
from tests.fakes.dovecot import PASSWORD, USER, new_folder, start_dovecot  # noqa: E402
from tests.fakes.fake_llm import FakeLLMServer  # noqa: E402
from tests.fakes.mailbox import Mailbox  # noqa: E402
from tests.fakes.smtp_sink import SmtpServer  # noqa: E402

QUESTIONS = [
    "How do I return an item I bought last week?",
    "Where is my order? It has not arrived yet.",
    "Can I pay with PayPal?",
    "How long does a refund take?",
    "Do you ship to Norway?",
]
SKIP = ("LICENSE", "COPYING", "SOURCE_COMMIT")


def mail(i: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {i} <customer{i}@bench.example>"
    message["To"] = "support@larkspur.example"
    message["Subject"] = f"Question {i}"
    message["Message-ID"] = make_msgid(domain="bench.example")
    message.set_content(QUESTIONS[i % len(QUESTIONS)] + "\n\nThanks,\nCustomer\n")
    return bytes(message)


async def round_trips(messages: int) -> list[float]:
    dovecot = start_dovecot()
    smtp = SmtpServer()
    smtp.start()
    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-bench-email-"))
    try:
        async with FakeLLMServer(reply=json_answer("Here is how that works.")) as llm:
            folder = new_folder()
            settings = Settings(
                email=EmailSettings(
                    enabled=True, imap_host="127.0.0.1", imap_port=dovecot.port, imap_tls=False,
                    imap_username=USER, imap_password=PASSWORD, imap_folder=folder,
                    smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
                    from_address="support@larkspur.example",
                ),
                providers=ProviderSettings(openai_api_key="sk-bench",
                                           openai_base_url=llm.openai_base_url,
                                           faq_direct_threshold=1.0, cache_ttl_seconds=1),
            )  # fmt: skip
            store = SqliteStore(tmp / "state.db", limits=StoreLimits())
            await store.open()
            brain, _ = build_brain(settings, store, KnowledgeBase.load(settings.knowledge.path))
            adapter = build(settings, store=store)
            dispatcher = Dispatcher(store, brain, {"email": adapter.channel},
                                    DispatchConfig(consumer="bench"))  # fmt: skip
            await adapter.channel.start(dispatcher.submit)
            worker = asyncio.create_task(dispatcher.run())
            latencies: list[float] = []
            async with Mailbox(dovecot, folder) as mailbox, adapter.connection():
                await asyncio.wait_for(adapter.watcher.connected.wait(), 10)
                for i in range(messages):
                    raw = mail(i)
                    started = time.monotonic()
                    await mailbox.deliver(raw)
                    await smtp.sink.wait_for(i + 1, within=30)
                    latencies.append(smtp.sink.accepted_at[i] - started)
            dispatcher.stop()
            await worker
            await store.close()
            llm_calls = len(llm.requests_for("openai"))
            print(f"LLM calls: {llm_calls} for {messages} messages")
    finally:
        smtp.stop()
        dovecot.stop()
    return latencies


def parse_corpus(data: Path, rounds: int) -> dict[str, float]:
    files = sorted(p for p in data.rglob("*") if p.is_file() and not p.name.startswith(SKIP))
    raws = [p.read_bytes() for p in files]
    errors = 0
    for path, raw in zip(files, raws, strict=True):
        try:
            parse_mail(raw, languages=("en", "de", "fr", "es"))
        except Exception as err:
            errors += 1
            print(f"  EXCEPTION {path}: {type(err).__name__}: {err}")
    matched, compared = _expected_texts(data)
    emls = [raw for path, raw in zip(files, raws, strict=True) if path.suffix == ".eml"]
    parser = BytesParser(policy=email.policy.default)
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in emls:
            parser.parsebytes(raw)
    stdlib_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in emls:
            parse_mail(raw, languages=("en", "de", "fr", "es"))
    ours_s = time.perf_counter() - started
    total = len(emls) * rounds
    print(f"parsed {len(files)} files of {data}: {errors} exceptions; expected texts matched "
          f"{matched}/{compared}")  # fmt: skip
    print(f"throughput over {len(emls)} .eml files x {rounds} rounds: parse_mail "
          f"{total / ours_s:.0f} msg/s, stdlib parsebytes {total / stdlib_s:.0f} msg/s, "
          f"ratio {ours_s / stdlib_s:.2f}x")  # fmt: skip
    return {"files": len(files), "exceptions": errors, "ours": total / ours_s,
            "stdlib": total / stdlib_s, "ratio": ours_s / stdlib_s}  # fmt: skip


def _expected_texts(data: Path) -> tuple[int, int]:
    """Where the corpus gives the expected reply text (``<name>_reply_text`` beside
    ``<name>.eml``), compare it with what we keep."""
    matched = compared = 0
    for expected in data.rglob("*_reply_text"):
        source = expected.with_name(expected.name.removesuffix("_reply_text") + ".eml")
        if not source.is_file():
            continue
        compared += 1
        got = parse_mail(source.read_bytes()).full_text
        want = expected.read_text(errors="replace").strip()
        kept = parse_mail(source.read_bytes()).text
        ok = kept == want or kept in want
        matched += ok
        print(f"  {source.name}: {'match' if ok else 'DIFFERS'} (kept {kept!r}, expected "
              f"{want!r}; full {len(got)} chars)")  # fmt: skip
    return matched, compared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "email")
    args = parser.parse_args()
    latencies = asyncio.run(round_trips(args.messages))
    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms)
    p95 = ms[max(0, int(len(ms) * 0.95) - 1)]
    print(f"IDLE arrival -> SMTP accepted over {len(ms)} messages: p50 {p50:.0f} ms, "
          f"p95 {p95:.0f} ms, max {ms[-1]:.0f} ms")  # fmt: skip
    if args.data.is_dir():
        figures = parse_corpus(args.data, args.rounds)
    else:
        print(f"{args.data} does not exist: parser figures skipped")
        figures = {"ours": 0.0, "stdlib": 0.0}
    print(json.dumps({"idle_to_reply_p95_ms": round(p95, 1),
                      "parse_messages_per_second": round(figures["ours"], 1),
                      "stdlib_messages_per_second": round(figures["stdlib"], 1)}))  # fmt: skip


if __name__ == "__main__":
    main()
