"""Settings out of their bounds are refused up front, naming the field; server-given delays are clamped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_toggl.client import ClientConfig, SessionCookieAuth, TogglClient
from airflow_toggl.client.config import (
    MAX_QUOTA_WAIT,
    MAX_RETRIES,
    MAX_TIMEOUT,
    MIN_REQUESTS_PER_SECOND,
)
from airflow_toggl.client.limits import MAX_SERVER_DELAY
from airflow_toggl.exceptions import (
    TogglConfigError,
    TogglPlanError,
    TogglQuotaExceededError,
    TogglRateLimitError,
)
from airflow_toggl.hooks.toggl import TogglHook, settings_from_connection
from devkit.scripted_server import Connection, Request, ScriptedServer, client_for, response
from tests.conftest import RecordedSleep

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", 1e10),
        ("timeout", 1e300),
        ("timeout", MAX_TIMEOUT + 1),
        ("max_retries", 10**9),
        ("max_retries", MAX_RETRIES + 1),
        ("max_quota_wait", 1e300),
        ("max_quota_wait", MAX_QUOTA_WAIT + 1),
        ("requests_per_second", 1e-300),
        ("requests_per_second", 1e-6),
        ("requests_per_second", MIN_REQUESTS_PER_SECOND / 2),
        ("requests_per_second", 1e6),
        ("backoff_cap", 1e9),
        ("max_response_bytes", 10),
        ("max_response_bytes", 2**40),
    ],
)
def test_values_out_of_bounds_are_refused_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(TogglConfigError) as caught:
        ClientConfig(**{field: value})
    assert caught.value.field == field
    assert field in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", MAX_TIMEOUT),
        ("max_retries", MAX_RETRIES),
        ("max_quota_wait", MAX_QUOTA_WAIT),
        ("requests_per_second", 0),
        ("requests_per_second", MIN_REQUESTS_PER_SECOND),
        ("max_response_bytes", 1024),
    ],
)
def test_values_at_the_bounds_are_accepted(field: str, value: Any) -> None:
    assert getattr(ClientConfig(**{field: value}), field) == value


def test_out_of_bounds_extras_fail_before_any_request() -> None:
    """Through the connection path: the hook's settings refuse them, naming the extra."""
    for name, value in (("timeout", "1e10"), ("max_retries", 10**9), ("max_quota_wait", 1e300)):
        with pytest.raises(TogglConfigError) as caught:
            settings_from_connection(
                "toggl_default", login=None, password=None, extras={"api_token": "t0ken-value", name: value}
            )
        assert caught.value.field == name


def test_verify_naming_a_file_that_is_not_a_ca_bundle_is_refused(tmp_path: Path) -> None:
    not_a_bundle = tmp_path / "notes.txt"
    not_a_bundle.write_text("this is not a certificate\n")
    with pytest.raises(TogglConfigError) as caught:
        ClientConfig(verify=str(not_a_bundle))
    assert caught.value.field == "verify"
    assert "CA certificate" in str(caught.value)


def test_verify_naming_a_real_ca_bundle_is_accepted() -> None:
    bundle = requests.certs.where()
    assert ClientConfig(verify=bundle).verify == bundle


@pytest.mark.parametrize(
    "cookie", ["abc€def", "abc\u00e9def", "abc def", 'abc"def', "abc\\def", "abc\x7fdef"]
)
def test_a_cookie_a_header_cannot_carry_is_a_config_error_that_does_not_echo_it(cookie: str) -> None:
    with pytest.raises(TogglConfigError) as caught:
        SessionCookieAuth(cookie)
    assert caught.value.field == "session_cookie"
    assert cookie not in str(caught.value)
    assert cookie not in repr(caught.value)
    with pytest.raises(TogglConfigError) as through_hook:
        TogglHook(session_cookie=cookie)
    assert through_hook.value.field == "session_cookie"


# -- numbers a server gives ---------------------------------------------------------------------


def answering(status: int, headers: list[tuple[str, str]]) -> ScriptedServer:
    def script(connection: Connection, request: Request) -> None:
        connection.send(response(status, b"{}", [("Content-Type", "application/json"), *headers]))

    return ScriptedServer([script])


def quota_client(server: ScriptedServer, sleeps: RecordedSleep, **config: Any) -> TogglClient:
    settings = {"max_quota_wait": MAX_QUOTA_WAIT, **config}
    return client_for(server, SessionCookieAuth("opaque-session-value"), sleep=sleeps, **settings)


@pytest.mark.parametrize("retry_after", ["99999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_a_huge_retry_after_is_clamped_and_not_slept(sleeps: RecordedSleep, retry_after: str) -> None:
    server = answering(429, [("Retry-After", retry_after)])
    with server, pytest.raises(TogglRateLimitError) as caught:
        quota_client(server, sleeps).get_quota()
    assert caught.value.retry_after == MAX_SERVER_DELAY
    assert sleeps.calls == []


def test_a_huge_quota_reset_is_clamped(sleeps: RecordedSleep) -> None:
    headers = [("X-Toggl-Quota-Remaining", "0"), ("X-Toggl-Quota-Resets-In", "1e12")]
    with answering(402, headers) as server, pytest.raises(TogglQuotaExceededError) as caught:
        quota_client(server, sleeps).get_quota()
    assert caught.value.resets_in == MAX_SERVER_DELAY
    assert sleeps.calls == []
    json.dumps({"resets_in": caught.value.resets_in})  # a plain, finite number


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Toggl-Quota-Remaining", "none"), ("X-Toggl-Quota-Resets-In", "soon")],
        [("X-Toggl-Quota-Resets-In", "-5")],
        [("X-Toggl-Quota-Remaining", "")],
    ],
    ids=["both unreadable", "negative reset", "empty remaining"],
)
def test_a_402_with_unreadable_quota_headers_is_still_a_quota_error(
    sleeps: RecordedSleep, headers: list[tuple[str, str]]
) -> None:
    """The headers' presence marks a quota answer; unknown figures mean the full hour-long window."""
    with answering(402, headers) as server, pytest.raises(TogglQuotaExceededError) as caught:
        quota_client(server, sleeps, max_quota_wait=300).get_quota()
    assert caught.value.resets_in == 3600
    assert len(server.requests) == 1  # beyond max_quota_wait: no in-process wait


def test_a_402_without_quota_headers_is_a_plan_error(sleeps: RecordedSleep) -> None:
    with answering(402, []) as server, pytest.raises(TogglPlanError):
        quota_client(server, sleeps).get_quota()
    assert len(server.requests) == 1
