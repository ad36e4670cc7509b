#!/usr/bin/env python
"""Print how the client holds up against hostile answers on a loopback socket.

Each row is one scripted server behaviour met by one client call: how the call ended, how long an
attempt took on average as a multiple of the client's ``timeout``, how many bytes the server managed to send, and the
peak Python memory the call allocated (``tracemalloc``). Run from the repository root:

    .venv/bin/python scripts/wire_limits.py
"""

from __future__ import annotations

import contextlib
import socket
import time
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

from airflow_toggl.client import ClientConfig, EmailPasswordAuth, TogglClient, TogglSession
from airflow_toggl.client.errors import TogglError
from devkit.scripted_server import Connection, Request, ScriptedServer, response, response_head

TIMEOUT = 2.0
ME = b'{"id": 1, "email": "ada@example.com"}'
JSON = [("Content-Type", "application/json")]


def trickled_body(connection: Connection, request: Request) -> None:
    body = b" " * 120 + ME
    connection.send(response_head(200, [*JSON, ("Content-Length", str(len(body)))]))
    connection.trickle(body, 1.0)


def trickled_headers(connection: Connection, request: Request) -> None:
    connection.trickle(
        response_head(200, [*JSON, ("X-Padding", "p" * 120), ("Content-Length", str(len(ME)))]), 1.0
    )


def big_body(connection: Connection, request: Request) -> None:
    connection.send(response_head(200, [*JSON, ("Content-Length", str(500 * 1024 * 1024))]))
    connection.stream(b"1," * 32768 for _ in range(8000))


def _gzip_of_zeros(size: int) -> bytes:
    """gzip of ``size`` zero bytes, compressed a MiB at a time (the zeros are never all in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * 2**20
    return b"".join(packer.compress(chunk) for _ in range(size // 2**20)) + packer.flush()


BOMB = _gzip_of_zeros(400 * 2**20)


def gzip_bomb(connection: Connection, request: Request) -> None:
    connection.send(response(200, BOMB, [*JSON, ("Content-Encoding", "gzip")]))


def big_error(connection: Connection, request: Request) -> None:
    connection.send(response_head(500, [*JSON, ("Content-Length", str(40 * 1024 * 1024))]))
    connection.stream(b"a b " * 16384 for _ in range(640))


def cut_headers(connection: Connection, request: Request) -> None:
    connection.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Toggl-Req")


CASES: list[tuple[str, Callable[[Connection, Request], None], str]] = [
    ("200 body trickled at 1 byte/s", trickled_body, "get_me"),
    ("headers trickled at 1 byte/s", trickled_headers, "get_me"),
    ("500 MB /me body", big_body, "get_me"),
    (f"{len(BOMB) // 1024} KB gzip bomb (400 MB inflated)", gzip_bomb, "get_me"),
    ("40 MB 500 body of short words", big_error, "get_me"),
    ("headers cut off, every attempt", cut_headers, "get_me"),
    ("headers cut off, every attempt", cut_headers, "delete_session"),
]


def run(script: Callable[[Connection, Request], None], method: str) -> tuple[str, float, int, int, int]:
    with ScriptedServer([script]) as server:
        config = ClientConfig(
            track_api_url=server.url,
            accounts_api_url=server.url,
            timeout=TIMEOUT,
            requests_per_second=0,
            max_retries=2,
        )
        client = TogglClient(
            config, EmailPasswordAuth("ada@example.com", "pw-Wire-7fQ2"), sleep=lambda _s: None
        )
        call: Callable[[], Any] = client.get_me
        if method == "delete_session":
            session = TogglSession.from_cookie("opaque-session-value")
            call = lambda: client.delete_session(session)  # noqa: E731
        tracemalloc.start()
        started = time.monotonic()
        try:
            outcome = f"returned {call()!r}"[:60]
        except TogglError as error:
            detail = getattr(error, "detail", None)
            outcome = type(error).__name__ + (f" ({detail})" if detail else f" {error.status_code}")
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        client.close()
    sent = sum(connection.sent for connection in server.connections)
    return outcome, elapsed / max(len(server.requests), 1) / TIMEOUT, len(server.requests), sent, peak


def refused_at_defaults() -> tuple[int, float]:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    waits: list[float] = []
    client = TogglClient(
        ClientConfig(track_api_url=url, accounts_api_url=url, requests_per_second=0), sleep=waits.append
    )
    with contextlib.suppress(TogglError):
        client.is_logged_in()
    return len(waits) + 1, sum(waits)


def main() -> None:
    print(
        f"Client: timeout={TIMEOUT:g}s, max_retries=2, max_response_bytes={ClientConfig().max_response_bytes}.\n"
    )
    header = (
        "server behaviour",
        "call",
        "outcome",
        "attempt / timeout",
        "requests",
        "bytes sent",
        "peak memory",
    )
    rows = []
    for label, script, method in CASES:
        outcome, ratio, requests, sent, peak = run(script, method)
        rows.append(
            (label, method, outcome, f"{ratio:.2f}", str(requests), f"{sent:,}", f"{peak / 2**20:.1f} MiB")
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * width for width in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    attempts, waited = refused_at_defaults()
    print(
        f"\nConnection refused on loopback at the default settings: {attempts} attempts, "
        f"{waited:.1f}s of backoff waits in all (random, so it changes from run to run)."
    )


if __name__ == "__main__":
    main()
