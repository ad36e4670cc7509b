"""The accounts service beyond sessions (signup, closing an account, password reset) and routing."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
import requests

from airflow_toggl.emulator import TogglEmulator

from .helpers import PASSWORD, cookie_from, with_cookie

# Signup, account closing, password reset -----------------------------------------------------


def signup_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "email": "carol@example.com",
        "password": "s3cret-pass",
        "display_name": "Carol",
        "tos_accepted_for": "track",
        "remember_me": True,
        "timezone": "America/New_York",
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not None}


def test_signup_creates_a_user_and_a_session(em: TogglEmulator, http: requests.Session) -> None:
    response = http.post(f"{em.url}/api/signup", json=signup_body())
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "carol@example.com"
    assert body["fullname"] == "Carol"
    assert body["timezone"] == "America/New_York"
    cookie = cookie_from(response)
    assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie)).json()["id"] == body["id"]
    assert http.get(f"{em.url}/api/v9/me", auth=("carol@example.com", "s3cret-pass")).status_code == 200
    assert http.get(f"{em.url}/api/v9/me", auth=(body["api_token"], "api_token")).status_code == 200


def test_signup_with_a_taken_email_is_400(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    response = http.post(f"{em.url}/api/signup", json=signup_body(email="alice@example.com"))
    assert response.status_code == 400
    assert response.json() == "email is already taken"  # Toggl's errors are JSON strings


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"email": None}, id="missing-email"),
        pytest.param({"email": "not-an-email"}, id="invalid-email"),
        pytest.param({"password": None}, id="missing-password"),
        pytest.param({"password": ""}, id="empty-password"),
        pytest.param({"display_name": 5}, id="display-name-not-a-string"),
        pytest.param({"remember_me": "yes"}, id="remember-me-not-a-boolean"),
    ],
)
def test_signup_with_invalid_fields_is_400(
    em: TogglEmulator, http: requests.Session, overrides: dict[str, Any]
) -> None:
    response = http.post(f"{em.url}/api/signup", json=signup_body(**overrides))
    assert response.status_code == 400
    assert isinstance(response.json(), str)
    assert response.json()


def test_signup_body_must_be_json(em: TogglEmulator, http: requests.Session) -> None:
    assert http.post(f"{em.url}/api/signup", data=b"{nope").status_code == 400


def test_close_account_stops_every_credential(
    em: TogglEmulator, alice: dict[str, Any], login: Callable[..., str], http: requests.Session
) -> None:
    cookie, other = login(em, "alice@example.com"), login(em, "alice@example.com")
    response = http.post(f"{em.url}/api/me/close_account/track", headers=with_cookie(cookie))
    assert response.status_code == 200
    assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie)).status_code == 403
    assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(other)).status_code == 403
    assert http.get(f"{em.url}/api/v9/me", auth=(alice["api_token"], "api_token")).status_code == 403
    assert http.get(f"{em.url}/api/v9/me", auth=("alice@example.com", PASSWORD)).status_code == 403
    assert (
        http.post(
            f"{em.url}/api/sessions", json={"email": "alice@example.com", "password": PASSWORD}
        ).status_code
        == 403
    )
    assert em.live_sessions() == []
    assert em.user("alice@example.com")["closed"] is True  # type: ignore[index]
    # The address is free again once the account is closed.
    assert http.post(f"{em.url}/api/signup", json=signup_body(email="alice@example.com")).status_code == 201


def test_close_account_needs_a_session_cookie(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    url = f"{em.url}/api/me/close_account/track"
    assert http.post(url).status_code == 403
    assert http.post(url, auth=(alice["api_token"], "api_token")).status_code == 403
    assert http.post(url, headers=with_cookie("x.y.z")).status_code == 403
    assert em.user("alice@example.com")["closed"] is False  # type: ignore[index]


def test_password_reset_flow(em: TogglEmulator, alice: dict[str, Any], http: requests.Session) -> None:
    response = http.post(f"{em.url}/api/me/password_reset/request", json={"email": "alice@example.com"})
    assert response.status_code == 200
    [code] = em.outbox("alice@example.com")
    confirm = f"{em.url}/api/me/password_reset/confirm/{code}"
    response = http.post(confirm, json={"password": "brand-new-pass"})
    assert response.status_code == 200
    cookie = cookie_from(response)
    assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie)).status_code == 200
    assert http.get(f"{em.url}/api/v9/me", auth=("alice@example.com", PASSWORD)).status_code == 403
    assert http.get(f"{em.url}/api/v9/me", auth=("alice@example.com", "brand-new-pass")).status_code == 200
    assert em.user("alice@example.com")["password"] == "brand-new-pass"  # type: ignore[index]
    # Single use.
    assert http.post(confirm, json={"password": "another-pass"}).status_code == 400


def test_password_reset_request_does_not_reveal_accounts(em: TogglEmulator, http: requests.Session) -> None:
    response = http.post(f"{em.url}/api/me/password_reset/request", json={"email": "nobody@example.com"})
    assert response.status_code == 200
    assert em.outbox("nobody@example.com") == []


def test_password_reset_codes_pile_up_oldest_first(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    for _ in range(2):
        http.post(f"{em.url}/api/me/password_reset/request", json={"email": "alice@example.com"})
    first, second = em.outbox("alice@example.com")
    assert first != second
    assert (
        http.post(f"{em.url}/api/me/password_reset/confirm/{second}", json={"password": "p2"}).status_code
        == 200
    )


def test_password_reset_confirm_failures(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    assert (
        http.post(f"{em.url}/api/me/password_reset/confirm/nope", json={"password": "x"}).status_code == 400
    )
    http.post(f"{em.url}/api/me/password_reset/request", json={"email": "alice@example.com"})
    [code] = em.outbox("alice@example.com")
    url = f"{em.url}/api/me/password_reset/confirm/{code}"
    # A bad body does not use the code up.
    assert http.post(url, json={}).status_code == 400
    assert http.post(url, json={"password": "fine"}).status_code == 200


# Routing --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/v9/nothing", "/api/v8/me", "/api/me/password_reset/confirm/"])
def test_unknown_path_is_404(em: TogglEmulator, path: str) -> None:
    assert requests.get(f"{em.url}{path}", timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/api/v9/me", "GET, HEAD"),
        ("GET", "/api/sessions", "DELETE, POST"),
        ("PUT", "/api/signup", "POST"),
        ("GET", "/api/v9/me/reset_token", "POST"),
    ],
)
def test_wrong_method_is_405(em: TogglEmulator, method: str, path: str, allow: str) -> None:
    response = requests.request(method, f"{em.url}{path}", timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow


def _read_answer(sock: socket.socket, buffered: bytes) -> tuple[bytes, bytes]:
    """One answer's head (up to the blank line) and what came after it, read from ``sock``."""
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {buffered!r}"
        buffered += chunk
    head, _, rest = buffered.partition(b"\r\n\r\n")
    return head, rest


