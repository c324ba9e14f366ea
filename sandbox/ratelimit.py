"""Call counters behind ``X-App-Usage`` / ``X-Business-Use-Case-Usage`` and the optional budget.

Why a rolling hour of one-minute buckets with running totals: Meta reports usage as a percentage
of a rolling-window limit and, once a business object is over it, answers 80001 (Pages) / 80002
(Instagram) with ``estimated_time_to_regain_access`` in minutes (PLATFORM_APIS §4.2). Minute
buckets make that estimate exact in whole minutes; running totals make every request O(1) (no
summing 60 buckets per call) and memory proportional to objects called in the last hour.

Counting rules (documented choices):

* Every Graph request counts for the app; requests about a business object (Page, IG user, or a
  post/media of it) also count for that object -- including batch sub-requests and requests that
  are then rejected (PLATFORM_APIS: "keep calling while throttled and the window extends").
* With ``budget_per_hour`` set, a call that brings an object's count in the last hour above the
  budget is throttled; ``regain_minutes`` is when enough of the oldest calls leave the window for
  the next call to fit (so a client that waits that long gets through).
* Without a budget, percentages are relative to a nominal ``nominal_object_calls_per_hour`` and
  nothing is throttled. Percentages are capped at 100.
* The clock is the server's *rate clock* (real monotonic time plus ``SandboxServer.advance``),
  not the frozen sandbox clock: usage must decay even when "today" is pinned.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import NamedTuple

WINDOW_MINUTES = 60


class Usage(NamedTuple):
    app_pct: int
    object_calls: int
    object_pct: int
    throttled: bool
    regain_minutes: int


class RateLimiter:
    """Thread-safe rolling-hour counters per app and per business object."""

    def __init__(
        self,
        budget_per_hour: int | None = None,
        app_calls_per_hour: int = 10_000,
        nominal_object_calls_per_hour: int = 200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if budget_per_hour is not None and budget_per_hour < 1:
            raise ValueError("call_budget_per_hour must be >= 1 or None")
        self.budget = budget_per_hour
        self.app_limit = app_calls_per_hour
        self.object_limit = budget_per_hour or nominal_object_calls_per_hour
        self._clock = clock
        self._buckets: deque[tuple[int, Counter]] = deque()
        self._totals: Counter = Counter()
        self._app_total = 0
        self._lock = threading.Lock()

    def _expire(self, minute: int) -> None:
        while self._buckets and self._buckets[0][0] <= minute - WINDOW_MINUTES:
            _, counter = self._buckets.popleft()
            for key, n in counter.items():
                if key == "":
                    self._app_total -= n
                    continue
                left = self._totals[key] - n
                if left > 0:
                    self._totals[key] = left
                else:
                    del self._totals[key]

    def record(self, obj: str | None) -> Usage:
        """Count one call for the app and ``obj`` (if any) and return the usage after it."""
        minute = int(self._clock() // 60)
        with self._lock:
            self._expire(minute)
            if not self._buckets or self._buckets[-1][0] != minute:
                self._buckets.append((minute, Counter()))
            counter = self._buckets[-1][1]
            counter[""] += 1
            self._app_total += 1
            calls = 0
            throttled = False
            regain = 0
            if obj:
                counter[obj] += 1
                self._totals[obj] += 1
                calls = self._totals[obj]
                if self.budget is not None and calls > self.budget:
                    throttled = True
                    regain = self._regain(obj, minute, calls)
            app = self._app_total
        return Usage(
            app_pct=min(100, app * 100 // self.app_limit),
            object_calls=calls,
            object_pct=min(100, calls * 100 // self.object_limit),
            throttled=throttled,
            regain_minutes=regain,
        )

    def _regain(self, obj: str, minute: int, calls: int) -> int:
        # Minutes until the window holds fewer than `budget` calls, i.e. the next call fits.
        running = calls
        for bucket_minute, counter in self._buckets:
            running -= counter.get(obj, 0)
            if running < self.budget:  # type: ignore[operator]
                return max(1, bucket_minute + WINDOW_MINUTES - minute)
        return WINDOW_MINUTES

    def objects_tracked(self) -> int:
        """Objects with calls in the current window (memory check in tests/benchmarks)."""
        return len(self._totals)
