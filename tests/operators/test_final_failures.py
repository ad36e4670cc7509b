"""Which failures fail a task without Airflow's retries: the decision as a table, and how execute applies it."""

from __future__ import annotations

import json
import re

import pytest

import airflow_toggl.exceptions
from airflow_toggl._compat import AirflowFailException
from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglAuthError,
    TogglConfigError,
    TogglConnectionError,
    TogglError,
    TogglIdentityMismatchError,
    TogglNoAccessError,
    TogglPlanError,
    TogglQuotaExceededError,
    TogglRateLimitError,
    TogglResponseError,
    TogglResponseTooLargeError,
)
from airflow_toggl.operators.export import ExportPartsMissingError
from airflow_toggl.operators.failures import FINAL_ERRORS, fail_fast, final_reason
from airflow_toggl.operators.toggl import TogglCredentialsCheckOperator
from devkit.airflow import ROOT

# (error, final: fails the task with no retry)
TABLE = [
    pytest.param(TogglConfigError("extra.timeout", "must be a number"), True, id="config"),
    pytest.param(TogglAuthError("x", status_code=403, credential="api_token"), True, id="403-api-token"),
    pytest.param(TogglAuthError("x", status_code=403, credential="basic"), True, id="403-email-password"),
    pytest.param(TogglAuthError("x", status_code=403), True, id="403-unknown-credential"),
    pytest.param(TogglAuthError("x", status_code=403, credential="session"), False, id="403-stored-session"),
    pytest.param(TogglPlanError("x", status_code=402), True, id="402-plan"),
    pytest.param(
        TogglNoAccessError("x", path="/api/v9/workspaces/1/projects", status_code=403, credential="api_token"),
        True,
        id="403-resource",
    ),
    pytest.param(
        TogglNoAccessError("x", path="/api/v9/workspaces/1/projects", status_code=403, credential="session"),
        True,
        id="403-resource-with-a-session",
    ),
    pytest.param(TogglIdentityMismatchError("email", "a@example.com", "b@example.com"), True, id="identity"),
    pytest.param(TogglResponseTooLargeError("x", limit=10, status_code=200), True, id="too-large"),
    pytest.param(TogglQuotaExceededError("x", resets_in=600, status_code=402), False, id="402-quota"),
    pytest.param(TogglRateLimitError("x", retry_after=600, status_code=429), False, id="429"),
    *[
        pytest.param(TogglAPIError("x", status_code=status), True, id=str(status))
        for status in (400, 401, 404, 405, 410, 413, 422)
    ],
    *[
        pytest.param(TogglAPIError("x", status_code=status), False, id=str(status))
        for status in (408, 409, 423, 425, 500, 502, 503, 504)
    ],
    pytest.param(TogglResponseError("x", status_code=200), False, id="malformed-json"),
    *[
        pytest.param(TogglConnectionError("x", reason=reason), False, id=f"network-{reason}")
        for reason in ("connect", "tls", "timeout", "dropped")
    ],
    pytest.param(ExportPartsMissingError("parts written on another worker"), False, id="export-parts-missing"),
    pytest.param(TogglError("the session store was cleared meanwhile"), False, id="other-toggl-error"),
    pytest.param(ValueError("x"), False, id="foreign-error"),
]


@pytest.mark.parametrize(("error", "final"), TABLE)
def test_final_reason_table(error: BaseException, final: bool) -> None:
    reason = final_reason(error)
    assert (reason is not None) is final
    if reason is not None:
        assert reason.strip()


def test_the_table_covers_every_public_error_type() -> None:
    """A new error type must be classified here, on purpose."""
    covered = {type(param.values[0]) for param in TABLE}
    public = {getattr(airflow_toggl.exceptions, name) for name in airflow_toggl.exceptions.__all__}
    assert public - covered == set()


def test_the_operators_page_lists_every_final_error_type_as_final() -> None:
    page = (ROOT / "docs" / "operators.md").read_text().split("## Failures that are final", 1)[1]
    final_rows = [row for row in page.splitlines() if re.match(r"^\|.*\| final \|", row)]
    for kind in FINAL_ERRORS:
        assert any(f"`{kind.__name__}`" in row for row in final_rows), kind.__name__


def test_a_final_error_fails_without_retry_and_keeps_its_cause() -> None:
    error = TogglConfigError("tracks_api_url", "is not a setting of a toggl connection")

    @fail_fast
    def execute() -> None:
        raise error

    with pytest.raises(AirflowFailException) as info:
        execute()
    assert info.value.__cause__ is error
    assert str(info.value).startswith(f"TogglConfigError: {error}")
    assert "not retried: a setting or an argument is wrong" in str(info.value)


@pytest.mark.parametrize(
    "error",
    [TogglConnectionError("x", reason="dropped"), TogglAuthError("x", credential="session"), KeyError("x")],
    ids=["transient", "stored-session", "foreign"],
)
def test_other_errors_pass_unchanged(error: BaseException) -> None:
    @fail_fast
    def execute() -> None:
        raise error

    with pytest.raises(type(error)) as info:
        execute()
    assert info.value is error


def test_a_misspelled_extra_fails_the_operator_for_good_before_any_request(
    monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    connection = {"conn_type": "toggl", "extra": {"api_token": "0" * 32, "tracks_api_url": "https://x"}}
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    operator = TogglCredentialsCheckOperator(task_id="check")
    with pytest.raises(AirflowFailException, match="did you mean 'track_api_url'") as info:
        operator.execute({})
    assert isinstance(info.value.__cause__, TogglConfigError)
    assert info.value.__cause__.field == "tracks_api_url"
