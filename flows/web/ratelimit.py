"""Basic rate limiting per source address: an in-memory token bucket per address (one
process; the bank's proxy may limit more). Pure apart from the clock it is given."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """At most ``per_minute`` requests per address and minute, in bursts of as many."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        max_sources: int = 10_000,
    ) -> None:
        self._capacity = float(per_minute)
        self._refill_per_second = per_minute / 60.0
        self._clock = clock
        self._max_sources = max_sources
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)
        self._lock = threading.Lock()

    def allow(self, source: str) -> bool:
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(source, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - at) * self._refill_per_second)
            allowed = tokens >= 1.0
            self._buckets[source] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self._max_sources:
                self._forget_full(now)
            return allowed

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled completely (they hold nothing to remember)."""
        full = [
            source
            for source, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self._refill_per_second >= self._capacity
        ]
        for source in full:
            del self._buckets[source]
