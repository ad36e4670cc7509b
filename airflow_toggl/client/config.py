"""Validated client settings: every value is checked before the first request is sent."""

from __future__ import annotations

import ipaddress
import math
import os
import ssl
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from airflow_toggl.client.errors import TogglConfigError
from airflow_toggl.client.limits import QUOTA_WINDOW

_N = TypeVar("_N", int, float)

DEFAULT_TRACK_API_URL = "https://api.track.toggl.com"
DEFAULT_ACCOUNTS_API_URL = "https://accounts.toggl.com"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_MAX_QUOTA_WAIT = 300.0
DEFAULT_REQUESTS_PER_SECOND = 1.0
DEFAULT_BACKOFF_CAP = 60.0
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024

MAX_TIMEOUT = 600.0
"""Ten minutes: longer than any Toggl answer should take, short enough to surface a hung server."""
MAX_RETRIES = 20
MAX_QUOTA_WAIT = QUOTA_WINDOW
"""No quota reset is ever further away than Toggl's 60-minute window."""
MIN_REQUESTS_PER_SECOND = 0.01
"""One request per 100 s; slower pacing (but 0, which turns pacing off) is a typo, not a plan."""
MAX_REQUESTS_PER_SECOND = 1000.0
MAX_BACKOFF_CAP = 600.0
MIN_RESPONSE_BYTES = 1024
MAX_RESPONSE_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class ClientConfig:
    """How to reach Toggl and how patiently.

    ``timeout`` bounds each attempt as a whole (connect, headers and body); ``max_retries`` counts
    attempts after the first; ``max_quota_wait`` is the longest in-process wait for an hourly quota
    reset; ``requests_per_second`` paces requests per credential (0 turns pacing off); ``verify`` is a
    bool or a CA bundle path; ``backoff_cap`` caps one exponential backoff sleep;
    ``max_response_bytes`` caps a response body (decompressed). Each has bounds, checked here, before
    any request: see ``docs/reliability.md``.
    """

    track_api_url: str = DEFAULT_TRACK_API_URL
    accounts_api_url: str = DEFAULT_ACCOUNTS_API_URL
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_quota_wait: float = DEFAULT_MAX_QUOTA_WAIT
    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    verify: bool | str = True
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        object.__setattr__(self, "track_api_url", validate_base_url(self.track_api_url, "track_api_url"))
        object.__setattr__(
            self, "accounts_api_url", validate_base_url(self.accounts_api_url, "accounts_api_url")
        )
        object.__setattr__(
            self, "timeout", at_most(positive_number(self.timeout, "timeout"), MAX_TIMEOUT, "timeout")
        )
        object.__setattr__(
            self,
            "max_retries",
            at_most(non_negative_int(self.max_retries, "max_retries"), MAX_RETRIES, "max_retries"),
        )
        object.__setattr__(
            self,
            "max_quota_wait",
            at_most(
                non_negative_number(self.max_quota_wait, "max_quota_wait"), MAX_QUOTA_WAIT, "max_quota_wait"
            ),
        )
        object.__setattr__(
            self,
            "requests_per_second",
            validate_requests_per_second(self.requests_per_second, "requests_per_second"),
        )
        object.__setattr__(
            self,
            "backoff_cap",
            at_most(positive_number(self.backoff_cap, "backoff_cap"), MAX_BACKOFF_CAP, "backoff_cap"),
        )
        response_cap = non_negative_int(self.max_response_bytes, "max_response_bytes")
        if response_cap < MIN_RESPONSE_BYTES:
            raise TogglConfigError("max_response_bytes", f"must be at least {MIN_RESPONSE_BYTES}")
        object.__setattr__(
            self, "max_response_bytes", at_most(response_cap, MAX_RESPONSE_BYTES, "max_response_bytes")
        )
        object.__setattr__(self, "verify", validate_verify(self.verify, "verify"))


def validate_base_url(value: object, field: str) -> str:
    """Return ``value`` without a trailing slash if it is an https URL, or http on a loopback host."""
    if not isinstance(value, str) or not value.strip():
        raise TogglConfigError(field, "must be a non-empty URL such as https://api.track.toggl.com")
    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise TogglConfigError(field, "is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TogglConfigError(field, "must be an absolute http(s) URL with a host")
    if parts.username or parts.password:
        raise TogglConfigError(field, "must not carry credentials; use the connection's fields")
    if parts.query or parts.fragment:
        raise TogglConfigError(field, "must not have a query or fragment")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise TogglConfigError(field, "must use https (plain http is allowed only for loopback hosts)")
    return url


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses: the only hosts where plain http is acceptable."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _number(value: object, field: str) -> float:
    if isinstance(value, bool):
        raise TogglConfigError(field, "must be a number, not a boolean")
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int (e.g. from JSON extras) too large for a float
        raise TogglConfigError(field, "must be a finite number") from None
    except (TypeError, ValueError):
        raise TogglConfigError(field, "must be a number") from None
    if not math.isfinite(number):
        raise TogglConfigError(field, "must be a finite number")
    return number


def positive_number(value: object, field: str) -> float:
    """A finite number greater than zero."""
    number = _number(value, field)
    if number <= 0:
        raise TogglConfigError(field, "must be greater than zero")
    return number


def non_negative_number(value: object, field: str) -> float:
    """A finite number of zero or more."""
    number = _number(value, field)
    if number < 0:
        raise TogglConfigError(field, "must not be negative")
    return number


def at_most(number: _N, bound: float, field: str) -> _N:
    """``number`` if it is at most ``bound``, else a TogglConfigError naming ``field`` and the bound."""
    if number > bound:
        raise TogglConfigError(field, f"must be at most {bound:g}")
    return number


def validate_requests_per_second(value: object, field: str) -> float:
    """0 (pacing off) or a rate between :data:`MIN_REQUESTS_PER_SECOND` and :data:`MAX_REQUESTS_PER_SECOND`."""
    rate = non_negative_number(value, field)
    if rate and rate < MIN_REQUESTS_PER_SECOND:
        raise TogglConfigError(field, f"must be 0 (no pacing) or at least {MIN_REQUESTS_PER_SECOND:g}")
    return at_most(rate, MAX_REQUESTS_PER_SECOND, field)


def non_negative_int(value: object, field: str) -> int:
    """A whole number of zero or more (``"3"`` and ``3.0`` are accepted, ``3.5`` is not)."""
    number = _number(value, field)
    if number != int(number):
        raise TogglConfigError(field, "must be a whole number")
    if number < 0:
        raise TogglConfigError(field, "must not be negative")
    return int(number)


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def validate_verify(value: object, field: str) -> bool | str:
    """``True``/``False`` (also as text) or the path of an existing CA bundle."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        if text and os.path.isdir(text):
            return text
        if text and os.path.exists(text):
            return ca_bundle(text, field)
        raise TogglConfigError(field, "must be true, false or the path of an existing CA bundle file")
    raise TogglConfigError(field, "must be true, false or the path of a CA bundle file")


def ca_bundle(path: str, field: str) -> str:
    """``path`` if TLS can load CA certificates from it, else a TogglConfigError naming ``field``."""
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError, ValueError):
        raise TogglConfigError(field, "names a file that holds no CA certificate in PEM form") from None
    return path
