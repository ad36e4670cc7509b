"""The client settings of every matrix case, and the retry policy table the cases are checked against."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_toggl.exceptions import TogglConnectionError, TogglError

# -- client settings of every matrix case ---------------------------------------------------------

MAX_RETRIES = 2  # so a fault on every request shows the cap: 3 requests
MAX_QUOTA_WAIT = 30.0  # longest in-process wait for a quota reset or a Retry-After
BACKOFF_CAP = 4.0  # longest single exponential backoff wait
NORMAL_TIMEOUT = 5.0
SHORT_TIMEOUT = 0.3  # the client timeout in the "slower than the timeout" cases...
SLOW_DELAY = 0.8  # ...where the emulator waits this long before answering
QUOTA_MARGIN = 2.0  # a quota wait may exceed the announced reset by at most this much


def client_settings(
    url: str, *, timeout: float = NORMAL_TIMEOUT, max_retries: int = MAX_RETRIES
) -> dict[str, Any]:
    """The ``ClientConfig`` fields of a matrix client talking to ``url`` (pacing off)."""
    return {
        "track_api_url": url,
        "accounts_api_url": url,
        "timeout": timeout,
        "max_retries": max_retries,
        "max_quota_wait": MAX_QUOTA_WAIT,
        "backoff_cap": BACKOFF_CAP,
        "requests_per_second": 0,
    }


# -- the policy table ---------------------------------------------------------------------------


class Row(Enum):
    """The rows of the retry table in docs/architecture.md, and three cases it leaves implicit."""

    NOT_CONNECTED = "connection could not be opened"
    RATE_LIMITED = "429 (no Retry-After, or one within max_quota_wait)"
    RATE_LIMITED_TOO_LONG = "429 with a Retry-After beyond max_quota_wait"
    QUOTA_RESETS_SOON = "402 with no request remaining, reset within max_quota_wait"
    QUOTA_RESETS_LATER = "402 with no request remaining, reset beyond max_quota_wait"
    SERVER_ERROR = "500, 502, 503, 504"
    MAY_HAVE_ARRIVED = "read timeout, connection dropped after sending, truncated body"
    FINAL = "400, 401, 403, 404, 410, 402 with requests remaining or no quota header, other 4xx"
    UNUSABLE_BODY = "2xx whose body is not what the method reads"


#: Whether one more attempt follows, as (idempotent request, state-changing request).
RETRIED: dict[Row, tuple[bool, bool]] = {
    Row.NOT_CONNECTED: (True, True),
    Row.RATE_LIMITED: (True, True),
    # should_retry's docstring: a 429 asking for longer than the caller accepts to wait is final.
    Row.RATE_LIMITED_TOO_LONG: (False, False),
    Row.QUOTA_RESETS_SOON: (True, True),
    # The quota error carries resets_in so the caller can defer; it is not waited for in-process.
    Row.QUOTA_RESETS_LATER: (False, False),
    Row.SERVER_ERROR: (True, False),
    Row.MAY_HAVE_ARRIVED: (True, False),
    Row.FINAL: (False, False),
    # The answer was a success: the body is read after the retry loop and never re-requested.
    Row.UNUSABLE_BODY: (False, False),
}


@dataclass(frozen=True)
class Span:
    """An accepted range for a number of seconds (``low == high`` for an exact value)."""

    low: float
    high: float

    def __contains__(self, value: object) -> bool:
        return isinstance(value, (int, float)) and self.low - 1e-9 <= value <= self.high + 1e-9

    def __str__(self) -> str:
        return f"{self.low:g}" if self.low == self.high else f"{self.low:g}..{self.high:g}"


BACKOFF = Span(0.0, BACKOFF_CAP)
BUCKET_WAIT = Span(1.0, BACKOFF_CAP)  # a 429 without Retry-After: at least one bucket interval (1 s)


@dataclass(frozen=True)
class Detail:
    """An attribute the error must carry: ``span`` of seconds, or None when it must be None."""

    attribute: str
    span: Span | None


@dataclass(frozen=True)
class Outcome:
    """How a call ended: ``ok``, ``False`` (the method's documented answer to 403) or an error."""

    kind: str
    status: int | None = None
    reason: str | None = None

    @classmethod
    def of(cls, value: Any, error: BaseException | None) -> Outcome:
        if error is None:
            return FALSE if value is False else OK
        if isinstance(error, TogglConnectionError):
            return cls(type(error).__name__, reason=error.reason)
        return cls(type(error).__name__, status=getattr(error, "status_code", None))

    @classmethod
    def error(cls, error: type[TogglError], status: int | None = None, reason: str | None = None) -> Outcome:
        return cls(error.__name__, status, reason)

    def __str__(self) -> str:
        if self.reason is not None:
            return f"{self.kind} ({self.reason})"
        return self.kind if self.status is None else f"{self.kind} {self.status}"


OK = Outcome("ok")
FALSE = Outcome("False")
