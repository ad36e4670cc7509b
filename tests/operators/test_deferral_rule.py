"""The deferral rule: a deferrable task never waits for Toggl in its worker slot longer than a few seconds.

``max_quota_wait`` (default 300 s) governs only non-deferrable tasks. Each case runs the real
operator and hook against the emulator over HTTP.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_toggl.exceptions import TogglQuotaExceededError, TogglRateLimitError
from airflow_toggl.operators import toggl as ops
from devkit.airflow import toggl_connection
from devkit.deferral import TaskDeferred

# A pytest timeout far below the 300 s default max_quota_wait: a task that slept would fail here.
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def default_wait_connection(
    toggl_emulator: Any, toggl_user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """``toggl_default`` with the default ``max_quota_wait`` (300 s)."""
    connection = toggl_connection(toggl_emulator, toggl_user)
    assert "max_quota_wait" not in connection["extra"]
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    return connection


def test_used_up_quota_defers_at_once_whatever_max_quota_wait_says(
    default_wait_connection: dict[str, Any], toggl_emulator: Any, toggl_user: dict[str, Any]
) -> None:
    toggl_emulator.configure(quota_limit=1, quota_window=120)
    assert ops.TogglIdentityCheckOperator(task_id="check").execute({})["id"] == toggl_user["id"]
    operator = ops.TogglIdentityCheckOperator(task_id="check", deferrable=True)
    with pytest.raises(TaskDeferred) as info:
        operator.execute({})
    assert info.value.method_name == "execute_complete"
    assert info.value.trigger.resume_at > datetime.now(timezone.utc) + timedelta(seconds=100)
    assert toggl_emulator.counters()["quota_exceeded"] == 1  # refused once, never retried in the task
    assert operator.hook.get_conn().config.max_quota_wait == ops.DEFERRABLE_WAIT_LIMIT


def test_long_retry_after_defers_too(default_wait_connection: dict[str, Any], toggl_emulator: Any) -> None:
    toggl_emulator.inject_fault("/api/v9/me", method="GET", status=429, headers={"Retry-After": "120"})
    with pytest.raises(TaskDeferred) as info:
        ops.TogglIdentityCheckOperator(task_id="check", deferrable=True).execute({})
    assert info.value.trigger.resume_at > datetime.now(timezone.utc) + timedelta(seconds=100)
    assert toggl_emulator.counters()["responses"]["GET /api/v9/me 429"] == 1


def test_short_waits_stay_in_the_task(
    default_wait_connection: dict[str, Any], toggl_emulator: Any, toggl_user: dict[str, Any]
) -> None:
    """A wait within the limit is cheaper in the slot than a round trip through the triggerer."""
    toggl_emulator.inject_fault("/api/v9/me", method="GET", status=429, headers={"Retry-After": "1"})
    result = ops.TogglIdentityCheckOperator(task_id="check", deferrable=True).execute({})
    assert result["id"] == toggl_user["id"]
    assert toggl_emulator.counters()["responses"]["GET /api/v9/me 429"] == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 429, "headers": {"Retry-After": "600"}}, TogglRateLimitError),
        (
            {"status": 402, "headers": {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "600"}},
            TogglQuotaExceededError,
        ),
    ],
    ids=["429", "402"],
)
def test_without_deferral_max_quota_wait_decides(
    default_wait_connection: dict[str, Any], toggl_emulator: Any, fault: dict[str, Any], error: type
) -> None:
    """Beyond the connection's 300 s, a non-deferrable task fails with the typed error at once."""
    toggl_emulator.inject_fault("/api/v9/me", method="GET", **fault)
    with pytest.raises(error):
        ops.TogglIdentityCheckOperator(task_id="check").execute({})
