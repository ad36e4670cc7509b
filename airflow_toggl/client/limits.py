"""Toggl's limits seen from the client: pacing per account under the leaky bucket, the quota headers,
and every margin and bound the client adds to a wait Toggl announces (one constant per idea)."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from airflow_toggl.client.host_pace import HostLedger

QUOTA_REMAINING_HEADER = "X-Toggl-Quota-Remaining"
QUOTA_RESETS_IN_HEADER = "X-Toggl-Quota-Resets-In"
_MAX_HEADER_LENGTH = 64
QUOTA_WINDOW = 3600.0
"""Toggl's hourly quotas are 60-minute windows: no reset is ever further away than this, in seconds."""
QUOTA_RESET_MARGIN = 1.0
"""Seconds added to an announced quota reset before the next request (a retry in-process or a
deferred task resuming), so that request is not refused again by a server clock running behind."""
MAX_SERVER_DELAY = 86_400.0
"""A day: the most any server-given delay (quota reset, ``Retry-After``) is taken to mean.

A larger figure is clamped to this rather than trusted: a sleep, a deferral date or a log line built
from 1e12 seconds overflows, and no Toggl limit lasts longer than an hour.
"""


@dataclass(frozen=True)
class Quota:
    """What a response said of an hourly quota: requests left, seconds until it resets, and which quota.

    ``scope`` is ``"user"``, ``"organization:<id>"`` or ``"workspace:<id>"`` (an organization not yet
    known), as :mod:`airflow_toggl.client.quotas` reads it from the request's path; None: not known.
    """

    remaining: int | None
    resets_in: float | None
    scope: str | None = None


def parse_quota(headers: Mapping[str, str]) -> Quota | None:
    """The quota headers of a response, or None when it carries neither (or neither parses)."""
    remaining = _parse_count(headers.get(QUOTA_REMAINING_HEADER))
    resets_in = _parse_seconds(headers.get(QUOTA_RESETS_IN_HEADER))
    if remaining is None and resets_in is None:
        return None
    return Quota(remaining=remaining, resets_in=resets_in)


def has_quota_headers(headers: Mapping[str, str]) -> bool:
    """Whether a response carries either quota header at all, parseable or not."""
    return any(headers.get(name) is not None for name in (QUOTA_REMAINING_HEADER, QUOTA_RESETS_IN_HEADER))


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
    return min(abs(seconds), MAX_SERVER_DELAY)  # abs: "-0" parses as -0.0, which prints as "-0"


PACING_MARGIN = 0.02
"""Fraction added to the pacing interval, so a server clock running slightly fast still sees a full one."""


def pacing_interval(requests_per_second: float) -> float:
    """Seconds from the end of one request to the start of the next; 0 when pacing is off."""
    return (1.0 + PACING_MARGIN) / requests_per_second if requests_per_second > 0 else 0.0


class Pacer:
    """One account's turn to talk to Toggl, shared by every client and thread of the process and,
    through its ``ledger``, by every process of the host.

    A request starts at least ``interval`` after the previous one *ended* (its answer arrived), and
    requests take turns. A server that admits one request per interval therefore sees at least that
    much between two requests, whatever delays the network or thread scheduling add to either one.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, ledger: HostLedger | None = None) -> None:
        self._clock = clock
        self._ledger = ledger
        self._lock = threading.Lock()
        self._last_end = -math.inf

    def delay(self, interval: float) -> float:
        """Seconds until a request may start, if no other thread takes the turn first."""
        return max(0.0, self._last_end + interval - self._clock())

    @contextmanager
    def turn(self, interval: float, sleep: Callable[[float], None]) -> Iterator[float]:
        """Wait for the account's turn (yielding how long that took); the request runs inside."""
        with self._lock, self._host_turn() as since_host:
            delay = max(self.delay(interval), interval - since_host)
            if delay > 0:
                sleep(delay)
            try:
                yield delay
            finally:
                self._last_end = self._clock()

    @contextmanager
    def _host_turn(self) -> Iterator[float]:
        """Seconds since the account's last request on the host; infinite: none; 0 for a process's
        first request when the host cannot say (so it waits one whole interval)."""
        if self._ledger is None:
            yield math.inf
            return
        with self._ledger.turn() as since:
            if since is None:
                since = 0.0 if self._last_end == -math.inf else math.inf
            yield since


def account_key(account: str) -> str:
    """A digest naming an account (its email, else its credential): safe to keep as a dictionary key."""
    if "@" in account:
        account = account.strip().lower()  # emails are case-insensitive
    return "account:" + hashlib.sha256(account.encode()).hexdigest()[:16]


_pacers: dict[tuple[str, str], Pacer] = {}
_pacers_lock = threading.Lock()


def shared_pacer(key: str, server: str = "") -> Pacer:
    """The process-wide pacer of one account on one server, its turns kept host-wide too.

    Toggl's leaky bucket counts per user, so every credential of one account (API token,
    email/password, each session cookie) and every client and thread using one shares a pacer.
    ``key`` must not be a secret itself: use :func:`account_key`. ``server`` (the API's address)
    keeps accounts of different servers apart.
    """
    with _pacers_lock:
        pacer = _pacers.get((key, server))
        if pacer is None:
            pacer = _pacers[(key, server)] = Pacer(ledger=HostLedger(f"{key} {server}"))
        return pacer
