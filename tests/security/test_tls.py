"""HTTPS against the emulator's own certificate authority: verification on by default, CA bundles, the CLI.

The emulator in TLS mode serves a certificate for 127.0.0.1, ::1 and localhost signed by a CA it
generates at start (``emulator.ca_bundle``). It speaks nothing but TLS on that port, so every request
its counters show travelled over HTTPS.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import pytest
import requests
from urllib3.exceptions import InsecureRequestWarning

from airflow_toggl.emulator.server import TogglEmulator
from airflow_toggl.exceptions import TogglConnectionError
from airflow_toggl.hooks.toggl import TogglHook
from devkit.airflow import run_airflow, toggl_connection

EMAIL = "tls-user@example.com"
PASSWORD = "pw-Tls-Distinct-41x"
API_TOKEN = "7e1c0ffee7e1c0ffee7e1c0ffee7e1c0"
MAX_RETRIES = 5


class CountingProxy:
    """A TCP relay in front of a server that counts the connections clients open through it.

    The emulator only counts connections that get as far as a complete HTTP request; a TLS handshake
    that fails is invisible to it. Counting accepted TCP connections here shows how many handshakes a
    client attempted, which is what tells one attempt from a retry loop.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept_loop, name="counting-proxy", daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def url(self, scheme: str = "https") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            try:
                server = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    """Copy bytes one way until either side closes."""
    with contextlib.suppress(OSError):
        source.settimeout(None)
        while chunk := source.recv(65536):
            target.sendall(chunk)
    for sock in (source, target):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def https_emulator(toggl_emulator_factory: Callable[..., TogglEmulator]) -> TogglEmulator:
    """An emulator serving HTTPS with its generated CA, with one user."""
    emulator = toggl_emulator_factory(tls=True)
    emulator.add_user(EMAIL, PASSWORD, api_token=API_TOKEN)
    return emulator


@pytest.fixture
def https_user(https_emulator: TogglEmulator) -> dict[str, Any]:
    user = https_emulator.user(EMAIL)
    assert user is not None
    return user


def _use_connection(monkeypatch: pytest.MonkeyPatch, connection: dict[str, Any]) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))


