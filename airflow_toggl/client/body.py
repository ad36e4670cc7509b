"""Bounded body reads: a streamed answer read up to a byte limit, counting decompressed bytes.

The client offers only the encodings it decodes itself (:data:`ACCEPT_ENCODING`), so it can count
what they expand to: a small compressed bomb stops at the limit instead of filling memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

ACCEPT_ENCODING = "gzip, deflate"
"""The encodings :func:`read_body` decodes itself, so it can bound what they expand to."""

_CHUNK = 64 * 1024
_PIECE = 256 * 1024


class UnsupportedEncoding(ValueError):
    """The answer uses a ``Content-Encoding`` the client did not offer."""


class RawStream(Protocol):
    """What :func:`read_body` reads from: urllib3's ``HTTPResponse`` (``requests.Response.raw``)."""

    def read(self, amt: int | None = None, decode_content: bool | None = None) -> bytes: ...


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
        self._inflater: zlib._Decompress | None = None

    def pieces(self, data: bytes) -> Iterator[bytes]:
        inflater = self._inflater
        if inflater is None:
            wbits = self._wbits
            if self._raw_fallback and data and (data[0] & 0x0F) != 8:  # no zlib header: raw deflate
                wbits = -zlib.MAX_WBITS
            inflater = self._inflater = zlib.decompressobj(wbits)
        pending = data
        while True:
            piece = inflater.decompress(pending, _PIECE)
            pending = inflater.unconsumed_tail
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


def read_body(raw: RawStream, content_encoding: str, limit: int) -> tuple[bytes, bool]:
    """Read a streamed answer's body, decoded, up to ``limit`` bytes; returns ``(body, complete)``.

    Decompressed bytes are what is counted, in pieces of at most 256 KiB, so a small compressed body
    cannot grow memory much past the limit. Past it, reading stops and the body is dropped
    (``(b"", False)``). The raw stream's errors (timeouts, the deadline, a cut-off body) propagate
    as urllib3 raises them.
    """
    encodings = [token for token in content_encoding.split(",") if token.strip()]
    decoders = [decoder for decoder in map(_decoder, reversed(encodings)) if decoder is not None]
    if len(decoders) > 2:
        raise UnsupportedEncoding("more than two Content-Encoding layers")
    body = bytearray()
    while True:
        chunk = raw.read(_CHUNK, decode_content=False)
        for piece in _decoded(decoders, chunk):
            body += piece
            if len(body) > limit:
                return b"", False
        if not chunk:
            return bytes(body), True
