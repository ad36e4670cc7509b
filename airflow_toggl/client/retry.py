"""The one retry policy: which failures get another attempt, and how long to wait before it.

:func:`should_retry` is the whole decision, a pure function of the typed error, whether the request
is safe to re-send, and how long the caller accepts to wait in-process.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_base

from airflow_toggl.client.errors import (
    TogglAPIError,
    TogglConnectionError,
    TogglQuotaExceededError,
    TogglRateLimitError,
)
from airflow_toggl.client.limits import MAX_SERVER_DELAY

RETRYABLE_SERVER_STATUSES = frozenset({500, 502, 503, 504})
_MAX_RETRY_AFTER_LENGTH = 64


def should_retry(error: BaseException, *, idempotent: bool, max_wait: float) -> bool:
    """Whether one more attempt should follow ``error``.

    - Never reached Toggl (connection refused, connect timeout): always, nothing was applied.
    - 429: always, unless ``Retry-After`` asks for longer than ``max_wait``; the request was refused.
    - 402 with quota headers: when the quota resets within ``max_wait``.
    - 500/502/503/504, read timeouts, connections dropped after sending: only if ``idempotent``,
      because Toggl may already have applied the request (a second signup or token reset does harm).
    - Everything else (TLS failures, 400, 401, 403, 404, 410, 402 without quota headers): never.
    """
    if isinstance(error, TogglConnectionError):
        if error.reason == "connect":
            return True
        return idempotent and error.may_have_arrived
    if isinstance(error, TogglRateLimitError):
        return error.retry_after is None or error.retry_after <= max_wait
    if isinstance(error, TogglQuotaExceededError):
        return error.resets_in <= max_wait
    if isinstance(error, TogglAPIError):
        return idempotent and error.status_code in RETRYABLE_SERVER_STATUSES
    return False


def parse_retry_after(value: object, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or an HTTP date), at most
    :data:`~airflow_toggl.client.limits.MAX_SERVER_DELAY`; None if unusable."""
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_RETRY_AFTER_LENGTH:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(text), MAX_SERVER_DELAY)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delay = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return min(max(0.0, delay), MAX_SERVER_DELAY) if math.isfinite(delay) else None


QUOTA_WAIT_MARGIN = 1.0
"""Seconds added to an announced quota reset, so the first request after it is not refused again."""
SERVER_BACKOFF_BASE = 0.5
"""First exponential backoff step for server and network failures, in seconds."""


def retry_wait(
    error: BaseException | None, attempt: int, *, bucket_interval: float, backoff_cap: float, jitter: float
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (from 1); ``jitter`` is a draw from [0, 1).

    - 429 with ``Retry-After``: exactly that.
    - 429 without: at least one bucket interval, up to half of one more at random, doubling with
      each attempt (capped at ``backoff_cap``, never below one interval): a sooner retry would be
      refused by the same bucket.
    - 402 with quota headers: until the announced reset, plus :data:`QUOTA_WAIT_MARGIN`.
    - Anything else: "full jitter" exponential backoff, a random part of 0.5, 1, 2... s, capped.
    """
    if isinstance(error, TogglRateLimitError):
        if error.retry_after is not None:
            return error.retry_after
        step = bucket_interval * 2 ** (attempt - 1) * (1.0 + jitter / 2)
        return min(step, max(backoff_cap, bucket_interval))
    if isinstance(error, TogglQuotaExceededError):
        return error.resets_in + QUOTA_WAIT_MARGIN
    return jitter * min(backoff_cap, SERVER_BACKOFF_BASE * 2 ** (attempt - 1))


class wait_for_toggl(wait_base):
    """:func:`retry_wait` as a tenacity wait, never shorter than the account's pacer asks.

    So the wait a retry log line announces is the wait that happens: pacing is already in it.
    """

    def __init__(
        self,
        *,
        bucket_interval: float,
        backoff_cap: float,
        pacing: Callable[[], float] = lambda: 0.0,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._bucket_interval = bucket_interval
        self._backoff_cap = backoff_cap
        self._pacing = pacing
        self._draw = draw

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_wait(
            error,
            retry_state.attempt_number,
            bucket_interval=self._bucket_interval,
            backoff_cap=self._backoff_cap,
            jitter=self._draw(),
        )
        return max(wait, self._pacing())


def retry_policy(
    *,
    attempts: int,
    idempotent: bool,
    max_wait: float,
    wait: wait_base,
    sleep: Callable[[float], None],
    before_sleep: Callable[[RetryCallState], None],
) -> Retrying:
    """The one retry policy for one kind of request (idempotent or not); built once per client, reused."""
    return Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait,
        retry=retry_if_exception(retry_decision(idempotent, max_wait)),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def retry_decision(idempotent: bool, max_wait: float) -> Callable[[BaseException], bool]:
    """:func:`should_retry` bound to one request, in the shape ``tenacity.retry_if_exception`` takes."""

    def decide(error: BaseException) -> bool:
        return should_retry(error, idempotent=idempotent, max_wait=max_wait)

    return decide
