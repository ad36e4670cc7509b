"""A loopback HTTP server whose every answer is a script: the bytes, their pace, where they stop.

The emulator speaks correct HTTP; these tests need a server that does not: headers cut off, a body
trickled a byte at a time, a compressed bomb, an echo of the request. Each connection is handed to
``script(connection, request)``, which writes what it likes. The server listens on port 0 and records
every request it read and how many bytes each script managed to send before the client went away.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from airflow_toggl.client import ClientConfig, TogglAuth, TogglClient


@dataclass
class Request:
    """One request as it arrived: request line, headers (lower-case names) and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    raw: bytes


@dataclass
class Connection:
    """The server side of one connection, with a tally of the bytes sent."""

    sock: socket.socket
    sent: int = 0
    closed_by_client: bool = False

    def send(self, data: bytes) -> bool:
        """Send ``data``; False once the client has gone."""
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed_by_client = True
            return False
        self.sent += len(data)
        return True

    def trickle(self, data: bytes, interval: float, step: int = 1) -> bool:
        """Send ``data`` ``step`` bytes at a time, ``interval`` seconds apart; False once the client has gone."""
        for start in range(0, len(data), step):
            if not self.send(data[start : start + step]):
                return False
            time.sleep(interval)
        return True

    def stream(self, chunks: Iterable[bytes]) -> bool:
        """Send chunks until they run out or the client goes away."""
        return all(self.send(chunk) for chunk in chunks)


Script = Callable[[Connection, Request], None]


def response_head(status: int, headers: list[tuple[str, str]] | None = None, reason: str = "X") -> bytes:
    """A status line and header lines, with the blank line that ends them."""
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{name}: {value}" for name, value in headers or []]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response(status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> bytes:
    """A whole answer with a Content-Length, closing the connection after it."""
    head = [*(headers or []), ("Content-Length", str(len(body))), ("Connection", "close")]
    return response_head(status, head) + body


@dataclass
class ScriptedServer:
    """Serves ``scripts`` in turn, one per connection (the last one repeats)."""

    scripts: list[Script]
    requests: list[Request] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._accepting.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            number = len(self.connections)
            connection = Connection(sock)
            self.connections.append(connection)
            script = self.scripts[min(number, len(self.scripts) - 1)]
            thread = threading.Thread(target=self._serve, args=(connection, script), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: Connection, script: Script) -> None:
        with connection.sock:
            connection.sock.settimeout(10)
            request = _read_request(connection.sock)
            if request is None:
                return
            self.requests.append(request)
            script(connection, request)
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_WR)


def _read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, body, head + b"\r\n\r\n" + body)


def client_for(
    server: ScriptedServer,
    auth: TogglAuth | None = None,
    *,
    sleep: Callable[[float], None] = lambda _seconds: None,
    **config: Any,
) -> TogglClient:
    """A client with both base URLs on ``server``: pacing off, 2 retries, 5 s timeout unless ``config`` says."""
    settings = {"requests_per_second": 0, "max_retries": 2, "timeout": 5, **config}
    return TogglClient(
        ClientConfig(track_api_url=server.url, accounts_api_url=server.url, **settings), auth, sleep=sleep
    )


class ScriptedClients:
    """Scripted servers and their clients for one test; :meth:`close` stops them all."""

    def __init__(self, sleep: Callable[[float], None] = lambda _seconds: None) -> None:
        self._sleep = sleep
        self._opened: list[tuple[ScriptedServer, TogglClient]] = []

    def start(
        self, *scripts: Script, auth: TogglAuth | None = None, **config: Any
    ) -> tuple[ScriptedServer, TogglClient]:
        """A server playing ``scripts`` (one per connection, the last repeating) and a client of it."""
        server = ScriptedServer(list(scripts)).__enter__()
        client = client_for(server, auth, sleep=self._sleep, **config)
        self._opened.append((server, client))
        return server, client

    def close(self) -> None:
        for server, client in self._opened:
            client.close()
            server.__exit__(None, None, None)
