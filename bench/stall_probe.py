"""A witness for the machine itself: how late a separate, nearly idle process wakes up.

It sleeps ``--tick-ms`` (4 ms) again and again and prints one line per wake-up that came more
than ``--over-ms`` (5 ms) late: ``<time.monotonic() when it should have woken> <how late it
woke, ms>``, flushed at once. It wakes 250 times a second, costs well under 1% of a core and
imports nothing beyond the standard library, so what it sees is the machine's doing, not its
own. On the Firecracker VMs this project is measured on, a process that is ready to run
sometimes gets no CPU for 15-70 ms while the machine is busy, although a core is free; the
process's own accounting counts such a stretch as time it ran, so from inside it a stall
looks like slow code.

A benchmark starts it beside a timed run (``bench._common.watching_stalls``) and reports what
it saw in that run's window, so that a tail those stalls made can be told apart from one the
code made: no code answers a message faster than the machine runs it. A stall can take one
virtual CPU and not the other, so the watch runs one probe per CPU, each held on its own
(``--cpu``): it sees what a process on that CPU went through, whichever CPU the benchmark's
process or the redis-server it waits on was on.

Run on its own: ``python bench/stall_probe.py [--tick-ms 4] [--over-ms 5] [--cpu N]`` (until
stopped).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tick-ms", type=float, default=4.0)
    parser.add_argument("--over-ms", type=float, default=5.0)
    parser.add_argument("--cpu", type=int, default=None, help="stay on this CPU")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    tick, late = args.tick_ms / 1000, args.over_ms / 1000
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Which CPUs it may run on, for the watch to check that it stays where it was put.
    print("ready", *sorted(os.sched_getaffinity(0)), flush=True)
    while True:
        started = time.monotonic()
        time.sleep(tick)
        lateness = time.monotonic() - started - tick
        if lateness > late:
            print(f"{started + tick:.6f} {lateness * 1000:.2f}", flush=True)


if __name__ == "__main__":
    main()
