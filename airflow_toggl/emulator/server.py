"""The HTTP(S) server and ``TogglEmulator``, the object tests start, drive and stop.

The standard library server is used on purpose: faults are written straight to the socket
(a dropped connection, a cut header, a short body), which a framework would not allow.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from airflow_toggl.emulator.app import TogglApp
from airflow_toggl.emulator.config import EmulatorConfig
from airflow_toggl.emulator.control import CONTROL_PREFIX, ControlApi, Controller
from airflow_toggl.emulator.faults import (
    Fault,
    malformed_response,
    mid_response_bytes,
    status_response,
    truncated_bytes,
)
from airflow_toggl.emulator.request import Request
from airflow_toggl.emulator.responses import Response, error
from airflow_toggl.emulator.state import EmulatorState
from airflow_toggl.emulator.tls import generate_certificates, server_context
from airflow_toggl.emulator.tokens import SessionSigner
from airflow_toggl.emulator.wire import BodyError, read_body

log = logging.getLogger(__name__)

_HANDSHAKE_TIMEOUT = 10.0
# Reset codes travel in the path; they are secrets and stay out of logs.
_SECRET_PATH = re.compile(r"(/password_reset/confirm/)[^\s?]+")


def _redact(text: str) -> str:
    """Hide path segments that carry secrets."""
    return _SECRET_PATH.sub(r"\1***", text)


class _Engine:
    """What the request handler needs: the Toggl behaviour and the control operations."""

    def __init__(self, state: EmulatorState, app: TogglApp, control_api: ControlApi) -> None:
        """Share one state between the services and the controls."""
        self.state = state
        self.app = app
        self.control_api = control_api

    def begin(self, request: Request, first_on_connection: bool) -> Fault | None:
        """Count a (non-control) request and take the fault that applies to it, if any."""
        with self.state.lock:
            counters = self.state.counters
            counters.requests[request.key] += 1
            label = self.app.identify(request).label()
            counters.requests_by_credential[f"{label} {request.key}"] += 1
            if first_on_connection:
                counters.connections += 1
                counters.connections_by_path[request.key] += 1
            return self.state.take_fault(request.method, request.path)

    def handle(self, request: Request) -> Response:
        """Answer a request through the emulated services."""
        with self.state.lock:
            return _answer(self.app.handle, request)

    def control(self, request: Request) -> Response:
        """Answer a ``/_emulator/`` request."""
        return _answer(self.control_api.handle, request)

    def responded(self, request: Request, status: int) -> None:
        """Count a complete response."""
        with self.state.lock:
            self.state.counters.responses[f"{request.key} {status}"] += 1


def _answer(handler: Callable[[Request], Response], request: Request) -> Response:
    """The handler's answer, or a 500 if it fails: an emulator bug must not look like a dropped connection."""
    try:
        return handler(request)
    except Exception:
        log.debug("error while answering %s", _redact(request.key), exc_info=True)
        return error(500, "internal emulator error")


class _Handler(BaseHTTPRequestHandler):
    """One connection: reads requests and writes answers or faults."""

    protocol_version = "HTTP/1.1"
    server_version = "TogglEmulator/1.0"
    timeout = 120
    server: _Server

    def version_string(self) -> str:
        """The ``Server`` header: no Python version."""
        return self.server_version

    def setup(self) -> None:
        """Prepare per-connection bookkeeping; answers go out without Nagle delays."""
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._connection_counted = False

    def do_GET(self) -> None:
        """Every supported method goes through ``_serve``; routing decides 404/405."""
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _serve(self) -> None:
        """Read the request, apply any fault, answer."""
        try:
            body = read_body(self.rfile, self.headers)
        except BodyError as exc:
            self.close_connection = True
            self._send(None, error(exc.status, str(exc)))
            return
        request = Request.build(
            self.command,
            self.path,
            authorization=self.headers.get("Authorization"),
            cookies=self.headers.get_all("Cookie") or [],
            body=body,
            client_ip=self.client_address[0],
        )
        engine = self.server.engine
        if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
            self._send(None, engine.control(request))
            return
        fault = engine.begin(request, not self._connection_counted)
        self._connection_counted = True
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.action != "delay" and not fault.process:
            self._fault(request, fault, None)
            return
        response = engine.handle(request)
        if fault is not None and fault.action != "delay":
            self._fault(request, fault, response)
            return
        self._send(request, response)

    def _send(self, request: Request | None, response: Response) -> None:
        """Write a complete response (always with Content-Length, so keep-alive works).

        A HEAD answer carries the headers, Content-Length included, of the GET answer and no body.
        """
        # Counted before writing, so a client that has its answer always sees it counted.
        if request is not None:
            self.server.engine.responded(request, response.status)
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        log.debug("%s %s -> %s", self.command, _redact(self.path.split("?", 1)[0]), response.status)

    def _fault(self, request: Request, fault: Fault, real: Response | None) -> None:
        """Answer with the fault; ``real`` is the response it replaces when the request was processed."""
        if fault.action == "status":
            self._send(request, status_response(fault))
        elif fault.action == "malformed_json":
            self._send(request, malformed_response(real))
        else:
            self.close_connection = True
            if fault.action == "truncate":
                self.wfile.write(truncated_bytes(fault, real))
            elif fault.action == "drop_mid_response":
                self.wfile.write(mid_response_bytes(fault, real))
            log.debug("%s %s -> fault %s", self.command, _redact(request.path), fault.action)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Request lines are logged by ``_send`` (with secrets redacted) instead."""

    def log_message(self, format: str, *args: Any) -> None:
        """Send the base class's messages to the debug log, redacted."""
        log.debug("%s", _redact(format % args))


