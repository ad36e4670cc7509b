"""The faults of the matrix: what the emulator does, which row of the policy table it falls in, and
how the client must report it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import formatdate
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow_toggl.emulator import TogglEmulator
from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglAuthError,
    TogglConnectionError,
    TogglError,
    TogglPlanError,
    TogglQuotaExceededError,
    TogglRateLimitError,
    TogglResponseError,
)
from devkit.fault_matrix.policy import (
    BACKOFF,
    BUCKET_WAIT,
    FALSE,
    MAX_QUOTA_WAIT,
    NORMAL_TIMEOUT,
    OK,
    QUOTA_MARGIN,
    SHORT_TIMEOUT,
    SLOW_DELAY,
    Detail,
    Outcome,
    Row,
    Span,
)

if TYPE_CHECKING:
    from devkit.fault_matrix.methods import Method

PROXY_429_PAGE = (
    "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n"
    "<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n</body>\r\n</html>\r\n"
)


class Variant(Enum):
    """Which requests the fault hits: only the first one, or every one."""

    FIRST = "first"
    EVERY = "all"


BOTH = (Variant.FIRST, Variant.EVERY)
ONCE = (Variant.FIRST,)


@dataclass(frozen=True)
class Fault:
    """One fault, how the emulator produces it, and how the client must report it.

    ``action`` is the emulator's fault action; None means nothing listens on the client's port
    (connection refused). ``retry_after_in`` asks for a ``Retry-After`` HTTP date that many seconds
    after the fault is injected. ``process`` lets the emulator apply the request before the fault.
    """

    key: str
    label: str
    row: Row
    action: str | None
    outcome: Outcome
    wait: Span = BACKOFF
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    retry_after_in: float | None = None
    body: str | None = None
    delay: float = 0.0
    process: bool = False
    detail: Detail | None = None
    variants: tuple[Variant, ...] = BOTH

    @property
    def reaches_server(self) -> bool:
        return self.action is not None

    @property
    def client_timeout(self) -> float:
        return SHORT_TIMEOUT if self.delay else NORMAL_TIMEOUT

    def outcome_for(self, method: Method) -> Outcome:
        """How ``method`` ends when its last attempt meets this fault."""
        if self.outcome.kind == TogglAuthError.__name__ and method.false_on_403:
            return FALSE
        if self.row is Row.UNUSABLE_BODY and not method.parses_body:
            return OK
        return self.outcome

    def inject(self, emulator: TogglEmulator, http_method: str, path: str, count: int | None) -> None:
        """Arm this fault for the next ``count`` requests (None: every request) of ``path``."""
        assert self.action is not None
        headers = dict(self.headers)
        if self.retry_after_in is not None:
            headers["Retry-After"] = formatdate(time.time() + self.retry_after_in, usegmt=True)
        emulator.inject_fault(
            path,
            method=http_method,
            count=count,
            action=self.action,
            status=self.status,
            headers=headers,
            body=self.body,
            delay=self.delay,
            process=self.process,
        )


def _network(key: str, label: str, action: str | None, reason: str, **options: Any) -> Fault:
    """A fault on the wire: the client raises TogglConnectionError with ``reason``."""
    row = Row.NOT_CONNECTED if action is None else Row.MAY_HAVE_ARRIVED
    return Fault(key, label, row, action, Outcome.error(TogglConnectionError, reason=reason), **options)


def _status(status: int, row: Row, error: type[TogglError], variants: tuple[Variant, ...]) -> Fault:
    """A plain error status with the emulator's JSON error body."""
    outcome = Outcome.error(error, status)
    return Fault(str(status), str(status), row, "status", outcome, status=status, variants=variants)


def _rate_limited(
    key: str, label: str, retry_after: Span | None, *headers: tuple[str, str], **options: Any
) -> Fault:
    """A 429; the client must wait ``retry_after`` when given (at least one bucket interval when not)."""
    too_long = retry_after is not None and retry_after.low > MAX_QUOTA_WAIT
    return Fault(
        key,
        label,
        Row.RATE_LIMITED_TOO_LONG if too_long else Row.RATE_LIMITED,
        "status",
        Outcome.error(TogglRateLimitError, 429),
        retry_after or BUCKET_WAIT,
        status=429,
        headers=headers,
        detail=Detail("retry_after", retry_after),
        variants=ONCE if too_long else BOTH,
        **options,
    )


def _quota_used_up(resets_in: float) -> Fault:
    """A 402 whose quota headers say none remain; within max_quota_wait the client waits for the reset, plus a margin."""
    soon = resets_in <= MAX_QUOTA_WAIT
    return Fault(
        "402-soon" if soon else "402-late",
        f"402, quota resets in {resets_in:g}s",
        Row.QUOTA_RESETS_SOON if soon else Row.QUOTA_RESETS_LATER,
        "status",
        Outcome.error(TogglQuotaExceededError, 402),
        Span(resets_in, resets_in + QUOTA_MARGIN),
        status=402,
        headers=(("X-Toggl-Quota-Remaining", "0"), ("X-Toggl-Quota-Resets-In", f"{resets_in:g}")),
        detail=Detail("resets_in", Span(resets_in, resets_in)),
        variants=BOTH if soon else ONCE,
    )


FAULTS: tuple[Fault, ...] = (
    _network("refused", "connection refused", None, "connect"),
    _network("drop", "dropped before the response", "drop", "dropped"),
    _network("mid", "dropped mid-response", "drop_mid_response", "dropped"),
    _network("truncate", "truncated body", "truncate", "dropped"),
    _network("slow", f"answer after {SLOW_DELAY:g}s > timeout", "delay", "timeout", delay=SLOW_DELAY),
    *(_status(status, Row.SERVER_ERROR, TogglAPIError, BOTH) for status in (500, 502, 503, 504)),
    _rate_limited("429-bare", "429, no Retry-After", None),
    _rate_limited("429-seconds", "429, Retry-After: 7", Span(7, 7), ("Retry-After", "7")),
    # An HTTP date has whole seconds and is read a moment after it is written: 9-10 s are left.
    _rate_limited("429-date", "429, Retry-After: date +10s", Span(8.5, 10), retry_after_in=10),
    _rate_limited("429-html", "429, HTML body", None, ("Content-Type", "text/html"), body=PROXY_429_PAGE),
    _rate_limited("429-long", "429, Retry-After: 120", Span(120, 120), ("Retry-After", "120")),
    _quota_used_up(5),
    _quota_used_up(1200),
    Fault(
        "402-plan",
        "402, no quota headers",
        Row.FINAL,
        "status",
        Outcome.error(TogglPlanError, 402),
        status=402,
        variants=ONCE,
    ),
    _status(403, Row.FINAL, TogglAuthError, ONCE),
    _status(404, Row.FINAL, TogglAPIError, ONCE),
    _status(410, Row.FINAL, TogglAPIError, ONCE),
    # The emulator applies the request, then answers 200 with a body cut inside a JSON object.
    Fault(
        "malformed",
        "malformed JSON (200)",
        Row.UNUSABLE_BODY,
        "malformed_json",
        Outcome.error(TogglResponseError, 200),
        process=True,
        variants=ONCE,
    ),
)

#: Used outside the matrix, by the hook cases (whose waits are real and must stay short).
RETRY_AFTER_ZERO = _rate_limited("429-zero", "429, Retry-After: 0", Span(0, 0), ("Retry-After", "0"))
FAULTS_BY_KEY: dict[str, Fault] = {fault.key: fault for fault in (*FAULTS, RETRY_AFTER_ZERO)}
