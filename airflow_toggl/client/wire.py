"""The one place that reaches into library internals: a whole-attempt deadline and strict header ends.

``requests`` bounds each socket read by ``timeout``, not a whole answer: a server sending a byte a
second holds a call for as long as it likes. And ``http.client`` takes a connection closed inside the
headers as their end, so a cut-off answer reads as a complete one. :class:`GuardedAdapter` fixes
both below ``requests``: every read made while :func:`attempt_deadline` is active stops at the
deadline, and headers that end at end-of-file are a dropped connection.

No public API offers either, so this module relies on four internals, each checked by
``tests/client/test_wire_internals.py`` so that a library upgrade that moves one fails loudly:
``http.client.HTTPResponse.fp`` (the buffered socket file its reads go through) and ``begin()``
(which reads the status line and headers through ``fp.readline``); urllib3's
``HTTPConnection.response_class`` and ``HTTPConnectionPool.ConnectionCls``; and the pool manager's
``pool_classes_by_scheme``, set in ``HTTPAdapter.init_poolmanager``.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_deadline: ContextVar[float | None] = ContextVar("toggl_attempt_deadline", default=None)


class DeadlineExceeded(TimeoutError):
    """The attempt's deadline passed while the answer was still arriving (some of it had come)."""


class HeadersCutOff(http.client.RemoteDisconnected):
    """The connection closed before the blank line that ends the response headers."""


@contextmanager
def attempt_deadline(seconds: float) -> Iterator[float]:
    """Every socket read in this block (headers and body) ends by ``seconds`` from now."""
    deadline = time.monotonic() + seconds
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        _deadline.reset(token)


class _DeadlineReader(io.RawIOBase):
    """Raw socket reads that never wait past ``deadline``, whatever the socket's own timeout."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._raw = sock.makefile("rb", buffering=0)
        self._sock = sock
        self._deadline = deadline
        self._received = 0

    def _expired(self) -> TimeoutError:
        # A server that sent nothing at all is a plain read timeout; one still sending is too slow.
        if self._received:
            return DeadlineExceeded("the attempt's deadline passed")
        return TimeoutError("timed out")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._expired()
        timeout = self._sock.gettimeout()
        self._sock.settimeout(remaining if timeout is None else min(timeout, remaining))
        try:
            count = self._raw.readinto(buffer) or 0
        except TimeoutError:
            if time.monotonic() >= self._deadline:
                raise self._expired() from None
            raise
        finally:
            self._sock.settimeout(timeout)
        self._received += count
        return count

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _LineWatcher:
    """Hands ``readline`` through and remembers whether the last line ended at end-of-file."""

    def __init__(self, fp: io.BufferedIOBase) -> None:
        self.fp = fp
        self.last_line = b"\r\n"

    def readline(self, limit: int = -1) -> bytes:
        self.last_line = self.fp.readline(limit)
        return self.last_line


class GuardedResponse(http.client.HTTPResponse):
    """``http.client``'s response with the deadline on its reads and strict header ends."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        deadline = _deadline.get()
        if deadline is not None:
            self.fp.close()
            self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))

    def begin(self) -> None:
        if self.headers is not None:
            return
        fp, watcher = self.fp, _LineWatcher(self.fp)
        self.fp = watcher
        try:
            super().begin()
        finally:
            self.fp = fp
        if watcher.last_line == b"":
            raise HeadersCutOff("the connection closed inside the response headers")


class _GuardedHTTPConnection(HTTPConnection):
    response_class = GuardedResponse


class _GuardedHTTPSConnection(HTTPSConnection):
    response_class = GuardedResponse


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A ``requests`` adapter whose connections answer with :class:`GuardedResponse`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def guard_session(session: requests.Session) -> requests.Session:
    """Mount :class:`GuardedAdapter` for http and https.

    An adapter the caller mounted on purpose (anything but requests' plain default) is kept.
    """
    for prefix in ("http://", "https://"):
        if type(session.adapters.get(prefix)) in (HTTPAdapter, type(None)):
            session.mount(prefix, GuardedAdapter())
    return session
