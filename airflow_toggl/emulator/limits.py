"""The two limits Toggl applies: a leaky bucket (429) and a sliding hourly quota (402).

Both are plain bookkeeping over timestamps from the emulator's clock; the caller holds the
state lock, so nothing here locks on its own.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class LeakyBucket:
    """Requests pour in one unit each and drain at ``rps``; a full bucket refuses the request."""

    level: float = 0.0
    updated: float = 0.0

    def offer(self, now: float, rps: float, capacity: int, tolerance: float = 1e-9) -> float | None:
        """Admit one request (``None``) or return the seconds until one more would fit.

        ``tolerance`` forgives float rounding; with none, a capacity of one admits a request only
        when a full ``1 / rps`` has passed since the last admitted one.
        """
        elapsed = max(0.0, now - self.updated)
        self.level = max(0.0, self.level - elapsed * rps)
        self.updated = now
        if self.level + 1.0 <= capacity + tolerance:
            self.level += 1.0
            return None
        return (self.level + 1.0 - capacity) / rps


@dataclass
class QuotaWindow:
    """Times of the requests one user made inside the sliding window."""

    times: deque[float] = field(default_factory=deque)

    def prune(self, now: float, window: float) -> None:
        """Forget requests that have left the window."""
        while self.times and self.times[0] <= now - window:
            self.times.popleft()

    def try_count(self, now: float, limit: int, window: float) -> bool:
        """Count one request if the quota allows it; ``False`` when it is used up."""
        self.prune(now, window)
        if len(self.times) >= limit:
            return False
        self.times.append(now)
        return True

    def remaining(self, now: float, limit: int, window: float) -> int:
        """Requests still allowed in the window."""
        self.prune(now, window)
        return max(0, limit - len(self.times))

    def resets_in(self, now: float, window: float) -> int:
        """Whole seconds until the oldest counted request leaves; the window when none is counted."""
        self.prune(now, window)
        if not self.times:
            return math.ceil(window)
        return max(0, math.ceil(self.times[0] + window - now))
