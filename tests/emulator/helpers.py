"""Small helpers shared by the emulator tests."""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

COOKIE = "__Secure-accounts-session"
PASSWORD = "correct horse battery"


class FakeClock:
    """A clock the test moves by hand, so expiry and limits need no sleeping."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def cookie_from(response: requests.Response) -> str:
    """The session cookie value from a response's Set-Cookie header."""
    name, _, rest = response.headers["Set-Cookie"].partition("=")
    assert name == COOKIE
    return rest.split(";", 1)[0]


def with_cookie(value: str) -> dict[str, str]:
    """Headers sending a session cookie explicitly."""
    return {"Cookie": f"{COOKIE}={value}"}


def b64json(segment: str) -> Any:
    """Decode one base64url JWT segment as JSON."""
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWT, decoded without verifying."""
    header, claims, _ = token.split(".")
    return b64json(header), b64json(claims)
