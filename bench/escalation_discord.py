"""Escalation latency on Discord: trigger -> card posted, and claim -> customer notified.

The Discord sibling of ``bench/escalation.py`` (same measures, targets and JSON keys). The real
app (``bot.app.App``) runs in-process with the real discord.py against the fake Discord
gateway + REST (``tests.fakes.fake_discord.FakeDiscord``), the customers in DMs and the desk
in the staff channel, as in ``tests/test_discord_e2e.py``; a fake OpenAI API
(``tests.fakes.fake_llm.FakeLLMServer``) and a SQLite store in a temporary directory. Nothing
leaves the machine. Run: ``python bench/escalation_discord.py [--escalations N]
[--concurrency K] [--trigger human|low-confidence] [--routing llm|default]
[--llm-latency S]``.

For each escalation a different customer (user and DM channel numbered ``n``) sends one DM
as a gateway MESSAGE_CREATE; then a staff member clicks Claim on the card (an
INTERACTION_CREATE with the card's ``custom_id``). Measured with ``time.perf_counter()``
stamped by the fake when it records the bot's REST post:

- trigger -> card: from just before dispatching the message to the card's POST in the staff
  channel;
- claim -> customer: from just before dispatching the click to the POST in the customer's DM
  saying a teammate "joined".

First N escalations one after the other, then (``--concurrency K``, 0 skips) N more with K
customers in flight at once. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.escalation import (
    ANSWER,
    TRIGGERS,
    WAIT_S,
    Run,
    concurrent,
    report,
    sequential,
)
from bot.app import App
from brain.providers.fake import json_answer
from config.settings import load_settings
from tests.fakes.fake_discord import ALICE, DESK, STAFF_ROLE, TOKEN, FakeDiscord
from tests.fakes.fake_llm import FakeLLMServer

Match = Callable[[Mapping[str, Any]], bool]
Arrival = tuple[float, Mapping[str, Any]]  # perf_counter stamp, the recorded post


class StampedDiscord(FakeDiscord):
    """The fake Discord, resolving a future for the next post a matcher accepts."""

    def __init__(self) -> None:
        super().__init__()
        self._waiters: list[tuple[Match, asyncio.Future[Arrival]]] = []
        self.on_sent = self._stamp

    def expect(self, match: Match) -> asyncio.Future[Arrival]:
        future: asyncio.Future[Arrival] = asyncio.get_running_loop().create_future()
        self._waiters.append((match, future))
        return future

    def _stamp(self, record: dict[str, Any]) -> None:
        stamp = time.perf_counter()
        for waiter in list(self._waiters):
            match, future = waiter
            if not future.done() and match(record):
                future.set_result((stamp, record))
                self._waiters.remove(waiter)


def customer(n: int) -> tuple[dict[str, Any], str]:
    """The n-th customer (a Discord user) and their DM channel id."""
    user = {"id": f"141{n:016d}", "username": f"cust{n:04d}", "discriminator": "0",
            "global_name": f"Cust{n:04d}", "avatar": None}  # fmt: skip
    return user, f"151{n:016d}"


@dataclass
class Bench:
    fake: StampedDiscord
    text: str

    async def escalate(self, n: int, run: Run) -> None:
        user, dm = customer(n)
        name = str(user["global_name"])
        card = self.fake.expect(lambda r: r["channel_id"] == DESK and name in json.dumps(r))
        started = time.perf_counter()
        await self.fake.dispatch("MESSAGE_CREATE", self.fake.dm_message(self.text, dm, user))
        arrived, record = await asyncio.wait_for(card, WAIT_S)
        run.trigger_ms.append((arrived - started) * 1000)

        claim = record["components"][0]["components"][0]["custom_id"]
        joined = self.fake.expect(lambda r: r["channel_id"] == dm and "joined" in str(r))
        started = time.perf_counter()
        payload = self.fake.click(claim, str(record["id"]), ALICE)
        await self.fake.dispatch("INTERACTION_CREATE", payload)
        arrived, _ = await asyncio.wait_for(joined, WAIT_S)
        run.claim_ms.append((arrived - started) * 1000)


def configure(tmp: Path, fake: FakeDiscord, llm: FakeLLMServer, routing: str) -> None:
    """Set the app's FRONTDESK_* variables in this process."""
    for key in [k for k in os.environ if k.startswith("FRONTDESK_")]:
        del os.environ[key]  # only this run's settings (e.g. no Redis URL from the shell)
    for key, value in {
        "DISCORD__ENABLED": "true", "DISCORD__BOT_TOKEN": TOKEN,
        "DISCORD__DESK_CHANNEL_ID": DESK, "DISCORD__STAFF_ROLE_IDS": STAFF_ROLE,
        "DISCORD__API_BASE_URL": fake.api_base_url, "DISCORD__GATEWAY_URL": fake.gateway_url,
        "STORE__DATA_DIR": str(tmp / "data"),
        "PROVIDERS__OPENAI_API_KEY": "sk-bench-0123456789abcdef",
        "PROVIDERS__OPENAI_BASE_URL": llm.openai_base_url,
        "DIGEST__ENABLED": "false",
    }.items():  # fmt: skip
        os.environ[f"FRONTDESK_{key}"] = value
    if routing == "llm":  # no FAQ-direct answer, no cached answer: every answer is an LLM call
        os.environ["FRONTDESK_PROVIDERS__FAQ_DIRECT_THRESHOLD"] = "1.0"
        os.environ["FRONTDESK_PROVIDERS__CACHE_TTL_SECONDS"] = "0"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--escalations", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20, help="0: sequential only")
    parser.add_argument("--routing", choices=("llm", "default"), default="llm")
    parser.add_argument("--trigger", choices=tuple(TRIGGERS), default="human")
    parser.add_argument("--llm-latency", type=float, default=0.0, help="seconds per LLM reply")
    args = parser.parse_args()
    runs: dict[str, Run] = {}
    with tempfile.TemporaryDirectory() as tmp:
        reply = json_answer(ANSWER, confidence=0.2 if args.trigger == "low-confidence" else 0.9)
        async with StampedDiscord() as fake, FakeLLMServer(reply) as llm:
            llm.latency = args.llm_latency
            configure(Path(tmp), fake, llm, args.routing)
            app = App(load_settings(env_file=None))
            task = asyncio.create_task(app.run())
            try:
                await fake.wait_for(lambda: fake.commands or task.done(), within=60)
                bench = Bench(fake, TRIGGERS[args.trigger])
                runs["sequential"] = await sequential(bench, 1, args.escalations)
                if args.concurrency > 0:
                    first = args.escalations + 1
                    runs[f"{args.concurrency} at a time"] = await concurrent(
                        bench,
                        first,
                        args.escalations,
                        args.concurrency,
                    )
            finally:
                app.request_stop()
                await asyncio.wait_for(task, 60)
            llm_calls = len(llm.requests_for("openai"))

    total = sum(len(run.trigger_ms) for run in runs.values())
    print(f"{args.escalations} escalations per run ({args.trigger}: {TRIGGERS[args.trigger]!r}), "
          f"SQLite store, Discord gateway + REST fake, routing {args.routing}; {llm_calls} LLM "
          f"requests (latency {args.llm_latency:g} s) for {total} escalations")  # fmt: skip
    report(runs, llm_calls)


if __name__ == "__main__":
    asyncio.run(main())