class _Server(ThreadingHTTPServer):
    """A threading server that wraps TLS per connection and can close open connections."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        engine: _Engine,
        ssl_context: ssl.SSLContext | None,
        family: socket.AddressFamily,
    ) -> None:
        """Bind ``address`` (IPv4 or IPv6 per ``family``); TLS when ``ssl_context`` is given."""
        self.address_family = family
        self.engine = engine
        self.ssl_context = ssl_context
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._closing = False
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Handshake (in the connection's own thread) and serve one connection."""
        conn = request
        try:
            if self.ssl_context is not None:
                request.settimeout(_HANDSHAKE_TIMEOUT)
                conn = self.ssl_context.wrap_socket(request, server_side=True)
            with self._open_lock:
                if self._closing:  # accepted just as the emulator stopped
                    return
                self._open.add(conn)
            _Handler(conn, client_address, self)
        except OSError as exc:  # handshake failures, resets, sockets closed by stop()
            log.debug("connection ended: %s", type(exc).__name__)
        finally:
            with self._open_lock:
                self._open.discard(conn)
            if conn is not request:
                conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Keep unexpected handler errors out of stderr; they go to the debug log."""
        log.debug("error while serving a connection", exc_info=True)

    def close_connections(self) -> None:
        """Shut down every open connection so its thread ends."""
        with self._open_lock:
            self._closing = True
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class TogglEmulator(Controller):
    """A local Toggl (accounts + Track v9) on one loopback port, with test controls.

    The controls (``add_user``, ``inject_fault``, ``counters``, ...) are the ``Controller``'s;
    this class adds the server: ``start``, ``stop``, ``url``, ``port`` and ``ca_bundle``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: bool = False,
        tls_dir: str | Path | None = None,
        **options: Any,
    ) -> None:
        """Configure (nothing is bound until ``start``); ``options`` are ``EmulatorConfig``'s settings.

        ``cookie_style``, ``session_ttl``, ``rate_limit_rps``, ``rate_limit_burst``,
        ``rate_limit_retry_after``, ``rate_limit_key``, ``rate_limit_strict``, ``quota_limit``,
        ``quota_window`` and ``clock``; an unknown or invalid one is a ``ValueError``.
        """
        self.host = host
        self._requested_port = port
        self.tls = tls
        self._tls_dir = Path(tls_dir) if tls_dir is not None else None
        self.config = EmulatorConfig()
        self.config.update(**options)
        state = EmulatorState(self.config)
        super().__init__(state, TogglApp(state, SessionSigner()))
        self._engine = _Engine(state, self.app, ControlApi(self))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._temp_dir: Path | None = None
        self._ca_bundle: Path | None = None

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> TogglEmulator:
        """Bind and serve in a background thread; returns ``self``."""
        with self._lifecycle:
            if self._server is not None:
                return self
            context = self._tls_context() if self.tls else None
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            server = _Server((self.host, self._requested_port), self._engine, context, family)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="toggl-emulator",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
            log.debug("Toggl emulator listening on %s", self.url)
            return self

    def _tls_context(self) -> ssl.SSLContext:
        """Generate the CA and server certificate, and a context serving them."""
        directory = self._tls_dir
        if directory is None:
            self._temp_dir = directory = Path(tempfile.mkdtemp(prefix="toggl-emulator-tls-"))
        paths = generate_certificates(directory)
        self._ca_bundle = paths.ca_cert
        return server_context(paths)

    def stop(self) -> None:
        """Close the listener and every open connection; safe to call twice."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            if server is None:
                return
            server.shutdown()
            server.server_close()
            server.close_connections()
            if thread is not None:
                thread.join(timeout=5)
            if self._temp_dir is not None:
                shutil.rmtree(self._temp_dir, ignore_errors=True)
                self._temp_dir = self._ca_bundle = None

    def __enter__(self) -> TogglEmulator:
        """Start on entering a ``with`` block."""
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop on leaving it."""
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the emulator is serving."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound port (the free one chosen when asked for port 0)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for both services, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def ca_bundle(self) -> str | None:
        """Path of the generated CA certificate (PEM) when serving TLS."""
        return str(self._ca_bundle) if self._ca_bundle is not None else None
