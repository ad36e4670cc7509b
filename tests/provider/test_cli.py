"""The Airflow CLI sees the provider and can test a toggl connection."""

from __future__ import annotations

import json

import pytest

from devkit.airflow import run_airflow, toggl_connection

pytestmark = pytest.mark.airflow


def test_providers_list() -> None:
    assert "airflow-toggl" in run_airflow("providers", "list").stdout


def test_providers_hooks() -> None:
    out = run_airflow("providers", "hooks").stdout
    line = next(line for line in out.splitlines() if line.startswith("toggl "))
    assert "airflow_toggl.hooks.toggl.TogglHook" in line
    assert "Toggl Track" in line


def test_connections_test_succeeds_against_the_emulator(toggl_emulator, toggl_user) -> None:
    env = {
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(toggl_connection(toggl_emulator, toggl_user)),
    }
    result = run_airflow("connections", "test", "toggl_default", "--verbose", env=env)
    assert "Connection success!" in result.stdout
    # Airflow prints no message on success: with --verbose the hook's log line says what was checked.
    assert "Toggl accepted the api_token and email/password credentials" in result.stdout + result.stderr
    assert toggl_emulator.counters()["requests"] == {"GET /api/v9/me/logged": 2}  # one per credential
    assert toggl_user["api_token"] not in result.stdout + result.stderr


def test_connections_test_fails_on_a_wrong_password_next_to_a_good_token(toggl_emulator, toggl_user) -> None:
    wrong = {**toggl_user, "password": "pw-Wrong-Guess-4z"}
    env = {
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(toggl_connection(toggl_emulator, wrong)),
    }
    result = run_airflow("connections", "test", "toggl_default", env=env, check=False)
    assert "Connection failed" in result.stdout
    assert (
        "Toggl refused the email/password credentials (403); it accepted the api_token credentials" in result.stdout
    )
    assert "pw-Wrong-Guess-4z" not in result.stdout + result.stderr


def test_connections_test_reports_refused_credentials(toggl_emulator, toggl_user) -> None:
    wrong = {**toggl_user, "api_token": "f" * 32}
    env = {
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(toggl_connection(toggl_emulator, wrong)),
    }
    result = run_airflow("connections", "test", "toggl_default", env=env, check=False)
    assert "Connection failed" in result.stdout
    assert "403" in result.stdout
    assert "f" * 32 not in result.stdout + result.stderr


def test_connections_test_uri_form(toggl_emulator, toggl_user) -> None:
    from urllib.parse import quote

    uri = (
        f"toggl://{quote(toggl_user['email'], safe='')}:{quote(toggl_user['password'], safe='')}@/"
        f"?track_api_url={quote(toggl_emulator.url, safe='')}&accounts_api_url={quote(toggl_emulator.url, safe='')}"
        "&requests_per_second=0&auth_mode=basic"
    )
    env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW_CONN_TOGGL_DEFAULT": uri}
    result = run_airflow("connections", "test", "toggl_default", env=env)
    assert "Connection success!" in result.stdout
    assert any(key.startswith("basic:") for key in toggl_emulator.counters()["requests_by_credential"])
