"""Pacing per account over real HTTP, against the emulator's strict bucket (one request a second, no burst).

The clients run at the default ``requests_per_second`` with no retries, so a single 429 fails the call.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from airflow_toggl.client import ApiTokenAuth, ClientConfig, TogglAuth, TogglClient
from airflow_toggl.client.auth import EmailPasswordAuth, SessionCookieAuth
from airflow_toggl.client.session import TogglSession
from airflow_toggl.exceptions import TogglRateLimitError
from devkit.airflow import toggl_connection

PASSWORD = "pw-Pacing-3kR8"
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def strict(toggl_emulator_factory: Callable[..., Any]) -> Any:
    """An emulator whose bucket, keyed per account, admits exactly one request a second."""
    return toggl_emulator_factory(rate_limit_strict=True, rate_limit_key="account")


@pytest.fixture
def user(strict: Any) -> dict[str, Any]:
    """A user of its own, so no other test's pacer state applies."""
    return strict.add_user(f"pace-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)


def default_client(emulator: Any, auth: TogglAuth, account: str | None = None) -> TogglClient:
    config = ClientConfig(track_api_url=emulator.url, accounts_api_url=emulator.url, max_retries=0)
    return TogglClient(config, auth, account=account)


@pytest.mark.slow  # six requests at the default pace of one a second
def test_every_credential_of_one_account_shares_one_pace(strict: Any, user: dict[str, Any]) -> None:
    email = user["email"]
    cookie = strict.issue_session(email)
    clients = [
        default_client(strict, ApiTokenAuth(user["api_token"]), account=email),
        default_client(strict, EmailPasswordAuth(email, PASSWORD)),
        default_client(strict, SessionCookieAuth(cookie), account=email),
    ]
    for client in [*clients, clients[0]]:
        assert client.is_logged_in()
    second_cookie = clients[1].create_session(email, PASSWORD)  # a rotation: verify new, delete old
    assert clients[1].get_me(auth=clients[1].session_auth(second_cookie))["email"] == email
    assert clients[1].delete_session(TogglSession.from_cookie(cookie))
    assert strict.counters()["rate_limited"] == 0


def test_credentials_paced_apart_are_refused_by_the_strict_bucket(strict: Any, user: dict[str, Any]) -> None:
    """The same two calls without a shared account key: the server sees one account, the client two."""
    by_email = default_client(strict, EmailPasswordAuth(user["email"], PASSWORD))
    by_token = default_client(strict, ApiTokenAuth(user["api_token"]))  # no email: keyed by the token
    assert by_email.is_logged_in()
    with pytest.raises(TogglRateLimitError):
        by_token.is_logged_in()
    assert strict.counters()["rate_limited"] == 1


def test_threads_with_their_own_hooks_share_the_pace(
    strict: Any, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_toggl.hooks.toggl import TogglHook

    connection = toggl_connection(strict, user, max_retries=0)
    del connection["extra"]["requests_per_second"]  # the default pace
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    results: list[bool] = []
    errors: list[BaseException] = []

    def check() -> None:
        try:
            results.append(TogglHook().is_logged_in())
        except BaseException as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [True] * 4
    assert strict.counters()["rate_limited"] == 0
