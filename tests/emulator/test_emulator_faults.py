"""Injected faults and what a ``requests`` client sees for each."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
import urllib3
from requests.exceptions import ChunkedEncodingError, ConnectionError

from airflow_toggl.emulator import TogglEmulator

from .helpers import PASSWORD, cookie_from

SESSION_BODY = {"email": "alice@example.com", "password": PASSWORD}


def me(em: TogglEmulator, user: dict[str, Any], session: requests.Session | None = None) -> requests.Response:
    return (session or requests).get(f"{em.url}/api/v9/me", auth=(user["api_token"], "api_token"), timeout=5)


def test_status_fault_defaults_to_500_json(em: TogglEmulator, alice: dict[str, Any]) -> None:
    em.inject_fault("/api/v9/me")
    response = me(em, alice)
    assert response.status_code == 500
    assert response.json() == "injected fault"
    assert me(em, alice).status_code == 200


@pytest.mark.parametrize(
    ("body", "content", "content_type"),
    [
        ({"error": "busy"}, b'{"error": "busy"}', "application/json"),
        (["a"], b'["a"]', "application/json"),
        ("plain words", b"plain words", "text/plain"),
        (b"\x00raw", b"\x00raw", "application/octet-stream"),
    ],
)
def test_status_fault_body_and_headers(
    em: TogglEmulator, alice: dict[str, Any], body: Any, content: bytes, content_type: str
) -> None:
    em.inject_fault("/api/v9/me", status=503, headers={"Retry-After": "7"}, body=body)
    response = me(em, alice)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert response.content == content
    assert response.headers["Content-Type"].startswith(content_type)


def test_status_fault_content_type_can_be_overridden(em: TogglEmulator, alice: dict[str, Any]) -> None:
    em.inject_fault(
        "/api/v9/me", status=502, headers={"Content-Type": "text/html"}, body="<html>bad gateway</html>"
    )
    response = me(em, alice)
    assert response.headers["Content-Type"] == "text/html"
    assert response.text == "<html>bad gateway</html>"


def test_drop_closes_without_a_response(em: TogglEmulator, alice: dict[str, Any]) -> None:
    em.inject_fault("/api/v9/me", action="drop")
    with requests.Session() as http:
        with pytest.raises(ConnectionError):
            me(em, alice, http)
        assert me(em, alice, http).status_code == 200  # the next request opens a new connection
    counters = em.counters()
    assert counters["requests"]["GET /api/v9/me"] == 2
    assert counters["responses"] == {"GET /api/v9/me 200": 1}
    assert counters["connections"] == 2


def test_drop_mid_response(em: TogglEmulator, alice: dict[str, Any]) -> None:
    em.inject_fault("/api/v9/me", action="drop_mid_response")
    with pytest.raises((ConnectionError, ChunkedEncodingError)):
        me(em, alice)


def test_truncate_sends_less_than_content_length(em: TogglEmulator, alice: dict[str, Any]) -> None:
    em.inject_fault("/api/v9/me", action="truncate")
    with pytest.raises(ChunkedEncodingError):
        me(em, alice)
    em.inject_fault("/api/v9/me", action="truncate")
    with requests.get(
        f"{em.url}/api/v9/me", auth=(alice["api_token"], "api_token"), stream=True, timeout=5
    ) as response:
        declared = int(response.headers["Content-Length"])
        received: list[bytes] = []
        with pytest.raises(urllib3.exceptions.HTTPError):
            received.extend(response.raw.stream(1024, decode_content=False))
        assert 0 < len(b"".join(received)) < declared


def test_malformed_json(em: TogglEmulator, alice: dict[str, Any]) -> None:
    em.inject_fault("/api/v9/me", action="malformed_json")
    response = me(em, alice)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):  # noqa: PT011 - requests' JSONDecodeError is a ValueError
        response.json()


def test_delay_then_normal_answer(em: TogglEmulator, alice: dict[str, Any]) -> None:
    em.inject_fault("/api/v9/me", action="delay", delay=0.3)
    started = time.monotonic()
    response = me(em, alice)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


def test_delay_before_another_action_can_time_a_client_out(em: TogglEmulator, alice: dict[str, Any]) -> None:
    em.inject_fault("/api/v9/me", status=500, delay=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{em.url}/api/v9/me", auth=(alice["api_token"], "api_token"), timeout=0.1)


def test_count_and_until_cleared(em: TogglEmulator, alice: dict[str, Any]) -> None:
    em.inject_fault("/api/v9/me", count=2, status=503)
    assert [me(em, alice).status_code for _ in range(3)] == [503, 503, 200]
    em.inject_fault("/api/v9/me", count=None, status=502)
    assert [me(em, alice).status_code for _ in range(4)] == [502] * 4
    em.clear_faults()
    assert me(em, alice).status_code == 200


def test_faults_are_scoped_by_path_method_and_ignore_the_query(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    em.inject_fault("/api/v9/me", status=500)
    auth = (alice["api_token"], "api_token")
    assert http.get(f"{em.url}/api/v9/me/logged", auth=auth).status_code == 200
    assert http.get(f"{em.url}/api/v9/me/quota", auth=auth).status_code == 200
    assert http.get(f"{em.url}/api/v9/me?with_related_data=true", auth=auth).status_code == 500
    em.inject_fault("/api/sessions", method="delete", status=500)
    assert http.post(f"{em.url}/api/sessions", json=SESSION_BODY).status_code == 200
    assert http.delete(f"{em.url}/api/sessions").status_code == 500
    assert http.delete(f"{em.url}/api/sessions").status_code == 403


def test_unprocessed_fault_changes_nothing(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    em.inject_fault("/api/sessions", method="POST", status=500)
    assert http.post(f"{em.url}/api/sessions", json=SESSION_BODY).status_code == 500
    assert em.live_sessions() == []


def test_processed_fault_keeps_the_state_change(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    em.inject_fault("/api/sessions", method="POST", status=500, process=True)
    response = http.post(f"{em.url}/api/sessions", json=SESSION_BODY)
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers
    assert len(em.live_sessions("alice@example.com")) == 1


@pytest.mark.parametrize("action", ["drop", "drop_mid_response", "truncate"])
def test_processed_connection_faults_keep_the_state_change(
    em: TogglEmulator, alice: dict[str, Any], action: str
) -> None:
    em.inject_fault("/api/v9/me/reset_token", action=action, process=True)
    with pytest.raises((ConnectionError, ChunkedEncodingError)):
        requests.post(f"{em.url}/api/v9/me/reset_token", auth=(alice["api_token"], "api_token"), timeout=5)
    assert em.user("alice@example.com")["api_token"] != alice["api_token"]  # type: ignore[index]


def test_processed_malformed_json_keeps_real_headers(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    em.inject_fault("/api/sessions", action="malformed_json", process=True)
    response = http.post(f"{em.url}/api/sessions", json=SESSION_BODY)
    cookie = cookie_from(response)
    with pytest.raises(ValueError):  # noqa: PT011
        response.json()
    assert em.is_session_live(cookie)


def test_faults_are_counted_as_requests(em: TogglEmulator, alice: dict[str, Any]) -> None:
    em.inject_fault("/api/v9/me", status=500)
    me(em, alice)
    counters = em.counters()
    assert counters["requests"] == {"GET /api/v9/me": 1}
    assert counters["responses"] == {"GET /api/v9/me 500": 1}
    assert counters["requests_by_credential"] == {"token:alice@example.com GET /api/v9/me": 1}


@pytest.mark.parametrize(
    "options",
    [
        {"path": "no-slash"},
        {"path": "/x", "action": "explode"},
        {"path": "/x", "count": 0},
        {"path": "/x", "status": 42},
        {"path": "/x", "delay": -1},
    ],
)
def test_invalid_faults_are_refused(em: TogglEmulator, options: dict[str, Any]) -> None:
    path = options.pop("path")
    with pytest.raises(ValueError):  # noqa: PT011 - each option has its own message
        em.inject_fault(path, **options)
