"""The session cookie as a value object, and the parsers that read it from untrusted text.

Toggl's session cookie is a JWT. Its ``exp`` claim is read *without* verifying the signature: only
to know when to rotate. A cookie that is not a JWT is still a valid session of unknown expiry.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.cookiejar import http2time  # type: ignore[attr-defined]  # public since Python 2, absent from typeshed

SESSION_COOKIE_NAME = "__Secure-accounts-session"
"""The cookie that carries a Toggl session (set by the accounts service, accepted by Track)."""
_COOKIE_OCTETS = frozenset(chr(c) for c in range(0x21, 0x7F)) - set('",;\\')

_MAX_JWT_LENGTH = 16_384
_MAX_AGE = re.compile(r"-?[0-9]+")
_MAX_DATE_LENGTH = 64


@dataclass(frozen=True)
class TogglSession:
    """A Toggl session: the cookie value, when it expires, and whose it is (the JWT ``sub``)."""

    cookie: str = field(repr=False)
    expires_at: datetime | None = None
    subject: str | None = None

    @classmethod
    def from_cookie(cls, value: str) -> TogglSession:
        """Build a session from a cookie value, reading expiry and subject from its JWT claims."""
        claims = parse_jwt_claims(value) or {}
        return cls(
            cookie=value, expires_at=_epoch_to_datetime(claims.get("exp")), subject=_text(claims.get("sub"))
        )

    def remaining(self, now: datetime | None = None) -> timedelta | None:
        """Time left before expiry (negative once expired); None when the expiry is unknown."""
        if self.expires_at is None:
            return None
        return self.expires_at - (now or datetime.now(timezone.utc))

    def __repr__(self) -> str:
        expires = self.expires_at.isoformat() if self.expires_at else None
        return f"TogglSession(cookie=***, expires_at={expires!r}, subject={self.subject!r})"

    __str__ = __repr__


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _epoch_to_datetime(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _b64url_decode(segment: str) -> bytes:
    padded = segment + "=" * (-len(segment) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def parse_jwt_claims(token: object) -> dict[str, object] | None:
    """The claims of a compact JWT, unverified; None for anything that is not one.

    Never raises: a malformed cookie means "expiry unknown", not an error.
    """
    if not isinstance(token, str) or len(token) > _MAX_JWT_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    try:
        payload = json.loads(_b64url_decode(parts[1]))
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def session_from_set_cookie(
    set_cookie_headers: Iterable[str], now: datetime | None = None
) -> TogglSession | None:
    """The session that ``Set-Cookie`` header values leave, as a browser would store it (RFC 6265).

    Headers apply in order: a later session cookie replaces an earlier one, and one that deletes it
    (``Max-Age`` zero or less, an ``Expires`` in the past, an empty value) leaves no session. A value
    that a ``Cookie`` header cannot carry leaves no usable session either.
    """
    moment = (now or datetime.now(timezone.utc)).timestamp()
    value: str | None = None
    for header in set_cookie_headers:
        cookie = _session_cookie(header)
        if cookie is None:
            continue
        value, attributes = cookie
        if _deletes(attributes, moment) or not is_cookie_value(value):
            value = None
    return TogglSession.from_cookie(value) if value else None


def is_cookie_value(value: str) -> bool:
    """Whether ``value`` is made of RFC 6265 cookie-octets: printable ASCII but ``"``, ``,``, ``;``, ``\\``."""
    return bool(value) and all(ch in _COOKIE_OCTETS for ch in value)


def _session_cookie(header: str) -> tuple[str, list[str]] | None:
    """The session cookie's value and attribute texts if ``header`` sets it, else None.

    RFC 6265 section 5.2: a Set-Cookie value sets one cookie, the name=value pair before the first
    ";". What follows are attributes, even those shaped like another cookie's name=value (which
    SimpleCookie, a parser of Cookie request headers, would read as further cookies).
    """
    pair, *attributes = header.split(";")
    name, sep, rest = pair.partition("=")
    if not sep or name.strip() != SESSION_COOKIE_NAME:
        return None
    value = rest.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value, attributes


def _deletes(attributes: list[str], now: float) -> bool:
    """Whether the attributes expire the cookie at once. Max-Age wins over Expires; the last of each counts."""
    max_age: int | None = None
    expires: float | None = None
    for attribute in attributes:
        name, _, text = attribute.partition("=")
        name, text = name.strip().lower(), text.strip()
        if name == "max-age" and _MAX_AGE.fullmatch(text):
            max_age = int(text[:24]) if len(text) <= 24 else (-1 if text.startswith("-") else 1)
        elif name == "expires" and len(text) <= _MAX_DATE_LENGTH:
            when = http2time(text)
            if when is not None:
                expires = float(when)
    if max_age is not None:
        return max_age <= 0
    return expires is not None and expires <= now
