"""Web chat under load: N concurrent widget WebSocket sessions on one bot process, each asking
knowledge-base questions, at a fixed total message rate.

The bot runs as a separate process (``frontdesk run`` with only the web channel, SQLite store
in a temporary directory, offline KB answers, 127.0.0.1), so its peak memory is its own: read
from ``/proc/<pid>/status`` (``VmHWM``). This process opens the sessions the way the widget
does (``POST /api/v1/conversations``, then ``/api/v1/ws?token=...``), keeps every session open,
and sends ``--rate`` messages per second spread over the sessions (each a question from the
packaged FAQ, with a fresh client id) for ``--seconds``. Latency is measured per message from
just before the frame is sent to the reply frame that answers it (``in_reply_to``).

Run: ``python bench/web.py [--sessions 1000] [--rate 200] [--seconds 30] [--redis] [--gc]``
(``--redis``: the bot's store on a redis-server of its own; ``--gc``: the bot's garbage
collections, recorded by ``bench/gc_watch.py``). The bot's CPU time
per message (``/proc/<pid>/stat`` over the sending phase) and the machine's load average are
printed too: on a shared machine the latency tail depends on them. The last line printed is
one JSON object with ``ws_sessions``, ``ws_p99_ms``, ``ws_rss_mb`` (and more).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The repository root, for the test fakes this bench runs against.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench._common import json_line, process_cpu_s, rounded_rank  # noqa: E402
from brain.knowledge import KnowledgeBase  # noqa: E402
from config.settings import PACKAGED_KNOWLEDGE_DIR  # noqa: E402
from tests.servers import free_port, start_redis, wait_for_port  # noqa: E402

ADMIN_KEY = "bench-admin-key-0123456789"


def questions() -> list[str]:
    found = [q for e in KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR).entries for q in e.questions]
    return found or ["How do I return an item?"]


def peak_rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )  # fmt: skip
    return (int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024)


class Session:
    def __init__(self, conversation: str, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.conversation = conversation
        self.ws = ws
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        async for msg in self.ws:
            frame = json.loads(msg.data)
            if frame["type"] != "message" or frame["message"]["role"] == "customer":
                continue
            started = self.sent.pop(frame["message"]["in_reply_to"] or "", None)
            if started is not None:
                self.latencies.append((time.perf_counter() - started) * 1000)

    async def ask(self, text: str, client_id: str) -> None:
        self.sent[f"{self.conversation}:{client_id}"] = time.perf_counter()
        await self.ws.send_str(json.dumps({"type": "message", "text": text,
                                           "client_id": client_id}))  # fmt: skip


async def open_sessions(http: aiohttp.ClientSession, base: str, count: int) -> list[Session]:
    gate = asyncio.Semaphore(50)

    async def one() -> Session:
        async with gate:
            async with http.post(f"{base}/api/v1/conversations", json={}) as resp:
                conv = await resp.json()
            ws = await http.ws_connect(f"{base}/api/v1/ws?token={conv['token']}")
            await ws.receive(timeout=30)  # hello
            return Session(conv["id"], ws)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def kb_questions(http: aiohttp.ClientSession, base: str) -> list[str]:
    """The FAQ questions the bot answers itself: each asked once in its own conversation;
    those whose conversation was handed to a person (a ticket) are left out, since a claimed
    or escalated conversation rightly gets no bot answer to its next messages."""
    asked: dict[str, str] = {}
    for question in questions():
        async with http.post(f"{base}/api/v1/conversations", json={}) as resp:
            conv = await resp.json()
        headers = {"Authorization": f"Bearer {conv['token']}"}
        url = f"{base}/api/v1/conversations/{conv['id']}/messages?wait=10"
        async with http.post(url, json={"text": question}, headers=headers) as resp:
            await resp.read()
        asked[conv["id"]] = question
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with http.get(f"{base}/api/v1/tickets", headers=admin) as resp:
        handed = {t["conversation"]["id"] for t in (await resp.json())["tickets"]}
    return [q for conv, q in asked.items() if conv not in handed]


async def load(base: str, args: argparse.Namespace, pid: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        asked = await kb_questions(http, base)
        print(f"{len(asked)} FAQ questions the bot answers itself")
        started = time.perf_counter()
        sessions = await open_sessions(http, base, args.sessions)
        print(f"{len(sessions)} sessions open in {time.perf_counter() - started:.1f} s")
        total = int(args.rate * args.seconds)
        ids = itertools.count()
        begin, cpu_before = time.perf_counter(), process_cpu_s(pid)
        for n in range(total):
            due = begin + n / args.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            session = sessions[n % len(sessions)]
            await session.ask(asked[n % len(asked)], f"b{next(ids)}")
        send_s = time.perf_counter() - begin
        deadline = time.perf_counter() + 30
        while any(s.sent for s in sessions) and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # polling the stragglers is simplest here
        cpu_used = process_cpu_s(pid) - cpu_before
        latencies = [x for s in sessions for x in s.latencies]
        missing = sum(len(s.sent) for s in sessions)
        for s in sessions:
            await s.ws.close()
            s.reader.cancel()
    return {"sent": total, "answered": len(latencies), "unanswered": missing,
            "send_rate": total / send_s, "latencies": latencies,
            "questions": len(asked), "cpu_ms": cpu_used * 1000 / total}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--profile", type=Path, default=None,
                        help="run the bot under cProfile and write its stats here")  # fmt: skip
    parser.add_argument("--redis", action="store_true",
                        help="the bot on a redis-server of its own instead of SQLite")  # fmt: skip
    parser.add_argument("--gc", action="store_true",
                        help="record the bot's collections (bench/gc_watch.py)")  # fmt: skip
    args = parser.parse_args()
    port = free_port()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
        env |= {"FRONTDESK_WEB__ENABLED": "true", "FRONTDESK_WEB__PORT": str(port),
                "FRONTDESK_STORE__DATA_DIR": data,
                "FRONTDESK_WEB__API_KEYS": f"admin:{ADMIN_KEY}",
                "FRONTDESK_WEB__RATE_LIMIT_PER_MINUTE": "10000000",
                "FRONTDESK_DISPATCH__MAX_CONCURRENCY": "64",
                "FRONTDESK_OBSERVABILITY__LOG_LEVEL": "WARNING"}  # fmt: skip
        profile = ["-m", "cProfile", "-o", str(args.profile.resolve())] if args.profile else []
        gc_file = Path(data) / "gc.json"
        if args.gc:
            command = [sys.executable, str(ROOT / "bench" / "gc_watch.py"), str(gc_file), "run"]
        else:
            command = [sys.executable, *profile, "-m", "bot.cli", "run"]
        redis = start_redis(Path(data) / "redis") if args.redis else None
        if redis is not None:
            env["FRONTDESK_STORE__REDIS_URL"] = redis.url
        bot = subprocess.Popen(command, cwd=data, env=env)
        try:
            wait_for_port(port, 120.0)
            idle_mb, _ = peak_rss_mb(bot.pid)
            result = asyncio.run(load(f"http://127.0.0.1:{port}", args, bot.pid))
            peak_mb, now_mb = peak_rss_mb(bot.pid)
        finally:
            bot.terminate()
            bot.wait(30)
            if redis is not None:
                redis.stop()
        collections = json.loads(gc_file.read_text()) if args.gc else None
    lat = result.pop("latencies")
    figures = {
        "ws_sessions": args.sessions,
        "store": "redis" if args.redis else "sqlite",
        "ws_p50_ms": round(rounded_rank(lat, 0.50), 1) if lat else None,
        "ws_p99_ms": round(rounded_rank(lat, 0.99), 1) if lat else None,
        "ws_max_ms": round(max(lat), 1) if lat else None,
        "ws_rss_mb": round(peak_mb, 1),
        "rss_idle_mb": round(idle_mb, 1),
        "rss_end_mb": round(now_mb, 1),
        "rate": args.rate,
        "achieved_rate": round(result["send_rate"], 1),
        "sent": result["sent"],
        "answered": result["answered"],
        "unanswered": result["unanswered"],
        "kb_questions": result["questions"],
        "bot_cpu_ms_per_msg": round(result["cpu_ms"], 2),
        "load_average_start": round(load_start, 2),
        "load_average": round(os.getloadavg()[0], 2),
    }
    if collections is not None:
        figures["gc"] = collections
    for key, value in figures.items():
        print(f"{key:>14}: {value}")
    json_line(figures)


if __name__ == "__main__":
    main()