def _connection(
    emulator: TogglEmulator, user: dict[str, Any], *, url: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A connection to ``emulator`` (or ``url``) whose ``verify`` extra is exactly what ``extra`` says.

    ``toggl_connection`` adds the emulator's CA bundle on its own; it is taken out again here unless
    the caller passes ``verify``, so the default (no ``verify`` extra at all) can be tested.
    """
    connection = toggl_connection(emulator, user, max_retries=MAX_RETRIES, **extra)
    if "verify" not in extra:
        connection["extra"].pop("verify", None)
    if url is not None:
        connection["extra"].update(track_api_url=url, accounts_api_url=url)
    return connection


def _assert_tls_only(emulator: TogglEmulator) -> None:
    """The emulator's port refuses plain HTTP, so whatever it counted came over TLS."""
    before = emulator.counters()["requests"]
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(emulator.url.replace("https://", "http://") + "/api/v9/me/logged", timeout=5)
    assert emulator.counters()["requests"] == before


def test_the_emulator_port_speaks_only_tls(https_emulator: TogglEmulator) -> None:
    assert https_emulator.url.startswith("https://")
    assert https_emulator.ca_bundle is not None
    _assert_tls_only(https_emulator)


# -- verification is on by default ----------------------------------------------------------------


@pytest.mark.parametrize(
    "verify", [None, True, "true"], ids=["no-verify-extra", "verify-true", "verify-text"]
)
def test_an_unknown_ca_is_refused_without_retrying(
    https_emulator: TogglEmulator,
    https_user: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    verify: bool | str | None,
) -> None:
    extra = {} if verify is None else {"verify": verify}
    with CountingProxy(https_emulator.host, https_emulator.port) as proxy:
        _use_connection(monkeypatch, _connection(https_emulator, https_user, url=proxy.url(), **extra))
        hook = TogglHook()
        assert hook.settings.config.verify is True
        assert hook.settings.config.max_retries == MAX_RETRIES
        with pytest.raises(TogglConnectionError) as info:
            hook.get_me()
    error = info.value
    assert error.reason == "tls"
    assert "verify" in str(error)
    assert error.may_have_arrived is False
    # One TCP connection, one failed handshake: no retry loop despite max_retries.
    assert proxy.accepted == 1
    counters = https_emulator.counters()
    assert counters["requests"] == {}
    assert counters["connections"] == 0
    assert https_user["api_token"] not in str(error)


def test_test_connection_reports_the_tls_failure(
    https_emulator: TogglEmulator, https_user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_connection(monkeypatch, _connection(https_emulator, https_user))
    ok, message = TogglHook().test_connection()
    assert ok is False
    assert "TLS verification failed" in message
    assert "'verify'" in message
    assert https_emulator.counters()["requests"] == {}


def test_a_bundle_of_another_ca_is_refused(
    https_emulator: TogglEmulator,
    https_user: dict[str, Any],
    toggl_emulator_factory: Callable[..., TogglEmulator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = toggl_emulator_factory(tls=True)
    assert other.ca_bundle != https_emulator.ca_bundle
    _use_connection(monkeypatch, _connection(https_emulator, https_user, verify=other.ca_bundle))
    with pytest.raises(TogglConnectionError) as info:
        TogglHook().is_logged_in()
    assert info.value.reason == "tls"
    assert https_emulator.counters()["requests"] == {}


def _emulator_on_127_0_0_2(factory: Callable[..., TogglEmulator]) -> TogglEmulator:
    try:
        return factory(tls=True, host="127.0.0.2")
    except OSError:
        pytest.skip("127.0.0.2 is not a usable loopback address here")


def test_the_host_name_is_checked_too(
    toggl_emulator_factory: Callable[..., TogglEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The certificate names 127.0.0.1, ::1 and localhost; a right CA with a wrong host still fails.
    emulator = _emulator_on_127_0_0_2(toggl_emulator_factory)
    user = emulator.add_user(EMAIL, PASSWORD, api_token=API_TOKEN)
    _use_connection(monkeypatch, _connection(emulator, user, verify=emulator.ca_bundle))
    with pytest.raises(TogglConnectionError) as info:
        TogglHook().is_logged_in()
    assert info.value.reason == "tls"
    assert emulator.counters()["requests"] == {}


def test_the_tls_error_names_what_the_tls_layer_refused(
    toggl_emulator_factory: Callable[..., TogglEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = _emulator_on_127_0_0_2(toggl_emulator_factory)
    user = emulator.add_user(EMAIL, PASSWORD, api_token=API_TOKEN)
    _use_connection(monkeypatch, _connection(emulator, user, verify=emulator.ca_bundle))
    with pytest.raises(TogglConnectionError) as info:
        TogglHook().is_logged_in()
    assert "mismatch" in str(info.value)


# -- a CA bundle, or verification off ------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_ca_bundle_path_makes_it_work(
    https_emulator: TogglEmulator, https_user: dict[str, Any], monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    url = https_emulator.url.replace("127.0.0.1", host)
    _use_connection(
        monkeypatch, _connection(https_emulator, https_user, url=url, verify=https_emulator.ca_bundle)
    )
    hook = TogglHook()
    assert hook.settings.config.verify == https_emulator.ca_bundle
    assert hook.get_me()["email"] == EMAIL
    assert hook.is_logged_in() is True
    counters = https_emulator.counters()
    assert counters["responses"] == {"GET /api/v9/me 200": 1, "GET /api/v9/me/logged 200": 1}
    _assert_tls_only(https_emulator)


@pytest.mark.parametrize("verify", [False, "false"], ids=["bool", "text"])
def test_verify_false_works_but_warns(
    https_emulator: TogglEmulator,
    https_user: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    verify: bool | str,
) -> None:
    # For tests against a local server only: nothing checks whom the credentials are sent to.
    _use_connection(monkeypatch, _connection(https_emulator, https_user, verify=verify))
    hook = TogglHook()
    assert hook.settings.config.verify is False
    with pytest.warns(InsecureRequestWarning):
        assert hook.get_me()["email"] == EMAIL
    assert https_emulator.counters()["responses"] == {"GET /api/v9/me 200": 1}


# -- the Airflow CLI over HTTPS ------------------------------------------------------------------


def _cli_env(connection: dict[str, Any]) -> dict[str, str]:
    return {
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(connection),
    }


@pytest.mark.airflow
def test_connections_test_over_https(https_emulator: TogglEmulator, https_user: dict[str, Any]) -> None:
    connection = _connection(https_emulator, https_user, verify=https_emulator.ca_bundle)
    result = run_airflow("connections", "test", "toggl_default", env=_cli_env(connection))
    assert "Connection success!" in result.stdout
    assert https_emulator.counters()["responses"] == {"GET /api/v9/me/logged 200": 2}  # the token, the password
    assert https_user["api_token"] not in result.stdout + result.stderr


@pytest.mark.airflow
def test_connections_test_over_https_without_the_bundle(
    https_emulator: TogglEmulator, https_user: dict[str, Any]
) -> None:
    result = run_airflow(
        "connections",
        "test",
        "toggl_default",
        env=_cli_env(_connection(https_emulator, https_user)),
        check=False,
    )
    assert "Connection failed!" in result.stdout
    assert "Toggl GET /api/v9/me/logged failed: TLS verification failed with 127.0.0.1:" in result.stdout
    assert "'verify' extra" in result.stdout
    assert https_emulator.counters()["requests"] == {}


@pytest.fixture
def lifecycle_dag() -> str:
    from devkit.airflow import ROOT

    path = ROOT / "dags" / "toggl_session_lifecycle.py"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return "toggl_session_lifecycle"


def test_session_lifecycle_dag_runs_over_https(
    airflow_db: Any, lifecycle_dag: str, https_emulator: TogglEmulator, https_user: dict[str, Any]
) -> None:
    connection = _connection(https_emulator, https_user, verify=https_emulator.ca_bundle)
    assert connection["extra"]["track_api_url"].startswith("https://")
    result = run_airflow("dags", "test", lifecycle_dag, env=_cli_env(connection), timeout=240)
    output = result.stdout + result.stderr
    assert "state=success" in output
    counters = https_emulator.counters()
    responses = counters["responses"]
    # Created with email and password, used through its cookie, deleted: all through the TLS port.
    assert responses.get("POST /api/sessions 200") == 1
    assert responses.get("GET /api/v9/me 200", 0) >= 1
    assert responses.get("DELETE /api/sessions 200") == 1
    assert not any(not key.endswith(" 200") for key in responses), responses
    by_credential = counters["requests_by_credential"]
    assert by_credential.get(f"session:{EMAIL} GET /api/v9/me", 0) >= 1
    assert by_credential.get(f"session:{EMAIL} DELETE /api/sessions") == 1
    assert https_emulator.live_sessions(EMAIL) == []
    _assert_tls_only(https_emulator)
    assert PASSWORD not in output
    assert API_TOKEN not in output
