"""The three ways Toggl accepts credentials, each a small :class:`requests.auth.AuthBase`.

Their reprs never show the secret they carry.
"""

from __future__ import annotations

import base64
import hashlib

from requests import PreparedRequest
from requests.auth import AuthBase

from airflow_toggl.client.errors import TogglConfigError
from airflow_toggl.client.secrets import API_TOKEN_PASSWORD
from airflow_toggl.client.session import SESSION_COOKIE_NAME, is_cookie_value


def basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic (RFC 7617, UTF-8)."""
    pair = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


class TogglAuth(AuthBase):
    """Base of the credential classes: a ``kind`` and a ``fingerprint`` that is safe to use as a key."""

    kind = "none"
    email: str | None = None
    """The login a Basic header pairs the secret with (email/password only)."""
    _header = ""

    @property
    def fingerprint(self) -> str:
        """A short one-way digest of the credential, for pacing keys; never the credential itself."""
        return f"{self.kind}:" + hashlib.sha256(self._header.encode()).hexdigest()[:16]

    _sent_as: str | None = None
    """The one header the credential travels in (``Authorization`` or ``Cookie``); None: no credential."""

    def secrets(self) -> tuple[str, ...]:
        """The secret strings this credential holds, so they can be masked or redacted."""
        return ()

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        """Send this credential and no other: the other credential header is removed."""
        for name in ("Authorization", "Cookie"):
            request.headers.pop(name, None)
        if self._sent_as is not None:
            request.headers[self._sent_as] = self._header
        return request


class ApiTokenAuth(TogglAuth):
    """HTTP Basic with ``<api_token>:api_token``."""

    kind = "api_token"
    _sent_as = "Authorization"

    def __init__(self, api_token: str) -> None:
        if not api_token or not api_token.strip():
            raise TogglConfigError("api_token", "is empty")
        self._token = api_token.strip()
        self._header = basic_authorization(self._token, API_TOKEN_PASSWORD)

    def secrets(self) -> tuple[str, ...]:
        return (self._token, self._header.removeprefix("Basic "))

    def __repr__(self) -> str:
        return "ApiTokenAuth(api_token=***)"


class EmailPasswordAuth(TogglAuth):
    """HTTP Basic with ``<email>:<password>``."""

    kind = "basic"
    _sent_as = "Authorization"

    def __init__(self, email: str, password: str) -> None:
        if not email or not email.strip():
            raise TogglConfigError("login", "is empty: the email is needed for email/password authentication")
        if not password:
            raise TogglConfigError("password", "is empty: it is needed for email/password authentication")
        self.email = email.strip()
        self._password = password
        self._header = basic_authorization(self.email, password)

    def secrets(self) -> tuple[str, ...]:
        return (self._password, self._header.removeprefix("Basic "))

    def __repr__(self) -> str:
        return f"EmailPasswordAuth(email={self.email!r}, password=***)"


class SessionCookieAuth(TogglAuth):
    """The ``__Secure-accounts-session`` cookie, sent explicitly with no Authorization header.

    The cookie is issued by the accounts service and used on the Track API, so a cookie jar's
    domain matching (and its ``Secure`` flag on plain-http test servers) is not relied upon.
    """

    kind = "session"
    _sent_as = "Cookie"

    def __init__(self, cookie: str) -> None:
        if not cookie or not cookie.strip():
            raise TogglConfigError("session_cookie", "is empty")
        if not is_cookie_value(cookie.strip()):
            raise TogglConfigError(
                "session_cookie",
                "contains characters a cookie value cannot hold (only printable ASCII without "
                "spaces, quotes, commas, semicolons or backslashes); the value is not shown",
            )
        self._cookie = cookie.strip()
        self._header = f"{SESSION_COOKIE_NAME}={self._cookie}"

    def secrets(self) -> tuple[str, ...]:
        return (self._cookie,)

    def __repr__(self) -> str:
        return "SessionCookieAuth(cookie=***)"


class NoAuth(TogglAuth):
    """For the unauthenticated endpoints (signup, password reset): strips any credential."""

    kind = "none"

    def __repr__(self) -> str:
        return "NoAuth()"
