"""A circuit breaker per provider + model, so a dead provider costs milliseconds, not seconds.

    closed --(N consecutive failures, or failure rate over a window)--> open
    open --(cooldown elapsed)--> half-open: exactly one probe call is let through
    half-open --probe succeeds--> closed;  --probe fails--> open again (cooldown restarts)

It works with a single deployment per tier: when every provider of a chain is open, the router
falls through to the offline answerer at once instead of waiting on timeouts.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


class State(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    consecutive_failures: int = 3
    failure_rate: float = 0.5
    window: int = 20
    min_calls: int = 10
    cooldown_s: float = 30.0


class CircuitBreaker:
    def __init__(
        self, config: BreakerConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or BreakerConfig()
        self._clock = clock
        self._state = State.CLOSED
        self._consecutive = 0
        self._outcomes: deque[bool] = deque(maxlen=self.config.window)
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> State:
        if self._state is State.OPEN and self._cooled_down():
            return State.HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """May a call go through now? In half-open, only the first caller gets a yes."""
        if self._state is State.CLOSED:
            return True
        if self._state is State.OPEN:
            if not self._cooled_down():
                return False
            self._state = State.HALF_OPEN
            self._probing = False
        if self._probing:
            return False
        self._probing = True
        return True

    def release(self) -> None:
        """A call that was allowed ended without a verdict (cancelled by hedging)."""
        self._probing = False

    def record_success(self) -> None:
        self._outcomes.append(True)
        self._consecutive = 0
        self._probing = False
        self._state = State.CLOSED

    def record_failure(self) -> None:
        self._outcomes.append(False)
        self._consecutive += 1
        self._probing = False
        if self._state is State.HALF_OPEN or self._tripped():
            self._state = State.OPEN
            self._opened_at = self._clock()

    def _tripped(self) -> bool:
        if self._consecutive >= self.config.consecutive_failures:
            return True
        calls = len(self._outcomes)
        if calls < self.config.min_calls:
            return False
        failures = sum(1 for ok in self._outcomes if not ok)
        return failures / calls >= self.config.failure_rate

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self.config.cooldown_s
