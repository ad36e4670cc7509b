"""The parsed request the emulator's handlers see, independent of the socket it came from."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs

SESSION_COOKIE = "__Secure-accounts-session"
_Handler = TypeVar("_Handler")


def handler_for(handlers: Mapping[str, _Handler], method: str) -> _Handler | None:
    """The handler of ``method`` on a path; HEAD is answered by GET's (the server leaves out the body)."""
    if method == "HEAD" and "HEAD" not in handlers:
        return handlers.get("GET")
    return handlers.get(method)


def allowed_methods(handlers: Mapping[str, Any]) -> str:
    """The ``Allow`` header of a path: its methods, with HEAD wherever GET is served."""
    methods = set(handlers) | ({"HEAD"} if "GET" in handlers else set())
    return ", ".join(sorted(methods))


def _refuse_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON; Python's parser would accept them."""
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes | str) -> Any:
    """Parse JSON from a client; anything unparseable, too deeply nested included, is a ``ValueError``."""
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


@dataclass(frozen=True)
class Request:
    """Method, path (no query), query, the two credential headers, body and client address."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    authorization: str | None = None
    cookie_header: str = ""
    body: bytes = b""
    client_ip: str = "127.0.0.1"

    @classmethod
    def build(
        cls,
        method: str,
        target: str,
        *,
        authorization: str | None,
        cookies: list[str],
        body: bytes,
        client_ip: str,
    ) -> Request:
        """Split a request target into path and query and keep what the handlers need."""
        path, _, query = target.partition("?")
        return cls(
            method=method.upper(),
            path=path or "/",
            query=parse_qs(query, keep_blank_values=True),
            authorization=authorization,
            cookie_header="; ".join(cookies),
            body=body,
            client_ip=client_ip,
        )

    @property
    def key(self) -> str:
        """``METHOD path``, the counters' key."""
        return f"{self.method} {self.path}"

    def query_value(self, name: str) -> str | None:
        """The last value of a query parameter."""
        values = self.query.get(name)
        return values[-1] if values else None

    def session_cookie(self) -> str | None:
        """The value of the session cookie in the ``Cookie`` header(s), if sent."""
        for pair in self.cookie_header.split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep and name == SESSION_COOKIE:
                return value.strip().strip('"')
        return None

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object (empty body: ``{}``); ``None`` when it is not one."""
        if not self.body.strip():
            return {}
        try:
            data = parse_json(self.body)
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None