def test_head_is_answered_like_get_without_a_body(em: TogglEmulator, alice: dict[str, Any]) -> None:
    auth = (alice["api_token"], "api_token")
    got = requests.get(f"{em.url}/api/v9/me/workspaces", auth=auth, timeout=5)
    head = requests.head(f"{em.url}/api/v9/me/workspaces", auth=auth, timeout=5)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["Content-Length"] == str(len(got.content))
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    counters = em.counters()
    assert counters["requests"]["HEAD /api/v9/me/workspaces"] == 1
    assert counters["responses"]["HEAD /api/v9/me/workspaces 200"] == 1
    assert requests.head(f"{em.url}/api/v9/me", timeout=5).status_code == 403  # authenticated like GET
    assert requests.head(f"{em.url}/api/sessions", timeout=5).status_code == 405
    assert requests.head(f"{em.url}/_emulator/health", timeout=5).status_code == 200


def test_a_head_answer_leaves_no_body_on_a_kept_alive_connection(em: TogglEmulator) -> None:
    """The next answer on the connection starts right after the HEAD answer's headers."""
    with socket.create_connection(("127.0.0.1", em.port), timeout=5) as sock:
        sock.sendall(
            b"HEAD /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        )
        first, rest = _read_answer(sock, b"")
        assert first.startswith(b"HTTP/1.1 200")
        assert b"content-length: 16" in first.lower()
        second, _ = _read_answer(sock, rest)
        assert second.startswith(b"HTTP/1.1 200")


def test_control_paths_list_their_methods_on_405(em: TogglEmulator) -> None:
    response = requests.delete(f"{em.url}/_emulator/health", timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
