"""Injected faults: what goes wrong, for which requests, and the bytes that go on the wire.

Faults are applied at the socket level on purpose (a dropped connection, a body shorter than
its Content-Length) so clients meet the same exceptions they would meet on a bad network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from airflow_toggl.emulator.config import bounded_number
from airflow_toggl.emulator.responses import JSON_TYPE, Response, body_bytes, error

FAULT_ACTIONS = ("status", "drop", "drop_mid_response", "truncate", "malformed_json", "delay")
MALFORMED_JSON = b'{"id": 1, "email": "broken@example.com", "fullname": '
MAX_FAULT_DELAY = 3600.0
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # a header name, as HTTP defines one
_TRUNCATED_BODY = b'{"message": "this body is cut short by an injected fault"}'


@dataclass
class Fault:
    """One injected fault and how many more requests it applies to (``None``: until cleared)."""

    path: str
    action: str = "status"
    method: str | None = None
    remaining: int | None = 1
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    process: bool = False

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request (path compared without its query)."""
        return path == self.path and (self.method is None or self.method == method)

    def describe(self) -> dict[str, Any]:
        """JSON-ready view for the control API."""
        return {
            "path": self.path,
            "method": self.method,
            "count": self.remaining,
            "action": self.action,
            "status": self.status,
            "delay": self.delay,
            "process": self.process,
        }


def make_fault(
    path: str,
    *,
    method: str | None = None,
    count: int | None = 1,
    action: str = "status",
    status: int | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
    delay: float = 0.0,
    process: bool = False,
) -> Fault:
    """Validate fault options and build a ``Fault``."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError("path must start with '/'")
    if action not in FAULT_ACTIONS:
        raise ValueError(f"action must be one of {', '.join(FAULT_ACTIONS)}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError("count must be a positive integer or None")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise ValueError("status must be an integer")
    if status is not None and not 100 <= status <= 599:
        raise ValueError("status must be between 100 and 599")
    if method is not None and (not isinstance(method, str) or not method.isalpha()):
        raise ValueError("method must be an HTTP method name such as GET")
    if not isinstance(process, bool):
        raise ValueError("process must be true or false")
    delay = bounded_number("delay", delay, float, 0, MAX_FAULT_DELAY, False)
    return Fault(
        path=path.split("?", 1)[0],
        action=action,
        method=method.upper() if method else None,
        remaining=count,
        status=status,
        headers=_header_fields(headers),
        body=body,
        delay=float(delay),
        process=process,
    )


def _header_fields(headers: Any) -> dict[str, str]:
    """Header fields to add to a fault's answer: text names and values, no line breaks in either."""
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise ValueError("headers must be an object of header names and values")
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError("headers must map text names to text values")
        if not _TOKEN.fullmatch(name) or any(char in value for char in "\r\n\0"):
            raise ValueError("headers must not hold line breaks or invalid names")
    return dict(headers)


def status_response(fault: Fault) -> Response:
    """The full answer of a ``status`` fault (500 with a JSON error unless told otherwise)."""
    status = fault.status or 500
    if fault.body is None:
        response = error(status, "injected fault")
    else:
        data, content_type = body_bytes(fault.body)
        response = Response(status, [("Content-Type", content_type)], data)
    if any(name.lower() == "content-type" for name in fault.headers):
        response.headers = [(k, v) for k, v in response.headers if k.lower() != "content-type"]
    response.headers.extend(fault.headers.items())
    return response


def malformed_response(real: Response | None) -> Response:
    """200 with a JSON content type and a body that does not parse; keeps a processed answer's headers."""
    kept = [(k, v) for k, v in (real.headers if real else []) if k.lower() != "content-type"]
    return Response(200, [("Content-Type", JSON_TYPE), *kept], MALFORMED_JSON)


def _base(fault: Fault, real: Response | None) -> Response:
    """The answer a wire-level fault mangles: the real one when processed, else a stand-in."""
    if real is not None:
        return real
    if fault.body is None:
        response = Response(fault.status or 200, [("Content-Type", JSON_TYPE)], _TRUNCATED_BODY)
    else:
        data, content_type = body_bytes(fault.body)
        response = Response(fault.status or 200, [("Content-Type", content_type)], data)
    response.headers.extend(fault.headers.items())
    return response


def _status_line(status: int) -> bytes:
    """``HTTP/1.1 <code> <reason>`` with its line end."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    return f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1")


def _header_lines(headers: list[tuple[str, str]]) -> bytes:
    """Header lines, each with its line end."""
    return b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers)


def truncated_bytes(fault: Fault, real: Response | None) -> bytes:
    """Complete headers announcing the whole body, followed by only part of it."""
    base = _base(fault, real)
    declared = len(base.body) if base.body else 16
    headers = [(k, v) for k, v in base.headers if k.lower() not in ("content-length", "connection")]
    headers += [("Content-Length", str(declared)), ("Connection", "close")]
    return _status_line(base.status) + _header_lines(headers) + b"\r\n" + base.body[: len(base.body) // 2]


def mid_response_bytes(fault: Fault, real: Response | None) -> bytes:
    """The status line and some headers, ending inside a header line (no body ever follows)."""
    base = _base(fault, real)
    announced = [("Content-Type", base.header("Content-Type") or JSON_TYPE)]
    announced.append(("Content-Length", str(max(len(base.body), 1))))
    return _status_line(base.status) + _header_lines(announced) + b"X-Toggl-Request-"
