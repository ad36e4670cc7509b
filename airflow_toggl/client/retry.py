"""The one retry policy: which failures get another attempt, and how long to wait before it.

:func:`should_retry` is the whole decision, a pure function of the typed error, whether the request
is safe to re-send, and how long the caller accepts to wait in-process.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from tenacity import RetryCallState
from tenacity.wait import wait_base, wait_random_exponential

from airflow_toggl.client.errors import (
    TogglAPIError,
    TogglConnectionError,
    TogglQuotaExceededError,
    TogglRateLimitError,
)

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
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or an HTTP date); None if unusable."""
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_RETRY_AFTER_LENGTH:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delay = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, delay) if math.isfinite(delay) else None


class wait_for_toggl(wait_base):
    """Wait as long as Toggl asks (``Retry-After``, quota reset), else exponential backoff with jitter."""

    def __init__(self, backoff: wait_base, quota_margin: float = 1.0) -> None:
        self._backoff = backoff
        self._quota_margin = quota_margin

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, TogglRateLimitError) and error.retry_after is not None:
            return error.retry_after
        if isinstance(error, TogglQuotaExceededError):
            return error.resets_in + self._quota_margin
        return self._backoff(retry_state)


def default_wait(backoff_cap: float) -> wait_base:
    """Toggl's own hints first, else random exponential backoff capped at ``backoff_cap``."""
    return wait_for_toggl(wait_random_exponential(multiplier=0.5, max=backoff_cap))


def retry_decision(idempotent: bool, max_wait: float) -> Callable[[BaseException], bool]:
    """:func:`should_retry` bound to one request, in the shape ``tenacity.retry_if_exception`` takes."""

    def decide(error: BaseException) -> bool:
        return should_retry(error, idempotent=idempotent, max_wait=max_wait)

    return decide
