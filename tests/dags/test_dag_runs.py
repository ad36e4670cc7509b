"""Each example DAG run by ``airflow dags test`` against the emulator, with real Airflow Variables.

The runs happen in a subprocess with this session's AIRFLOW_HOME (SQLite) and the connection in
``AIRFLOW_CONN_TOGGL_DEFAULT``; the emulator serves from this process.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from devkit.airflow import MetadataDbVariables, run_airflow, toggl_connection

KEY = "toggl_session_secret__toggl_default"
RESET_CODE_VARIABLE = "toggl_password_reset_code_secret"
HEALTH_RETRY_DELAY = 120
"""Seconds under the retry delays of the health (5 min) and lifecycle (2 min) DAGs: a retried run takes longer."""
pytestmark = pytest.mark.timeout(240)
VARIABLES = MetadataDbVariables()
"""The session's Variable table, read and cleared from this process (no ``airflow variables`` run)."""


@pytest.fixture
def airflow_env(airflow_db: Any, toggl_conn_env: dict[str, str]) -> dict[str, str]:
    """Connection env for the subprocess; the store Variable starts absent."""
    VARIABLES.delete(KEY)
    return dict(toggl_conn_env)


def dags_test(dag_id: str, env: dict[str, str], *, check: bool = True) -> str:
    result = run_airflow("dags", "test", dag_id, env=env, timeout=180, check=check)
    return result.stdout + result.stderr


def stored(env: dict[str, str]) -> dict[str, Any] | None:
    value = VARIABLES.get(KEY)
    return json.loads(value) if value is not None else None


def assert_no_secret(output: str, user: dict[str, Any], *cookies: str) -> None:
    for secret in (user["password"], user["api_token"], *cookies):
        assert secret not in output


def test_rotation_dag_stores_then_rotates_a_session(airflow_env, toggl_emulator, toggl_user) -> None:
    toggl_emulator.configure(session_ttl=3600)  # an hour: every run finds the session due
    toggl_emulator.reset_counters()
    output = dags_test("toggl_session_rotation", airflow_env)
    assert toggl_emulator.counters()["requests"]["GET /api/v9/me"] == 1  # one of the user's 30 an hour
    first = stored(airflow_env)
    assert first is not None
    assert first["user_id"] == toggl_user["id"]
    assert toggl_emulator.is_session_live(first["session_token"])
    assert len(toggl_emulator.live_sessions(toggl_user["email"])) == 1
    assert_no_secret(output, toggl_user, first["session_token"])

    output = dags_test("toggl_session_rotation", airflow_env)
    assert toggl_emulator.counters()["requests"]["GET /api/v9/me"] == 2  # the rotation's check, no other
    rotated = stored(airflow_env)
    assert rotated["session_token"] != first["session_token"]
    assert not toggl_emulator.is_session_live(first["session_token"])
    assert toggl_emulator.is_session_live(rotated["session_token"])
    assert rotated["stale_session_tokens"] == []
    assert len(toggl_emulator.live_sessions(toggl_user["email"])) == 1
    assert_no_secret(output, toggl_user, first["session_token"], rotated["session_token"])


def test_rotation_dag_defers_on_a_used_up_quota(airflow_db, toggl_emulator, toggl_user) -> None:
    """A used-up quota (402, none remaining) resetting beyond ``max_quota_wait`` defers the task; it resumes after the reset."""
    connection = toggl_connection(toggl_emulator, toggl_user, max_quota_wait=0)
    env = {"AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(connection)}
    VARIABLES.delete(KEY)
    quota_headers = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "1"}
    toggl_emulator.inject_fault("/api/v9/me", method="GET", status=402, headers=quota_headers, count=1)
    output = dags_test("toggl_session_rotation", env)
    assert "running trigger in line" in output.lower()
    assert toggl_emulator.counters()["responses"].get("GET /api/v9/me 402") == 1
    session = stored(env)
    assert session is not None
    assert toggl_emulator.is_session_live(session["session_token"])
    assert len(toggl_emulator.live_sessions(toggl_user["email"])) == 1


def test_lifecycle_dag_leaves_no_session(airflow_env, toggl_emulator, toggl_user) -> None:
    output = dags_test("toggl_session_lifecycle", airflow_env)
    counters = toggl_emulator.counters()["requests"]
    assert counters.get("POST /api/sessions") == 1
    assert counters.get("DELETE /api/sessions") == 1
    assert toggl_emulator.live_sessions(toggl_user["email"]) == []
    assert stored(airflow_env) is None
    assert_no_secret(output, toggl_user)


def test_credentials_health_dag(airflow_env, toggl_emulator, toggl_user) -> None:
    output = dags_test("toggl_credentials_health", airflow_env)
    requests = toggl_emulator.counters()["requests"]
    assert requests == {"GET /api/v9/me/logged": 1}
    assert_no_secret(output, toggl_user)


def timed_dags_test(dag_id: str, env: dict[str, str]) -> tuple[str, float]:
    """The output of a ``dags test`` run expected to fail, and how long it took in seconds."""
    started = time.monotonic()
    output = dags_test(dag_id, env, check=False)
    return output, time.monotonic() - started


