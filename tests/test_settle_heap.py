"""After start-up the heap is settled (``bot.app.settle_heap``): what start-up built is frozen
out of the cyclic collector's sight, young collections stay short, and an object still reaches
the old generation only after as many allocations as before the young threshold was lowered
(what keeps full collections rare with 1,000 open WebSockets, ``bench/web.py --gc``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.app import GC_MIDDLE_THRESHOLD, GC_YOUNG_THRESHOLD, settle_heap


@pytest.fixture
def restored_collector() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_start_up_heap_frozen_and_thresholds_set(restored_collector: None) -> None:
    kept = [[n] for n in range(100)]  # built at "start-up": lists, tracked by the collector
    settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold()[:2] == (GC_YOUNG_THRESHOLD, GC_MIDDLE_THRESHOLD)


def test_promotion_age_and_young_walks() -> None:
    # Promoted to the old generation after young x middle allocations: 100,000 as with the
    # earlier (10,000, 10); each young collection walks at most a few thousand objects.
    assert GC_YOUNG_THRESHOLD * GC_MIDDLE_THRESHOLD >= 100_000
    assert GC_YOUNG_THRESHOLD <= 2_000
