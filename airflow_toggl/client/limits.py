"""Toggl's limits seen from the client: pacing below the leaky bucket, and the hourly quota headers."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

QUOTA_REMAINING_HEADER = "X-Toggl-Quota-Remaining"
QUOTA_RESETS_IN_HEADER = "X-Toggl-Quota-Resets-In"
_MAX_HEADER_LENGTH = 64


@dataclass(frozen=True)
class Quota:
    """What the latest response said of the hourly quota: requests left, and seconds until it resets."""

    remaining: int | None
    resets_in: float | None


def parse_quota(headers: Mapping[str, str]) -> Quota | None:
    """The quota headers of a response, or None when it carries neither (or neither parses)."""
    remaining = _parse_count(headers.get(QUOTA_REMAINING_HEADER))
    resets_in = _parse_seconds(headers.get(QUOTA_RESETS_IN_HEADER))
    if remaining is None and resets_in is None:
        return None
    return Quota(remaining=remaining, resets_in=resets_in)


def _parse_count(value: object) -> int | None:
    if not isinstance(value, str) or len(value) > _MAX_HEADER_LENGTH:
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        return None
    return int(text)


def _parse_seconds(value: object) -> float | None:
    if not isinstance(value, str) or len(value) > _MAX_HEADER_LENGTH:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return abs(seconds)  # "-0" parses as -0.0, which is not below zero but prints as "-0"


class Pacer:
    """Spaces requests at least ``1 / rate`` seconds apart, across threads; rate 0 never waits."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def wait(self, sleep: Callable[[float], None]) -> float:
        """Reserve the next slot and sleep until it; return how long it slept."""
        if not self._interval:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        delay = slot - now
        if delay > 0:
            sleep(delay)
        return delay


_pacers: dict[tuple[str, float], Pacer] = {}
_pacers_lock = threading.Lock()


def shared_pacer(key: str, rate: float) -> Pacer:
    """The process-wide pacer for one credential at one rate.

    Toggl's bucket is per credential and IP, so every client of this process that uses the same
    credential shares one pacer. ``key`` must not be a secret itself (use a digest).
    """
    with _pacers_lock:
        pacer = _pacers.get((key, rate))
        if pacer is None:
            pacer = _pacers[(key, rate)] = Pacer(rate)
        return pacer
