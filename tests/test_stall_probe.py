"""The benchmarks' witness of the machine (``bench/stall_probe.py``, ``bench._common``): it
reports a wake-up that came late, and a run's window picks out the stalls that touch it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from bench._common import ROOT, Stalls, watching_stalls


def test_a_process_held_back_is_reported_with_how_long() -> None:
    probe = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "stall_probe.py"), "--over-ms", "20"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert probe.stdout is not None
        assert probe.stdout.readline().split()[0] == "ready"
        time.sleep(0.05)
        stopped = time.monotonic()
        probe.send_signal(signal.SIGSTOP)  # what a stalled CPU does to it
        sent = time.monotonic()
        time.sleep(0.15)
        probe.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    finally:
        probe.terminate()
        out, _ = probe.communicate(timeout=10)
    stalls = Stalls()
    stalls.add(out)
    # The machine may add a short stall of its own (tens of ms, under load); the stop is the
    # one long one, and it is placed when the probe was stopped.
    long = [(began, ms) for began, ms in stalls.seen if ms >= 130]
    assert len(long) == 1, out
    began, ms = long[0]
    assert ms < 1000
    assert stopped - 0.01 <= began <= sent + 0.01


def test_a_window_takes_the_stalls_that_overlap_it() -> None:
    stalls = Stalls([(10.0, 50.0), (10.98, 30.0), (12.5, 8.0), (13.0, 100.0)])
    # 10.0-10.05 ends before the window; 10.98-11.01 reaches into it; 13.0 starts after it.
    assert stalls.within(11.0, 12.9) == [30.0, 8.0]
    assert stalls.within(20.0, 30.0) == []


def test_the_watch_starts_a_probe_per_cpu_and_stops_them() -> None:
    before = time.monotonic()
    with watching_stalls() as stalls:
        time.sleep(0.05)
    # Every probe answered ``ready``, was held on its CPU and ended cleanly when stopped
    # (``watching_stalls`` raises otherwise); what they saw, if anything, is in order.
    assert stalls.cpus == tuple(sorted(os.sched_getaffinity(0)))
    assert stalls.seen == sorted(stalls.seen)
    assert all(began >= before - 1 for began, _ in stalls.seen)
