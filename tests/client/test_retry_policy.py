"""The retry decision as a table, and the Retry-After parser."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from tenacity import RetryCallState, Retrying

from airflow_toggl.client.limits import QUOTA_RESET_MARGIN
from airflow_toggl.client.retry import (
    deferral_wait,
    parse_retry_after,
    retry_reason,
    retry_wait,
    should_retry,
    wait_for_toggl,
)
from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglAuthError,
    TogglConnectionError,
    TogglNoAccessError,
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
    pytest.param(TogglNoAccessError("x", path="/api/v9/workspaces/1", status_code=403), False, False, id="403-resource"),
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


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (TogglConnectionError("x", reason="connect"), "the request never reached Toggl"),
        (TogglConnectionError("x", reason="timeout"), "the request is safe to repeat"),
        (TogglRateLimitError("x", retry_after=5), "Toggl asked to slow down"),
        (TogglQuotaExceededError("x", resets_in=10), "the hourly quota resets within max_quota_wait"),
        (TogglAPIError("x", status_code=503), "the request is safe to repeat"),
        (TogglAPIError("x", status_code=400), None),
    ],
)
def test_the_reason_a_retry_log_line_gives(error: BaseException, reason: str | None) -> None:
    assert retry_reason(error, idempotent=True, max_wait=MAX_WAIT) == reason


# (error, seconds a deferrable task hands to the triggerer; None: it does not defer)
DEFERRAL_TABLE = [
    pytest.param(TogglQuotaExceededError("x", resets_in=120), 120 + QUOTA_RESET_MARGIN, id="402-quota"),
    pytest.param(TogglQuotaExceededError("x", resets_in=0), QUOTA_RESET_MARGIN, id="402-quota-now"),
    pytest.param(
        TogglQuotaExceededError("x", resets_in=300, scope="user"), 300 + QUOTA_RESET_MARGIN, id="402-user-quota"
    ),
    pytest.param(
        TogglQuotaExceededError("x", resets_in=45, scope="organization:5"),
        45 + QUOTA_RESET_MARGIN,
        id="402-organization-quota",
    ),
    pytest.param(TogglRateLimitError("x", retry_after=90), 90 + QUOTA_RESET_MARGIN, id="429-retry-after"),
    pytest.param(TogglRateLimitError("x"), None, id="429-no-retry-after"),
    pytest.param(TogglPlanError("x", status_code=402), None, id="402-plan"),
    pytest.param(TogglAuthError("x", status_code=403), None, id="403"),
    pytest.param(TogglNoAccessError("x", path="/api/v9/workspaces/1", status_code=403), None, id="403-resource"),
    pytest.param(TogglAPIError("x", status_code=503), None, id="503"),
    pytest.param(TogglConnectionError("x", reason="timeout"), None, id="timeout"),
    pytest.param(ValueError("x"), None, id="foreign-error"),
]


@pytest.mark.parametrize(("error", "wait"), DEFERRAL_TABLE)
def test_deferral_table(error: BaseException, wait: float | None) -> None:
    assert deferral_wait(error, deferrable=True) == wait
    assert deferral_wait(error, deferrable=False) is None


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


BUCKET = 1.02  # the default pacing interval: one bucket interval plus the margin
CAP = 60.0

# (error, failed attempt, jitter draw, expected wait)
WAIT_TABLE = [
    pytest.param(TogglRateLimitError("x"), 1, 0.0, BUCKET, id="429-first-at-least-one-interval"),
    pytest.param(TogglRateLimitError("x"), 1, 0.999, BUCKET * 1.4995, id="429-first-jittered-upward"),
    pytest.param(TogglRateLimitError("x"), 2, 0.0, 2 * BUCKET, id="429-second-doubles"),
    pytest.param(TogglRateLimitError("x"), 3, 0.5, 4 * BUCKET * 1.25, id="429-third"),
    pytest.param(TogglRateLimitError("x"), 10, 0.5, CAP, id="429-capped"),
    pytest.param(TogglRateLimitError("x", retry_after=7), 1, 0.9, 7.0, id="429-retry-after"),
    pytest.param(TogglRateLimitError("x", retry_after=0), 3, 0.9, 0.0, id="429-retry-after-zero"),
    pytest.param(TogglQuotaExceededError("x", resets_in=10), 1, 0.9, 11.0, id="402-reset-plus-margin"),
    pytest.param(TogglAPIError("x", status_code=503), 1, 0.0, 0.0, id="503-full-jitter-low"),
    pytest.param(TogglAPIError("x", status_code=503), 1, 0.5, 0.25, id="503-first"),
    pytest.param(TogglAPIError("x", status_code=503), 3, 0.5, 1.0, id="503-third"),
    pytest.param(TogglConnectionError("x", reason="connect"), 20, 0.5, CAP / 2, id="refused-capped"),
]


@pytest.mark.parametrize(("error", "attempt", "jitter", "expected"), WAIT_TABLE)
def test_retry_wait_table(error: BaseException, attempt: int, jitter: float, expected: float) -> None:
    wait = retry_wait(error, attempt, bucket_interval=BUCKET, backoff_cap=CAP, jitter=jitter)
    assert wait == pytest.approx(expected)


def test_a_small_cap_never_shortens_a_429_wait_below_one_interval() -> None:
    wait = retry_wait(TogglRateLimitError("x"), 5, bucket_interval=BUCKET, backoff_cap=0.1, jitter=0.9)
    assert wait == BUCKET


def test_the_tenacity_wait_includes_the_pacers_delay() -> None:
    state = RetryCallState(Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = 1
    state.set_exception((TogglAPIError, TogglAPIError("x", status_code=503), None))
    short = wait_for_toggl(bucket_interval=BUCKET, backoff_cap=CAP, pacing=lambda: 0.8, draw=lambda: 0.5)
    assert short(state) == 0.8
    long = wait_for_toggl(bucket_interval=BUCKET, backoff_cap=CAP, pacing=lambda: 0.1, draw=lambda: 0.5)
    assert long(state) == 0.25
