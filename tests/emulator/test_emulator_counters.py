"""Counters, keep-alive, concurrency, lifecycle and what the emulator logs."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from airflow_toggl.emulator import TogglEmulator

from .helpers import PASSWORD, with_cookie


def test_keep_alive_three_requests_one_connection(em: TogglEmulator, alice: dict[str, Any]) -> None:
    auth = (alice["api_token"], "api_token")
    with requests.Session() as http:
        for _ in range(3):
            response = http.get(f"{em.url}/api/v9/me/logged", auth=auth)
            assert response.status_code == 200
            assert response.headers.get("Connection", "").lower() != "close"
    counters = em.counters()
    assert counters["requests"] == {"GET /api/v9/me/logged": 3}
    assert counters["connections"] == 1
    assert counters["connections_by_path"] == {"GET /api/v9/me/logged": 1}


def test_separate_clients_open_separate_connections(em: TogglEmulator, alice: dict[str, Any]) -> None:
    requests.get(f"{em.url}/api/v9/me", auth=(alice["api_token"], "api_token"), timeout=5)
    requests.get(f"{em.url}/api/v9/me/logged", auth=(alice["api_token"], "api_token"), timeout=5)
    with requests.Session() as http:
        http.get(f"{em.url}/api/v9/me/logged")
        http.get(f"{em.url}/api/v9/me")
    counters = em.counters()
    assert counters["connections"] == 3
    assert counters["connections_by_path"] == {"GET /api/v9/me": 1, "GET /api/v9/me/logged": 2}


def test_counters_by_response_and_credential(
    em: TogglEmulator, alice: dict[str, Any], login: Callable[..., str], http: requests.Session
) -> None:
    cookie = login(em, "alice@example.com")
    http.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie))
    http.get(f"{em.url}/api/v9/me", auth=("alice@example.com", PASSWORD))
    http.get(f"{em.url}/api/v9/me", auth=("alice@example.com", "wrong"))
    http.get(f"{em.url}/api/v9/me", auth=(alice["api_token"], "api_token"))
    http.get(f"{em.url}/api/v9/me")
    counters = em.counters()
    assert counters["requests"] == {"POST /api/sessions": 1, "GET /api/v9/me": 5}
    assert counters["responses"] == {
        "POST /api/sessions 200": 1,
        "GET /api/v9/me 200": 3,
        "GET /api/v9/me 403": 2,
    }
    assert counters["requests_by_credential"] == {
        "none:- POST /api/sessions": 1,
        "session:alice@example.com GET /api/v9/me": 1,
        "basic:alice@example.com GET /api/v9/me": 1,
        "basic:- GET /api/v9/me": 1,
        "token:alice@example.com GET /api/v9/me": 1,
        "none:- GET /api/v9/me": 1,
    }
    dumped = json.dumps(counters)
    for secret in (PASSWORD, alice["api_token"], cookie):
        assert secret not in dumped


def test_reset_counters_and_control_requests_are_not_counted(
    em: TogglEmulator, http: requests.Session
) -> None:
    http.get(f"{em.url}/api/v9/me")
    em.reset_counters()
    http.get(f"{em.url}/_emulator/health")
    http.get(f"{em.url}/_emulator/counters")
    assert em.counters() == {
        "requests": {},
        "responses": {},
        "requests_by_credential": {},
        "connections": 0,
        "connections_by_path": {},
        "rate_limited": 0,
        "quota_exceeded": 0,
    }


def test_concurrent_requests_are_all_served_and_counted(em: TogglEmulator, alice: dict[str, Any]) -> None:
    auth = (alice["api_token"], "api_token")
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with requests.Session() as http:
            for _ in range(10):
                status = http.get(f"{em.url}/api/v9/me", auth=auth, timeout=5).status_code
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert statuses == [200] * 80
    counters = em.counters()
    assert counters["requests"]["GET /api/v9/me"] == 80
    assert counters["connections"] == 8


def test_lifecycle() -> None:
    em = TogglEmulator()
    with pytest.raises(RuntimeError):
        _ = em.url
    assert not em.running
    assert em.start() is em
    assert em.start() is em  # already running: no second server
    url = em.url
    assert url == f"http://127.0.0.1:{em.port}"
    assert em.ca_bundle is None
    assert requests.get(f"{url}/_emulator/health", timeout=5).json() == {"status": "ok"}
    em.stop()
    em.stop()
    assert not em.running
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/_emulator/health", timeout=2)


def test_stop_closes_open_keep_alive_connections() -> None:
    em = TogglEmulator().start()
    with socket.create_connection(("127.0.0.1", em.port), timeout=5) as conn:
        conn.sendall(b"GET /api/v9/me/logged HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while not answer.endswith(b'"'):  # the whole 403 with its JSON string body
            answer += conn.recv(4096)
        assert answer.startswith(b"HTTP/1.1 403")
        em.stop()
        assert conn.recv(4096) == b""  # closed by the server, not left hanging


def test_ipv6_loopback() -> None:
    try:
        em = TogglEmulator("::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert em.url.startswith("http://[::1]:")
        assert requests.get(f"{em.url}/_emulator/health", timeout=5).status_code == 200
    finally:
        em.stop()


def test_logs_never_contain_secrets(
    em: TogglEmulator,
    alice: dict[str, Any],
    login: Callable[..., str],
    http: requests.Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="airflow_toggl.emulator")
    cookie = login(em, "alice@example.com")
    http.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie))
    http.get(f"{em.url}/api/v9/me", auth=(alice["api_token"], "api_token"))
    http.post(f"{em.url}/api/me/password_reset/request", json={"email": "alice@example.com"})
    [code] = em.outbox("alice@example.com")
    http.post(f"{em.url}/api/me/password_reset/confirm/{code}", json={"password": "another-secret"})
    http.get(f"{em.url}/api/v9/me?with_related_data=true", auth=("alice@example.com", "another-secret"))
    assert "GET /api/v9/me -> 200" in caplog.text
    for secret in (PASSWORD, "another-secret", alice["api_token"], cookie, code):
        assert secret not in caplog.text
