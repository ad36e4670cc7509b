"""The retry decision as a table, and the Retry-After parser."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from airflow_toggl.client.retry import parse_retry_after, should_retry
from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglAuthError,
    TogglConnectionError,
    TogglPlanError,
    TogglQuotaExceededError,
    TogglRateLimitError,
    TogglResponseError,
)

MAX_WAIT = 60.0

# (error, retried when idempotent, retried when state-changing)
TABLE = [
    pytest.param(TogglConnectionError("x", reason="connect"), True, True, id="refused"),
    pytest.param(TogglConnectionError("x", reason="timeout"), True, False, id="read-timeout"),
    pytest.param(TogglConnectionError("x", reason="dropped"), True, False, id="dropped"),
    pytest.param(TogglConnectionError("x", reason="tls"), False, False, id="tls"),
    pytest.param(TogglRateLimitError("x"), True, True, id="429-no-retry-after"),
    pytest.param(TogglRateLimitError("x", retry_after=5), True, True, id="429-short-retry-after"),
    pytest.param(TogglRateLimitError("x", retry_after=MAX_WAIT + 1), False, False, id="429-long-retry-after"),
    pytest.param(TogglQuotaExceededError("x", resets_in=10), True, True, id="402-quota-soon"),
    pytest.param(TogglQuotaExceededError("x", resets_in=MAX_WAIT + 1), False, False, id="402-quota-late"),
    pytest.param(TogglPlanError("x", status_code=402), False, False, id="402-plan"),
    pytest.param(TogglAuthError("x", status_code=403), False, False, id="403"),
    *[
        pytest.param(TogglAPIError("x", status_code=status), True, False, id=str(status))
        for status in (500, 502, 503, 504)
    ],
    *[
        pytest.param(TogglAPIError("x", status_code=status), False, False, id=str(status))
        for status in (400, 401, 404, 405, 409, 410, 422, 501)
    ],
    pytest.param(TogglResponseError("x", status_code=200), False, False, id="malformed-json"),
    pytest.param(ValueError("x"), False, False, id="foreign-error"),
]


@pytest.mark.parametrize(("error", "idempotent_retry", "unsafe_retry"), TABLE)
def test_should_retry_table(error: BaseException, idempotent_retry: bool, unsafe_retry: bool) -> None:
    assert should_retry(error, idempotent=True, max_wait=MAX_WAIT) is idempotent_retry
    assert should_retry(error, idempotent=False, max_wait=MAX_WAIT) is unsafe_retry


NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("7", 7.0),
        (" 120 ", 120.0),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        ("Sat, 28 Nov 2026 12:01:00 GMT", 60.0),
        ("", None),
        (None, None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("x" * 100, None),
        ("٣", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected
