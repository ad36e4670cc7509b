"""The response value the emulator's handlers return, and small builders for it.

Handlers never touch the socket: they return a ``Response`` so a fault can replace or mangle
it before anything is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
TOO_MANY_REQUESTS_HTML = (
    b"<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n"
    b"<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class Response:
    """Status, headers (in order, repeats allowed) and body bytes of one HTTP answer."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), if any."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    """A JSON answer."""
    body = json.dumps(payload).encode("utf-8")
    return Response(status, [("Content-Type", JSON_TYPE), *(headers or [])], body)


def error(status: int, message: str) -> Response:
    """A Toggl error answer: the message as a JSON string (``"Invalid project color"``)."""
    return json_response(status, message)


def control_error(status: int, message: str) -> Response:
    """An error of the emulator's own control API: ``{"message": ...}``."""
    return json_response(status, {"message": message})


def not_found_page() -> Response:
    """The plain-text 404 of a path no Toggl service serves."""
    return Response(404, [("Content-Type", "text/plain; charset=utf-8")], b"404 page not found\n")


def method_not_allowed(allow: str, *, control: bool = False) -> Response:
    """405 with the ``Allow`` header listing what the path serves."""
    response = (control_error if control else error)(405, "method not allowed")
    response.headers.append(("Allow", allow))
    return response


def empty(status: int = 200) -> Response:
    """An answer with no body (Content-Length 0)."""
    return Response(status)


def too_many_requests(retry_after: str | None) -> Response:
    """The proxy-style 429 with an HTML body, as Toggl's edge sends it."""
    headers = [("Content-Type", "text/html")]
    if retry_after is not None:
        headers.append(("Retry-After", retry_after))
    return Response(429, headers, TOO_MANY_REQUESTS_HTML)


def http_date(epoch: float) -> str:
    """An RFC 7231 date, as used by ``Expires`` and ``Retry-After``."""
    return formatdate(epoch, usegmt=True)


def body_bytes(body: Any) -> tuple[bytes, str]:
    """Encode a fault body (str, bytes, dict, list or None) and guess its content type."""
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    return json.dumps(body).encode("utf-8"), JSON_TYPE
