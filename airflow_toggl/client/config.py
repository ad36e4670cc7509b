"""Validated client settings: every value is checked before the first request is sent."""

from __future__ import annotations

import ipaddress
import math
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from airflow_toggl.client.errors import TogglConfigError

DEFAULT_TRACK_API_URL = "https://api.track.toggl.com"
DEFAULT_ACCOUNTS_API_URL = "https://accounts.toggl.com"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_MAX_QUOTA_WAIT = 300.0
DEFAULT_REQUESTS_PER_SECOND = 1.0
DEFAULT_BACKOFF_CAP = 60.0


@dataclass(frozen=True)
class ClientConfig:
    """How to reach Toggl and how patiently.

    ``timeout`` bounds each request (connect and each read); ``max_retries`` counts attempts after the
    first; ``max_quota_wait`` is the longest in-process wait for an hourly quota reset;
    ``requests_per_second`` paces requests per credential (0 turns pacing off); ``verify`` is a bool or
    a CA bundle path; ``backoff_cap`` caps one exponential backoff sleep.
    """

    track_api_url: str = DEFAULT_TRACK_API_URL
    accounts_api_url: str = DEFAULT_ACCOUNTS_API_URL
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_quota_wait: float = DEFAULT_MAX_QUOTA_WAIT
    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    verify: bool | str = True
    backoff_cap: float = DEFAULT_BACKOFF_CAP

    def __post_init__(self) -> None:
        object.__setattr__(self, "track_api_url", validate_base_url(self.track_api_url, "track_api_url"))
        object.__setattr__(
            self, "accounts_api_url", validate_base_url(self.accounts_api_url, "accounts_api_url")
        )
        object.__setattr__(self, "timeout", positive_number(self.timeout, "timeout"))
        object.__setattr__(self, "max_retries", non_negative_int(self.max_retries, "max_retries"))
        object.__setattr__(self, "max_quota_wait", non_negative_number(self.max_quota_wait, "max_quota_wait"))
        object.__setattr__(
            self,
            "requests_per_second",
            non_negative_number(self.requests_per_second, "requests_per_second"),
        )
        object.__setattr__(self, "backoff_cap", positive_number(self.backoff_cap, "backoff_cap"))
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
        if text and os.path.exists(text):
            return text
        raise TogglConfigError(field, "must be true, false or the path of an existing CA bundle file")
    raise TogglConfigError(field, "must be true, false or the path of a CA bundle file")
