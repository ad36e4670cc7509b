"""Proxy and CA bundle settings from the environment, read once per client, still apply (real HTTP)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from airflow_toggl.client import ApiTokenAuth, ClientConfig, TogglClient
from airflow_toggl.exceptions import TogglConnectionError


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_for(emulator: Any, user: dict[str, Any], **config: Any) -> TogglClient:
    settings = ClientConfig(
        track_api_url=emulator.url,
        accounts_api_url=emulator.url,
        requests_per_second=0,
        max_retries=0,
        **config,
    )
    return TogglClient(settings, ApiTokenAuth(user["api_token"]))


@pytest.fixture
def dead_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy nobody listens on, for http and https, and no NO_PROXY."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{closed_port()}")


def test_a_proxy_from_the_environment_is_used(
    dead_proxy: None, toggl_emulator: Any, toggl_user: dict[str, Any]
) -> None:
    with client_for(toggl_emulator, toggl_user) as client, pytest.raises(TogglConnectionError):
        client.is_logged_in()
    assert toggl_emulator.counters()["requests"] == {}


def test_no_proxy_from_the_environment_bypasses_it(
    dead_proxy: None, toggl_emulator: Any, toggl_user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with client_for(toggl_emulator, toggl_user) as client:
        assert client.is_logged_in()


def test_a_ca_bundle_from_the_environment_verifies_tls(
    toggl_emulator_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = toggl_emulator_factory(tls=True)
    user = emulator.add_user("tls-env@example.com", "pw-Tls-Env-4")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_bundle)
    with client_for(emulator, user) as client:  # verify=True: the environment's bundle
        assert client.is_logged_in()
