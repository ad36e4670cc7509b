"""Network errors say where (host and port) and why, keep a secret-free cause, and log why they wait."""

from __future__ import annotations

import pickle
import socket
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ReadTimeoutError

from airflow_toggl.client import ClientConfig, TogglClient
from airflow_toggl.client.network import network_failure
from airflow_toggl.exceptions import TogglConnectionError
from devkit.scripted_server import Connection, Request, ScriptedServer, response_head
from tests.conftest import RecordedSleep
from tests.support.secrets_scan import capture_logs

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that was bound and closed: connecting to it is refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return port


def client_at(url: str, sleeps: RecordedSleep, **config: Any) -> TogglClient:
    return TogglClient(
        ClientConfig(track_api_url=url, accounts_api_url=url, requests_per_second=0, **config), sleep=sleeps
    )


def test_refused_names_host_port_and_keeps_the_root_cause(closed_port: int, sleeps: RecordedSleep) -> None:
    client = client_at(f"http://127.0.0.1:{closed_port}", sleeps, max_retries=0)
    with pytest.raises(TogglConnectionError) as caught:
        client.is_logged_in()
    error = caught.value
    assert (error.reason, error.detail, error.host, error.port) == (
        "connect",
        "refused",
        "127.0.0.1",
        closed_port,
    )
    assert f"connection refused by 127.0.0.1:{closed_port}" in str(error)
    assert isinstance(error.__cause__, ConnectionRefusedError)
    assert error.__cause__.__traceback__ is None
    assert error.__cause__.__context__ is None
    assert "/api/v9/me/logged" not in "".join(traceback.format_exception(error.__cause__))
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - bytes made here
    assert (copy.detail, copy.host, copy.port) == ("refused", "127.0.0.1", closed_port)


def test_refused_at_the_defaults_logs_why_each_wait_happens(closed_port: int, sleeps: RecordedSleep) -> None:
    """Default settings retry a refused connection; every wait's log line says why."""
    client = client_at(f"http://127.0.0.1:{closed_port}", sleeps)
    with capture_logs() as logs, pytest.raises(TogglConnectionError):
        client.get_me()
    warnings = [text for _, text in logs.records if text.startswith("WARNING")]
    attempts = ClientConfig().max_retries + 1
    assert len(warnings) == len(sleeps.calls) == attempts - 1
    for number, line in enumerate(warnings, start=2):
        assert f"connection refused by 127.0.0.1:{closed_port}" in line
        assert "the request never reached Toggl" in line
        assert f"attempt {number} of {attempts}" in line


def test_dns_failure_names_the_host(monkeypatch: pytest.MonkeyPatch, sleeps: RecordedSleep) -> None:
    def unresolvable(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    client = client_at("https://toggl.example.invalid", sleeps, max_retries=0)
    with pytest.raises(TogglConnectionError) as caught:
        client.is_logged_in()
    assert (caught.value.reason, caught.value.detail) == ("connect", "dns")
    assert "'toggl.example.invalid' could not be resolved (DNS)" in str(caught.value)
    assert isinstance(caught.value.__cause__, socket.gaierror)


def test_a_body_cut_short_is_dropped(sleeps: RecordedSleep) -> None:
    def cut_body(connection: Connection, request: Request) -> None:
        connection.send(response_head(200, [("Content-Length", "100")]) + b'{"id": 1')

    with ScriptedServer([cut_body]) as server:
        client = client_at(server.url, sleeps, max_retries=0)
        with pytest.raises(TogglConnectionError) as caught:
            client.get_me()
    assert (caught.value.reason, caught.value.detail) == ("dropped", "dropped")
    assert f"127.0.0.1:{server.port} closed the connection before the answer was complete" in str(
        caught.value
    )
    assert '{"id": 1' not in repr(caught.value.__cause__.args)  # no partial body in the cause


# -- the classification as a table, over the exceptions requests raises -------------------------

_POOL = HTTPConnectionPool("127.0.0.1", 8080)
_URL = "http://127.0.0.1:8080/api/me/password_reset/confirm/SECRETCODE"


def _connect_timeout() -> BaseException:
    inner = ConnectTimeoutError(None, "Connection to 127.0.0.1 timed out. (connect timeout=2)")
    return requests.exceptions.ConnectTimeout(MaxRetryError(_POOL, _URL, inner))


def _read_timeout() -> BaseException:
    return requests.exceptions.ReadTimeout(ReadTimeoutError(_POOL, _URL, "Read timed out. (read timeout=2)"))


def _unreachable() -> BaseException:
    inner = NewConnectionError(None, "Failed to establish a new connection: [Errno 113] No route to host")
    inner.__cause__ = OSError(113, "No route to host")
    return requests.exceptions.ConnectionError(MaxRetryError(_POOL, _URL, inner))


@pytest.mark.parametrize(
    ("make", "reason", "detail", "words"),
    [
        (
            _connect_timeout,
            "connect",
            "connect_timeout",
            "no connection to 127.0.0.1:8080 within 2s (connect timeout)",
        ),
        (_read_timeout, "timeout", "read_timeout", "127.0.0.1:8080 sent nothing for 2s (read timeout)"),
        (_unreachable, "connect", "connect_failed", "could not connect to 127.0.0.1:8080 (No route to host)"),
    ],
)
def test_failures_are_classified_and_worded(make: Any, reason: str, detail: str, words: str) -> None:
    failure = network_failure(make(), _URL, 2.0)
    assert (failure.reason, failure.detail) == (reason, detail)
    assert failure.text == words
    assert "SECRETCODE" not in failure.text
    assert failure.cause is None or "SECRETCODE" not in repr(failure.cause) + str(failure.cause)
