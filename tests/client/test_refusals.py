"""402 and 403 as Toggl documents them, and Toggl's own text in error messages.

A 402 is a used-up quota only when its headers say none remain (or cannot be read); otherwise the
plan refuses, and the request fails at once. A 403 on a resource names it and says the user may
lack access; only identity and session endpoints say the credentials were refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from urllib3 import HTTPHeaderDict

from airflow_toggl.client import ApiTokenAuth, SessionCookieAuth, TogglClient
from airflow_toggl.client.answers import error_for
from airflow_toggl.client.transport import Answer
from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglAuthError,
    TogglNoAccessError,
    TogglPlanError,
    TogglQuotaExceededError,
)


@pytest.fixture
def client(make_client: Callable[..., TogglClient], toggl_user: dict[str, Any]) -> TogglClient:
    return make_client(ApiTokenAuth(toggl_user["api_token"]), max_quota_wait=3600)


def sent(emulator: Any) -> int:
    return sum(emulator.counters()["requests"].values())


def test_a_plan_402_with_requests_left_fails_at_once_with_one_request(
    toggl_emulator: Any, toggl_user: dict[str, Any], client: TogglClient, sleeps: Any
) -> None:
    toggl_emulator.configure(quota_limit=30, quota_window=3600)
    path = f"/api/v9/workspaces/{toggl_user['default_workspace_id']}/projects"
    with pytest.raises(TogglPlanError) as refused:
        client.request("POST", path, json={"name": "Violet", "color": "#123456"})
    assert sent(toggl_emulator) == 1
    assert sleeps.calls == []  # no wait, no retry
    message = str(refused.value)
    assert message.endswith("Toggl says: Custom project colors available only for premium plans")
    assert message.count("Custom project colors") == 1
    assert '"' not in message


def test_a_workspace_403_names_the_path_and_leaves_the_session_alive(
    toggl_emulator: Any, toggl_user: dict[str, Any], make_client: Callable[..., TogglClient]
) -> None:
    other = toggl_emulator.add_user("bob@example.com", "pw-Bob-1", api_token="f" * 32)
    cookie = toggl_emulator.issue_session("ada@example.com")
    client = make_client(SessionCookieAuth(cookie))
    path = f"/api/v9/workspaces/{other['default_workspace_id']}/projects"
    with pytest.raises(TogglNoAccessError) as refused:
        client.request("GET", path)
    message = str(refused.value)
    assert path in message
    assert "may lack access" in message
    assert "credentials may be wrong" in message
    assert "wrong, expired or revoked" not in message
    assert isinstance(refused.value, TogglAuthError)
    assert refused.value.path == path
    assert client.is_logged_in()  # a resource 403 is no dead session


def test_a_403_on_me_says_the_credentials_were_refused(
    toggl_emulator: Any, make_client: Callable[..., TogglClient]
) -> None:
    with pytest.raises(TogglAuthError) as refused:
        make_client(ApiTokenAuth("0" * 32)).get_me()
    assert not isinstance(refused.value, TogglNoAccessError)
    assert "refused the credentials" in str(refused.value)


def answer(status: int, body: bytes, **headers: str) -> Answer:
    prepared = requests.Request("GET", "https://api.track.toggl.com/api/v9/workspaces/1/tags").prepare()
    return Answer(status, HTTPHeaderDict(headers), body, True, prepared)


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        (b'"Invalid project color"', "application/json", "Invalid project color"),
        (b'{"message": "Name is too long", "code": 7}', "application/json", "Name is too long"),
        (b"workspace not found", "text/plain", "workspace not found"),
        (
            b"<html><head><title>Bad request &amp; more</title><style>p{}</style></head><body><p>x</p></body></html>",
            "text/html",
            "Bad request & more",
        ),
        (b"<html><body><h1>Oops</h1><script>var a=1</script><p>try later</p></body></html>", "text/html", "Oops"),
        (b"<html><body><p>echo of the request</p></body></html>", "text/html", None),
        (b"", "text/plain", None),
    ],
)
def test_toggl_text_once_unquoted(body: bytes, content_type: str, text: str | None) -> None:
    error = error_for(answer(400, body, **{"Content-Type": content_type}), "GET /api/v9/workspaces/1/tags", limit=10**6)
    assert isinstance(error, TogglAPIError)
    message = str(error)
    if text is None:
        assert message == "Toggl answered GET /api/v9/workspaces/1/tags with 400"
    else:
        assert message == f"Toggl answered GET /api/v9/workspaces/1/tags with 400: {text}"
    assert "<" not in message
    assert '"' not in message


def test_no_text_for_a_request_that_carried_a_secret() -> None:
    error = error_for(answer(400, b'"token abc is bad"'), "POST /api/v9/me/reset_token", limit=10**6, quote=False)
    assert "token abc" not in str(error)
    assert "not quoted" in str(error)


def test_an_error_answer_too_long_to_quote_claims_no_secret() -> None:
    cut_off = Answer(500, HTTPHeaderDict(), b"", False, answer(500, b"").request)
    error = error_for(cut_off, "GET /api/v9/workspaces/1/tags", limit=10**6)
    assert str(error) == "Toggl answered GET /api/v9/workspaces/1/tags with 500"


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"X-Toggl-Quota-Remaining": "25", "X-Toggl-Quota-Resets-In": "900"}, TogglPlanError),
        ({"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "900"}, TogglQuotaExceededError),
        ({"X-Toggl-Quota-Remaining": "many", "X-Toggl-Quota-Resets-In": "900"}, TogglQuotaExceededError),
        ({"X-Toggl-Quota-Resets-In": "900"}, TogglQuotaExceededError),
        ({"X-Toggl-Quota-Remaining": "0"}, TogglQuotaExceededError),
        ({}, TogglPlanError),
    ],
)
def test_a_402_is_a_quota_answer_only_when_none_remain(headers: dict[str, str], kind: type[Exception]) -> None:
    error = error_for(answer(402, b'"x"', **headers), "GET /api/v9/workspaces/1/tags", limit=10**6, scope="user")
    assert type(error) is kind
