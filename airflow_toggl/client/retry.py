"""The one retry policy and the one deferral decision: which failures get another attempt, how long
to wait before it, and when a task should wait outside its worker instead.

:func:`retry_reason` (and :func:`should_retry`) is the whole retry decision and
:func:`deferral_wait` the whole deferral decision: pure functions of the facts a typed error carries
(:attr:`~airflow_toggl.client.errors.TogglError.wait_asked`,
:attr:`~airflow_toggl.client.errors.TogglConnectionError.may_have_arrived`), whether the request is
safe to re-send, and how long the caller accepts to wait in-process.
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
    TogglError,
    TogglQuotaExceededError,
    TogglRateLimitError,
)
from airflow_toggl.client.limits import MAX_SERVER_DELAY, QUOTA_RESET_MARGIN

RETRYABLE_SERVER_STATUSES = frozenset({500, 502, 503, 504})
_SAFE_TO_REPEAT = "the request is safe to repeat"
_MAX_RETRY_AFTER_LENGTH = 64


def retry_reason(error: BaseException, *, idempotent: bool, max_wait: float) -> str | None:
    """Why one more attempt should follow ``error`` (for the retry log line), or None: no retry.

    The whole retry decision, read from the facts the error carries:

    - Never reached Toggl (connection refused, connect timeout, DNS): always, nothing was applied.
    - 429: always, unless ``Retry-After`` asks for longer than ``max_wait``; the request was refused.
    - 402 of a used-up quota (no request remaining): when the quota resets within ``max_wait``.
    - 500/502/503/504, read timeouts, connections dropped after sending: only if ``idempotent``,
      because Toggl may already have applied the request (a second signup or token reset does harm).
    - Everything else (TLS failures, 400, 401, 403, 404, 410, a 402 plan refusal): never.
    """
    if isinstance(error, TogglConnectionError):
        if error.reason == "connect":
            return "the request never reached Toggl"
        return _SAFE_TO_REPEAT if idempotent and error.may_have_arrived else None
    if isinstance(error, (TogglRateLimitError, TogglQuotaExceededError)):
        wait = error.wait_asked
        if wait is not None and wait > max_wait:
            return None
        if isinstance(error, TogglRateLimitError):
            return "Toggl asked to slow down"
        return "the hourly quota resets within max_quota_wait"
    if isinstance(error, TogglAPIError) and error.status_code in RETRYABLE_SERVER_STATUSES:
        return _SAFE_TO_REPEAT if idempotent else None
    return None


def should_retry(error: BaseException, *, idempotent: bool, max_wait: float) -> bool:
    """Whether one more attempt should follow ``error`` (see :func:`retry_reason`)."""
    return retry_reason(error, idempotent=idempotent, max_wait=max_wait) is not None


def deferral_wait(error: BaseException, *, deferrable: bool) -> float | None:
    """Seconds a deferrable task should wait outside its worker after ``error``, or None: do not defer.

    The whole deferral decision: only a task that may defer, only when Toggl said how long to wait
    (a used-up quota's reset, a 429's ``Retry-After``); the wait is that, plus
    :data:`~airflow_toggl.client.limits.QUOTA_RESET_MARGIN`.
    """
    if not deferrable or not isinstance(error, TogglError):
        return None
    wait = error.wait_asked
    if wait is None:
        return None
    return max(wait, 0.0) + QUOTA_RESET_MARGIN


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
    - 402 of a used-up quota: until the announced reset, plus
      :data:`~airflow_toggl.client.limits.QUOTA_RESET_MARGIN`.
    - Anything else: "full jitter" exponential backoff, a random part of 0.5, 1, 2... s, capped.
    """
    if isinstance(error, TogglQuotaExceededError):
        return error.resets_in + QUOTA_RESET_MARGIN
    if isinstance(error, TogglRateLimitError):
        if error.wait_asked is not None:
            return error.wait_asked
        step = bucket_interval * 2.0 ** (attempt - 1) * (1.0 + jitter / 2)
        return min(step, max(backoff_cap, bucket_interval))
    return jitter * min(backoff_cap, SERVER_BACKOFF_BASE * 2.0 ** (attempt - 1))


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
