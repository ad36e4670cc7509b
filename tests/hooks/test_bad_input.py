"""Bad input gets a clear error naming the field, raised before any request reaches Toggl.

Each case goes through the real path a user takes (a connection in the environment, a hook or
operator call) against the emulator, whose request counter must stay at zero.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from airflow_toggl.exceptions import TogglConfigError
from airflow_toggl.hooks.toggl import TogglHook
from airflow_toggl.operators import toggl as ops
from devkit.airflow import toggl_connection
from tests.support.final import fails_for_good

PASSWORD = "pw-Distinct-7fQ2"
TOKEN = "0123456789abcdef0123456789abcdef"


def _use(monkeypatch: pytest.MonkeyPatch, connection: dict[str, Any]) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))


def _without(connection: dict[str, Any], *fields: str) -> dict[str, Any]:
    copy = {**connection, "extra": dict(connection["extra"])}
    for name in fields:
        copy.pop(name, None)
        copy["extra"].pop(name, None)
    return copy


CONNECTION_CASES = [
    pytest.param(lambda c: _without(c, "login", "password", "api_token"), "api_token", id="no-credentials"),
    pytest.param(lambda c: {**_without(c, "login", "password"), "extra": {**c["extra"], "api_token": ""}}, "api_token", id="empty-token"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "auth_mode": "oauth2"}}, "auth_mode", id="unknown-auth-mode"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "auth_mode": "basic"}, "password": ""}, "password", id="basic-without-password"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "track_api_url": "http://api.track.toggl.com"}}, "track_api_url", id="plain-http-remote"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "track_api_url": "api.track.toggl.com"}}, "track_api_url", id="no-scheme"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "accounts_api_url": "https://acc:99999"}}, "accounts_api_url", id="bad-port"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "timeout": -1}}, "timeout", id="negative-timeout"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "timeout": "ten"}}, "timeout", id="non-numeric-timeout"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "max_retries": -3}}, "max_retries", id="negative-retries"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "max_retries": "many"}}, "max_retries", id="non-numeric-retries"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "requests_per_second": -1}}, "requests_per_second", id="negative-rps"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "requests_per_second": "fast"}}, "requests_per_second", id="non-numeric-rps"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "max_quota_wait": -5}}, "max_quota_wait", id="negative-quota-wait"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "verify": "/nonexistent/ca.pem"}}, "verify", id="missing-ca-bundle"),
    pytest.param(lambda c: {**c, "extra": {**c["extra"], "tracks_api_url": "https://example.com"}}, "tracks_api_url", id="misspelled-extra"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "field"), CONNECTION_CASES)
def test_bad_connection_fails_before_any_request(
    mutate, field: str, toggl_emulator, toggl_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, mutate(toggl_connection(toggl_emulator, toggl_user)))
    for call in (lambda: TogglHook().get_me(), lambda: TogglHook().create_session()):
        with pytest.raises(TogglConfigError) as info:
            call()
        assert info.value.field == field
        assert field in str(info.value)
        assert PASSWORD not in str(info.value)
        assert TOKEN not in str(info.value)
    ok, message = TogglHook().test_connection()
    assert ok is False
    assert field in message
    assert toggl_emulator.counters()["requests"] == {}


def test_unknown_auth_mode_argument_fails_before_any_request(toggl_conn_env, toggl_emulator) -> None:
    with pytest.raises(TogglConfigError) as info:
        TogglHook(auth_mode="cookie")
    assert info.value.field == "auth_mode"
    operator = ops.TogglIdentityCheckOperator(task_id="check", auth_mode="cookie")
    with fails_for_good(TogglConfigError) as info:
        operator.execute({})
    assert info.value.field == "auth_mode"
    assert toggl_emulator.counters()["requests"] == {}


def test_malformed_session_cookie_argument_fails_at_construction() -> None:
    with pytest.raises(TogglConfigError) as info:
        TogglHook(session_cookie="a;b")
    assert info.value.field == "session_cookie"


@pytest.mark.parametrize("min_remaining", [timedelta(days=-1), -60, "a week"])
def test_impossible_min_remaining_fails_before_any_request(
    min_remaining: Any, toggl_conn_env, toggl_emulator, variables
) -> None:
    operator = ops.TogglRotateSessionOperator(task_id="rotate", min_remaining=min_remaining)
    with fails_for_good(TogglConfigError) as info:
        operator.execute({})
    assert info.value.field == "min_remaining"
    assert toggl_emulator.counters()["requests"] == {}


def test_unknown_session_key_fails_before_any_request(
    toggl_conn_env, toggl_emulator, variables, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = ops.TogglIdentityCheckOperator(
        task_id="check", auth_mode="session", session_key="toggl_session_secret__nobody"
    )
    with fails_for_good(TogglConfigError) as info:
        operator.execute({})
    assert info.value.field == "session_key"
    assert "toggl_session_secret__nobody" in str(info.value)
    delete = ops.TogglDeleteSessionOperator(task_id="delete", session_key="toggl_session_secret__nobody")
    assert delete.execute({})["deleted"] is False
    assert toggl_emulator.counters()["requests"] == {}


def test_corrupt_stored_session_names_the_key_without_echoing_it(
    toggl_conn_env, toggl_emulator, variables
) -> None:
    variables.set("toggl_session_secret__toggl_default", "not json: cookie-Distinct-55")
    with pytest.raises(TogglConfigError) as info:
        TogglHook(auth_mode="session").get_me()
    assert "toggl_session_secret__toggl_default" in str(info.value)
    assert "cookie-Distinct-55" not in str(info.value)
    assert toggl_emulator.counters()["requests"] == {}


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (lambda: ops.TogglResetApiTokenOperator(task_id="t", token_variable="plain_name"), "token_variable"),
        (lambda: ops.TogglConfirmPasswordResetOperator(task_id="t", code=""), "code"),
        (
            lambda: ops.TogglConfirmPasswordResetOperator(task_id="t", code="c", new_password_variable="pw"),
            "new_password_variable",
        ),
    ],
)
def test_operator_arguments_that_would_leak_or_cannot_work(
    factory, field: str, toggl_conn_env, toggl_emulator, variables
) -> None:
    operator = factory()
    with fails_for_good(TogglConfigError) as info:
        operator.execute({})
    assert info.value.field == field
    assert toggl_emulator.counters()["requests"] == {}
