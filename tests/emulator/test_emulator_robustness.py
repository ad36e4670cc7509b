"""Hostile input over a raw socket: every malformed request gets a 4xx and the server keeps serving."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_toggl.emulator import TogglEmulator
from airflow_toggl.emulator.config import NUMERIC_BOUNDS
from airflow_toggl.emulator.wire import MAX_BODY

from .helpers import COOKIE, PASSWORD, cookie_from

DEEP = 100_000


def exchange(em: TogglEmulator, head: str, body: bytes = b"", timeout: float = 5.0) -> tuple[int, bytes]:
    """Send a request head and (part of) a body without closing; return the status and answer body.

    The connection stays open for writing, so an answer proves the server decided from what it
    had read, without waiting for more bytes.
    """
    with socket.create_connection(("127.0.0.1", em.port), timeout=timeout) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed without an answer after {received!r}")
            received += chunk
        head_bytes, _, rest = received.partition(b"\r\n\r\n")
        status = int(head_bytes.split(b" ", 2)[1])
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head_bytes.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, rest


def post_head(path: str, *headers: str) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", *headers]
    return "\n".join(lines) + "\n"


def chunked_head(path: str = "/api/sessions") -> str:
    return post_head(path, "Transfer-Encoding: chunked")


@pytest.fixture
def serving(em: TogglEmulator) -> Iterator[TogglEmulator]:
    """The emulator, checked after the test to still answer a fresh client."""
    yield em
    assert requests.get(f"{em.url}/_emulator/health", timeout=5).json() == {"status": "ok"}
    em.add_user("after@example.com", PASSWORD)
    created = requests.post(
        f"{em.url}/api/sessions", json={"email": "after@example.com", "password": PASSWORD}, timeout=5
    )
    assert created.status_code == 200


# Bodies ---------------------------------------------------------------------------------


def test_negative_chunk_size_is_refused_at_once(serving: TogglEmulator) -> None:
    # Read as "until the connection closes", -1 would take a body of any size.
    status, body = exchange(serving, chunked_head(), b"-1\r\n" + b"x" * 65536)
    assert status == 400
    assert json.loads(body) == "malformed chunk size"


@pytest.mark.parametrize(
    "size_line", [b"-1", b"-0", b"0x10", b"1_0", b"+5", b"zz", b"", b" ", b"12 34", b"\xef\xbc\x91"]
)
def test_malformed_chunk_sizes_are_400(serving: TogglEmulator, size_line: bytes) -> None:
    assert exchange(serving, chunked_head(), size_line + b"\r\n")[0] == 400


def test_chunks_past_the_body_cap_are_413_before_they_are_read(serving: TogglEmulator) -> None:
    assert exchange(serving, chunked_head(), f"{MAX_BODY + 1:x}\r\n".encode())[0] == 413
    assert exchange(serving, chunked_head(), b"ffffffffffffffff\r\n")[0] == 413
    assert exchange(serving, chunked_head(), b"1" * 400 + b"\r\n")[0] == 413
    first = b"x" * MAX_BODY
    assert exchange(serving, chunked_head(), f"{MAX_BODY:x}\r\n".encode() + first + b"\r\n1\r\n")[0] == 413


def test_a_chunk_size_line_without_its_end_is_refused(serving: TogglEmulator) -> None:
    assert exchange(serving, chunked_head(), b"1" * 5000)[0] == 400


def test_a_chunk_without_its_crlf_is_refused(serving: TogglEmulator) -> None:
    assert exchange(serving, chunked_head(), b"2\r\n{}XX\r\n0\r\n\r\n")[0] == 400


def test_a_well_formed_chunked_body_is_read(serving: TogglEmulator) -> None:
    serving.add_user("ada@example.com", PASSWORD)
    payload = json.dumps({"email": "ada@example.com", "password": PASSWORD}).encode()
    half = len(payload) // 2
    chunks = f"{half:x};ext=1\r\n".encode() + payload[:half] + b"\r\n"
    chunks += f"{len(payload) - half:X}\r\n".encode() + payload[half:] + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
    assert exchange(serving, chunked_head(), chunks)[0] == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (["Content-Length: -5"], 400),
        (["Content-Length: abc"], 400),
        (["Content-Length: +5"], 400),
        (["Content-Length: 1_0"], 400),
        (["Content-Length: 2", "Content-Length: 3"], 400),
        ([f"Content-Length: {MAX_BODY + 1}"], 413),
        ([f"Content-Length: {10**30}"], 413),
        (["Transfer-Encoding: chunked", "Content-Length: 5"], 400),
        (["Transfer-Encoding: gzip, chunked"], 400),
        (["Transfer-Encoding: identity"], 400),
    ],
)
def test_malformed_or_oversized_lengths(serving: TogglEmulator, headers: list[str], status: int) -> None:
    assert exchange(serving, post_head("/api/sessions", *headers))[0] == status


# Deeply nested JSON ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/sessions", "/api/signup", "/_emulator/users", "/_emulator/config"])
def test_deeply_nested_json_bodies_are_400(serving: TogglEmulator, path: str) -> None:
    body = b"[" * DEEP + b"]" * DEEP
    status, answer = exchange(serving, post_head(path, f"Content-Length: {len(body)}"), body)
    assert status == 400
    assert b"JSON" in answer or b"JSON object" in answer


def test_json_constants_that_are_not_json_are_refused(serving: TogglEmulator) -> None:
    body = b'{"session_ttl": Infinity}'
    assert exchange(serving, post_head("/_emulator/config", f"Content-Length: {len(body)}"), body)[0] == 400
    body = b'{"path": "/api/v9/me", "action": "delay", "delay": NaN}'
    assert exchange(serving, post_head("/_emulator/faults", f"Content-Length: {len(body)}"), body)[0] == 400


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("segment", [0, 1])
def test_a_cookie_jwt_with_deeply_nested_json_is_403(serving: TogglEmulator, segment: int) -> None:
    depth = 20_000  # the cookie still fits the server's header line limit
    parts = [b64(b'{"alg":"EdDSA"}'), b64(b'{"sub":"x"}'), b64(b"signature")]
    parts[segment] = b64(b"[" * depth + b"]" * depth)
    head = f"GET /api/v9/me HTTP/1.1\nHost: 127.0.0.1\nCookie: {COOKIE}={'.'.join(parts)}\n"
    assert exchange(serving, head)[0] == 403


def test_a_cookie_signed_by_the_emulator_still_authenticates(serving: TogglEmulator) -> None:
    serving.add_user("ada@example.com", PASSWORD)
    created = requests.post(
        f"{serving.url}/api/sessions", json={"email": "ada@example.com", "password": PASSWORD}, timeout=5
    )
    head = f"GET /api/v9/me HTTP/1.1\nHost: 127.0.0.1\nCookie: {COOKIE}={cookie_from(created)}\n"
    status, body = exchange(serving, head)
    assert (status, json.loads(body)["email"]) == (200, "ada@example.com")


# Absurd numbers -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NUMERIC_BOUNDS))
@pytest.mark.parametrize(
    "value", [10**15, -(10**15), 1e300, 10**400], ids=["1e15", "-1e15", "1e300", "1e400"]
)
def test_absurd_numbers_in_the_config_are_400_and_change_nothing(
    serving: TogglEmulator, name: str, value: Any
) -> None:
    before = serving.configure()
    body = f'{{"{name}": {value}}}'.encode()
    status, answer = exchange(serving, post_head("/_emulator/config", f"Content-Length: {len(body)}"), body)
    assert status == 400
    assert name in json.loads(answer)["message"] or "JSON" in json.loads(answer)["message"]
    assert serving.configure() == before


def test_a_session_ttl_of_ten_to_the_fifteen_leaves_sessions_working(serving: TogglEmulator) -> None:
    serving.add_user("ada@example.com", PASSWORD)
    response = requests.post(f"{serving.url}/_emulator/config", json={"session_ttl": 10**15}, timeout=5)
    assert response.status_code == 400
    assert "session_ttl" in response.json()["message"]
    created = requests.post(
        f"{serving.url}/api/sessions", json={"email": "ada@example.com", "password": PASSWORD}, timeout=5
    )
    assert created.status_code == 200
    assert cookie_from(created)


@pytest.mark.parametrize("delay", [10**15, -1, 1e300])
def test_absurd_fault_delays_are_400(serving: TogglEmulator, delay: float) -> None:
    fault = {"path": "/api/v9/me", "action": "delay", "delay": delay}
    response = requests.post(f"{serving.url}/_emulator/faults", json=fault, timeout=5)
    assert response.status_code == 400
    assert "delay" in response.json()["message"]
    assert requests.get(f"{serving.url}/api/v9/me", timeout=5).status_code == 403  # no fault queued


def test_the_largest_allowed_values_work(serving: TogglEmulator) -> None:
    highest = {name: bounds[2] for name, bounds in NUMERIC_BOUNDS.items()}
    serving.configure(**highest)
    serving.add_user("ada@example.com", PASSWORD)
    created = requests.post(
        f"{serving.url}/api/sessions", json={"email": "ada@example.com", "password": PASSWORD}, timeout=5
    )
    assert created.status_code == 200
    me = requests.get(f"{serving.url}/api/v9/me", cookies={COOKIE: cookie_from(created)}, timeout=5)
    assert me.status_code == 200
    assert me.headers["X-Toggl-Quota-Remaining"] == str(int(highest["quota_limit"]) - 1)


@pytest.mark.parametrize(
    "fields",
    [
        {"count": 10**15},
        {"count": -1},
        {"every": 1e300},
        {"every": 0},
        {"seconds": 10**15},
        {"start": 1e300},
        {"start": "9999-12-31T00:00:00Z", "count": 2, "every": 86400},
        {"start": "not a date"},
    ],
)
def test_absurd_time_entry_seeds_are_400(serving: TogglEmulator, fields: dict[str, Any]) -> None:
    serving.add_user("ada@example.com", PASSWORD)
    body = {"email": "ada@example.com", "start": "2026-01-01T00:00:00Z", "count": 1, **fields}
    response = requests.post(f"{serving.url}/_emulator/time_entries", json=body, timeout=5)
    assert response.status_code == 400
    named = next(iter(fields)) if len(fields) == 1 else "9999"
    assert named in response.json()["message"]
    assert requests.post(
        f"{serving.url}/_emulator/time_entries",
        json={**body, **{"count": 3, "start": 0, "every": 60, "seconds": 60}},
        timeout=5,
    ).json() == {"added": 3}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"method": 5}, "method"),
        ({"method": "GET /x"}, "method"),
        ({"headers": [["X-A", "1"]]}, "headers"),
        ({"headers": {"X-A": 1}}, "headers"),
        ({"headers": {"X-A": "1\r\nX-Injected: 2"}}, "headers"),
        ({"headers": {"X A": "1"}}, "headers"),
        ({"process": "yes"}, "process"),
        ({"count": 0}, "count"),
        ({"status": 10**15}, "status"),
    ],
)
def test_malformed_faults_are_400(serving: TogglEmulator, fields: dict[str, Any], named: str) -> None:
    response = requests.post(
        f"{serving.url}/_emulator/faults", json={"path": "/api/v9/me", **fields}, timeout=5
    )
    assert response.status_code == 400
    assert named in response.json()["message"]
    assert requests.get(f"{serving.url}/api/v9/me", timeout=5).status_code == 403  # no fault queued


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"api_token": ["a"]}, "api_token"),
        ({"fullname": {"first": "Ada"}}, "fullname"),
        ({"timezone": 5}, "timezone"),
        ({"default_workspace_id": 1e300}, "default_workspace_id"),
        ({"default_workspace_id": 2**64}, "default_workspace_id"),
        ({"default_workspace_id": -1}, "default_workspace_id"),
    ],
)
def test_malformed_users_are_400(serving: TogglEmulator, fields: dict[str, Any], named: str) -> None:
    body = {"email": "ada@example.com", "password": PASSWORD, **fields}
    response = requests.post(f"{serving.url}/_emulator/users", json=body, timeout=5)
    assert response.status_code == 400
    assert named in response.json()["message"]
    assert serving.user("ada@example.com") is None
