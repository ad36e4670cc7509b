"""The wire under the client: a whole-attempt deadline, strict header ends, and bounded body reads.

``requests`` bounds each socket read by ``timeout``, not a whole answer: a server sending a byte a
second holds a call for as long as it likes. And ``http.client`` takes a connection closed inside the
headers as their end, so a cut-off answer reads as a complete one. :class:`GuardedAdapter` fixes
both below ``requests``: every read made while :func:`attempt_deadline` is active stops at the
deadline, and headers that end at end-of-file are a dropped connection. :func:`read_body` reads a
streamed answer up to a byte limit, counting decompressed bytes, so a compressed bomb stops early.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

ACCEPT_ENCODING = "gzip, deflate"
"""The encodings :func:`read_body` decodes itself, so it can bound what they expand to."""

_CHUNK = 64 * 1024
_PIECE = 256 * 1024
_deadline: ContextVar[float | None] = ContextVar("toggl_attempt_deadline", default=None)


class DeadlineExceeded(TimeoutError):
    """The attempt's deadline passed while the answer was still arriving (some of it had come)."""


class HeadersCutOff(http.client.RemoteDisconnected):
    """The connection closed before the blank line that ends the response headers."""


class UnsupportedEncoding(ValueError):
    """The answer uses a ``Content-Encoding`` the client did not offer."""


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

    def readinto(self, buffer: Any) -> int:
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

    def __init__(self, fp: Any) -> None:
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
    """Mount :class:`GuardedAdapter` for http and https and offer only the encodings read_body decodes.

    An adapter the caller mounted on purpose (anything but requests' plain default) is kept.
    """
    for prefix in ("http://", "https://"):
        if type(session.adapters.get(prefix)) in (HTTPAdapter, type(None)):
            session.mount(prefix, GuardedAdapter())
    session.headers["Accept-Encoding"] = ACCEPT_ENCODING
    return session


def _decoder(encoding: str) -> _Inflater | None:
    """A bounded decompressor for one ``Content-Encoding`` token (None for identity)."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return None
    if name in ("gzip", "x-gzip"):
        return _Inflater(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return _Inflater(zlib.MAX_WBITS, raw_fallback=True)
    raise UnsupportedEncoding(f"unsupported Content-Encoding {name[:32]!r}")


class _Inflater:
    """zlib decompression handed out in pieces of at most :data:`_PIECE` bytes."""

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._wbits = wbits
        self._raw_fallback = raw_fallback
        self._inflater: Any = None

    def pieces(self, data: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            wbits = self._wbits
            if self._raw_fallback and data and (data[0] & 0x0F) != 8:  # no zlib header: raw deflate
                wbits = -zlib.MAX_WBITS
            self._inflater = zlib.decompressobj(wbits)
        pending = data
        while True:
            piece = self._inflater.decompress(pending, _PIECE)
            pending = self._inflater.unconsumed_tail
            if piece:
                yield piece
            if not pending and len(piece) < _PIECE:
                return


def _decoded(decoders: list[_Inflater], data: bytes) -> Iterator[bytes]:
    """``data`` through every decoder in turn, in pieces, so no step holds more than a piece."""
    if not decoders:
        if data:
            yield data
        return
    for piece in decoders[0].pieces(data):
        yield from _decoded(decoders[1:], piece)


def read_body(response: requests.Response, limit: int) -> tuple[bytes, bool]:
    """Read a streamed answer's body, decoded, up to ``limit`` bytes; returns ``(body, complete)``.

    Decompressed bytes are what is counted, in pieces of at most 256 KiB, so a small compressed body
    cannot grow memory much past the limit. Past it, reading stops and the body is dropped
    (``(b"", False)``). The raw stream's errors (timeouts, the deadline, a cut-off body) propagate
    as urllib3 raises them.
    """
    encodings = [token for token in response.headers.get("Content-Encoding", "").split(",") if token.strip()]
    decoders = [decoder for decoder in map(_decoder, reversed(encodings)) if decoder is not None]
    if len(decoders) > 2:
        raise UnsupportedEncoding("more than two Content-Encoding layers")
    body = bytearray()
    while True:
        chunk = response.raw.read(_CHUNK, decode_content=False)
        for piece in _decoded(decoders, chunk):
            body += piece
            if len(body) > limit:
                return b"", False
        if not chunk:
            return bytes(body), True
