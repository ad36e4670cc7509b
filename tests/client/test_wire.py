"""The client against a misbehaving server on a real loopback socket.

Trickled answers meet the whole-attempt deadline, answers cut off inside their headers count as
dropped connections, oversized and compressed-bomb bodies stop at the size cap, and Set-Cookie
headers are stored the way RFC 6265 says.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_toggl.client import EmailPasswordAuth, SessionCookieAuth, TogglClient, TogglSession
from airflow_toggl.client.auth import SESSION_COOKIE_NAME
from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglConnectionError,
    TogglResponseError,
    TogglResponseTooLargeError,
)
from devkit.scripted_server import (
    Connection,
    Request,
    ScriptedClients,
    ScriptedServer,
    response,
    response_head,
)
from tests.conftest import RecordedSleep

pytestmark = pytest.mark.timeout(60)

ME = json.dumps({"id": 1, "email": "ada@example.com", "fullname": "Ada"}).encode()
JSON = [("Content-Type", "application/json")]


@pytest.fixture
def serve(sleeps: RecordedSleep) -> Iterator[Callable[..., tuple[ScriptedServer, TogglClient]]]:
    """Start a scripted server and a client pointed at it (email/password unless told, recorded sleeps)."""
    clients = ScriptedClients(sleeps)

    def start(*scripts: Any, auth: Any = None, **config: Any) -> tuple[ScriptedServer, TogglClient]:
        return clients.start(
            *scripts, auth=auth or EmailPasswordAuth("ada@example.com", "pw-Wire-7fQ2"), **config
        )

    yield start
    clients.close()


def answer(status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> Any:
    def script(connection: Connection, request: Request) -> None:
        connection.send(response(status, body, headers))

    return script


def raw(data: bytes) -> Any:
    def script(connection: Connection, request: Request) -> None:
        connection.send(data)

    return script


# -- the whole-attempt deadline ----------------------------------------------------------------


def trickled_body(connection: Connection, request: Request) -> None:
    body = b" " * 400 + ME
    connection.send(response_head(200, [*JSON, ("Content-Length", str(len(body)))]))
    connection.trickle(body, 0.05)


def trickled_headers(connection: Connection, request: Request) -> None:
    head = response_head(200, [*JSON, ("X-Padding", "p" * 400), ("Content-Length", str(len(ME)))])
    connection.trickle(head + ME, 0.05)


@pytest.mark.parametrize("script", [trickled_body, trickled_headers], ids=["body", "headers"])
def test_a_trickled_answer_ends_at_the_deadline(serve: Callable[..., Any], script: Any) -> None:
    """Each read is quick (50 ms apart, under the 1 s timeout) but the whole answer takes ~20 s."""
    server, client = serve(script, max_retries=0, timeout=1)
    with pytest.raises(TogglConnectionError) as caught:
        client.get_me()
    error = caught.value
    assert (error.reason, error.detail) == ("timeout", "deadline")
    assert f"127.0.0.1:{server.port}" in str(error)
    assert "deadline" in str(error)
    # The client hung up long before the server got through its ~420 bytes (20 per second).
    connection = server.connections[0]
    total = len(response_head(200, [*JSON, ("Content-Length", "0")])) + 400 + len(ME)
    assert connection.sent < total / 2


def test_a_trickled_answer_is_retried_when_idempotent(
    serve: Callable[..., Any], sleeps: RecordedSleep
) -> None:
    server, client = serve(trickled_body, answer(200, ME, JSON), timeout=1)
    assert client.get_me()["id"] == 1
    assert len(server.requests) == 2
    assert len(sleeps.calls) == 1


def test_a_silent_server_is_a_read_timeout(serve: Callable[..., Any]) -> None:
    def silent(connection: Connection, request: Request) -> None:
        connection.sock.recv(1)  # waits until the client gives up and closes

    server, client = serve(silent, max_retries=0, timeout=0.5)
    with pytest.raises(TogglConnectionError) as caught:
        client.is_logged_in()
    assert (caught.value.reason, caught.value.detail) == ("timeout", "read_timeout")
    assert f"127.0.0.1:{server.port}" in str(caught.value)
    assert "read timeout" in str(caught.value)


# -- answers cut off inside their headers ------------------------------------------------------

CUT_HEADERS = [
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Toggl-Req",
]


@pytest.mark.parametrize("cut", CUT_HEADERS, ids=["after status", "after a header", "inside a header"])
def test_headers_cut_off_are_a_dropped_connection_and_get_me_retries(
    serve: Callable[..., Any], cut: bytes
) -> None:
    server, client = serve(raw(cut), answer(200, ME, JSON))
    assert client.get_me()["email"] == "ada@example.com"
    assert len(server.requests) == 2


@pytest.mark.parametrize("cut", CUT_HEADERS, ids=["after status", "after a header", "inside a header"])
def test_headers_cut_off_never_count_as_a_deleted_session(serve: Callable[..., Any], cut: bytes) -> None:
    server, client = serve(raw(cut), max_retries=1)
    with pytest.raises(TogglConnectionError) as caught:
        client.delete_session(TogglSession.from_cookie("opaque-session-value"))
    assert (caught.value.reason, caught.value.detail) == ("dropped", "headers_cut_off")
    assert "inside the response headers" in str(caught.value)
    assert len(server.requests) == 2  # idempotent: retried, and cut off again


def test_headers_cut_off_on_a_state_changing_request_are_sent_once(serve: Callable[..., Any]) -> None:
    server, client = serve(
        raw(CUT_HEADERS[1]), answer(200, b"", [(("Set-Cookie"), f"{SESSION_COOKIE_NAME}=s1")])
    )
    with pytest.raises(TogglConnectionError) as caught:
        client.create_session("ada@example.com", "pw-Wire-7fQ2")
    assert caught.value.may_have_arrived
    assert len(server.requests) == 1


def test_complete_headers_with_no_body_still_succeed(serve: Callable[..., Any]) -> None:
    """The control: a 200 whose headers end properly and that has no body is a success."""
    server, client = serve(raw(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"))
    assert client.delete_session(TogglSession.from_cookie("opaque-session-value")) is True
    assert len(server.requests) == 1


# -- the size cap ------------------------------------------------------------------------------

CAP = 256 * 1024


def endless_body(connection: Connection, request: Request) -> None:
    connection.send(response_head(200, [*JSON, ("Content-Length", str(200 * 1024 * 1024))]))
    connection.stream(b"[" + b"1," * 32768 for _ in range(3200))  # 200 MiB if the client read it all


def test_a_body_past_the_cap_is_a_typed_error_and_reading_stops(serve: Callable[..., Any]) -> None:
    server, client = serve(endless_body, max_response_bytes=CAP)
    with pytest.raises(TogglResponseTooLargeError) as caught:
        client.get_me()
    assert caught.value.limit == CAP
    assert caught.value.status_code == 200
    assert "max_response_bytes" in str(caught.value)
    assert len(server.requests) == 1  # a deterministic answer: not retried
    server.__exit__(None, None, None)
    assert server.connections[0].sent < 32 * 1024 * 1024  # the client hung up; it never took 200 MiB


def gzip_bomb(size: int) -> bytes:
    return gzip.compress(b"\0" * size, compresslevel=9)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_bomb_stops_at_the_cap_counted_decompressed(
    serve: Callable[..., Any], encoding: str
) -> None:
    bomb = (
        gzip_bomb(64 * 1024 * 1024)
        if encoding == "gzip"
        else __import__("zlib").compress(b"\0" * 64 * 1024 * 1024, 9)
    )
    _server, client = serve(
        answer(200, bomb, [*JSON, ("Content-Encoding", encoding)]), max_response_bytes=CAP
    )
    tracemalloc.start()
    try:
        with pytest.raises(TogglResponseTooLargeError):
            client.get_me()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(bomb) < CAP  # the compressed body is under the cap: only its decompressed size is over
    assert peak < 8 * 1024 * 1024, f"reading a {len(bomb)}-byte bomb peaked at {peak} bytes"


def test_a_compressed_answer_under_the_cap_is_read(serve: Callable[..., Any]) -> None:
    server, client = serve(answer(200, gzip.compress(ME), [*JSON, ("Content-Encoding", "gzip")]))
    assert client.get_me()["fullname"] == "Ada"
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_an_encoding_the_client_did_not_offer_is_a_response_error(serve: Callable[..., Any]) -> None:
    _server, client = serve(answer(200, b"\x8b\x00", [*JSON, ("Content-Encoding", "br")]))
    with pytest.raises(TogglResponseError, match="could not be decoded"):
        client.get_me()


def test_a_huge_error_body_is_read_only_in_part(serve: Callable[..., Any]) -> None:
    """A 40 MB error body of short words: 64 KiB are read, nothing is quoted, memory stays flat."""

    def huge_error(connection: Connection, request: Request) -> None:
        connection.send(response_head(400, [*JSON, ("Content-Length", str(40 * 1024 * 1024))]))
        connection.stream(b"a b " * 16384 for _ in range(640))

    _server, client = serve(huge_error, auth=SessionCookieAuth("opaque-session-value"))
    tracemalloc.start()
    try:
        with pytest.raises(TogglAPIError) as caught:
            client.get_quota()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.status_code == 400
    assert "a b" not in str(caught.value)
    assert peak < 8 * 1024 * 1024


# -- Set-Cookie storage ------------------------------------------------------------------------

PAST = "Thu, 01 Jan 1970 00:00:00 GMT"


@pytest.mark.parametrize(
    ("set_cookies", "expected"),
    [
        ([f"{SESSION_COOKIE_NAME}=first; Path=/", f"{SESSION_COOKIE_NAME}=second; Path=/"], "second"),
        ([f"{SESSION_COOKIE_NAME}=deleted; Max-Age=0", f"{SESSION_COOKIE_NAME}=real; Path=/"], "real"),
        ([f"{SESSION_COOKIE_NAME}=; Expires={PAST}", f"{SESSION_COOKIE_NAME}=real"], "real"),
        ([f"{SESSION_COOKIE_NAME}=real; Max-Age=2419200; Expires={PAST}"], "real"),  # Max-Age wins
    ],
    ids=[
        "later replaces earlier",
        "clear then set (Max-Age)",
        "clear then set (Expires)",
        "Max-Age over Expires",
    ],
)
def test_set_cookie_headers_are_stored_as_rfc_6265_says(
    serve: Callable[..., Any], set_cookies: list[str], expected: str
) -> None:
    _server, client = serve(answer(200, b"{}", [*JSON, *(("Set-Cookie", value) for value in set_cookies)]))
    assert client.create_session("ada@example.com", "pw-Wire-7fQ2").cookie == expected


@pytest.mark.parametrize(
    "set_cookies",
    [
        [f"{SESSION_COOKIE_NAME}=real", f"{SESSION_COOKIE_NAME}=deleted; Max-Age=0"],
        [f"{SESSION_COOKIE_NAME}=real", f"{SESSION_COOKIE_NAME}=deleted; Expires={PAST}"],
        [f"{SESSION_COOKIE_NAME}=gone; Max-Age=-1"],
        [f"{SESSION_COOKIE_NAME}=real", f"{SESSION_COOKIE_NAME}="],
    ],
    ids=["set then Max-Age=0", "set then past Expires", "negative Max-Age", "set then empty"],
)
def test_a_deleting_cookie_is_not_a_session(serve: Callable[..., Any], set_cookies: list[str]) -> None:
    _server, client = serve(answer(200, b"{}", [*JSON, *(("Set-Cookie", value) for value in set_cookies)]))
    with pytest.raises(TogglResponseError, match="without a session cookie"):
        client.create_session("ada@example.com", "pw-Wire-7fQ2")
