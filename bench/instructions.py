"""Instructions per message on the KB path, counted by callgrind: a figure the machine's load
does not move (wall-clock figures on a shared machine moved up to 2x within minutes).

``python bench/instructions.py [--messages 300] [--mode sequential|once]`` runs itself under
``valgrind --tool=callgrind --instr-atstart=no`` on a real redis-server of its own: the
dispatcher and brain are built and 50 messages answered first, uncounted; counting is
switched on (``callgrind_control -i on``) for the next ``--messages`` messages of
``bench/pipeline.py``'s mix and off once they are answered. ``sequential`` (the default, as in
the passes of ``docs/PERFORMANCE.md``) hands each message over after the one before is
enqueued; ``once`` hands the whole burst over together, and its count moves with how the
pipelines happen to fill under valgrind's slow clock. Needs ``valgrind`` (apt).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WARM_UP = 50


def _count(state: str) -> None:
    """Counting on or off. Valgrind reads the request while this process runs (a process
    blocked in a system call would not see it), so wait in short sleeps, which cost next to
    nothing counted."""
    ask = subprocess.Popen(["callgrind_control", "-i", state, str(os.getpid())],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    while ask.poll() is None:
        time.sleep(0.005)


async def _answer(url: str, messages: int, offset: int, at_once: bool, counted: bool) -> int:
    from bench._common import question
    from bench.pipeline import hand_over, start
    from brain.knowledge import KnowledgeBase
    from brain.store.base import StoreLimits
    from brain.store.redis import RedisStore
    from config.settings import PACKAGED_KNOWLEDGE_DIR

    store = RedisStore.from_url(url, limits=StoreLimits(), namespace="instructions")
    await store.open()
    try:
        channel, dispatcher, worker = await start(store, KnowledgeBase.load(PACKAGED_KNOWLEDGE_DIR))
        batch = [channel.message(text, conversation=conversation, message_id=f"m{offset + i}")
                 for i, (conversation, text) in
                 enumerate(question(offset + i, 600) for i in range(messages))]  # fmt: skip
        if counted:
            _count("on")
        await hand_over(channel, batch, at_once)
        await dispatcher.drain()
        if counted:
            _count("off")
        dispatcher.stop()
        await worker
        return len(channel.sent)
    finally:
        await store.close()


def _inner(url: str, messages: int, at_once: bool) -> None:
    asyncio.run(_answer(url, WARM_UP, 0, at_once, counted=False))
    answered = asyncio.run(_answer(url, messages, WARM_UP, at_once, counted=True))
    print(f"answered {answered}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--mode", choices=("sequential", "once"), default="sequential")
    parser.add_argument("--inner", help=argparse.SUPPRESS)  # the run under valgrind: its URL
    args = parser.parse_args()
    at_once = args.mode == "once"
    if args.inner:
        _inner(args.inner, args.messages, at_once)
        return
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("bench/instructions.py needs valgrind: apt-get install valgrind")
    from tests.servers import start_redis

    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp) / "redis")
        try:
            run = subprocess.run(
                ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                 f"--callgrind-out-file={tmp}/callgrind.out", sys.executable, __file__,
                 "--inner", server.url, "--messages", str(args.messages), "--mode", args.mode],
                check=False, capture_output=True, text=True,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )  # fmt: skip
        finally:
            server.stop()
    collected = re.search(r"Collected : (\d+)", run.stderr)
    answered = re.search(r"answered (\d+)", run.stderr)
    if run.returncode != 0 or collected is None or answered is None:
        sys.exit(f"the run under valgrind failed ({run.returncode}):\n{run.stderr[-2000:]}")
    per_message = int(collected.group(1)) / args.messages
    print(f"{args.messages} messages ({args.mode}), {answered.group(1)} answered: "
          f"{per_message / 1e6:.3f} M instructions per message")  # fmt: skip
    print(json.dumps({"instructions_per_message": round(per_message), "mode": args.mode,
                      "messages": args.messages}))  # fmt: skip


if __name__ == "__main__":
    main()
