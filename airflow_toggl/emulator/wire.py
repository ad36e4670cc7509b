"""Reading a request body off the socket within a fixed budget, whatever the client sends.

Every length the client states is checked before any byte is read: a chunk size that is not
plain hexadecimal (``-1``, ``0x10``, ``1_0``), a ``Content-Length`` that is not plain digits, or a
total past ``MAX_BODY`` ends the request with a 4xx instead of a read of unbounded size.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import Protocol

MAX_BODY = 1 << 20
_LINE_LIMIT = 1024
_MAX_TRAILERS = 64
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_DIGITS = re.compile(r"[0-9]+")
# More digits than this is past any cap, whatever they say; parsing them is not worth the time.
_MAX_DIGITS = 16


class BodyError(Exception):
    """A body the emulator refuses: ``status`` is 400 (malformed) or 413 (too large)."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the status to answer with."""
        super().__init__(message)
        self.status = status



class Readable(Protocol):
    """What a request body is read from: the handler's buffered socket file."""

    def read(self, size: int = ..., /) -> bytes: ...

    def readline(self, size: int = ..., /) -> bytes: ...

def read_body(rfile: Readable, headers: Message) -> bytes:
    """The request body, by ``Content-Length`` or chunked transfer coding, at most ``MAX_BODY``."""
    encodings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if encodings:
        if lengths:
            raise BodyError(400, "Transfer-Encoding and Content-Length together")
        if [value.strip().lower() for value in encodings] != ["chunked"]:
            raise BodyError(400, "only the chunked Transfer-Encoding is supported")
        return _read_chunked(rfile)
    if not lengths:
        return b""
    if len({value.strip() for value in lengths}) != 1 or not _DIGITS.fullmatch(lengths[0].strip()):
        raise BodyError(400, "malformed Content-Length")
    text = lengths[0].strip()
    length = int(text) if len(text) <= _MAX_DIGITS else MAX_BODY + 1
    if length > MAX_BODY:
        raise BodyError(413, "request body too large")
    body = rfile.read(length) if length else b""
    if len(body) != length:
        raise BodyError(400, "request body shorter than its Content-Length")
    return body


def _read_chunked(rfile: Readable) -> bytes:
    """Chunks until the zero-size one, then the trailer section (read and ignored)."""
    chunks: list[bytes] = []
    total = 0
    while True:
        size = _chunk_size(_line(rfile))
        if size == 0:
            break
        total += size
        if total > MAX_BODY:
            raise BodyError(413, "request body too large")
        data = rfile.read(size)
        if len(data) != size or _line(rfile).strip():
            raise BodyError(400, "malformed chunk")
        chunks.append(data)
    for _ in range(_MAX_TRAILERS):
        if not _line(rfile).strip():
            return b"".join(chunks)
    raise BodyError(400, "too many trailer fields")


def _chunk_size(line: bytes) -> int:
    """The size on a chunk-size line (extensions after ``;`` ignored); plain hex digits only."""
    text = line.split(b";", 1)[0].strip()
    if not _HEX.fullmatch(text):
        raise BodyError(400, "malformed chunk size")
    return int(text, 16) if len(text) <= _MAX_DIGITS else MAX_BODY + 1


def _line(rfile: Readable) -> bytes:
    """One CRLF-terminated line of at most ``_LINE_LIMIT`` bytes (an unended line is refused)."""
    line = rfile.readline(_LINE_LIMIT + 1)
    if len(line) > _LINE_LIMIT:
        raise BodyError(400, "line too long in the chunked body")
    if not line.endswith(b"\n"):
        raise BodyError(400, "request body ended early")
    return line