def assert_failed_without_retry(output: str, dag_id: str, seconds: float) -> None:
    """The run failed, no task was put up for retry, and it took less than the DAG's retry delay."""
    assert f"dag_id={dag_id}," in output
    assert "state=failed" in output
    assert "AirflowFailException" in output
    assert "not retried" in output
    assert "up_for_retry" not in output.lower()
    assert seconds < HEALTH_RETRY_DELAY, f"{seconds:.0f}s: the run waited for a retry"


def test_a_misspelled_extra_fails_the_task_at_once_without_retry(airflow_db, toggl_emulator, toggl_user) -> None:
    """The health DAG retries a task once, after 5 minutes; a configuration error is final."""
    connection = toggl_connection(toggl_emulator, toggl_user, tracks_api_url=toggl_emulator.url)
    env = {"AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(connection)}
    output, seconds = timed_dags_test("toggl_credentials_health", env)
    assert_failed_without_retry(output, "toggl_credentials_health", seconds)
    assert "TogglConfigError: Invalid Toggl setting 'tracks_api_url'" in output
    assert "did you mean 'track_api_url'?" in output
    assert toggl_emulator.counters()["requests"] == {}  # refused before any request
    assert_no_secret(output, toggl_user)


def test_credentials_health_dag_fails_on_refused_credentials(airflow_db, toggl_emulator, toggl_user) -> None:
    connection = toggl_connection(toggl_emulator, toggl_user)
    connection["extra"]["api_token"] = "f" * 32
    env = {"AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(connection)}
    output, seconds = timed_dags_test("toggl_credentials_health", env)
    assert_failed_without_retry(output, "toggl_credentials_health", seconds)
    assert "TogglAuthError" in output
    assert "refused the api_token credentials" in output
    assert toggl_emulator.counters()["requests"] == {"GET /api/v9/me/logged": 1}


def test_a_refused_password_fails_the_lifecycle_at_once(airflow_db, toggl_emulator, toggl_user) -> None:
    """A wrong password: one refused sign-in, no retry; the teardown still runs and finds nothing to delete."""
    wrong = toggl_connection(toggl_emulator, {**toggl_user, "password": "pw-Wrong-Guess-4z"})
    env = {"AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(wrong)}
    run_airflow("variables", "delete", KEY, env=env, check=False)
    output, seconds = timed_dags_test("toggl_session_lifecycle", env)
    assert_failed_without_retry(output, "toggl_session_lifecycle", seconds)
    assert "Toggl refused the email or password for POST /api/sessions (403)" in output
    assert toggl_emulator.counters()["requests"].get("POST /api/sessions") == 1
    assert "pw-Wrong-Guess-4z" not in output
    assert_no_secret(output, toggl_user)


def test_password_reset_dags(airflow_db, toggl_emulator, toggl_user) -> None:
    """Request a code, change the connection's password, confirm: Toggl and the connection agree.

    The code goes in through the Variable the confirm DAG reads, set with the CLI as its docs say;
    the DAG deletes it once used.
    """
    env = {"AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(toggl_connection(toggl_emulator, toggl_user))}
    VARIABLES.delete(KEY)
    dags_test("toggl_password_reset_request", env)
    code = toggl_emulator.outbox(toggl_user["email"])[-1]

    changed = toggl_connection(toggl_emulator, {**toggl_user, "password": "pw-Changed-6m"})
    env = {"AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(changed)}
    run_airflow("variables", "set", RESET_CODE_VARIABLE, code, env=env)
    output = dags_test("toggl_password_reset_confirm", env)
    assert toggl_emulator.user(toggl_user["email"])["password"] == "pw-Changed-6m"
    session = stored(env)
    assert session is not None
    assert toggl_emulator.is_session_live(session["session_token"])
    assert VARIABLES.get(RESET_CODE_VARIABLE) is None
    for secret in (code, "pw-Changed-6m", session["session_token"], toggl_user["api_token"]):
        assert secret not in output


def test_password_reset_confirm_keeps_the_code_when_toggl_refuses_it(
    airflow_db, toggl_emulator, toggl_user
) -> None:
    """A failed confirm leaves the Variable in place (and out of the console) for another try."""
    env = {"AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(toggl_connection(toggl_emulator, toggl_user))}
    unknown = "c0de" * 8
    run_airflow("variables", "set", RESET_CODE_VARIABLE, unknown, env=env)
    try:
        output = dags_test("toggl_password_reset_confirm", env, check=False)
        # Toggl's answer to a request that carried a secret is never quoted; the status says why.
        assert "Toggl answered POST /api/me/password_reset/confirm/<code> with 400" in output
        assert "dag_id=toggl_password_reset_confirm," in output
        assert "state=failed" in output
        assert toggl_emulator.user(toggl_user["email"])["password"] == toggl_user["password"]
        assert VARIABLES.get(RESET_CODE_VARIABLE) == unknown
        assert unknown not in output
    finally:
        VARIABLES.delete(RESET_CODE_VARIABLE)


def test_api_token_reset_dag(airflow_env, toggl_emulator, toggl_user) -> None:
    name = "toggl_api_token_secret__toggl_default"
    output = dags_test("toggl_api_token_reset", airflow_env)
    new_token = toggl_emulator.user(toggl_user["email"])["api_token"]
    assert new_token != toggl_user["api_token"]
    assert VARIABLES.get(name) == new_token
    assert new_token not in output
    VARIABLES.delete(name)
